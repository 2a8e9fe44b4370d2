"""Everything that touches R: session start, checks, conversions, errors.

Nothing here imports rpy2 at import time; R starts on the first call that needs it.
"""

from ._convert import (
    float_matrix,
    float_vector,
    frame_from_r,
    frame_to_r,
    list_to_r,
    raw_vector,
    scalar,
    str_vector,
    to_bytes,
    to_dict,
    to_numpy,
    to_r,
)
from ._session import (
    APT_COMMAND,
    R_LOCK,
    call,
    check_r,
    package_installed,
    r_available,
    r_package_path,
    r_script_path,
    r_scripts_dir,
    session,
    versions,
    warn_r,
)

__all__ = [
    "APT_COMMAND",
    "R_LOCK",
    "call",
    "check_r",
    "float_matrix",
    "float_vector",
    "frame_from_r",
    "frame_to_r",
    "list_to_r",
    "package_installed",
    "r_available",
    "r_package_path",
    "r_script_path",
    "r_scripts_dir",
    "raw_vector",
    "scalar",
    "session",
    "str_vector",
    "to_bytes",
    "to_dict",
    "to_numpy",
    "to_r",
    "versions",
    "warn_r",
]
