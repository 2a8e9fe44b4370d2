"""Tables and matrices in and out: :class:`DETable` and its column vocabulary
(:mod:`~degbridge.io.table`), the readers (:func:`read_table`, :func:`read_matrix`) and the
output contract (:mod:`~degbridge.io.files`: atomic writes, results folders)."""

from .matrix_reader import read_matrix
from .table import CANONICAL, DETable
from .table_reader import read_table

__all__ = ["CANONICAL", "DETable", "read_matrix", "read_table"]
