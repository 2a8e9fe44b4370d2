"""How far several methods' tables agree, on the same counts and design.

:func:`concordance` takes ``{name: DETable}`` (e.g. limma-voom, edgeR QL and DESeq2 tables
from :func:`degbridge.run_limma`, :func:`degbridge.run_edger`, :func:`degbridge.run_deseq2`),
all under the canonical column names (``logFC``, ``P.Value``, ``adj.P.Val``), and returns:

* the Spearman correlation of the fold changes between each pair (the genes of both tables
  with a fold change in both);
* the overlap of genes significant at an FDR, as UpSet counts: each gene counted once, in the
  exact combination of methods that call it;
* the genes where the methods disagree most: the largest differences between the ranks each
  method gives the gene by its signed statistic, ``sign(logFC) · −log10(P.Value)`` (defined for
  every method: moderated t, F, likelihood ratio and Wald tests alike).

The module is named ``_concordance`` so that importing it never hides the function
``degbridge.concordance`` behind a submodule of the same name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from ..io.table import DETable

__all__ = ["Concordance", "concordance", "intersections"]


@dataclass
class Concordance:
    """The result of :func:`concordance`.

    Attributes
    ----------
    spearman
        Methods × methods Spearman correlations of ``logFC`` (1 on the diagonal).
    n_pairs
        Methods × methods number of genes each correlation uses (genes in both tables with a
        fold change in both; on the diagonal, the table's genes with a fold change).
    significant
        Genes × methods, ``True`` where ``adj.P.Val < fdr`` (missing adjusted P-values are not
        significant), over the genes present in every table.
    overlap
        One row per combination of methods with at least one gene: a boolean column per
        method and ``n_genes``, the genes significant in exactly those methods; largest first.
    disagreement
        The ``n_top`` genes with the largest rank range: per method the signed statistic and
        its rank (1 = most down, average ranks for ties), then ``rank_range``.
    fdr
        The FDR used for ``significant``.
    n_genes
        Genes present in every table.
    """

    spearman: pd.DataFrame
    n_pairs: pd.DataFrame
    significant: pd.DataFrame
    overlap: pd.DataFrame
    disagreement: pd.DataFrame
    fdr: float
    n_genes: int

    def summary(self) -> str:
        """A few lines: genes compared, significant genes per method, the correlations."""
        lines = [f"Concordance of {list(self.spearman.columns)} over {self.n_genes} shared genes"]
        for name, n in self.significant.sum().items():
            lines.append(f"  {name}: {int(n)} genes with adj.P.Val < {self.fdr:g}")
        all_sig = int(self.significant.all(axis=1).sum())
        lines.append(f"  significant in all: {all_sig}")
        for a, b in combinations(self.spearman.columns, 2):
            lines.append(f"  Spearman logFC {a} ~ {b}: {self.spearman.loc[a, b]:.4f}")
        return "\n".join(lines)


def concordance(
    tables: Mapping[str, DETable | pd.DataFrame], *, fdr: float = 0.05, n_top: int = 20
) -> Concordance:
    """Agreement between differential-expression tables of the same genes.

    Parameters
    ----------
    tables
        ``{method name: table}``, at least two, each indexed by gene ID with ``logFC``,
        ``P.Value`` and ``adj.P.Val`` columns (the canonical names every degbridge table uses).
    fdr
        Significance threshold on ``adj.P.Val``.
    n_top
        How many genes ``disagreement`` lists.

    Returns
    -------
    Concordance

    Raises
    ------
    ValueError, TypeError
        Fewer than two tables, a missing column, duplicate gene IDs, no shared genes, or an
        FDR outside (0, 1).
    """
    frames = _checked(tables, fdr)
    names = list(frames)
    shared = frames[names[0]].index
    for name in names[1:]:
        shared = shared.intersection(frames[name].index, sort=False)
    if len(shared) == 0:
        msg = f"the tables {names} share no gene IDs"
        raise ValueError(msg)
    rho = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    n_pairs = pd.DataFrame(0, index=names, columns=names)
    for a, b in combinations(names, 2):
        pair = pd.concat(
            [frames[a]["logFC"].rename("a"), frames[b]["logFC"].rename("b")], axis=1, join="inner"
        ).dropna()
        r = _spearman(pair["a"].to_numpy(float), pair["b"].to_numpy(float))
        rho.loc[a, b] = rho.loc[b, a] = r
        n_pairs.loc[a, b] = n_pairs.loc[b, a] = len(pair)
    for n in names:
        n_pairs.loc[n, n] = int(frames[n]["logFC"].notna().sum())
    sig = pd.DataFrame(
        {n: (frames[n].loc[shared, "adj.P.Val"] < fdr).to_numpy() for n in names}, shared
    )
    return Concordance(
        spearman=rho,
        n_pairs=n_pairs,
        significant=sig,
        overlap=intersections(sig),
        disagreement=_disagreement(frames, shared, n_top),
        fdr=float(fdr),
        n_genes=len(shared),
    )


def _checked(tables, fdr) -> dict[str, pd.DataFrame]:
    if not isinstance(tables, Mapping):
        msg = f"tables must be a dict {{method name: DETable}}, not {type(tables).__name__}"
        raise TypeError(msg)
    if len(tables) < 2:
        msg = f"concordance needs at least two tables, got {len(tables)}"
        raise ValueError(msg)
    if isinstance(fdr, bool) or not isinstance(fdr, int | float) or not 0 < fdr < 1:
        msg = f"fdr must be a number between 0 and 1, not {fdr!r}"
        raise ValueError(msg)
    out = {}
    for name, tab in tables.items():
        if not isinstance(tab, pd.DataFrame):
            msg = f"table {name!r} is a {type(tab).__name__}, not a DETable"
            raise TypeError(msg)
        missing = [c for c in ("logFC", "P.Value", "adj.P.Val") if c not in tab.columns]
        if missing:
            msg = f"table {name!r} lacks the column(s) {missing} (it has {list(tab.columns)})"
            raise ValueError(msg)
        if tab.index.has_duplicates:
            dup = list(tab.index[tab.index.duplicated()][:5])
            msg = f"table {name!r} has duplicate gene IDs, e.g. {dup}"
            raise ValueError(msg)
        out[str(name)] = pd.DataFrame(tab)
    return out


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho: Pearson's correlation of the average ranks."""
    if a.size < 3:
        return float("nan")
    ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / denom) if denom > 0 else float("nan")


