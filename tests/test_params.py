"""One method default rule and one source for option values and descriptions (issue 12).

The rule (``method=None``: raw counts → voom, anything else → ls) is checked against literal
expectations, then against the R package's own implementation in a native Rscript; the
descriptions of ``degbridge._params.LIMMA_DOCS`` (and ``EDGER_DOCS``, ``DESEQ2_DOCS``) against
the rendered ``run_limma`` and ``tl.de`` (= ``tl.limma``) docstrings, the CLI's ``--help`` and
the roxygen ``@param`` entries of the R package's ``degbridge_limma``, ``degbridge_edger`` and
``degbridge_deseq2``.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import typing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import degbridge
from degbridge import _params, cli, tl
from degbridge._params import (
    LEAKAGE,
    LIMMA_DOCS,
    METHODS,
    NORMALIZE,
    OUTLIERS,
    R_NAMES,
    WEIGHTS,
    first_sentence,
    resolve_method,
)
from degbridge.de import limma as limma_mod

from .conftest import random_expr, read_full, run_rscript, write_matrix_bin
from .r_package import PREAMBLE, install_r_package, r_package_environment

COUNTS_WHY = "raw counts detected (non-negative integers)"
LOG_WHY = "log-expression detected (not all non-negative integers)"


def _counts(seed: int = 0, shape=(30, 6)) -> np.ndarray:
    return np.random.default_rng(seed).poisson(20, size=shape).astype(float)


def _edge_cases() -> dict[str, tuple[np.ndarray, str]]:
    """name: (matrix, the method the rule must choose), written out by hand."""
    c = _counts()
    with_nan, with_inf, negative = c.copy(), c.copy(), c.copy()
    with_nan[3, 2] = np.nan
    with_inf[4, 1] = np.inf
    negative[5, 0] = -1.0
    return {
        "counts": (c, "voom"),
        "counts_plus_half": (c + 0.5, "ls"),
        "negative": (negative, "ls"),
        "na": (with_nan, "ls"),
        "inf": (with_inf, "ls"),
        "within_tolerance": (c + 1e-9, "voom"),  # float noise on counts (tximport rounding)
        "beyond_tolerance": (c + 1e-7, "ls"),
        "all_zero": (np.zeros((4, 3)), "voom"),
        "large_counts": (c * 1e9, "voom"),
        "log_expression": (random_expr(30, 6, 0).to_numpy(), "ls"),
        "negative_zero": (np.where(c == c.max(), -0.0, c), "voom"),
    }


# ---------------------------------------------------------------------------------------
# the rule, in Python
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(_edge_cases()))
def test_rule_on_edge_cases(name):
    values, expected = _edge_cases()[name]
    choice = resolve_method(values, None, log=False)
    assert choice.method == expected
    assert str(choice) == f"{expected}: {COUNTS_WHY if expected == 'voom' else LOG_WHY}"
    # the same answer whatever the container
    assert resolve_method(pd.DataFrame(values), None, log=False) == choice
    assert resolve_method(values.T, None, log=False) == choice


def test_rule_on_sparse_dtypes_and_empty():
    c = _counts()
    assert resolve_method(sp.csr_matrix(c), None, log=False).method == "voom"
    assert resolve_method(sp.csc_matrix(c + 0.25), None, log=False).method == "ls"
    assert resolve_method(c.astype(np.uint16), None, log=False).method == "voom"
    assert resolve_method(c.astype(np.int64) - 30, None, log=False).method == "ls"
    assert resolve_method(np.empty((0, 4)), None, log=False).method == "ls"


def test_given_method_is_checked_and_kept(caplog):
    with caplog.at_level(logging.INFO, logger="degbridge"):
        choice = resolve_method(random_expr(5, 4, 0), "trend")
    assert (choice.method, str(choice), choice.summary) == (
        "trend",
        "trend: given",
        "trend (given)",
    )
    assert caplog.text == ""  # nothing was chosen
    with pytest.raises(ValueError, match=r"method must be one of \['ls', 'voom', 'trend'\]"):
        resolve_method(_counts(), "deseq")


def test_ls_given_on_values_not_on_a_log_scale_warns_at_the_callers_line():
    """method='ls' on non-negative values above 50 (counts, estimated counts, CPM, un-logged
    intensities) warns (DataWarning) at the caller's line; log-expression, rounded log values,
    log-CPM and the count methods do not."""
    import warnings

    rng = np.random.default_rng(1)
    counts = rng.poisson(200, size=(30, 6)).astype(float)
    assert counts.max() > _params.LS_LOG_MAX
    pattern = r"method='ls' was given, but these look like {} \(non-negative, above 50\)"
    with pytest.warns(degbridge.DataWarning, match=pattern.format("raw counts")) as got:
        choice = resolve_method(counts, "ls", log=False)
    assert choice.method == "ls"
    assert got[0].filename == __file__  # resolve_method is called from here
    assert "Log-transform them first" in str(got[0].message)
    with pytest.warns(degbridge.DataWarning, match="pseudobulk sums"):
        resolve_method(sp.csr_matrix(counts), "ls", counts="pseudobulk sums of raw counts")
    estimated = counts * rng.uniform(0.9, 1.1, counts.shape)  # salmon-like, with fractions
    with_nan = counts.copy()
    with_nan[0, 0] = np.nan
    intensities = 2 ** rng.normal(9, 2, counts.shape)  # un-logged microarray intensities
    for values in (estimated, with_nan, intensities):
        with pytest.warns(degbridge.DataWarning, match=pattern.format("values not on a log scale")):
            resolve_method(values, "ls", log=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve_method(random_expr(5, 4, 0), "ls", log=False)  # log-expression
        resolve_method(np.round(random_expr(5, 4, 0)).clip(0), "ls", log=False)  # rounded logs
        resolve_method(np.log2(counts + 1), "ls", log=False)
        resolve_method(np.full((3, 2), np.nan), "ls", log=False)
        resolve_method(counts, "voom", log=False)


def test_detected_choice_is_logged(caplog):
    with caplog.at_level(logging.INFO, logger="degbridge"):
        choice = resolve_method(_counts(), None, caller="somewhere")
    assert caplog.records[-1].name == "degbridge"
    assert caplog.records[-1].getMessage() == f"somewhere: method='voom' ({COUNTS_WHY})"
    assert choice.summary == "voom (integer counts detected)"
    choice = resolve_method(_counts(), None, counts="pseudobulk sums of raw counts", log=False)
    assert str(choice) == "voom: pseudobulk sums of raw counts detected (non-negative integers)"


class _Stop(Exception):
    pass


@pytest.fixture
def spy(monkeypatch):
    """Record every resolve_method call of run_limma and the CLI; stop before R."""
    calls = []

    def recording(values, method, **kwargs):
        choice = resolve_method(values, method, **kwargs)
        calls.append((np.shape(values), method, choice.method))
        return choice

    def no_r(*args, **kwargs):
        raise _Stop

    monkeypatch.setattr(limma_mod, "resolve_method", recording)
    monkeypatch.setattr(cli, "resolve_method", recording)
    monkeypatch.setattr(limma_mod, "_limma_in_r", no_r)
    return calls


def test_run_limma_tl_and_cli_use_the_one_rule(spy, tmp_path):
    ad = pytest.importorskip("anndata")
    counts = pd.DataFrame(_counts(), columns=[f"s{j}" for j in range(6)])
    counts.index = [f"g{i}" for i in range(30)]
    groups = list("aaabbb")
    with pytest.raises(_Stop):
        degbridge.run_limma(counts, groups=groups, contrast="b-a")
    assert spy[-1] == ((30, 6), None, "voom")
    adata = ad.AnnData(
        X=np.log2(counts.T.to_numpy() + 1.5), obs=pd.DataFrame({"g": groups}, index=counts.columns)
    )
    with pytest.raises(_Stop):
        tl.limma(adata, groupby="g", contrast="b-a")
    assert spy[-1] == ((30, 6), None, "ls")  # genes × samples by then
    adata.layers["counts"] = sp.csr_matrix(counts.T.to_numpy())
    with pytest.raises(_Stop):
        tl.limma(adata, groupby="g", contrast="b-a", layer="counts")
    assert spy[-1][1:] == (None, "voom")
    counts.to_csv(tmp_path / "counts.tsv", sep="\t")
    pd.DataFrame({"g": groups}, index=counts.columns).to_csv(tmp_path / "s.tsv", sep="\t")
    args = cli.build_parser().parse_args(
        ["limma", str(tmp_path / "counts.tsv"), "--samples", str(tmp_path / "s.tsv"),
         "--groups", "g", "--contrast", "b-a", "-o", str(tmp_path / "t.tsv"), "--quiet"]
    )  # fmt: skip
    with pytest.raises(_Stop):
        cli._run_limma_from_args(args)
    # the CLI says the choice up front, then run_limma applies the same rule and records it
    assert spy[-2:] == [((30, 6), None, "voom"), ((30, 6), None, "voom")]


@pytest.mark.r
def test_run_limma_records_the_choice_and_fits_that_method():
    counts = pd.DataFrame(_counts(3, (200, 6)), columns=[f"s{j}" for j in range(6)])
    counts.index = [f"g{i}" for i in range(200)]
    groups = list("aaabbb")
    auto = degbridge.run_limma(counts, groups=groups, contrast="b-a", filter=None)
    voom = degbridge.run_limma(counts, groups=groups, contrast="b-a", filter=None, method="voom")
    pd.testing.assert_frame_equal(pd.DataFrame(auto), pd.DataFrame(voom), check_exact=True)
    assert auto.meta["options"]["method"] == "voom" and auto.meta["method"] == "limma-voom"
    assert auto.meta["method_choice"] == f"voom: {COUNTS_WHY}"
    assert voom.meta["method_choice"] == "voom: given"
    # integer-valued data meant as log-expression must now say so
    ls = degbridge.run_limma(counts, groups=groups, contrast="b-a", method="ls")
    assert ls.meta["options"]["method"] == "ls"
    assert not np.allclose(ls["logFC"].loc[voom.index], voom["logFC"])
    logexpr = np.log2(counts + 0.5)
    auto = degbridge.run_limma(logexpr, groups=groups, contrast=["b-a", "a-b"])
    assert {t.meta["method_choice"] for t in auto.values()} == {f"ls: {LOG_WHY}"}
    assert auto.ftest.meta["options"]["method"] == "ls"
    # sparse AnnData counts: chosen before densifying, all-zero genes dropped as for voom
    ad = pytest.importorskip("anndata")
    X = counts.T.to_numpy()
    X[:, :5] = 0
    adata = ad.AnnData(X=sp.csr_matrix(X), obs=pd.DataFrame({"g": groups}, index=counts.columns))
    adata.var_names = counts.index
    auto = degbridge.run_limma(adata, groups="g", contrast="b-a")
    ref = degbridge.run_limma(pd.DataFrame(X.T, index=counts.index), groups=groups,
                              contrast="b-a", method="voom")  # fmt: skip
    assert auto.meta["method_choice"] == f"voom: {COUNTS_WHY}"
    assert auto.meta["dropped_all_zero"] == 5
    np.testing.assert_array_equal(auto["logFC"].to_numpy(), ref["logFC"].to_numpy())


# ---------------------------------------------------------------------------------------
# the rule, R helper against Python
# ---------------------------------------------------------------------------------------

R_RULE = r"""
source(Sys.getenv("DEGBRIDGE_R_RULE"))  # r_scripts/R/limma.R, the R package's rule
stopifnot(.degbridge_count_tolerance == 1e-8)
out <- character(0)
for (name in strsplit(Sys.getenv("CASES"), ",")[[1]]) {
  x <- read_matrix_bin(name)
  choice <- .degbridge_choose_method(x)
  out <- c(out, paste(name, choice$method, choice$why, sep = "\t"))
  ## an integer matrix (R's own type for counts) decides the same way
  if (all(is.finite(x)) && all(x == round(x)) && all(abs(x) < .Machine$integer.max)) {
    xi <- x
    storage.mode(xi) <- "integer"
    out <- c(out, paste(paste0(name, "_int"), .degbridge_choose_method(xi)$method,
                        .degbridge_choose_method(xi)$why, sep = "\t"))
  }
}
writeLines(out, "choices.tsv")
"""


@pytest.mark.r
def test_r_helper_chooses_like_python(tmp_path, monkeypatch):
    cases = _edge_cases()
    for name, (values, _) in cases.items():
        write_matrix_bin(values, tmp_path / name)
    monkeypatch.setenv("DEGBRIDGE_R_RULE", degbridge.r_script_path("limma.R"))
    monkeypatch.setenv("CASES", ",".join(cases))
    run_rscript(R_RULE, tmp_path)
    rows = [line.split("\t") for line in (tmp_path / "choices.tsv").read_text().splitlines()]
    got = {name: (method, why) for name, method, why in rows}
    assert {"counts_int", "negative_int"} <= set(got)
    for name, (method, why) in got.items():
        values, expected = cases[name.removesuffix("_int")]
        python = resolve_method(values, None, log=False)
        assert (method, why) == (python.method, python.why), name
        assert method == expected, name


R_END_TO_END = (
    PREAMBLE
    + r"""
