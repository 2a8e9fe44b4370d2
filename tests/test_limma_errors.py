"""run_limma: bad input names the culprit; R errors, warnings and absence are handled."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import degbridge
from degbridge import RError, RNotAvailableError, run_limma
from degbridge.r import _session

from .conftest import random_expr


def _expr(n_genes=50, n_samples=6, seed=1):
    return random_expr(n_genes, n_samples, seed)


def _counts(n_genes=200, n_samples=6, seed=2):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        rng.poisson(50, size=(n_genes, n_samples)).astype(float),
        index=[f"g{i}" for i in range(n_genes)],
        columns=[f"s{j}" for j in range(n_samples)],
    )


GROUPS = ["a", "a", "a", "b", "b", "b"]

# ---------------------------------------------------------------------------------------
# checked in Python before R is involved
# ---------------------------------------------------------------------------------------


def test_groups_length_mismatch():
    with pytest.raises(ValueError, match="groups has 5 labels but there are 6 samples"):
        run_limma(_expr(), groups=GROUPS[:5], contrast="b-a")


def test_sample_names_do_not_match():
    samples = pd.DataFrame({"dex": GROUPS}, index=[f"x{j}" for j in range(6)])
    with pytest.raises(ValueError, match=r"do not match.*not in the table \['s0', 's1'"):
        run_limma(_expr(), samples=samples, design="~ dex", coef="dexb")


def test_sample_table_aligned_by_name():
    expr = _expr()
    samples = pd.DataFrame({"dex": GROUPS}, index=expr.columns)
    shuffled = samples.iloc[[3, 0, 5, 1, 4, 2]]
    design = degbridge.de.formula.design_from_formula
    assert design  # the module is importable as degbridge.de.formula
    from degbridge.de.design import align_samples

    aligned = align_samples(shuffled, list(expr.columns), positional_ok=False)
    assert list(aligned.index) == list(expr.columns)
    assert list(aligned["dex"]) == GROUPS


def test_design_not_full_rank_names_columns():
    samples = pd.DataFrame({"batch": ["x"] * 3 + ["y"] * 3, "dex": GROUPS}, index=_expr().columns)
    with pytest.raises(
        ValueError, match=r"not of full rank.*'dexb' is a combination of \['batchy'\]"
    ):
        degbridge.de.design.check_design(
            degbridge.de.formula.design_from_formula("~ batch + dex", samples)
        )
    with pytest.raises(ValueError, match="not of full rank"):
        run_limma(_expr(), samples=samples, design="~ batch + dex", coef="dexb")


def test_unknown_contrast_level_lists_valid():
    with pytest.raises(
        ValueError, match=r"'c' is not a design column; valid names are \['a', 'b'\]"
    ):
        run_limma(_expr(), groups=GROUPS, contrast="c-a")


def test_too_few_residual_df():
    samples = pd.DataFrame(
        {"x": [1.0, 2, 3, 4], "dex": ["a", "a", "b", "b"]}, index=[f"s{j}" for j in range(4)]
    )
    with pytest.raises(ValueError, match=r"leaves 1 residual degree\(s\) of freedom"):
        run_limma(_expr(n_samples=4), samples=samples, design="~ x + dex", coef="dexb")


def test_no_replication():
    with pytest.raises(
        ValueError, match=r"no replication: every group \(a, b, c\) has a single sample"
    ):
        run_limma(_expr(n_samples=3), groups=["a", "b", "c"], contrast="b-a")


def test_infinite_values_located():
    expr = _expr()
    expr.iloc[7, 2] = np.inf
    expr.iloc[9, 0] = -np.inf
    with pytest.raises(ValueError, match=r"2 infinite value\(s\), first at gene 'g7', sample 's2'"):
        run_limma(expr, groups=GROUPS, contrast="b-a")


def test_na_in_counts_refused():
    counts = _counts()
    counts.iloc[3, 4] = np.nan
    with pytest.raises(
        ValueError, match=r"method='voom' needs complete counts.*gene 'g3', sample 's4'"
    ):
        run_limma(counts, groups=GROUPS, contrast="b-a", method="voom")


def test_negative_values_for_voom():
    with pytest.raises(
        ValueError, match=r"needs raw counts.*negative.*looks like normalised or log data"
    ):
        run_limma(_expr() - 9, groups=GROUPS, contrast="b-a", method="voom")


def test_non_integer_values_for_voom():
    with pytest.raises(
        ValueError, match=r"needs raw integer counts.*gene 'g0', sample 's0'.*use method='ls'"
    ):
        run_limma(_expr(), groups=GROUPS, contrast="b-a", method="voom")


def test_all_zero_gene_without_filter():
    counts = _counts()
    counts.iloc[11] = 0
    with pytest.raises(
        ValueError, match=r"1 gene\(s\) have zero counts in every sample \(e.g. \['g11'\]\)"
    ):
        run_limma(counts, groups=GROUPS, contrast="b-a", method="voom", filter=None)


def test_duplicate_gene_ids():
    expr = _expr()
    expr.index = ["g0"] * 2 + list(expr.index[2:])
    with pytest.raises(ValueError, match=r"1 gene IDs occur more than once: \['g0'\]"):
        run_limma(expr, groups=GROUPS, contrast="b-a")


def test_single_gene_and_empty():
    with pytest.raises(ValueError, match="single gene"):
        run_limma(_expr(n_genes=1), groups=GROUPS, contrast="b-a")
    with pytest.raises(ValueError, match="empty"):
        run_limma(_expr().iloc[:0], groups=GROUPS, contrast="b-a")


def test_text_column_in_expression_frame():
    expr = _expr().reset_index().rename(columns={"index": "gene"})
    with pytest.raises(
        TypeError, match=r"\['gene'\] are not; if it holds gene IDs, make it the index"
    ):
        run_limma(expr, groups=GROUPS, contrast="b-a")


def test_bad_options():
    with pytest.raises(ValueError, match="method must be one of"):
        run_limma(_expr(), groups=GROUPS, contrast="b-a", method="deseq")
    with pytest.raises(ValueError, match=r"weights='quality'.*needs method='voom'"):
        run_limma(_expr(), groups=GROUPS, contrast="b-a", weights="quality")
    with pytest.raises(ValueError, match="lfc must be a number >= 0"):
        run_limma(_expr(), groups=GROUPS, contrast="b-a", lfc=-1)
    with pytest.raises(ValueError, match="exactly one of groups="):
        run_limma(_expr(), contrast="b-a")
    with pytest.raises(ValueError, match="say what to test"):
        run_limma(_expr(), groups=GROUPS)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"groups": GROUPS, "contrast": 'system("touch PWNED")'}, "unexpected text"),
        ({"groups": GROUPS, "contrast": "b-a; system('id')"}, "unexpected text"),
        ({"design": '~ I(system("touch PWNED"))'}, "unexpected text|not allowed"),
        ({"design": '~ dex + {__import__("os").system("touch PWNED")}'}, "unexpected text"),
        ({"design": "~ dex + eval(dex)"}, "function 'eval' is not allowed"),
        ({"design": "~ dex + `dex`:`x; y`"}, "'x; y' is not a column"),
    ],
)
def test_hostile_strings_never_run(tmp_path, monkeypatch, kwargs, match):
    monkeypatch.chdir(tmp_path)
    samples = pd.DataFrame({"dex": GROUPS}, index=_expr().columns)
    if "design" in kwargs:
        kwargs = {**kwargs, "samples": samples, "coef": "dexb"}
    with pytest.raises(ValueError, match=match):
        run_limma(_expr(), **kwargs)
    assert not (tmp_path / "PWNED").exists()


# ---------------------------------------------------------------------------------------
# R absent, R errors, R warnings, R noise
# ---------------------------------------------------------------------------------------


def test_r_absent_message(monkeypatch):
    monkeypatch.setattr(_session, "_session", None)
    monkeypatch.setattr(_session, "_session_error", None)
    monkeypatch.setattr(_session, "_r_home", lambda: None)
    with pytest.raises(RNotAvailableError) as err:
        run_limma(_expr(), groups=GROUPS, contrast="b-a")
    text = str(err.value)
    assert "R is not installed" in text
    assert "apt-get install -y r-base-core r-bioc-limma r-bioc-edger r-cran-statmod" in text


def test_rpy2_too_new(monkeypatch):
    import rpy2

    monkeypatch.setattr(_session, "_session", None)
    monkeypatch.setattr(_session, "_session_error", None)
    monkeypatch.setattr(rpy2, "__version__", "3.6.1")
    with pytest.raises(
        RNotAvailableError, match=r"rpy2 3.6.1 is too new.*R_getVar.*rpy2>=3.5.13,<3.6"
    ):
        degbridge.r.check_r()


def test_import_without_r_in_subprocess():
    """`import degbridge` works without rpy2, and the first R call says what is missing."""
    code = (
        "import sys; sys.modules['rpy2'] = None\n"
        "import degbridge, numpy as np\n"
        "try:\n"
        "    degbridge.run_limma(np.ones((3, 4)) + np.arange(12).reshape(3, 4), groups=list('aabb'), contrast='b-a')\n"
        "except degbridge.RNotAvailableError as e:\n"
        "    print('ERR', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "ERR degbridge needs R for this: rpy2 is not installed" in out.stdout


@pytest.mark.r
def test_r_error_becomes_python_error_and_session_survives():
    from degbridge import r

    bad_design = r.float_matrix(np.ones((3, 1)))  # 3 rows but the matrix has 6 samples
    x = r.float_matrix(_expr().to_numpy())
    with pytest.raises(
        RError, match=r"R error in degbridge_limma_de: .*nrow\(design\) == ncol\(x\)"
    ):
        r.call("degbridge_limma_de", x, bad_design)
    tab = run_limma(_expr(), groups=GROUPS, contrast="b-a")  # the session still works
    assert tab.shape == (50, 6)


@pytest.mark.r
def test_r_warning_becomes_python_warning():
    expr = _expr()
    expr.iloc[5, 3:] = np.nan  # gene g5 has no values in group b
    with (
        pytest.warns(degbridge.RWarning, match=r"Partial NA coefficients for 1 probe"),
        pytest.warns(degbridge.DataWarning, match="3 missing values"),
    ):
        tab = run_limma(expr, groups=GROUPS, contrast="b-a")
    assert np.isnan(tab.loc["g5", "logFC"])


@pytest.mark.r
def test_r_startup_noise_stays_out_of_the_terminal():
    code = (
        "import degbridge, numpy as np\n"
        "rng = np.random.default_rng(0)\n"
        "t = degbridge.run_limma(rng.normal(size=(30, 4)), groups=list('aabb'), contrast='b-a')\n"
        "print(t.shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(30, 6)"
    assert "contains no packages" not in out.stderr
    assert out.stderr.strip() == ""


@pytest.mark.r
def test_child_processes_unaffected_by_r_start():
    """Starting R must not change the environment child processes inherit (LD_LIBRARY_PATH)."""
    import os

    from degbridge import r

    r.session()
    assert "/usr/lib/R/lib" not in os.environ.get("LD_LIBRARY_PATH", "")
    out = subprocess.run(
        [sys.executable, "-c", "import ssl, sklearn; print('ok')"], capture_output=True, text=True
    )
    assert out.stdout.strip() == "ok", out.stderr


@pytest.mark.r
def test_ls_on_raw_counts_warns_at_the_users_line_and_still_runs():
    """method='ls' given on raw counts: a DataWarning at this line, then limma's ls table."""
    counts = _counts()
    with pytest.warns(degbridge.DataWarning, match=r"method='ls' was given.*raw counts") as got:
        table = run_limma(counts, groups=GROUPS, contrast="b-a", method="ls")
    assert [w.filename for w in got if issubclass(w.category, degbridge.DataWarning)] == [__file__]
    assert table.meta["method_choice"] == "ls: given"
    assert len(table) == len(counts)