def intersections(sig: pd.DataFrame) -> pd.DataFrame:
    """Genes counted once, in their exact combination of sets (a genes × sets boolean frame):
    one row per combination with a gene, the sets' columns and ``n_genes``, largest first."""
    names = list(sig.columns)
    counts = sig.value_counts(sort=False)
    rows = [(*key, int(n)) for key, n in counts.items() if any(key)]
    out = pd.DataFrame(rows, columns=[*names, "n_genes"])
    out = out.astype(dict.fromkeys(names, bool))
    order = np.lexsort((-out[names].sum(axis=1).to_numpy(), -out["n_genes"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def _disagreement(frames: dict[str, pd.DataFrame], shared: pd.Index, n_top: int) -> pd.DataFrame:
    stats = {}
    for name, frame in frames.items():
        sub = frame.loc[shared]
        with np.errstate(divide="ignore"):
            stats[name] = np.sign(sub["logFC"].to_numpy(float)) * -np.log10(
                sub["P.Value"].to_numpy(float)
            )
    stat = pd.DataFrame(stats, index=shared)
    stat = stat[np.isfinite(stat).all(axis=1)]
    ranks = stat.rank()
    out = pd.concat([stat.add_suffix(" stat"), ranks.add_suffix(" rank")], axis=1)
    out["rank_range"] = ranks.max(axis=1) - ranks.min(axis=1)
    return out.sort_values("rank_range", ascending=False, kind="stable").head(n_top)
