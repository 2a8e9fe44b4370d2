from .html import *  # noqa: F403
from .html import __all__  # noqa: F401
