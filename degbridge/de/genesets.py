"""Gene-set tests on a limma fit: camera, fry, roast and mroast, with sets from a dict, a GMT
file or the Gene Ontology.

Sets are mapped to the fit's genes in Python and cross to R as named lists of integer row
numbers, never as code; the mapping rate is reported in the result's ``attrs`` and logged.
Sets from a dict or GMT file are matched by exact ID. GO sets (``gene_sets("GO:BP")``) hold
Entrez IDs from Debian's ``org.Hs.eg.db``: the fit's IDs (Ensembl, symbols or Entrez,
detected) are mapped to Entrez IDs by ``org.Hs.eg.db`` in R (``mapIds``, first match), and
each set becomes the rows whose Entrez ID is in it, in row order, as limma's ``ids2indices``
builds them. The R side (``r_scripts/R/limma_fit.R``) calls limma's own functions on the fit's
log-expression ``E``, its observation weights (voom's), design and contrast, as a native
session calls ``camera(v, index, design, contrast)``.

The fit is any :class:`degbridge.fit.LimmaFit` (this module does not import it: the fit's
methods call these functions).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._checks import R_INTEGER_MAX, check_label
from .._exceptions import DataWarning
from .._params import ADJUST_METHODS, check_choice

__all__ = [
    "GO_ONTOLOGIES",
    "GO_SPECIES",
    "GeneSets",
    "camera",
    "camera_pr",
    "fry",
    "gene_sets",
    "mroast",
    "roast",
]

logger = logging.getLogger("degbridge")

STANDARDIZE = ("none", "residual.sd", "posterior.sd", "p2")
FRY_SORT = ("directional", "mixed", "none")
SET_STATISTICS = ("mean", "floormean", "mean50", "msq")


#: GO ontologies :func:`gene_sets` builds: biological process, molecular function, component.
GO_ONTOLOGIES: tuple[str, ...] = ("GO:BP", "GO:MF", "GO:CC")
#: Species → (R annotation package, Debian package) for GO sets and ID mapping.
GO_SPECIES: dict[str, tuple[str, str]] = {
    "human": ("org.Hs.eg.db", "r-bioc-org.hs.eg.db"),
    "mouse": ("org.Mm.eg.db", "r-bioc-org.mm.eg.db"),
}


class GeneSets(dict):
    """``{set name: [gene IDs]}`` (order kept, duplicates within a set removed).

    Attributes
    ----------
    source
        Where the sets came from (``"dict"``, the GMT path, or ``"GO:BP"``...).
    keytype
        ``None``: members are matched to a fit's genes by exact ID. ``"ENTREZID"`` (GO sets):
        members are Entrez IDs and a fit's IDs are mapped to Entrez IDs through
        ``org.*.eg.db`` first.
    species
        The species of a GO set collection (``None`` otherwise).
    terms
        ``{set name: term name}`` for GO sets (empty otherwise).
    meta
        Provenance of GO sets: ontology, size limits, number of terms before the size filter,
        package versions.
    """

    def __init__(
        self,
        sets: Mapping[str, list[str]],
        source: str,
        *,
        keytype: str | None = None,
        species: str | None = None,
        terms: Mapping[str, str] | None = None,
        meta: Mapping[str, Any] | None = None,
        _table: _GoTable | None = None,
        _selected: np.ndarray | None = None,
    ):
        super().__init__(sets)
        self.source = source
        self.keytype = keytype
        self.species = species
        self.terms = dict(terms or {})
        self.meta = dict(meta or {})
        self._table = _table
        self._selected = _selected
        self._mapped: dict = {}  # (genes, names) hashes -> the index, for GO sets

    def __repr__(self) -> str:
        return f"GeneSets({len(self)} sets from {self.source})"

    def _changed(self) -> None:
        self._mapped = {}

    def __setitem__(self, key, value) -> None:
        self._changed()
        super().__setitem__(key, value)

    def __delitem__(self, key) -> None:
        self._changed()
        super().__delitem__(key)

    def update(self, *args, **kwargs) -> None:
        self._changed()
        super().update(*args, **kwargs)

    def pop(self, *args):
        self._changed()
        return super().pop(*args)

    def popitem(self):
        self._changed()
        return super().popitem()

    def setdefault(self, key, default=None):
        self._changed()
        return super().setdefault(key, default)

    def clear(self) -> None:
        self._changed()
        super().clear()

    def __reduce__(self):
        return (
            _rebuild,
            (dict(self), self.source, self.keytype, self.species, self.terms, self.meta),
        )

    def describe(self) -> pd.DataFrame:
        """One row per set: ``ID``, ``Term`` (GO term name, or missing) and ``size``."""
        names = list(self)
        return pd.DataFrame(
            {
                "ID": names,
                "Term": [self.terms.get(n) for n in names],
                "size": [len(self[n]) for n in names],
            }
        )


def _rebuild(sets, source, keytype, species, terms, meta) -> GeneSets:
    return GeneSets(sets, source, keytype=keytype, species=species, terms=terms, meta=meta)


def gene_sets(
    source: Mapping[str, Iterable[str]] | str | os.PathLike,
    *,
    min_size: int = 1,
    max_size: int | None = None,
    species: str = "human",
) -> GeneSets:
    """Gene sets from a dict ``{name: [gene IDs]}``, a GMT file or the Gene Ontology.

    Parameters
    ----------
    source
        A mapping of set names to gene IDs; the path of a GMT file (one set per line: name,
        description, then gene IDs, tab-separated); or ``"GO:BP"``, ``"GO:MF"``, ``"GO:CC"``
        (a string starting with ``"GO:"`` is an ontology, not a file; pass a
        :class:`pathlib.Path` for a file of that name). A GO term's set holds every Entrez
        gene annotated to the term **or to one of its descendants** (``org.Hs.egGO2ALLEGS``,
        what limma's ``goana`` tests): a term then means what its name says, including its
        more specific terms, whereas direct annotations (``org.Hs.egGO2EG``) leave most
        general terms nearly empty. Set names are GO IDs; the term names are in ``terms``
        and :meth:`GeneSets.describe`.
    min_size, max_size
        Keep sets with at least ``min_size`` and at most ``max_size`` distinct IDs (before
        mapping to a fit's genes; for GO, the Entrez genes annotated in ``org.Hs.eg.db``).
    species
        For GO sets: ``"human"`` (Debian's ``r-bioc-org.hs.eg.db`` and ``r-bioc-go.db``).
        ``"mouse"`` needs ``org.Mm.eg.db`` (``r-bioc-org.mm.eg.db``).

    Returns
    -------
    GeneSets

    Raises
    ------
    ValueError
        An unknown ontology or species (the valid ones listed), bad sizes, no set left.
    degbridge.RNotAvailableError
        GO sets without R or the species' annotation package (the Debian package named).
    """
    if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 1:
        msg = f"min_size must be a positive integer, not {min_size!r}"
        raise ValueError(msg)
    if max_size is not None and (
        isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < min_size
    ):
        msg = f"max_size must be an integer ≥ min_size ({min_size}) or None, not {max_size!r}"
        raise ValueError(msg)
    if isinstance(source, str) and source[:3].upper() == "GO:":
        return _go_sets(source, species, min_size, max_size)
    if isinstance(source, str | os.PathLike):
        raw, where = _read_gmt(Path(source)), str(source)
    elif isinstance(source, Mapping):
        raw, where = source, "dict"
    else:
        msg = f"gene sets come from a dict or a GMT file path, not {type(source).__name__}"
        raise TypeError(msg)
    sets: dict[str, list[str]] = {}
    for name, members in raw.items():
        if not isinstance(name, str) or not name:
            msg = f"gene set names must be non-empty strings, not {name!r}"
            raise TypeError(msg)
        check_label(name, "gene set name")  # R strings stop at NUL: camera would rename it
        if isinstance(members, str) or not isinstance(members, Iterable):
            msg = f"gene set {name!r} must be a list of gene IDs, not {type(members).__name__}"
            raise TypeError(msg)
        ids = list(dict.fromkeys(_member_ids(name, members)))
        if len(ids) >= min_size and (max_size is None or len(ids) <= max_size):
            sets[name] = ids
    if not sets:
        msg = f"no gene set from {where} has between {min_size} and {max_size or 'any'} genes"
        raise ValueError(msg)
    return GeneSets(sets, where)


def _member_ids(name: str, members: Iterable) -> Iterator[str]:
    """A set's members as text IDs: strings and integers; None, NaN and "" are skipped.

    Booleans and non-missing floats are refused: a pandas column of Entrez IDs with one
    missing value turns into floats (``2.0``), which would then match no gene.
    """
    for m in members:
        if m is None or (isinstance(m, str) and m == ""):
            continue
        if isinstance(m, bool | np.bool_):
            msg = f"gene set {name!r} holds the boolean {m!r}: gene IDs are text or integers"
            raise TypeError(msg)
        if isinstance(m, float | np.floating):
            if np.isnan(m):
                continue
            msg = (
                f"gene set {name!r} holds the number {m!r}: gene IDs are text or integers (a "
                "pandas column of Entrez IDs with a missing value turns into floats: drop the "
                "missing values or use .astype('Int64') first)"
            )
            raise TypeError(msg)
        yield str(m)


# ---------------------------------------------------------------------------------------
# GO sets (r_scripts/R/genesets.R), kept per process
# ---------------------------------------------------------------------------------------


class _GoTable:
    """One ontology's sets as numbers: CSR codes into the sorted Entrez universe."""

    def __init__(self, ids, terms, universe, codes, sizes, versions):
        self.ids = ids
        self.terms = terms
        self.universe = universe
        self.codes = codes  # 0-based into universe, set after set
        self.sizes = sizes
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.versions = versions
        self.universe_index = pd.Index(universe)


_GO_CACHE: dict[tuple[str, str], _GoTable] = {}
_ENTREZ_CACHE: dict[tuple[str, str, int], tuple[list[str], np.ndarray]] = {}
_CACHE_LOCK = threading.Lock()


def _check_species(species) -> tuple[str, str]:
    if species not in GO_SPECIES:
        msg = f"species {species!r} is not supported for GO sets; use one of {list(GO_SPECIES)}"
        raise ValueError(msg)
    from .. import r
    from .._exceptions import RNotAvailableError

    pkg, apt = GO_SPECIES[species]
    r.check_r()
    if not r.package_installed(pkg):
        msg = (
            f"GO gene sets for species={species!r} need the R annotation package {pkg}, which "
            f"is not installed: apt-get install -y {apt}"
        )
        raise RNotAvailableError(msg)
    return pkg, apt


def _go_table(ontology: str, species: str) -> _GoTable:
    """The GO table of ``ontology`` (``"BP"``...), built once per process."""
    key = (species, ontology)
    with _CACHE_LOCK:
        if key in _GO_CACHE:
            return _GO_CACHE[key]
    from .. import r
    from .._exceptions import RNotAvailableError

    _check_species(species)
    if not r.package_installed("GO.db"):
        msg = "GO gene sets need the R package GO.db: apt-get install -y r-bioc-go.db"
        raise RNotAvailableError(msg)
    with r.R_LOCK:
        out = r.to_dict(r.call("degbridge_go_sets", r.scalar(ontology), r.scalar(species)))
        versions = {k: str(r.to_numpy(v)[0]) for k, v in r.to_dict(out["versions"]).items()}
        table = _GoTable(
            ids=np.asarray(r.to_numpy(out["ids"]), dtype=object),
            terms=np.asarray(r.to_numpy(out["terms"]), dtype=object),
            universe=np.asarray(r.to_numpy(out["universe"]), dtype=object),
            codes=r.to_numpy(out["codes"]).astype(np.int64) - 1,
            sizes=r.to_numpy(out["sizes"]).astype(np.int64),
            versions=versions,
        )
        del out
    with _CACHE_LOCK:
        return _GO_CACHE.setdefault(key, table)


def _go_sets(name: str, species: str, min_size: int, max_size: int | None) -> GeneSets:
    ontology = name.upper()
    if ontology not in GO_ONTOLOGIES:
        msg = f"unknown GO ontology {name!r}; use one of {list(GO_ONTOLOGIES)}"
        raise ValueError(msg)
    table = _go_table(ontology[3:], species)
    keep = table.sizes >= min_size
    if max_size is not None:
        keep &= table.sizes <= max_size
    selected = np.flatnonzero(keep)
    if not selected.size:
        msg = f"no {ontology} set has between {min_size} and {max_size or 'any'} genes"
        raise ValueError(msg)
    members = table.universe[table.codes]
    off = table.offsets
    sets = {table.ids[i]: tuple(members[off[i] : off[i + 1]].tolist()) for i in selected}
    terms = {table.ids[i]: table.terms[i] for i in selected}
    meta = {
        "ontology": ontology,
        "species": species,
        "min_size": min_size,
        "max_size": max_size,
        "n_terms": len(table.ids),
        "n_sets": len(selected),
        "annotation": "GO2ALLEGS (term and its descendants)",
        "versions": dict(table.versions),
    }
    logger.info(
        "%s sets (%s): %d of %d terms have %d–%s genes",
        ontology,
        species,
        len(selected),
        len(table.ids),
        min_size,
        max_size or "any",
    )
    return GeneSets(
        sets,
        ontology,
        keytype="ENTREZID",
        species=species,
        terms=terms,
        meta=meta,
        _table=table,
        _selected=selected,
    )


def _entrez_of(genes: list[str], species: str) -> tuple[str, np.ndarray]:
    """The fit's ID type (detected) and the Entrez ID of each gene ("" where none); cached."""
    from ..features.annotation import detect_keytype

    keytype = detect_keytype(genes)
    key = (species, keytype, hash(tuple(genes)))
    with _CACHE_LOCK:
        hit = _ENTREZ_CACHE.get(key)
    if hit is not None and hit[0] == genes:
        return keytype, hit[1]
    from .. import r

    _check_species(species)
    keys = [g.split(".")[0] if keytype == "ENSEMBL" else g for g in genes]
    with r.R_LOCK:
        out = r.to_numpy(
            r.call("degbridge_entrez_of", r.str_vector(keys), r.scalar(keytype), r.scalar(species))
        )
    entrez = np.asarray(["" if v is None else str(v) for v in out], dtype=object)
    with _CACHE_LOCK:
        if len(_ENTREZ_CACHE) >= 8:
            _ENTREZ_CACHE.pop(next(iter(_ENTREZ_CACHE)))
        _ENTREZ_CACHE[key] = (list(genes), entrez)
    return keytype, entrez


def _read_gmt(path: Path) -> dict[str, list[str]]:
    """A GMT file (gzip too; UTF-8, or Latin-1 as spreadsheets write it): ``{name: genes}``.
    Binary files, empty ones and malformed lines are refused naming the file (and line)."""
    from ..io._text import decode, read_bytes

    label = f"GMT file {str(path)!r}"
    if not path.is_file():
        msg = f"{label} does not exist"
        raise FileNotFoundError(msg)
    try:
        raw, _ = read_bytes(path)
    except ValueError as err:  # binary, empty, too large, a broken gzip stream
        msg = str(err).replace(f"file {str(path)!r}", label).replace("text table", "GMT text file")
        raise ValueError(msg) from None
    text, _ = decode(raw, label)
    sets: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            msg = (
                f"{label}, line {number}: expected name, description and genes separated by "
                f"tabs, found {len(fields)} field(s)"
            )
            raise ValueError(msg)
        name = fields[0].strip()
        if name in sets:
            msg = f"{label}, line {number}: set {name!r} occurs twice"
            raise ValueError(msg)
        try:
            check_label(name, "gene set name")
        except ValueError as err:
            msg = f"{label}, line {number}: {err}"
            raise ValueError(msg) from None
        sets[name] = [f.strip() for f in fields[2:] if f.strip()]
    return sets


# ---------------------------------------------------------------------------------------
# mapping
# ---------------------------------------------------------------------------------------

_ID_PATTERNS = (
    ("Ensembl gene", re.compile(r"^ENS[A-Z]*G\d{6,}(\.\d+)?$")),
    ("Ensembl transcript", re.compile(r"^ENS[A-Z]*T\d{6,}(\.\d+)?$")),
    ("Entrez (numeric)", re.compile(r"^\d+$")),
    ("Affymetrix probe", re.compile(r"^[\w.\-]+_at$")),
    ("RefSeq", re.compile(r"^[NX][MR]_\d+(\.\d+)?$")),
    ("gene symbol", re.compile(r"^[A-Za-z][A-Za-z0-9\-.@]*$")),
)


def id_type(ids: Iterable[str]) -> str:
    """The most common ID type among (up to 2000 of) ``ids``, by pattern."""
    counts: dict[str, int] = {}
    for n, value in enumerate(ids):
        if n >= 2000:
            break
        kind = next((k for k, p in _ID_PATTERNS if p.match(str(value))), "other")
        counts[kind] = counts.get(kind, 0) + 1
    return max(counts, key=counts.get) if counts else "none"


def map_sets(sets: Mapping[str, list[str]], genes: list[str]) -> tuple[dict[str, np.ndarray], dict]:
    """Each set as 1-based row numbers of ``genes``; sets with no gene found are left out.

    Sets matched by exact ID keep their member order. GO sets (``keytype="ENTREZID"``) are
    matched through the Entrez ID of each gene (``org.*.eg.db``, the fit's ID type detected):
    a set is every row whose Entrez ID is in it, in row order, as limma's ``ids2indices``.
    GO sets remember the index built for a list of genes (another contrast of the same fit is
    not mapped again); changing the sets forgets it.

    Returns ``(index, report)``; ``report`` holds ``mapping_rate`` (distinct set IDs found
    among the genes / distinct set IDs), ``n_ids``, ``n_ids_mapped``, ``n_sets``,
    ``n_sets_mapped``, ``empty_sets``, and for the genes: ``n_genes`` (the fit's),
    ``n_genes_mapped`` (those whose ID matches the sets' ID type: for GO sets, with an Entrez
    ID), ``gene_mapping_rate`` (their share), ``n_genes_in_sets`` (in at least one set
    tested), ``fit_id_type`` and ``set_id_type``. ValueError, naming the ID type on each
    side, when no set has any gene.
    """
    if isinstance(sets, str | os.PathLike) or not isinstance(sets, Mapping):
        sets = gene_sets(sets)
    genes = [str(g) for g in genes]
    if isinstance(sets, GeneSets) and sets.keytype == "ENTREZID":
        return _map_by_entrez(sets, genes)
    position = {g: i for i, g in enumerate(genes)}
    index: dict[str, np.ndarray] = {}
    empty: list[str] = []
    all_ids: set[str] = set()
    for name, members in sets.items():
        all_ids.update(members)
        rows = [position[m] + 1 for m in dict.fromkeys(members) if m in position]
        if rows:
            index[str(name)] = np.asarray(rows, dtype=np.int64)
        else:
            empty.append(str(name))
    found = sum(1 for m in all_ids if m in position)
    members = [m for ids in sets.values() for m in ids]
    if not index:
        msg = (
            f"no gene of the {len(sets)} gene set(s) is among the fit's {len(genes)} genes: the "
            f"sets hold {id_type(members)} IDs (e.g. {members[:3]}), the fit "
            f"{id_type(genes)} IDs (e.g. {genes[:3]}); map the IDs first (GO sets from "
            f'gene_sets("GO:BP") are mapped to Ensembl IDs, symbols or Entrez IDs for you)'
        )
        raise ValueError(msg)
    in_sets = len({r for rows in index.values() for r in rows.tolist()})
    report = {
        "mapping_rate": found / len(all_ids) if all_ids else 0.0,
        "n_ids": len(all_ids),
        "n_ids_mapped": found,
        "n_sets": len(sets),
        "n_sets_mapped": len(index),
        "empty_sets": len(empty),
        "n_genes": len(genes),
        "n_genes_mapped": found,
        "gene_mapping_rate": found / len(genes) if genes else 0.0,
        "n_genes_in_sets": in_sets,
        "fit_id_type": id_type(genes),
        "set_id_type": id_type(members),
    }
    _log_report(report)
    return index, report


def _log_report(report: dict) -> None:
    logger.info(
        "gene sets: %d of %d genes of the fit mapped (%.1f%%, %s IDs), %d in a set tested; %d "
        "of %d distinct set IDs found (%.1f%%); %d of %d sets tested",
        report["n_genes_mapped"],
        report["n_genes"],
        100 * report["gene_mapping_rate"],
        report["fit_id_type"],
        report["n_genes_in_sets"],
        report["n_ids_mapped"],
        report["n_ids"],
        100 * report["mapping_rate"],
        report["n_sets_mapped"],
        report["n_sets"],
    )


def _map_by_entrez(sets: GeneSets, genes: list[str]) -> tuple[dict[str, np.ndarray], dict]:
    """GO sets (Entrez IDs) → rows of ``genes`` through each gene's Entrez ID."""
    species = sets.species or "human"
    names = list(sets)
    key = (hash(tuple(genes)), hash(tuple(names)))
    hit = sets._mapped.get(key)
    if hit is not None and hit[0] == genes and hit[1] == names:
        # the same sets on the same genes (another contrast of the fit): mapped already
        _log_report(hit[3])
        return dict(hit[2]), dict(hit[3])
    table, selected = sets._table, sets._selected
    if table is not None and selected is not None and names == [table.ids[i] for i in selected]:
        universe, universe_index = table.universe, table.universe_index
        entry_set = np.repeat(np.arange(len(table.ids)), table.sizes)
        keep = np.zeros(len(table.ids), dtype=bool)
        keep[selected] = True
        mask = keep[entry_set]
        codes = table.codes[mask]
        label = np.searchsorted(selected, entry_set[mask])  # 0..len(names)-1
    else:  # the sets were changed after gene_sets(): build the same numbers from the dict
        members = [list(dict.fromkeys(str(m) for m in sets[n])) for n in names]
        universe_index = pd.Index(sorted({m for ms in members for m in ms}))
        universe = universe_index.to_numpy(dtype=object)
        flat = [m for ms in members for m in ms]
        codes = universe_index.get_indexer(flat).astype(np.int64)
        label = np.repeat(np.arange(len(names)), [len(ms) for ms in members])
    fit_type, entrez = _entrez_of(genes, species)
    gene_code = universe_index.get_indexer(entrez)  # -1: no Entrez ID, or in no set
    rows = np.flatnonzero(gene_code >= 0)
    by_code = rows[np.argsort(gene_code[rows], kind="stable")]  # rows grouped by code
    sorted_codes = gene_code[by_code]
    first = np.searchsorted(sorted_codes, codes, side="left")
    count = np.searchsorted(sorted_codes, codes, side="right") - first
    # expand each (set, code) entry into the rows holding that code
    total = int(count.sum())
    set_of_row = np.repeat(label, count)
    starts = np.repeat(first - np.concatenate([[0], np.cumsum(count)[:-1]]), count)
    picked = by_code[starts + np.arange(total)]
    order = np.lexsort((picked, set_of_row))
    set_of_row, picked = set_of_row[order], picked[order]
    bounds = np.searchsorted(set_of_row, np.arange(len(names) + 1))
    index: dict[str, np.ndarray] = {}
    for k, name in enumerate(names):
        chunk = picked[bounds[k] : bounds[k + 1]]
        if chunk.size:
            index[str(name)] = chunk + 1
    n_mapped = int(sum(1 for e in entrez if e))
    in_sets = np.bincount(codes, minlength=len(universe)) > 0
    in_fit = np.bincount(gene_code[rows], minlength=len(universe)) > 0
    n_ids, n_ids_found = int(in_sets.sum()), int((in_sets & in_fit).sum())
    if not index:
        org = GO_SPECIES.get(species, ("org.*.eg.db",))[0]
        msg = (
            f"no gene of the {len(sets)} {sets.source} set(s) is among the fit's {len(genes)} "
            f"genes: the sets hold Entrez IDs (e.g. {list(universe[codes[:3]])}); the fit's IDs "
            f"look like {id_type(genes)} IDs (e.g. {genes[:3]}), were mapped as {fit_type} and "
            f"{n_mapped} of them have an Entrez ID in {org}: are these {species} Ensembl gene "
            f"IDs, symbols or Entrez IDs?"
        )
        raise ValueError(msg)
    report = {
        "mapping_rate": n_ids_found / n_ids if n_ids else 0.0,
        "n_ids": n_ids,
        "n_ids_mapped": n_ids_found,
        "n_sets": len(sets),
        "n_sets_mapped": len(index),
        "empty_sets": len(sets) - len(index),
        "n_genes": len(genes),
        "n_genes_mapped": n_mapped,
        "gene_mapping_rate": n_mapped / len(genes) if genes else 0.0,
        "n_genes_in_sets": int(np.count_nonzero(np.bincount(picked, minlength=len(genes)))),
        "fit_id_type": fit_type,
        "set_id_type": "ENTREZID",
    }
    _log_report(report)
    if isinstance(sets[names[0]], tuple) if names else False:  # GO sets: members immutable
        if len(sets._mapped) >= 4:
            sets._mapped.pop(next(iter(sets._mapped)))
        sets._mapped[key] = (list(genes), names, index, dict(report))
    return index, report


# ---------------------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------------------


def camera(
    fit,
    sets,
    contrast=None,
    *,
    coef: str | None = None,
    inter_gene_cor: float | None = 0.01,
    use_ranks: bool = False,
    allow_neg_cor: bool = False,
    trend_var: bool = False,
    sort: bool = True,
) -> pd.DataFrame:
    """limma's ``camera``: competitive test of each set for one contrast of the fit.

    Parameters
    ----------
    fit
        A :class:`degbridge.fit.LimmaFit`.
    sets
        Gene sets: a dict ``{name: [gene IDs]}``, a GMT path or :func:`gene_sets`' result.
    contrast, coef
        One contrast or coefficient, as for :meth:`~degbridge.fit.LimmaFit.test`.
    inter_gene_cor
        The preset inter-gene correlation (limma's default 0.01), or ``None`` to estimate it
        for each set (then a ``Correlation`` column).
    use_ranks, allow_neg_cor, trend_var, sort
        As limma's ``use.ranks``, ``allow.neg.cor``, ``trend.var``, ``sort``.

    Returns
    -------
    pandas.DataFrame
        One row per set: ``NGenes``, ``Direction``, ``PValue``, ``FDR`` (and ``Correlation``)
        as limma returns them; ``attrs`` holds the mapping report and the contrast.
    """
    if inter_gene_cor is not None:
        inter_gene_cor = float(inter_gene_cor)
        if not -1 < inter_gene_cor < 1:
            msg = f"inter_gene_cor must be between -1 and 1 (or None), not {inter_gene_cor}"
            raise ValueError(msg)
    options = {
        "inter.gene.cor": inter_gene_cor,
        "use.ranks": bool(use_ranks),
        "allow.neg.cor": bool(allow_neg_cor),
        "trend.var": bool(trend_var),
        "sort": bool(sort),
    }
    return _run("degbridge_camera", fit, sets, contrast, coef, options, block=False)


def check_statistic(table: pd.DataFrame, statistic: str) -> None:
    """ValueError unless ``statistic`` is a numeric column of ``table`` (the valid ones named)."""
    if statistic not in table.columns or not pd.api.types.is_numeric_dtype(table[statistic]):
        numeric = [str(c) for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
        msg = (
            f"statistic={statistic!r} is not a numeric column of the table; numeric columns: "
            f"{numeric} (a signed statistic such as limma's t ranks genes best)"
        )
        raise ValueError(msg)


def camera_pr(
    table: pd.DataFrame,
    sets,
    *,
    statistic: str = "t",
    inter_gene_cor: float = 0.01,
    use_ranks: bool = False,
    sort: bool = True,
) -> pd.DataFrame:
    """limma's ``cameraPR``: camera on a genewise statistic, for a table without its matrix.

    A competitive test of each set with the table's ranked statistic (limma's "pre-ranked"
    camera): what is left when only a DE table is at hand (an imported topTable, a GEO2R
    export, an edgeR or DESeq2 table). With the expression matrix, :func:`camera` on the fit is
    the better test (it uses the sample-level correlation structure).

    Parameters
    ----------
    table
        A DE table indexed by gene ID (``run_limma``, ``read_table``, ``run_deseq2``...).
    sets
        Gene sets: a dict ``{name: [gene IDs]}``, a GMT path or :func:`gene_sets`' result
        (GO sets are matched through Entrez IDs, as for :func:`camera`).
    statistic
        The numeric column to rank by: ``"t"`` (limma; DESeq2's ``stat`` under its canonical
        name). It should be signed; genes where it is missing are left out (counted in
        ``attrs["n_missing_statistic"]``, with a warning).
    inter_gene_cor
        The preset inter-gene correlation (limma's default 0.01).
    use_ranks, sort
        As limma's ``use.ranks`` and ``sort``.

    Returns
    -------
    pandas.DataFrame
        One row per set: ``NGenes``, ``Direction``, ``PValue``, ``FDR`` as limma returns them;
        ``attrs`` holds the mapping report and the statistic.
    """
    from .. import r

    if not isinstance(table, pd.DataFrame):
        msg = f"camera_pr takes a DE table (a DataFrame indexed by gene ID), not {type(table).__name__}"
        raise TypeError(msg)
    check_statistic(table, statistic)
    inter_gene_cor = float(inter_gene_cor)
    if not -1 < inter_gene_cor < 1:
        msg = f"inter_gene_cor must be between -1 and 1, not {inter_gene_cor}"
        raise ValueError(msg)
    stat = table[statistic].to_numpy(dtype=float)
    finite = np.isfinite(stat)
    missing = int((~finite).sum())
    if missing:
        first = str(table.index[~finite][0])
        warnings.warn(
            f"camera_pr: {missing} gene(s) have no finite {statistic!r} (e.g. {first!r}) and "
            "are left out",
            DataWarning,
            stacklevel=2,
        )
    if finite.any() and (stat[finite] >= 0).all():
        warnings.warn(
            f"camera_pr: {statistic!r} is never negative: cameraPR ranks genes by a signed "
            "statistic (up and down, such as limma's t); with an unsigned one the Direction "
            "column means nothing",
            DataWarning,
            stacklevel=2,
        )
    genes = [str(g) for g in table.index[finite]]
    if len(set(genes)) != len(genes):
        msg = "the table's gene IDs (its index) must be unique for gene-set tests"
        raise ValueError(msg)
    if not isinstance(sets, GeneSets):
        sets = gene_sets(sets)
    index, report = map_sets(sets, genes)
    options = {"inter.gene.cor": inter_gene_cor, "use.ranks": bool(use_ranks), "sort": bool(sort)}
    with r.R_LOCK:
        r.check_r()
        rindex = _r_index(r, index)
        args = {k: r.scalar(v) for k, v in options.items()}
        out = r.to_dict(r.call("degbridge_camera_pr", r.float_vector(stat[finite]), rindex, **args))
        r_warnings = [str(w) for w in r.to_numpy(out["warnings"])]
        result = r.frame_from_r(out["table"])
        del rindex, args, out
    r.warn_r(r_warnings, stacklevel=2)
    result.attrs.update(report)
    result.attrs["statistic"] = statistic
    result.attrs["n_missing_statistic"] = missing
    return result


def fry(
    fit,
    sets,
    contrast=None,
    *,
    coef: str | None = None,
    standardize: str = "posterior.sd",
    sort: str = "directional",
    trend_var: bool = False,
    robust: bool = False,
) -> pd.DataFrame:
    """limma's ``fry``: fast self-contained rotation test (the ``roast`` limit) per set.

    Parameters as for :func:`camera`; ``standardize`` (``"none"``, ``"residual.sd"``,
    ``"posterior.sd"``, ``"p2"``), ``sort`` (``"directional"``, ``"mixed"``, ``"none"``),
    ``trend_var`` and ``robust`` as in limma. The fit's block and consensus correlation, if
    any, are used.

    Returns
    -------
    pandas.DataFrame
        ``NGenes``, ``Direction``, ``PValue``, ``FDR``, ``PValue.Mixed``, ``FDR.Mixed``.
    """
    check_choice("standardize", standardize, STANDARDIZE)
    check_choice("sort", sort, FRY_SORT)
    options = {
        "standardize": standardize,
        "sort": sort,
        "trend.var": bool(trend_var),
        "robust": bool(robust),
    }
    return _run("degbridge_fry", fit, sets, contrast, coef, options, block=True)


def roast(
    fit,
    gene_set,
    contrast=None,
    *,
    coef: str | None = None,
    nrot: int = 1999,
    seed: int | None = None,
    set_statistic: str = "mean",
    trend_var: bool = False,
) -> pd.DataFrame:
    """limma's ``roast`` on one set: rotation test, ``nrot`` rotations after R's
    ``set.seed(seed)``.

    Parameters
    ----------
    gene_set
        A list of gene IDs, or a mapping with one set.
    seed
        R's random seed, set just before ``roast`` so results reproduce (and equal a native
        session calling ``set.seed(seed)`` first). Without it a DataWarning is raised: the
        p-values change from run to run.

    Returns
    -------
    pandas.DataFrame
        Rows ``Down``, ``Up``, ``UpOrDown``, ``Mixed``; columns ``Active.Prop``, ``P.Value``
        (roast's ``p.value``); ``attrs["NGenes"]``.
    """
    if isinstance(gene_set, Mapping):
        if len(gene_set) != 1:
            msg = f"roast tests one gene set; got {len(gene_set)} (use mroast for several)"
            raise ValueError(msg)
        sets = dict(gene_set)
    elif isinstance(gene_set, str) or not isinstance(gene_set, Iterable):
        msg = "roast's gene_set is a list of gene IDs (or a mapping with one set)"
        raise TypeError(msg)
    else:
        sets = {"set": list(gene_set)}
    options = _rotation_options(nrot, seed, set_statistic, trend_var)
    options["multi"] = False
    out = _run("degbridge_roast", fit, sets, contrast, coef, options, block=True)
    return out


def mroast(
    fit,
    sets,
    contrast=None,
    *,
    coef: str | None = None,
    nrot: int = 1999,
    seed: int | None = None,
    set_statistic: str = "mean",
    adjust_method: str = "BH",
    midp: bool = True,
    sort: str = "directional",
    trend_var: bool = False,
) -> pd.DataFrame:
    """limma's ``mroast``: ``roast`` for several sets, after R's ``set.seed(seed)``.

    Parameters as for :func:`roast` and :func:`fry` (``adjust_method``, ``midp`` as in
    limma).

    Returns
    -------
    pandas.DataFrame
        ``NGenes``, ``PropDown``, ``PropUp``, ``Direction``, ``PValue``, ``FDR``,
        ``PValue.Mixed``, ``FDR.Mixed``.
    """
    check_choice("adjust_method", adjust_method, ADJUST_METHODS)
    check_choice("sort", sort, FRY_SORT)
    options = _rotation_options(nrot, seed, set_statistic, trend_var)
    options.update(
        {"multi": True, "adjust.method": adjust_method, "midp": bool(midp), "sort": sort}
    )
    return _run("degbridge_roast", fit, sets, contrast, coef, options, block=True)


def _rotation_options(nrot, seed, set_statistic, trend_var) -> dict[str, Any]:
    if (
        isinstance(nrot, bool)
        or not isinstance(nrot, int | np.integer)
        or not 1 <= nrot <= R_INTEGER_MAX
    ):
        msg = f"nrot must be a positive integer up to {R_INTEGER_MAX:,} (R's integer range), not {nrot!r}"
        raise ValueError(msg)
    if seed is None:
        warnings.warn(
            "roast/mroast without seed=: the rotations are random, so p-values change from run "
            "to run; pass seed= (R's set.seed) to reproduce them",
            DataWarning,
            stacklevel=4,
        )
    elif isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        msg = f"seed must be an integer, not {seed!r}"
        raise TypeError(msg)
    elif not -R_INTEGER_MAX <= seed <= R_INTEGER_MAX:
        msg = f"seed must be within R's integer range (±{R_INTEGER_MAX:,}), not {seed!r}"
        raise ValueError(msg)
    check_choice("set_statistic", set_statistic, SET_STATISTICS)
    return {
        "seed": None if seed is None else int(seed),
        "nrot": int(nrot),
        "set.statistic": set_statistic,
        "trend.var": bool(trend_var),
    }


def _r_index(r, index: dict[str, np.ndarray]):
    """The sets as R's named list of integer row vectors, built in R from one block copy."""
    lengths = [len(v) for v in index.values()]
    flat = np.concatenate(list(index.values())) if index else np.zeros(0)
    return r.call(
        "degbridge_index_list",
        r.float_vector(flat.astype(np.float64)),
        r.float_vector(np.asarray(lengths, dtype=np.float64)),
        r.str_vector(list(index)),
    )


def _run(function: str, fit, sets, contrast, coef, options: dict, *, block: bool):
    """Map the sets, send E/weights/design/contrast/index, call ``function``, tidy the table."""
    from .. import r

    spec = fit.contrasts(contrast, coef=coef)
    if len(spec.names) != 1:
        msg = f"gene-set tests take one contrast, not {len(spec.names)} ({spec.names})"
        raise ValueError(msg)
    if not isinstance(sets, GeneSets):
        sets = gene_sets(sets)
    index, report = map_sets(sets, fit.genes)
    with r.R_LOCK:
        r.check_r()
        ri = r.session().ri
        rindex = _r_index(r, index)
        if spec.coefs[0] is not None:  # a single coefficient, as camera(..., contrast = j)
            rcontrast = r.scalar(int(spec.coefs[0]) + 1)
        else:
            rcontrast = r.float_vector(spec.matrix[:, 0])
        dmat = r.float_matrix(fit.design.matrix)
        weights = ri.NULL if fit.weights is None else r.float_matrix(fit.weights)
        extra = {}
        if block and fit.block is not None:
            extra["block"] = r.str_vector(fit.block)
            extra["correlation"] = r.float_vector(np.atleast_1d(fit.parts["correlation"]))
        args = {k: r.scalar(v) for k, v in options.items()}
        out = r.to_dict(
            r.call(
                function, r.float_matrix(fit.E), weights, dmat, rcontrast, rindex, **args, **extra
            )
        )
        r_warnings = [str(w) for w in r.to_numpy(out["warnings"])]
        table = r.frame_from_r(out["table"])
        del rindex, rcontrast, dmat, weights, extra, args, out
    r.warn_r(r_warnings, stacklevel=3)
    if function == "degbridge_roast" and not options["multi"]:
        table.attrs["NGenes"] = len(next(iter(index.values())))
    table.attrs.update(report)
    table.attrs["contrast"] = spec.names[0]
    return table