counts <- read_matrix_bin("counts")
dimnames(counts) <- list(paste0("g", seq_len(nrow(counts)) - 1L), paste0("s", 0:5))
grp <- rep(c("a", "b"), each = 3)
msgs <- character(0)
keep_message <- function(m) {
  msgs <<- c(msgs, sub("\n$", "", conditionMessage(m)))
  invokeRestart("muffleMessage")
}
tab <- withCallingHandlers(degbridge_limma(counts, groups = grp, contrast = "b - a",
                                           filter = FALSE), message = keep_message)
write_full(tab, "auto_counts.tsv")
lg <- withCallingHandlers(degbridge_limma(log2(counts + 0.5), groups = grp, contrast = "b - a"),
                          message = keep_message)
write_full(lg, "auto_log.tsv")
given <- degbridge_limma(counts, groups = grp, contrast = "b - a", method = "trend")
bad <- tryCatch(degbridge_limma(counts, groups = grp, contrast = "b - a", method = "deseq"),
                error = function(e) trimws(conditionMessage(e)))
writeLines(c(attr(tab, "method_choice"), attr(lg, "method_choice"),
             attr(given, "method_choice"), bad, msgs), "choices.txt")
"""
)


@pytest.mark.r
def test_r_helper_default_end_to_end(tmp_path, tmp_path_factory):
    lib = install_r_package(tmp_path_factory)
    counts = pd.DataFrame(_counts(5, (150, 6)), columns=[f"s{j}" for j in range(6)])
    counts.index = [f"g{i}" for i in range(150)]
    counts.iloc[:20, 3:] *= 3
    write_matrix_bin(counts.to_numpy(), tmp_path / "counts")
    with r_package_environment(lib):
        run_rscript(R_END_TO_END, tmp_path)
    lines = (tmp_path / "choices.txt").read_text().splitlines()
    groups = list("aaabbb")
    auto = degbridge.run_limma(counts, groups=groups, contrast="b - a", filter=None)
    log = degbridge.run_limma(np.log2(counts + 0.5), groups=groups, contrast="b - a")
    assert lines[:3] == [auto.meta["method_choice"], log.meta["method_choice"], "trend: given"]
    assert lines[0] == f"voom: {COUNTS_WHY}" and lines[1] == f"ls: {LOG_WHY}"
    assert lines[3].startswith("ValueError: method must be one of ['ls', 'voom', 'trend']")
    assert lines[4:] == [
        f'degbridge_limma: method = "voom" ({COUNTS_WHY})',
        f'degbridge_limma: method = "ls" ({LOG_WHY})',
    ]
    for name, ours in (("auto_counts", auto), ("auto_log", log)):
        theirs = read_full(tmp_path / f"{name}.tsv")
        pd.testing.assert_frame_equal(
            theirs, pd.DataFrame(ours), check_exact=False, rtol=1e-12, check_names=False
        )


# ---------------------------------------------------------------------------------------
# one description per option
# ---------------------------------------------------------------------------------------


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _param_block(doc: str, name: str) -> str:
    """The description under ``name`` in a numpydoc parameter list (4-space indent)."""
    lines = doc.splitlines()
    start = lines.index(f"    {name}")
    body = []
    for line in lines[start + 1 :]:
        if line.strip() and not line.startswith("        "):
            break
        body.append(line)
    return _flat("\n".join(body))


@pytest.mark.parametrize("func", [degbridge.run_limma, tl.de], ids=["run_limma", "tl.de"])
def test_docstrings_carry_the_shared_descriptions(func):
    doc = func.__doc__
    assert "{" + "method}" not in doc  # every placeholder filled
    for name, text in LIMMA_DOCS.items():
        assert _param_block(doc, name).startswith(_flat(text)), name
    # numpydoc layout kept: the sections and their underlines
    for section in ("Parameters", "Returns"):
        assert f"\n    {section}\n    {'-' * len(section)}\n" in doc


def _help(*command: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "degbridge", *command, "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    return out.stdout


CLI_OPTIONS = {
    "method": "--method",
    "normalize": "--normalize",
    "filter": "--no-filter",
    "robust": "--robust",
    "trend": "--trend",
    "lfc": "--lfc",
    "block": "--block",
    "weights": "--weights",
    "confint": "--confint",
}


@pytest.mark.parametrize("command", ["limma", "run"])
def test_cli_help_is_the_first_sentence(command):
    text = re.sub(r"\s+", "", _help(command))  # argparse re-wraps, hyphens included
    for name, flag in CLI_OPTIONS.items():
        sentence = first_sentence(LIMMA_DOCS[name])
        assert re.sub(r"\s+", "", sentence) in text, (name, sentence)
        assert flag in text
    # no CLI option for prior_count: its text is not there (the check can fail)
    assert re.sub(r"\s+", "", first_sentence(LIMMA_DOCS["prior_count"])) not in text


def _roxygen_params(path: Path, function: str) -> dict[str, str]:
    """The roxygen ``@param`` entries of the block just above ``function <- function(``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith(f"{function} <- function("))
    start = end
    while start > 0 and lines[start - 1].startswith("#'"):
        start -= 1
    entries: dict[str, list[str]] = {}
    current = None
    for line in lines[start:end]:
        text = line.removeprefix("#'").strip()
        m = re.fullmatch(r"@param (\S+) (.*)", text)
        if m:
            current = m[1]
            entries[current] = [m[2]]
        elif text.startswith("@"):
            current = None
        elif current is not None:
            entries[current].append(text)
    return {k: _flat(" ".join(v)) for k, v in entries.items()}


