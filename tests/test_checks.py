"""The shared checks (degbridge._checks) and the limma option constraints (degbridge._params)."""

from __future__ import annotations

import typing

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from degbridge import run_limma
from degbridge._checks import (
    check_anndata,
    check_counts,
    find_non_counts,
    get_matrix,
    is_anndata,
    is_r_object,
    isna,
    looks_like_counts,
)
from degbridge._params import LIMMA_CONSTRAINTS, METHODS, NORMALIZE, SORT_BY, check_param
from degbridge.de.limma import LimmaOptions


def _adata() -> ad.AnnData:
    rng = np.random.default_rng(0)
    counts = rng.poisson(5, size=(4, 3)).astype(float)
    return ad.AnnData(X=np.log1p(counts), layers={"counts": counts})


# ---------------------------------------------------------------------------------------
# what an object is
# ---------------------------------------------------------------------------------------


def test_is_anndata_and_check_anndata_name_the_type():
    assert is_anndata(_adata())
    assert not is_anndata(pd.DataFrame({"a": [1]}))
    impostor = type("AnnData", (), {})()  # the right name without obs/var
    assert not is_anndata(impostor)
    with pytest.raises(TypeError, match=r"expected an AnnData .*, not DataFrame"):
        check_anndata(pd.DataFrame())


def test_is_r_object_by_module():
    r_like = type("FloatSexpVector", (), {"__module__": "rpy2.rinterface"})()
    assert is_r_object(r_like)
    assert not is_r_object(pd.DataFrame())
    assert not is_r_object(type("X", (), {"__module__": "rpy2x"})())


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, True), (np.nan, True), (pd.NA, True), (pd.NaT, True), ("NA", False), (0, False)],
)
def test_isna_scalars(value, expected):
    assert isna(value) is expected


def test_isna_is_false_for_what_pandas_cannot_judge():
    assert isna([1, None]) is False  # pd.isna gives an array here
    assert isna(np.array([np.nan, np.nan])) is False


# ---------------------------------------------------------------------------------------
# which AnnData matrix
# ---------------------------------------------------------------------------------------


def test_get_matrix_picks_x_or_the_layer():
    adata = _adata()
    assert get_matrix(adata, None) is adata.X
    assert get_matrix(adata, "counts") is adata.layers["counts"]


def test_get_matrix_names_the_missing_layer_and_lists_the_layers():
    with pytest.raises(
        ValueError, match=r"layer 'raw' is not in the AnnData; layers are \['counts'\]"
    ):
        get_matrix(_adata(), "raw")
    empty = ad.AnnData(obs=pd.DataFrame(index=["a", "b"]), var=pd.DataFrame(index=["g"]))
    with pytest.raises(ValueError, match=r"the AnnData has no X; pass layer="):
        get_matrix(empty, None)


# ---------------------------------------------------------------------------------------
# raw counts
# ---------------------------------------------------------------------------------------


def test_counts_pass():
    counts = np.random.default_rng(1).poisson(3, size=(50, 6))
    assert find_non_counts(counts) is None
    assert find_non_counts(counts.astype(float)) is None
    assert find_non_counts(counts.astype(np.uint16)) is None
    assert find_non_counts(counts > 2) is None  # booleans are 0/1 counts
    assert find_non_counts(counts + 1e-10) is None  # float rounding is tolerated


@pytest.mark.parametrize(
    ("value", "kind"),
    [(np.nan, "missing"), (np.inf, "infinite"), (-1.0, "negative"), (2.5, "non-integer")],
)
def test_each_kind_is_found_with_its_position(value, kind):
    x = np.ones((7, 4))
    x[5, 2] = value
    x[6, 3] = value
    bad = find_non_counts(x)
    assert (bad.kind, bad.count, bad.index) == (kind, 2, (5, 2))
    assert bad.value == value or (np.isnan(bad.value) and np.isnan(value))


def test_the_most_serious_kind_wins_whatever_the_chunk():
    x = np.ones((10, 3))
    x[0, 0] = 0.5  # non-integer first in the matrix
    x[1, 1] = -2  # negative
    x[9, 2] = np.nan  # missing, last
    for chunk in (1, 3, 7, 1000):
        bad = find_non_counts(x, chunk=chunk)
        assert (bad.kind, bad.count, bad.index) == ("missing", 1, (9, 2))
    x[9, 2] = 1
    bad = find_non_counts(x, chunk=2)
    assert (bad.kind, bad.index, bad.value) == ("negative", (1, 1), -2.0)


def test_counts_match_numpy_on_random_matrices():
    """Counts and first positions agree with a direct numpy computation over the whole matrix."""
    rng = np.random.default_rng(2)
    for _ in range(20):
        x = rng.poisson(4, size=(rng.integers(1, 40), rng.integers(1, 9))).astype(float)
        mask = rng.random(x.shape) < 0.05
        x[mask] += 0.25
        expected = np.abs(x - np.round(x)) > 1e-8
        bad = find_non_counts(x, chunk=int(rng.integers(1, 50)))
        if not expected.any():
            assert bad is None
            continue
        assert bad.kind == "non-integer"
        assert bad.count == int(expected.sum())
        assert bad.index == tuple(int(i) for i in np.argwhere(expected)[0])


