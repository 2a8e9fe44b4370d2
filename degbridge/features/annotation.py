"""Per-gene features known before any experiment, from Bioconductor annotation through R.

:func:`gene_annotation` maps gene IDs (Ensembl, Entrez or symbols; detected) with Debian's
``r-bioc-org.hs.eg.db`` (and ``r-bioc-genelendatabase`` for transcript lengths) and returns,
per input ID: symbol, name, chromosome, gene type, genomic span, strand, start, the number of
GO terms per ontology and the median transcript length. These are **external** features for
:func:`degbridge.compare`: nothing in them was computed from the experiment's samples.

Only a validated key type and a plain vector of IDs cross to R; nothing is evaluated.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._exceptions import DataWarning

__all__ = ["KEYTYPES", "SPECIES", "annotation_features", "detect_keytype", "gene_annotation"]

#: Supported species → (R annotation package, Debian package).
SPECIES = {"human": ("org.Hs.eg.db", "r-bioc-org.hs.eg.db")}
#: Supported ID types (org.*.eg.db key types).
KEYTYPES = ("ENSEMBL", "ENTREZID", "SYMBOL")

_ENSEMBL = re.compile(r"^ENS[A-Z]*G\d{11}(\.\d+)?$")
_ENTREZ = re.compile(r"^\d+$")

#: Numeric columns (features for compare); the others are text.
NUMERIC = (
    "span",
    "strand",
    "start",
    "n_go_bp",
    "n_go_mf",
    "n_go_cc",
    "tx_length",
    "protein_coding",
)


def detect_keytype(ids: Sequence[str]) -> str:
    """``"ENSEMBL"``, ``"ENTREZID"`` or ``"SYMBOL"``: the type most IDs look like."""
    ids = [str(i) for i in ids]
    if not ids:
        msg = "no gene IDs given"
        raise ValueError(msg)
    ens = sum(bool(_ENSEMBL.match(i)) for i in ids)
    ent = sum(bool(_ENTREZ.match(i)) for i in ids)
    if ens >= 0.5 * len(ids):
        return "ENSEMBL"
    if ent >= 0.5 * len(ids):
        return "ENTREZID"
    return "SYMBOL"


def _check(ids, species: str, keytype: str | None) -> tuple[list[str], str]:
    if isinstance(ids, str) or not hasattr(ids, "__iter__"):
        msg = (
            f"ids must be a sequence of gene IDs (e.g. a DETable's index), not {type(ids).__name__}"
        )
        raise TypeError(msg)
    if isinstance(ids, pd.DataFrame):
        ids = ids.index
    ids = [str(i) for i in ids]
    if species not in SPECIES:
        msg = f"species {species!r} is not supported; supported: {sorted(SPECIES)}"
        raise ValueError(msg)
    if keytype is None:
        keytype = detect_keytype(ids)
    elif keytype not in KEYTYPES:
        msg = (
            f"keytype {keytype!r} is not supported; use one of {list(KEYTYPES)} (or None to detect)"
        )
        raise ValueError(msg)
    if len(set(ids)) != len(ids):
        dup = pd.Index(ids)
        msg = f"gene IDs occur more than once, e.g. {list(dup[dup.duplicated()][:3])}"
        raise ValueError(msg)
    return ids, keytype


def gene_annotation(
    ids,
    *,
    species: str = "human",
    keytype: str | None = None,
    tx_length: bool = True,
) -> pd.DataFrame:
    """Annotation features of genes, from Bioconductor's ``org.Hs.eg.db`` through R.

    Parameters
    ----------
    ids
        Gene IDs: a sequence, an Index, or a DataFrame/DETable (its index is used). Versioned
        Ensembl IDs (``ENSG00000000003.14``) are matched without the version.
    species
        ``"human"`` (``org.Hs.eg.db``).
    keytype
        ``"ENSEMBL"``, ``"ENTREZID"`` or ``"SYMBOL"``; detected from the IDs by default.
    tx_length
        Add ``tx_length``, the median transcript length (hg19 UCSC known genes,
        ``geneLenDataBase``), when that R package is installed.

    Returns
    -------
    A DataFrame indexed by the input IDs (same order) with text columns ``entrez``,
    ``symbol``, ``name``, ``chromosome``, ``gene_type`` and numeric columns ``span`` (bp from
    the first CHRLOC start to its end), ``strand`` (+1/-1), ``start``, ``protein_coding``
    (1/0), ``n_go_bp``, ``n_go_mf``, ``n_go_cc`` (GO terms per ontology) and ``tx_length``.
    ``attrs`` holds ``keytype``, ``n_mapped``, ``n_ids``, the package versions and
    ``provenance="external"``. Unmapped IDs have missing values.

    Raises
    ------
    ValueError
        Unknown species or key type (the supported ones listed), duplicated IDs.
    degbridge.RNotAvailableError
        R or the annotation package missing (the Debian package named).
    """
    ids, keytype = _check(ids, species, keytype)
    keys = [i.split(".")[0] if keytype == "ENSEMBL" else i for i in ids]
    from .. import r
    from .._exceptions import RNotAvailableError

    started = time.perf_counter()
    with r.R_LOCK:
        r.check_r()
        pkg, apt = SPECIES[species]
        if not r.package_installed(pkg):
            msg = f"gene_annotation needs the R package {pkg}: apt-get install -y {apt}"
            raise RNotAvailableError(msg)
        out = r.to_dict(
            r.call(
                "degbridge_gene_annotation",
                r.str_vector(keys),
                r.scalar(keytype),
                species=r.scalar(species),
                tx_length=r.scalar(bool(tx_length)),
            )
        )
        versions = {k: str(r.to_numpy(v)[0]) for k, v in r.to_dict(out.pop("versions")).items()}
        columns = {k: r.to_numpy(v) for k, v in out.items()}
        del out
    frame = pd.DataFrame(columns, index=pd.Index(ids, dtype=object))
    for col in ("span", "strand", "start", "n_go_bp", "n_go_mf", "n_go_cc", "tx_length"):
        if col in frame:
            frame[col] = frame[col].astype(float)
    gene_type = frame["gene_type"]
    frame.insert(
        frame.columns.get_loc("span"),
        "protein_coding",
        np.where(gene_type.isna(), np.nan, (gene_type == "protein-coding").astype(float)),
    )
    n_mapped = int(frame["entrez"].notna().sum())
    frame.attrs.update(
        keytype=keytype,
        species=species,
        n_ids=len(ids),
        n_mapped=n_mapped,
        versions=versions,
        provenance="external",
        seconds=round(time.perf_counter() - started, 3),
    )
    if n_mapped < 0.1 * len(ids):
        unmatched = [i for i, e in zip(ids, frame["entrez"]) if e is None][:5]
        warnings.warn(
            f"only {n_mapped} of {len(ids)} IDs mapped with keytype {keytype!r} "
            f"(detected from the IDs unless given); unmatched, e.g. {unmatched}",
            DataWarning,
            stacklevel=2,
        )
    return frame


def annotation_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The numeric columns of :func:`gene_annotation`: ready to join as external features."""
    out = frame[[c for c in NUMERIC if c in frame.columns]].copy()
    out.attrs = dict(frame.attrs, provenance="external")
    return out
