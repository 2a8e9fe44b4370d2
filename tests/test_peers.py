"""limma, edgeR and DESeq2 are peers over one backend; private names stay in their module.

Beside tests/test_layers.py (imports run downward), from the package's own source (ast):

* no module imports another module's ``_private`` name;
* the three method modules import none of each other (nor limma's satellites), and each takes
  its input, checks, design and R access from :mod:`degbridge.de.backend`;
* each method has ``run_*`` and ``fit_*``, and its fit is a :class:`~degbridge.de.backend.DEFit`
  with ``test``, ``top_table`` and ``to_r``;
* no function body is longer than 80 lines unless listed here with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "degbridge"
METHODS = {"de.limma": "limma", "de.edger": "edger", "de.deseq2": "deseq2"}
#: modules that belong to one method (limma's decideTests and gene-set tests work on its fit)
FAMILY = {"de.decide": "limma", "de.genesets": "limma", **METHODS}
#: functions allowed over 80 lines of body, with why
LONG_FUNCTIONS: dict[str, str] = {}


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts) or "__init__"
        out[name] = (ast.parse(path.read_text(), filename=str(path)), is_package)
    return out


def _imports(module: str, tree: ast.Module, is_package: bool):
    """(target module, imported names) of every degbridge import of a module."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            target = ".".join([*base, node.module] if node.module else base)
        elif (node.module or "").startswith("degbridge"):
            target = (node.module or "").removeprefix("degbridge").lstrip(".")
        else:
            continue
        yield target, [a.name for a in node.names]


def test_no_module_imports_a_private_name():
    found = []
    for module, (tree, is_package) in _modules().items():
        for target, names in _imports(module, tree, is_package):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private:
                found.append(f"{module} imports {private} from {target or 'degbridge'}")
    assert not found, "\n".join(found)


def test_method_modules_import_no_other_method():
    modules = _modules()
    crossing = []
    for module, family in FAMILY.items():
        tree, is_package = modules[module]
        for target, names in _imports(module, tree, is_package):
            candidates = [target, *(f"{target}.{n}" for n in names)]
            for c in candidates:
                other = FAMILY.get(c)
                if other is not None and other != family:
                    crossing.append(f"{module} ({family}) imports {c} ({other})")
    assert not crossing, "\n".join(crossing)


@pytest.mark.parametrize("module", sorted(METHODS))
def test_each_method_takes_the_one_backend_path(module):
    tree, is_package = _modules()[module]
    from_backend = {
        n for t, names in _imports(module, tree, is_package) if t == "de.backend" for n in names
    }
    assert {"resolve_matrix", "check_values", "resolve_design", "in_r"} <= from_backend


def test_each_method_has_run_fit_and_a_fit_of_one_shape():
    import degbridge as db
    from degbridge.de.backend import DEFit

    for method, fit_class in (
        ("limma", "LimmaFit"),
        ("edger", "EdgerFit"),
        ("deseq2", "DESeq2Fit"),
    ):
        assert callable(getattr(db, f"run_{method}")) and callable(getattr(db, f"fit_{method}"))
        cls = getattr(db, fit_class)
        assert issubclass(cls, DEFit)
        for attribute in ("test", "top_table", "to_r", "contrasts", "coefficient_names"):
            assert hasattr(cls, attribute), (fit_class, attribute)


def _body_length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    first = body[0]
    docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    start = body[1].lineno if docstring and len(body) > 1 else first.lineno
    return node.end_lineno - start + 1


def test_no_function_over_80_lines_without_a_reason():
    long = []
    for module, (tree, _) in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{module}.{node.name}"
                if _body_length(node) > 80 and name not in LONG_FUNCTIONS:
                    long.append(f"{name}: {_body_length(node)} lines")
    assert not long, "split these (or list them in LONG_FUNCTIONS with the reason):\n" + "\n".join(
        long
    )