R_PACKAGE_DOCS = {
    "degbridge_limma": ("limma.R", LIMMA_DOCS),
    "degbridge_edger": ("edger.R", _params.EDGER_DOCS),
    "degbridge_deseq2": ("deseq2.R", _params.DESEQ2_DOCS),
}


@pytest.mark.parametrize("function", list(R_PACKAGE_DOCS))
def test_r_package_documents_the_same_text(function):
    """Each option's roxygen ``@param`` starts with its one description (``%`` escaped as
    roxygen needs); R-only remarks may follow. Each is an argument of the R function."""
    file, docs = R_PACKAGE_DOCS[function]
    path = Path(degbridge.r_script_path(file))
    entries = _roxygen_params(path, function)
    for name, text in docs.items():
        r_name = R_NAMES.get(name, name)
        assert r_name in entries, (function, r_name)
        written = entries[r_name].replace("\\%", "%")
        assert written.startswith(_flat(text)), (function, r_name, _flat(text))
    text = path.read_text(encoding="utf-8")
    signature = text[text.index(f"{function} <- function(") :].split("{", 1)[0]
    arguments = set(re.findall(r"([A-Za-z._]+)\s*=", signature)) | {"x"}
    assert {R_NAMES.get(k, k) for k in docs} <= arguments


# ---------------------------------------------------------------------------------------
# allowed values declared once
# ---------------------------------------------------------------------------------------


