"""The package's layers import one way only (docs/architecture.md).

Every ``import``/``from ... import`` in ``degbridge/`` — at module level and inside
functions — is parsed (ast). A module may import from its own layer or below, never above,
and the imports between degbridge's modules form no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "degbridge"

#: Lowest first. A module not listed here makes the test fail: place every new module.
LAYERS: list[tuple[str, set[str]]] = [
    (
        "foundation",
        {
            "_exceptions", "_version", "_checks", "_params", "r", "r._session", "r._convert",
            "io.files",
        },
    ),
    ("data types", {"io", "io.table", "io._text", "io.table_reader", "io.matrix_reader", "datasets", "de.design", "de.formula", "de.contrasts"}),
    (
        "methods",
        {
            "de", "de.backend", "de.limma", "de.decide", "de.genesets", "de.edger", "de.deseq2",
            "de.concordance", "features", "features.expression", "features.annotation",
            "comparison", "comparison.core", "comparison.engine", "comparison.leakage",
            "comparison.models", "comparison.preprocess", "comparison.result",
            "comparison.steps", "comparison.transfer",
        },
    ),
    (
        "storage and presentation",
        {"sc.pseudobulk", "sc._blockwise", "sc.storage", "sc._celltype", "sc._dask", "sc.read", "handback", "report", "report.html", "report.celltypes", "pl", "pl._base", "pl.de", "pl.samples", "pl.sets", "pl.comparison", "pl.interactive", "pl._web"},
    ),
    (
        "user faces",
        {"sc", "sc.tl", "sc.pp", "sc.get", "cli", "_reticulate", "__init__", "__main__"},
    ),
]  # fmt: skip
LAYER = {module: k for k, (_, modules) in enumerate(LAYERS) for module in modules}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(module: str, node: ast.ImportFrom | ast.Import, is_package: bool) -> list[str]:
    """degbridge modules named by one import statement (relative or absolute)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
        return [n.removeprefix("degbridge.") for n in names if n.startswith("degbridge.")]
    if node.level == 0:
        if not (node.module or "").startswith("degbridge"):
            return []
        base = (node.module or "").removeprefix("degbridge").lstrip(".")
    else:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)] if node.level > 1 else package
        base = ".".join([*package, node.module] if node.module else package)
    targets = []
    for alias in node.names:
        candidate = f"{base}.{alias.name}" if base else alias.name
        targets.append(candidate if candidate in LAYER else base or "__init__")
    return [t for t in targets if t]


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(), filename=str(path))
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                targets.update(_resolve(module, node, is_package))
        graph[module] = {t for t in targets if t != module}
    return graph


def test_every_module_has_a_layer():
    unplaced = sorted(set(_graph()) - set(LAYER))
    assert not unplaced, f"place these modules in a layer of tests/test_layers.py: {unplaced}"


def test_no_upward_import():
    upward = []
    for module, targets in _graph().items():
        for target in targets:
            if target in LAYER and LAYER[target] > LAYER.get(module, 99):
                upward.append(
                    f"{module} ({LAYERS[LAYER[module]][0]}) imports {target} "
                    f"({LAYERS[LAYER[target]][0]})"
                )
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def test_no_import_cycle():
    graph = {m: {t for t in ts if t in LAYER} for m, ts in _graph().items()}
    # a package's __init__ re-exporting its submodules is not a cycle with them
    for module in graph:
        if module in ("r", "comparison", "de", "io", "sc", "pl", "report", "features"):
            graph[module] = set()
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycles.append(" → ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from ..r import to_r", {"r"}),
        ("from .. import r", {"r"}),
        ("from ..handback import write_results", {"handback"}),
        ("from .leakage import audit", {"comparison.leakage"}),
    ],
)
def test_the_parser_sees_relative_imports(source, expected):
    node = ast.parse(source).body[0]
    assert set(_resolve("comparison.result", node, is_package=False)) == expected
