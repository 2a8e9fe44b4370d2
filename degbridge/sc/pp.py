"""scverse-style preprocessing on AnnData: :func:`pseudobulk` (raw counts summed per sample).

>>> pb = db.pp.pseudobulk(cells, "donor", groupby="condition", layer="counts")

``degbridge.pseudobulk`` is the same function.
"""

from __future__ import annotations

from .pseudobulk import pseudobulk

__all__ = ["pseudobulk"]