def _choices() -> dict[str, list]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    out: dict[str, list] = {}
    for command in ("limma", "compare", "run"):
        for action in sub.choices[command]._actions:
            if action.choices is not None:
                out.setdefault(action.option_strings[0], []).append(list(action.choices))
    return out


def test_cli_choices_are_the_declared_values():
    choices = _choices()
    # limma and run: limma's methods, then edgeR's and DESeq2's
    assert choices["--method"] == [["ls", "voom", "trend", "edger", "deseq2"]] * 2
    declared = {
        "--method": (*METHODS, *_params.OTHER_METHODS),
        "--normalize": NORMALIZE,
        "--weights": WEIGHTS,
        "--leakage": LEAKAGE,
        "--outliers": OUTLIERS,
        "--decide": _params.DECIDE_METHODS,
    }
    for flag, values in declared.items():
        assert choices[flag] and all(c == list(values) for c in choices[flag]), flag
    assert set(choices) == set(declared)


def test_type_hints_use_the_declared_values():
    hints = typing.get_type_hints(degbridge.run_limma)
    assert set(typing.get_args(hints["method"])) == {_params.Method, type(None)}
    assert typing.get_args(_params.Method) == METHODS == ("ls", "voom", "trend")
    assert _params.Normalize in typing.get_args(hints["normalize"])
    assert _params.Weights in typing.get_args(hints["weights"])
    # compare() declares its own Literal for these two: they must stay the same values
    hints = typing.get_type_hints(degbridge.compare)
    assert typing.get_args(hints["leakage"]) == LEAKAGE
    assert typing.get_args(hints["outliers"]) == OUTLIERS


def test_descriptions_name_every_allowed_value():
    for name, values in (("method", METHODS), ("normalize", NORMALIZE), ("weights", WEIGHTS)):
        for value in values:
            assert f'"{value}"' in LIMMA_DOCS[name], (name, value)
    assert "1e-8" in LIMMA_DOCS["method"]
    from degbridge._checks import COUNT_TOLERANCE

    assert COUNT_TOLERANCE == 1e-8
