"""Design matrices: column names and values equal R's model.matrix; factor levels from R."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from degbridge._reticulate import limma_inputs
from degbridge.de.design import design_from_groups
from degbridge.de.formula import design_from_formula

from .conftest import run_rscript

SAMPLES = pd.DataFrame(
    {
        "celltype": [
            "N61311",
            "N61311",
            "N052611",
            "N052611",
            "N080611",
            "N080611",
            "N061011",
            "N061011",
        ],
        "dex": ["control", "treated"] * 4,
        "age": [31.0, 31, 45, 45, 52, 52, 60, 60],
        "batch": [1, 1, 2, 2, 10, 10, 1, 2],
    },
    index=[f"s{i}" for i in range(8)],
)
FORMULAS = [
    "~ celltype + dex",
    "~ 0 + dex",
    "~ dex + age",
    "~ dex + age + dex:age",
    "~ dex * factor(batch)",
    "~ factor(batch) + dex",
]


@pytest.mark.r
def test_names_and_values_equal_model_matrix(tmp_path):
    SAMPLES.to_csv(tmp_path / "samples.tsv", sep="\t")
    code = "s <- read.delim('samples.tsv', row.names = 1)\n"
    for k, f in enumerate(FORMULAS):
        code += (
            f"m <- model.matrix({f}, data = s)\n"
            f"writeLines(colnames(m), 'names{k}.txt')\n"
            f"write.table(unname(m), 'values{k}.tsv', sep = '\\t', row.names = FALSE, col.names = FALSE)\n"
        )
    run_rscript(code, tmp_path)
    for k, f in enumerate(FORMULAS):
        ours = design_from_formula(f, SAMPLES)
        r_names = (tmp_path / f"names{k}.txt").read_text().split("\n")[:-1]
        assert ours.columns == r_names, f
        r_values = np.loadtxt(tmp_path / f"values{k}.tsv", delimiter="\t", ndmin=2)
        np.testing.assert_array_equal(ours.matrix, r_values, err_msg=f)


def test_factor_levels_follow_categories():
    groups = pd.Categorical(["b", "a", "b", "a"], categories=["b", "a"])
    assert design_from_groups(groups, list("wxyz")).columns == ["b", "a"]
    assert design_from_groups(list("baba"), list("wxyz")).columns == ["a", "b"]


def test_reticulate_inputs_keep_r_factor_levels():
    plain = limma_inputs(list("wxyz"), groups=["t", "t", "c", "c"], contrast="t - c")
    leveled = limma_inputs(
        list("wxyz"), groups=["t", "t", "c", "c"], levels={".groups": ["t", "c"]}, contrast="t - c"
    )
    assert plain["colnames"] == ["c", "t"] and leveled["colnames"] == ["t", "c"]
    assert plain["contrasts"] == [-1.0, 1.0] and leveled["contrasts"] == [1.0, -1.0]
    coef = limma_inputs(
        list("abcdefgh"),
        samples={"dex": SAMPLES["dex"].tolist()},
        formula="~ dex",
        contrast="dextreated",
        match="position",  # the sheet has no sample IDs
    )
    assert coef["coef"] == 2 and coef["contrasts"] is None
