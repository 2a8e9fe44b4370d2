"""Exception and warning classes raised by degbridge.

Every warning degbridge emits is a :class:`DegbridgeWarning`, so users can filter them all at
once (``warnings.filterwarnings("ignore", category=degbridge.DegbridgeWarning)``) or one kind
at a time.
"""

from __future__ import annotations


class DegbridgeWarning(UserWarning):
    """Base class of every warning degbridge emits."""


class ColumnAliasWarning(DegbridgeWarning):
    """A column was renamed to a canonical limma name by an alias (e.g. ``FDR`` → ``adj.P.Val``)."""


class ExcelDateWarning(DegbridgeWarning):
    """Gene identifiers look like dates that a spreadsheet made of gene names (``1-Mar``, ``2-Sep``)."""


class LeakageWarning(DegbridgeWarning):
    """Features of a regression are transforms of the target (same-test statistics)."""


class RWarning(DegbridgeWarning):
    """A warning raised by R (limma, edgeR) during a degbridge call."""


class DataWarning(DegbridgeWarning):
    """Something in the input data was dropped, repaired or looks suspicious."""


class RNotAvailableError(ImportError):
    """R, rpy2 or a required R package is missing or unusable."""


class RError(RuntimeError):
    """R raised an error; the message is R's own. The R session stays usable."""


class InputFileNotFoundError(FileNotFoundError, ValueError):
    """An input path does not exist (both a FileNotFoundError and a ValueError)."""

    def __str__(self) -> str:
        return self.strerror or super().__str__()