def test_sparse_checks_stored_values_only():
    x = sp.random(200, 50, density=0.05, random_state=3, format="csr")
    x.data = np.round(x.data * 10)
    assert find_non_counts(x) is None
    x.data[4] = -3
    bad = find_non_counts(x)
    assert (bad.kind, bad.count, bad.value) == ("negative", 1, -3.0)


def test_check_counts_raises_the_callers_message():
    x = np.array([[1.0, 2.0], [0.5, 3.0]])
    with pytest.raises(ValueError, match=r"^layer 'lognorm': non-integer at \(1, 0\) = 0.5$"):
        check_counts(x, message=lambda b: f"layer 'lognorm': {b.kind} at {b.index} = {b.value}")
    check_counts(np.ones((2, 2)), message=lambda b: "never")


def test_looks_like_counts():
    counts = np.random.default_rng(4).poisson(3, size=(30, 4)).astype(float)
    assert looks_like_counts(counts)
    assert looks_like_counts(sp.csr_matrix(counts))
    assert not looks_like_counts(np.log2(counts + 1) + 0.01)
    with_nan = counts.copy()
    with_nan[0, 0] = np.nan
    assert not looks_like_counts(with_nan)  # missing values mean log-expression
    assert not looks_like_counts(np.empty((0, 3)))
    assert not looks_like_counts(sp.csr_matrix((0, 3)))


def test_expression_features_and_pseudobulk_use_the_same_rule():
    """Near-integers within 1e-8 are counts for both; 1e-6 away is not (for both)."""
    from degbridge import expression_features, pseudobulk

    rng = np.random.default_rng(5)
    counts = rng.poisson(20, size=(8, 6)).astype(float) + 1.0
    frame = pd.DataFrame(counts, index=[f"g{i}" for i in range(8)])
    cells = ad.AnnData(
        X=counts.T.copy(), obs=pd.DataFrame({"donor": list("aabbcc")}, index=list("123456"))
    )
    assert "frac_zero" in expression_features(frame + 1e-10).columns
    pseudobulk(cells, "donor", min_cells=1)
    assert "frac_zero" not in expression_features(frame + 1e-6).columns
    cells.X = cells.X + 1e-6
    with pytest.raises(ValueError, match=r"X holds non-integer or negative values"):
        pseudobulk(cells, "donor", min_cells=1)


# ---------------------------------------------------------------------------------------
# option constraints, declared once
# ---------------------------------------------------------------------------------------


def test_type_hints_and_constraints_list_the_same_values():
    hints = typing.get_type_hints(run_limma)

    def literal_values(hint) -> set:
        if typing.get_origin(hint) is typing.Literal:
            return set(typing.get_args(hint))
        return set().union(*(literal_values(a) for a in typing.get_args(hint)))

    assert literal_values(hints["method"]) == set(METHODS) == {"ls", "voom", "trend"}
    assert literal_values(hints["normalize"]) == set(NORMALIZE)
    assert literal_values(hints["sort_by"]) == set(SORT_BY)
    assert literal_values(hints["weights"]) == {"arrayWeights", "quality"}
    assert set(LIMMA_CONSTRAINTS) <= set(hints)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("method", "deseq", r"method must be one of \['ls', 'voom', 'trend'\], not 'deseq'"),
        ("normalize", "tmm", r"normalize must be one of \[.*'upperquartile', 'none'\] or None"),
        ("filter", "yes", r"filter must be 'filterByExpr', True/False or None, not 'yes'"),
        ("lfc", -1, r"lfc must be a number >= 0, not -1"),
        ("lfc", float("nan"), r"lfc must be a number >= 0, not nan"),
        ("confint", 1.5, r"confint must be True/False or a level in \(0, 1\), not 1.5"),
        ("prior_count", 0, r"prior_count must be a number > 0, not 0"),
        ("sort_by", "pvalue", r"sort_by must be one of \['auto', 'B', 'P', 'logFC', 't', 'none'\]"),
    ],
)
def test_check_param_names_the_option_and_the_allowed_values(name, value, message):
    with pytest.raises(ValueError, match=message):
        check_param(name, value)
    with pytest.raises(ValueError, match=message):  # the same message through run_limma
        run_limma(np.ones((3, 4)), groups=list("aabb"), contrast="b-a", **{name: value})


def test_limma_options_are_canonical():
    opts = LimmaOptions.from_arguments(method="voom", normalize=None, weights=None, confint=0.9)
    assert (opts.normalize, opts.weights, opts.confint, opts.filter) == ("none", "none", 0.9, True)
    assert LimmaOptions.from_arguments(method="ls", filter="filterByExpr").filter is False
    assert LimmaOptions(method="ls", filter=True).filter is False
    assert LimmaOptions.from_arguments(lfc=1).treat and not LimmaOptions().treat
    opts = LimmaOptions.from_arguments(method="trend", trend=False)
    assert opts.as_meta(block=False)["trend"] is True
    with pytest.raises(
        ValueError, match=r"weights='quality' \(voomWithQualityWeights\) needs method='voom'"
    ):
        LimmaOptions.from_arguments(method="trend", weights="quality")
    with pytest.raises(ValueError, match=r"weights='arrayWeights' is for method='ls'"):
        LimmaOptions.from_arguments(method="voom", weights="arrayWeights")
