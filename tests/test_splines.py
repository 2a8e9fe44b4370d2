"""Spline and polynomial time-course designs: ns(), bs(), poly() in formulas, and the F-test.

Parity against one native Rscript run per module (``native`` fixture), written as limma's
User's Guide (section 9.6.2) writes a time-course spline analysis:
``design <- model.matrix(~ ns(time, df = 3)); fit <- eBayes(lmFit(y, design));
topTable(fit, coef = 2:4)``. Design names and numbers are compared with ``model.matrix``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import degbridge
from degbridge.de.design import coef_names
from degbridge.de.formula import design_from_formula, validate_formula

from .conftest import (
    assert_same_table,
    read_full,
    read_matrix_bin,
    run_rscript,
    write_matrix_bin,
)

# ---------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------

TIMES = [0.0, 1.0, 2.5, 4.0, 7.0, 12.0]
#: a sample table for design checks: 3 groups, 6 distinct times, 2 replicates
DESIGN_SAMPLES = pd.DataFrame(
    {
        "time": np.tile(np.repeat(TIMES, 2), 3),
        "group": np.repeat(["A", "B", "C"], 12),
        "my time": np.tile(np.repeat(TIMES, 2), 3) * 1.5,
    },
    index=[f"s{i}" for i in range(36)],
)
FORMULAS = [
    "~ ns(time, df=3)",
    "~ns(time,3)",
    "~ ns(time, df = 4)",
    "~ poly(time, 2)",
    "~ poly(time, degree=2)",
    "~ poly(time, 3) + group",
    "~ bs(time, df=3)",
    "~ bs(time, 4)",
    "~ group * ns(time, df=3)",
    "~ ns(time, df=3) * group",
    "~ group + group:ns(time, df=3)",
    "~ 0 + group + group:ns(time, df=3)",
    "~ 0 + ns(time, df=2)",
    "~ group:poly(time, 2)",
    "~ ns(time, df=2):group",
    "~ group * bs(time, df=3)",
    "~ ns(`my time`, df = 2) + group",
    "~ ns(time, df=2) + poly(time, 2)",
]

#: simulated time course: 2 groups x 6 times x 2 replicates; flat genes, genes with one
#: quadratic profile in both groups, and genes whose profile differs between the groups
N_FLAT, N_SHARED, N_DIFF = 300, 150, 150


def _simulated() -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(14)
    time = np.tile(np.repeat(TIMES, 2), 2)
    group = np.repeat(["A", "B"], 12)
    samples = pd.DataFrame({"time": time, "group": group}, index=[f"t{i}" for i in range(24)])
    u = time / 12.0
    n = N_FLAT + N_SHARED + N_DIFF
    base = rng.normal(8, 1, size=(n, 1))
    shape = 4 * u * (1 - u)  # 0 at both ends, 1 in the middle
    prof = np.zeros((n, 24))
    amp = rng.uniform(1.5, 3, size=(N_SHARED, 1)) * rng.choice([-1, 1], size=(N_SHARED, 1))
    prof[N_FLAT : N_FLAT + N_SHARED] = amp * shape
    amp = rng.uniform(1.5, 3, size=(N_DIFF, 1))
    prof[N_FLAT + N_SHARED :] = amp * np.where(group == "A", shape, -shape)
    expr = base + prof + rng.normal(0, 0.5, size=(n, 24))
    kind = np.repeat(["flat", "shared", "diff"], [N_FLAT, N_SHARED, N_DIFF])
    frame = pd.DataFrame(expr, index=[f"g{i}" for i in range(n)], columns=samples.index)
    return frame, samples, kind


NATIVE = r"""
suppressPackageStartupMessages(library(splines))
# (1) design names and numbers
s <- read.delim("design_samples.tsv", row.names = 1, check.names = FALSE)
formulas <- readLines("formulas.txt")
for (k in seq_along(formulas)) {
  m <- model.matrix(as.formula(formulas[k]), data = s)
  writeLines(colnames(m), sprintf("names%d.txt", k - 1))
  write.table(sprintf("%.17g", unname(m)), sprintf("values%d.txt", k - 1), quote = FALSE,
              row.names = FALSE, col.names = FALSE)
}
# (2) HSMM myoblasts: cells at 0/24/48/72 h, log2(FPKM + 1); User's Guide 9.6.2
y <- read_matrix_bin("hsmm")
rownames(y) <- readLines("hsmm_genes.txt")
hours <- scan("hsmm_hours.txt", quiet = TRUE)
design <- model.matrix(~ ns(hours, df = 3))
fit <- lmFit(y, design)
fit <- eBayes(fit)
write_full(topTable(fit, coef = 2:4, number = Inf), "hsmm_F.tsv")
write_full(topTable(fit, coef = 2:4, number = 25, p.value = 0.01), "hsmm_top25.tsv")
X <- ns(hours, df = 2)
design2 <- model.matrix(~ X)
fit2 <- eBayes(lmFit(y, design2))
write_full(topTable(fit2, coef = 2:3, number = Inf), "hsmm_F2.tsv")
# (3) simulated: two groups with different time profiles
z <- read_matrix_bin("sim")
rownames(z) <- readLines("sim_genes.txt")
st <- read.delim("sim_samples.tsv", row.names = 1)
Group <- factor(st$group)
design <- model.matrix(~ Group * ns(time, df = 3), data = st)
fit <- eBayes(lmFit(z, design))
write_full(topTable(fit, coef = 3:5, number = Inf), "sim_time.tsv")
write_full(topTable(fit, coef = 6:8, number = Inf), "sim_inter.tsv")
design <- model.matrix(~ group * poly(time, 2), data = st)
fit <- eBayes(lmFit(z, design))
write_full(topTable(fit, coef = 5:6, number = Inf), "sim_poly_inter.tsv")
design <- model.matrix(~ 0 + group + group:bs(time, df = 3), data = st)
fit <- eBayes(lmFit(z, design))
write_full(topTable(fit, coef = c(4, 6, 8), number = Inf), "sim_bs_B.tsv")
"""


@pytest.fixture(scope="module")
def native(tmp_path_factory):
    """Every input written for, and every output of, one native Rscript run."""
    from degbridge.datasets import hsmm

    work = tmp_path_factory.mktemp("splines")
    DESIGN_SAMPLES.to_csv(work / "design_samples.tsv", sep="\t", float_format="%.17g")
    (work / "formulas.txt").write_text("\n".join(FORMULAS) + "\n")
    expr, cells, _ = hsmm(min_cells=100)
    write_matrix_bin(expr.to_numpy(), work / "hsmm")
    (work / "hsmm_genes.txt").write_text("\n".join(expr.index) + "\n")
    (work / "hsmm_hours.txt").write_text("\n".join(f"{h:.17g}" for h in cells["hours"]) + "\n")
    sim, sim_samples, kind = _simulated()
    write_matrix_bin(sim.to_numpy(), work / "sim")
    (work / "sim_genes.txt").write_text("\n".join(sim.index) + "\n")
    sim_samples.to_csv(work / "sim_samples.tsv", sep="\t", float_format="%.17g")
    run_rscript(NATIVE, work)
    assert np.array_equal(read_matrix_bin(work / "sim"), sim.to_numpy())
    return {
        "dir": work,
        "hsmm": (expr, cells),
        "sim": (sim, sim_samples, kind),
    }


# ---------------------------------------------------------------------------------------
# designs: names and numbers equal model.matrix
# ---------------------------------------------------------------------------------------


@pytest.mark.r
def test_names_and_values_equal_model_matrix(native):
    work = native["dir"]
    for k, formula in enumerate(FORMULAS):
        ours = design_from_formula(formula, DESIGN_SAMPLES)
        theirs = (work / f"names{k}.txt").read_text().split("\n")[:-1]
        assert ours.columns == theirs, formula
        values = np.loadtxt(work / f"values{k}.txt").reshape(ours.matrix.shape, order="F")
        np.testing.assert_allclose(ours.matrix, values, rtol=1e-12, atol=1e-15, err_msg=formula)


@pytest.mark.r
def test_bases_group_the_columns_of_each_term():
    d = design_from_formula("~ group * ns(time, df=3)", DESIGN_SAMPLES)
    assert d.bases["ns(time, df = 3)"] == [f"ns(time, df = 3){j}" for j in (1, 2, 3)]
    assert d.bases["groupC:ns(time, df = 3)"] == [f"groupC:ns(time, df = 3){j}" for j in (1, 2, 3)]
    assert coef_names("ns(time, df = 3)", d) == d.columns[3:6]
    assert coef_names([3, 4, 5], d) == d.columns[3:6]
    assert coef_names(["groupB", "groupC"], d) == ["groupB", "groupC"]
    with pytest.raises(ValueError, match="negative positions are not taken"):
        coef_names(-1, d)
    # a plain name stays a name (the contrast parser checks it)
    assert coef_names("groupB - groupC", d) == "groupB - groupC"


# ---------------------------------------------------------------------------------------
# the F-test: HSMM, a real time course
# ---------------------------------------------------------------------------------------


@pytest.mark.r
def test_hsmm_spline_F_equals_topTable(native):
    expr, cells = native["hsmm"]
    theirs = read_full(native["dir"] / "hsmm_F.tsv")
    res = degbridge.run_limma(
        expr, samples=cells, design="~ ns(hours, df=3)", coef="ns(hours, df = 3)", method="ls"
    )
    names = [f"ns(hours, df = 3){j}" for j in (1, 2, 3)]
    assert list(res) == names
    assert list(res.ftest.columns) == [*names, "AveExpr", "F", "P.Value", "adj.P.Val"]
    # topTable's data.frame makes the names syntactic (check.names); degbridge keeps R's
    assert list(theirs.columns) == [re.sub(r"[^A-Za-z0-9._]", ".", c) for c in res.ftest.columns]
    theirs.columns = list(res.ftest.columns)
    assert_same_table(res.ftest, theirs)
    assert list(res.ftest.index) == list(theirs.index)  # sorted by P as topTable's F
    # a real time course: myogenic genes change over the 72 h
    assert (res.ftest["adj.P.Val"] < 0.01).sum() > 500

    fit = degbridge.fit_limma(expr, samples=cells, design="~ ns(hours, df=3)", method="ls")
    assert_same_table(fit.test(coef=[1, 2, 3]).ftest, theirs)
    top = fit.top_table(coef="ns(hours, df = 3)", number=25, p_value=0.01)
    top25 = read_full(native["dir"] / "hsmm_top25.tsv")
    top25.columns = list(top.columns)
    assert list(top.index) == list(top25.index)
    assert_same_table(top, top25)


@pytest.mark.r
def test_hsmm_df2_as_the_guide_writes_it(native):
    """``X <- ns(hours, df = 2); model.matrix(~ X)``: same numbers, R names ``X1, X2``."""
    expr, cells = native["hsmm"]
    theirs = read_full(native["dir"] / "hsmm_F2.tsv")
    fit = degbridge.fit_limma(expr, samples=cells, design="~ ns(hours, 2)", method="ls")
    ours = fit.top_table(coef=["ns(hours, 2)1", "ns(hours, 2)2"])
    theirs.columns = list(ours.columns)
    assert_same_table(ours, theirs)


# ---------------------------------------------------------------------------------------
# the F-test: simulated profiles (truth known), parity too
# ---------------------------------------------------------------------------------------


def _auc(scores_pos: np.ndarray, scores_neg: np.ndarray) -> float:
    """P(score of a positive > score of a negative), by ranks (closed form)."""
    both = np.concatenate([scores_pos, scores_neg])
    ranks = pd.Series(both).rank().to_numpy()
    n1, n0 = len(scores_pos), len(scores_neg)
    return (ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


@pytest.mark.r
def test_simulated_profiles_are_separated_and_match_R(native):
    sim, samples, kind = native["sim"]
    work = native["dir"]
    fit = degbridge.fit_limma(sim, samples=samples, design="~ group * ns(time, df=3)", method="ls")
    time = fit.test(coef="ns(time, df = 3)").ftest
    inter = fit.test(coef="groupB:ns(time, df = 3)").ftest
    theirs_time = read_full(work / "sim_time.tsv")
    theirs_inter = read_full(work / "sim_inter.tsv")
    # R's Group factor names the columns GroupB:...; the numbers are the same
    theirs_inter.columns = list(inter.columns)
    theirs_time.columns = list(time.columns)
    assert_same_table(time, theirs_time)
    assert_same_table(inter, theirs_inter)

    k = pd.Series(kind, index=sim.index)
    p_time = -np.log10(time["P.Value"].reindex(sim.index).to_numpy())
    p_inter = -np.log10(inter["P.Value"].reindex(sim.index).to_numpy())
    # the time effect (in group A): shared and differing profiles vs flat genes
    assert _auc(p_time[(k != "flat").to_numpy()], p_time[(k == "flat").to_numpy()]) > 0.99
    # the interaction: only the genes whose profile differs between the groups
    assert _auc(p_inter[(k == "diff").to_numpy()], p_inter[(k != "diff").to_numpy()]) > 0.99
    flat_p = time["P.Value"].reindex(sim.index)[k == "flat"]
    assert 0.02 < (flat_p < 0.05).mean() < 0.09  # null p-values about uniform
    called = inter.index[inter["adj.P.Val"] < 0.05]
    assert (k[called] == "diff").mean() > 0.9  # FDR controlled


def _same_F(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert len(ours.columns) == len(theirs.columns)
    theirs.columns = list(ours.columns)  # topTable's check.names mangles the coefficients'
    assert_same_table(ours, theirs)


@pytest.mark.r
def test_poly_and_bs_F_tests_match_R(native):
    sim, samples, _ = native["sim"]
    work = native["dir"]
    res = degbridge.run_limma(
        sim,
        samples=samples,
        design="~ group * poly(time, 2)",
        coef="groupB:poly(time, 2)",
        method="ls",
    )
    assert list(res) == ["groupB:poly(time, 2)1", "groupB:poly(time, 2)2"]
    _same_F(res.ftest, read_full(work / "sim_poly_inter.tsv"))
    res = degbridge.run_limma(
        sim,
        samples=samples,
        design="~ 0 + group + group:bs(time, df=3)",
        coef="groupB:bs(time, df = 3)",
        method="ls",
    )
    assert list(res) == [f"groupB:bs(time, df = 3){j}" for j in (1, 2, 3)]
    _same_F(res.ftest, read_full(work / "sim_bs_B.tsv"))


# ---------------------------------------------------------------------------------------
# bad input: ValueError naming the culprit, before R
# ---------------------------------------------------------------------------------------

BAD = [
    ("~ ns(group, df=2)", "needs a numeric column.*'group' has dtype object"),
    ("~ ns(time, df=6)", r"df = 6.*6 distinct values.*at most 5"),
    ("~ poly(time, 6)", r"degree must be less than|'degree' must be less than number of unique"),
    ("~ bs(time, df=2)", "at least 3 columns"),
    ("~ ns(time, df=0)", "must be a positive integer, not '0'"),
    ("~ ns(time, df=2.5)", "must be a positive integer, not '2.5'"),
    ("~ ns(time)", r"ns\(\) takes a sample-table column and df"),
    ("~ ns(time, knots=3)", "argument 'knots' is not supported"),
    ("~ poly(time, df=2)", "argument 'df' is not supported"),
    ("~ ns(time, df=2, 3)", "must close after df"),
    ("~ ns(hours, df=2)", "'hours' is not a column"),
    ("~ ns(factor(time), df=2)", r"ns\(\) takes a sample-table column"),
    ("~ time, group", "',' at position 6 is only allowed inside"),
    ("~ lo(time, 2)", "function 'lo' is not allowed"),
    ('~ I(system("touch PWNED"))', "unexpected text|not allowed"),
    ('~ ns(time, df=system("id"))', "unexpected text"),
    ("~ ns(time, df=3); system('id')", "unexpected text"),
]


@pytest.mark.parametrize(("formula", "match"), BAD)
def test_bad_formulas_are_refused_naming_the_culprit(formula, match, monkeypatch):
    import degbridge.r

    def forbidden(*args, **kwargs):
        raise AssertionError("R was called")

    monkeypatch.setattr(degbridge.r, "call", forbidden)
    samples = DESIGN_SAMPLES.drop(columns="my time")
    with pytest.raises(ValueError, match=match):
        design_from_formula(formula, samples)


def test_poly_degree_message_quotes_R():
    with pytest.raises(ValueError, match="'degree' must be less than number of unique points"):
        design_from_formula("~ poly(time, 6)", DESIGN_SAMPLES)


def test_non_numeric_columns_name_their_dtype():
    samples = DESIGN_SAMPLES.assign(
        cat=pd.Categorical(DESIGN_SAMPLES["group"]), flag=DESIGN_SAMPLES["time"] > 3
    )
    with pytest.raises(ValueError, match="'cat' has dtype category"):
        design_from_formula("~ ns(cat, df=2)", samples)
    with pytest.raises(ValueError, match="'flag' has dtype bool"):
        design_from_formula("~ poly(flag, 1)", samples)
    with pytest.raises(ValueError, match=r"'t' has missing or infinite values \(samples \['2'\]\)"):
        design_from_formula("~ ns(t, df=2)", pd.DataFrame({"t": [0.0, 1, np.nan, 3, 4]}))
    with pytest.raises(ValueError, match=r"'t' has missing or infinite values \(samples \['1'\]\)"):
        design_from_formula("~ ns(t, df=2)", pd.DataFrame({"t": [0.0, np.inf, 2, 3, 4]}))


def test_validate_formula_returns_the_basis():
    tokens = validate_formula("~ group * ns(`my time`, 3)", DESIGN_SAMPLES.columns)
    basis = tokens[-1][1]
    assert tokens[-1][0] == "basis"
    assert (basis.fn, basis.column, basis.df) == ("ns", "my time", 3)
    assert basis.label == "ns(`my time`, 3)"


def test_bad_coef_values(monkeypatch):
    d = degbridge.de.design.Design(np.eye(3), ["(Intercept)", "a", "b"], ["x", "y", "z"])
    with pytest.raises(ValueError, match=r"coef=3 is out of range.*positions 0..2"):
        coef_names(3, d)
    with pytest.raises(TypeError, match="not float"):
        coef_names([1, 2.0], d)
    with pytest.raises(TypeError, match="not bool"):
        coef_names([True], d)
    with pytest.raises(ValueError, match="more than once"):
        coef_names(["a", 1], d)
    with pytest.raises(ValueError, match="empty list"):
        coef_names([], d)


@pytest.mark.r
def test_coef_spelling_negative_positions_and_number():
    """A term spelled as typed in the formula is found; negative positions and number=0 are
    refused (R's coef = -1 would mean "all but the first": the opposite of Python's -1)."""
    rng = np.random.default_rng(5)
    samples = pd.DataFrame(
        {"time": np.tile([0.0, 1, 2, 3, 4, 5], 4), "group": np.repeat(["a", "b"], 12)},
        index=[f"s{i}" for i in range(24)],
    )
    expr = pd.DataFrame(rng.normal(8, 1, (60, 24)), index=[f"g{i}" for i in range(60)],
                        columns=samples.index)  # fmt: skip
    fit = degbridge.fit_limma(expr, samples=samples, design="~ group * ns(time, df=2)", method="ls")
    typed = fit.top_table(coef="groupb:ns(time, df=2)")
    spelled = fit.top_table(coef="groupb:ns(time, df = 2)")
    pd.testing.assert_frame_equal(typed, spelled)
    assert list(typed.columns[:2]) == ["groupb:ns(time, df = 2)1", "groupb:ns(time, df = 2)2"]
    with pytest.raises(ValueError, match=r"negative positions are not taken"):
        fit.test(coef=[-1])
    with pytest.raises(ValueError, match=r"'ns\(time, df=3\)' is not a column or term"):
        fit.top_table(coef="ns(time, df=3)")
    with pytest.raises(ValueError, match="number must be a positive integer"):
        fit.top_table(coef="groupb", number=0)
