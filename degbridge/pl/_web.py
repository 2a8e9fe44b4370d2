"""What an HTML page with interactive figures needs, built safe by construction.

* Data reach the page only as JSON inside ``<script type="application/json">`` (never executed):
  :func:`json_for_script` escapes every ``<``, ``>``, ``&``, U+2028 and U+2029 as ``\\uXXXX``, so
  no data can close the element, open a comment or form an entity, and ``JSON.parse`` gives the
  original strings back. The page's JavaScript puts them in the DOM with ``textContent`` only,
  and escapes them for Plotly (which reads a subset of HTML in its labels).
* JavaScript is inlined only after :func:`inline_script` checked that it cannot end its own
  element early (no ``</script``, no ``<!--``).
* A Content-Security-Policy (:func:`content_security_policy`) allows exactly the inlined
  scripts, by hash: an injected script or event handler would not run, and the page can make
  no network request (``default-src 'none'``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import re
from collections.abc import Iterable
from importlib import resources

from markupsafe import Markup

__all__ = [
    "app_css",
    "app_js",
    "content_security_policy",
    "inline_script",
    "json_for_script",
    "plotly_js",
    "widget_html",
]

_ASSETS = "assets"
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}  # fmt: skip
_JSON_UNSAFE = re.compile("[<>&\u2028\u2029]")
#: What ends a script element early or switches the HTML parser into another state.
_SCRIPT_UNSAFE = re.compile(r"</script|<!--", re.IGNORECASE)


def finite_or_none(value):
    """JSON has no NaN or infinity: those become ``None`` (``null``), recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    return value


def json_for_script(obj) -> Markup:
    """``obj`` as JSON text that is safe inside ``<script type="application/json">``.

    NaN and infinities become ``null``; any other value JSON cannot hold raises TypeError.
    """
    text = json.dumps(
        finite_or_none(obj), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )
    return Markup(_JSON_UNSAFE.sub(lambda m: _JSON_ESCAPES[m.group()], text))


def inline_script(source: str, name: str) -> Markup:
    """JavaScript to place verbatim between ``<script>`` and ``</script>``.

    Line ends are normalised to ``\\n`` (as the HTML parser does, so that the CSP hash of the
    text matches what the browser hashes). Refused with ValueError when the code holds
    ``</script`` or ``<!--`` (it would end its element early) or a NUL character.
    """
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    found = _SCRIPT_UNSAFE.search(source)
    if found or "\x00" in source:
        what = repr(found.group()) if found else "a NUL character"
        msg = f"{name} cannot be inlined in an HTML page: it contains {what}"
        raise ValueError(msg)
    return Markup(source)


def script_hash(source: str) -> str:
    """The CSP source expression allowing exactly this inline script."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(scripts: Iterable[str] = ()) -> str:
    """The page's policy: nothing from the network; inline styles and ``data:`` images (the
    report's figures); the given inline scripts only (by hash), with ``'unsafe-eval'`` when
    there are scripts (Plotly's WebGL traces compile their shaders with ``Function``)."""
    hashes = [script_hash(s) for s in scripts]
    policy = ["default-src 'none'", "style-src 'unsafe-inline'", "img-src data: blob:"]
    if hashes:
        policy.append("script-src " + " ".join([*hashes, "'unsafe-eval'"]))
    else:
        policy.append("script-src 'none'")
    return "; ".join(policy)


@functools.lru_cache(maxsize=1)
def plotly_js() -> Markup:
    """plotly.js, as shipped inside the Python package ``plotly`` (MIT licence), checked."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as err:  # pragma: no cover - plotly is a dependency
        msg = "interactive figures need the plotly package: pip install plotly"
        raise ImportError(msg) from err
    return inline_script(get_plotlyjs(), "plotly.js")


def _asset(name: str) -> str:
    return resources.files("degbridge.pl").joinpath(_ASSETS, name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def app_js() -> Markup:
    """degbridge's own code driving the figures (``pl/assets/interactive.js``)."""
    return inline_script(_asset("interactive.js"), "interactive.js")


@functools.lru_cache(maxsize=1)
def app_css() -> Markup:
    """The figures' styles (``pl/assets/interactive.css``), for a ``<style>`` element."""
    css = _asset("interactive.css")
    if re.search(r"</style|<!--", css, re.IGNORECASE):  # pragma: no cover - our own file
        msg = "interactive.css cannot be inlined in an HTML page"
        raise ValueError(msg)
    return Markup(css)


def widget_html(spec: dict) -> Markup:
    """The element a figure is drawn into, holding its data as JSON."""
    return Markup('<div class="dbw"><script type="application/json">{}</script></div>').format(
        json_for_script(spec)
    )
