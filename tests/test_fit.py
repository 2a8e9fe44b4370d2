"""fit_limma / LimmaFit, decide_tests and the gene-set tests against limma in a native Rscript.

The native script is written the way limma's User's Guide writes it (lmFit, makeContrasts,
contrasts.fit, eBayes, topTable, decideTests, ids2indices, camera/fry/roast/mroast on the
expression object), independently of degbridge's R files. Gene sets are drawn in Python with a
fixed seed and written to a GMT file that both sides read. Numbers agree to 1e-10 relative;
roast/mroast, which draw random rotations, agree exactly with the same R seed.
"""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pandas as pd
import pytest

from degbridge import DataWarning, DEResults, DETable, run_limma
from degbridge.de import DecideTests, LimmaFit, decide_tests, fit_limma
from degbridge.de.genesets import gene_sets, id_type, map_sets

from .conftest import assert_same_table, read_full, run_rscript

pytestmark = pytest.mark.r

ALL_CONTRASTS = {"TvsB": "T - (B1 + B2)/2", "B2vsB1": "B2 - B1", "TvsB1": "T - B1"}
DECIDE = {
    "separate": {"method": "separate"},
    "global": {"method": "global"},
    "hierarchical": {"method": "hierarchical"},
    "nestedF": {"method": "nestedF"},
    "global_holm": {"method": "global", "adjust_method": "holm", "p_value": 0.01, "lfc": 1.0},
}

NATIVE = r"""
read_gmt <- function(path) {
  lines <- strsplit(readLines(path), "\t")
  sets <- lapply(lines, function(x) x[-(1:2)])
  names(sets) <- vapply(lines, function(x) x[1], "")
  sets
}
write_decide <- function(res, path) {
  m <- unclass(res)
  out <- data.frame(gene = rownames(m), m, check.names = FALSE)
  write.table(out, path, sep = "\t", quote = FALSE, row.names = FALSE)
}

## ALL (limma User's Guide style): B cells split in two groups by sample order, T cells
suppressPackageStartupMessages(library(ALL)); data(ALL)
E <- Biobase::exprs(ALL)
grp <- factor(readLines("all_groups.txt"))
design <- model.matrix(~ 0 + grp); colnames(design) <- levels(grp)
fit <- lmFit(E, design)
cm <- makeContrasts(TvsB = "T-(B1+B2)/2", B2vsB1 = "B2-B1", TvsB1 = "T-B1", levels = design)
fit2 <- eBayes(contrasts.fit(fit, cm))
write_full(topTable(fit2, coef = 1, number = Inf), "all_TvsB.tsv")
write_full(topTable(fit2, number = Inf), "all_F.tsv")
write_full(topTable(fit2, coef = 2, number = 40, sort.by = "logFC", p.value = 0.2, lfc = 0.3,
                    adjust.method = "BY"), "all_top.tsv")
write_decide(decideTests(fit2), "dt_separate.tsv")
write_decide(decideTests(fit2, method = "global"), "dt_global.tsv")
write_decide(decideTests(fit2, method = "hierarchical"), "dt_hierarchical.tsv")
write_decide(decideTests(fit2, method = "nestedF"), "dt_nestedF.tsv")
dt <- decideTests(fit2, method = "global", adjust.method = "holm", p.value = 0.01, lfc = 1)
write_decide(dt, "dt_global_holm.tsv")
s <- summary(dt)
write.table(data.frame(what = rownames(s), unclass(s), check.names = FALSE),
            "dt_summary.tsv", sep = "\t", quote = FALSE, row.names = FALSE)

sets <- read_gmt("all_sets.gmt")
idx <- ids2indices(sets, rownames(E))
write_full(camera(E, idx, design, contrast = cm[, "TvsB"]), "camera_all.tsv")
write_full(camera(E, idx, design, contrast = cm[, "TvsB"], inter.gene.cor = NA),
           "camera_all_est.tsv")
write_full(fry(E, idx, design, contrast = cm[, "TvsB"]), "fry_all.tsv")
set.seed(14)
write_full(mroast(E, idx, design, contrast = cm[, "TvsB"], nrot = 499), "mroast_all.tsv")
set.seed(7)
write_full(roast(E, idx[[1]], design, contrast = cm[, "TvsB"], nrot = 499)$p.value,
           "roast_all.tsv")

## airway through voom (limma User's Guide, RNA-seq chapter), camera on dextreated
counts <- as.matrix(read.delim("airway_counts.tsv", row.names = 1, check.names = FALSE))
s <- read.delim("airway_samples.tsv", row.names = 1)
design <- model.matrix(~ celltype + dex, data = s)
dge <- DGEList(counts)
keep <- filterByExpr(dge, design = design)
dge <- calcNormFactors(dge[keep, , keep.lib.sizes = FALSE])
v <- voom(dge, design)
idx <- ids2indices(read_gmt("airway_sets.gmt"), rownames(v))
write_full(camera(v, idx, design, contrast = ncol(design)), "camera_airway.tsv")
write_full(fry(v, idx, design, contrast = ncol(design)), "fry_airway.tsv")
"""


def _write_gmt(path, sets: dict[str, list[str]]) -> None:
    path.write_text(
        "".join(f"{k}\tdrawn with seed 14\t" + "\t".join(v) + "\n" for k, v in sets.items())
    )


def _draw_sets(genes: list[str], score: np.ndarray, rng, n_random: int) -> dict[str, list[str]]:
    """Random sets plus sets of the highest/lowest scoring genes (a plain mean difference)."""
    genes_arr = np.asarray(genes, dtype=object)
    sets = {}
    for k in range(n_random):
        size = int(rng.integers(5, 150))
        sets[f"random_{k:02d}"] = list(genes_arr[rng.choice(len(genes), size, replace=False)])
    order = np.argsort(score, kind="stable")
    for size in (20, 60):
        sets[f"top_{size}"] = list(genes_arr[order[-size:]])
        sets[f"bottom_{size}"] = list(genes_arr[order[:size]])
        sets[f"mixed_{size}"] = list(genes_arr[np.r_[order[: size // 2], order[-size // 2 :]]])
    sets["partly_unknown"] = [*sets["top_20"][:10], "NOT_A_GENE_1", "NOT_A_GENE_2"]
    return sets


@pytest.fixture(scope="session")
def all_data():
    from degbridge.r import package_installed

    if not package_installed("ALL"):
        pytest.skip("Debian's r-bioc-all (the ALL data set) is not installed")
    from degbridge.datasets import all_leukemia

    E, cells = all_leukemia()
    b = [j for j, c in enumerate(cells) if c == "B"]
    groups = list(cells)
    for k, j in enumerate(b):  # first half of the B samples, second half (by sample order)
        groups[j] = "B1" if k < len(b) // 2 else "B2"
    return E, groups


@pytest.fixture(scope="session")
def native(tmp_path_factory, all_data, airway):
    d = tmp_path_factory.mktemp("native_fit")
    E, groups = all_data
    (d / "all_groups.txt").write_text("\n".join(groups) + "\n")
    rng = np.random.default_rng(14)
    g = np.asarray(groups)
    score = E.loc[:, g == "T"].mean(axis=1).to_numpy() - E.loc[:, g != "T"].mean(axis=1).to_numpy()
    _write_gmt(d / "all_sets.gmt", _draw_sets(list(E.index), score, rng, 30))
    counts, samples = airway
    counts.astype(int).to_csv(d / "airway_counts.tsv", sep="\t")
    samples.to_csv(d / "airway_samples.tsv", sep="\t")
    logc = np.log2(counts.to_numpy() + 1)
    treated = (samples["dex"] == "treated").to_numpy()
    ascore = logc[:, treated].mean(axis=1) - logc[:, ~treated].mean(axis=1)
    _write_gmt(d / "airway_sets.gmt", _draw_sets(list(counts.index), ascore, rng, 20))
    run_rscript(NATIVE, d)
    return d


@pytest.fixture(scope="session")
def all_fit(all_data) -> LimmaFit:
    E, groups = all_data
    return fit_limma(E, groups=groups)


@pytest.fixture(scope="session")
def airway_fit(airway) -> LimmaFit:
    counts, samples = airway
    return fit_limma(counts, samples=samples, design="~ celltype + dex")


def _same_sets(ours: pd.DataFrame, theirs: pd.DataFrame, rtol: float = 1e-10) -> None:
    """A gene-set table: same sets in the same order, numbers to rtol, same directions."""
    assert list(ours.index) == list(theirs.index)
    numeric = [c for c in theirs.columns if pd.api.types.is_numeric_dtype(theirs[c])]
    assert_same_table(ours, theirs, rtol=rtol, columns=numeric)
    for col in set(theirs.columns) - set(numeric):
        assert list(ours[col]) == list(theirs[col]), col


def _decisions(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", index_col=0).rename_axis(None)


# ---------------------------------------------------------------------------------------
# the fit and new contrasts
# ---------------------------------------------------------------------------------------


def test_fit_holds_the_model_as_numbers(all_fit, all_data):
    E, groups = all_data
    assert all_fit.coefficient_names == ["B1", "B2", "T"]
    assert all_fit.coefficients.shape == (12625, 3)
    np.testing.assert_array_equal(all_fit.E, E.to_numpy())
    # the coefficients of ~ 0 + group are the group means (closed form)
    g = np.asarray(groups)
    for level in ("B1", "B2", "T"):
        np.testing.assert_allclose(
            all_fit.coefficients[level], E.loc[:, g == level].mean(axis=1), rtol=1e-12
        )
    assert all_fit.weights is None
    assert set(all_fit.parts) >= {"coefficients", "stdev.unscaled", "sigma", "df.residual"}


def test_new_contrasts_equal_native(all_fit, native):
    res = all_fit.test(ALL_CONTRASTS)
    assert isinstance(res, DEResults)
    theirs = read_full(native / "all_TvsB.tsv")
    assert_same_table(res["TvsB"], theirs)
    assert list(res["TvsB"].index[:200]) == list(theirs.index[:200])
    ftheirs = read_full(native / "all_F.tsv")
    assert_same_table(res.ftest, ftheirs)
    assert list(res.ftest.columns[:3]) == list(ALL_CONTRASTS)


def test_new_contrast_equals_run_limma(airway_fit, airway):
    counts, samples = airway
    for kwargs in (
        {"contrast": "dextreated"},
        {"contrast": "celltypeN061011 - celltypeN080611", "robust": True},
        {"contrast": "dextreated", "lfc": 0.5},
    ):
        ours = airway_fit.test(**kwargs)
        ref = run_limma(counts, samples=samples, design="~ celltype + dex", **kwargs)
        assert list(ours.index) == list(ref.index)
        pd.testing.assert_frame_equal(ours, ref, check_exact=False, rtol=1e-13, atol=0)
        assert ours.meta["contrast_vector"] == ref.meta["contrast_vector"]
        assert ours.meta["df_prior"] == pytest.approx(ref.meta["df_prior"], rel=1e-13)
    assert airway_fit.weights.shape == airway_fit.E.shape


def test_top_table_options_equal_native(all_fit, native):
    ours = all_fit.top_table(
        {"B2vsB1": "B2 - B1"}, number=40, sort_by="logFC", p_value=0.2, lfc=0.3, adjust_method="BY"
    )
    theirs = read_full(native / "all_top.tsv")
    assert len(theirs) > 0
    assert list(ours.index) == list(theirs.index)
    assert_same_table(ours, theirs)


def test_pickle_threads_and_to_r(all_fit):
    again = pickle.loads(pickle.dumps(all_fit))
    expected = all_fit.test("T - B1")
    pd.testing.assert_frame_equal(again.test("T - B1"), expected)
    results = {}

    def work(k):
        results[k] = all_fit.test("T - B1")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for frame in results.values():
        pd.testing.assert_frame_equal(frame, expected)

    from degbridge import r

    with r.R_LOCK:
        obj = all_fit.to_r()
        assert list(r.to_numpy(r.session().ri.baseenv["class"](obj))) == ["MArrayLM"]
        coef = r.to_dict(obj)["coefficients"]
        values = r.to_numpy(coef).reshape(all_fit.parts["coefficients"].shape, order="F")
        rownames = r.to_numpy(r.session().ri.baseenv["rownames"](coef))
        del obj, coef
    np.testing.assert_array_equal(values, all_fit.parts["coefficients"])
    assert list(rownames[:3]) == all_fit.genes[:3]


# ---------------------------------------------------------------------------------------
# decideTests
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DECIDE))
def test_decide_tests_equal_native(all_fit, native, name):
    ours = decide_tests(all_fit, ALL_CONTRASTS, **DECIDE[name])
    theirs = _decisions(native / f"dt_{name}.tsv")
    assert isinstance(ours, DecideTests)
    assert list(ours.columns) == list(theirs.columns)
    assert list(ours.index) == list(theirs.index)
    np.testing.assert_array_equal(ours.to_numpy(), theirs.to_numpy())
    assert (ours != 0).to_numpy().any() and (ours == 0).to_numpy().any()
    if name == "global_holm":
        summary = pd.read_csv(native / "dt_summary.tsv", sep="\t", index_col=0)
        np.testing.assert_array_equal(ours.summary().to_numpy(), summary.to_numpy())
        assert list(ours.summary().index) == ["Down", "NotSig", "Up"]


@pytest.mark.parametrize("method", ["separate", "global"])
def test_decide_tests_on_tables_equal_fit(all_fit, method):
    tested = all_fit.test(ALL_CONTRASTS)
    from_tables = decide_tests(tested, method=method)
    from_fit = decide_tests(all_fit, ALL_CONTRASTS, method=method)
    pd.testing.assert_frame_equal(from_tables.loc[from_fit.index], from_fit)


# ---------------------------------------------------------------------------------------
# gene sets
# ---------------------------------------------------------------------------------------


def test_camera_fry_all_equal_native(all_fit, native):
    sets = gene_sets(native / "all_sets.gmt")
    contrast = {"TvsB": ALL_CONTRASTS["TvsB"]}
    cam = all_fit.camera(sets, contrast)
    theirs = read_full(native / "camera_all.tsv")
    _same_sets(cam, theirs)
    assert cam.loc["top_60", "PValue"] < 1e-6  # the sets drawn from T-higher probes
    assert cam.attrs["mapping_rate"] == pytest.approx(1 - 2 / cam.attrs["n_ids"])
    est = all_fit.camera(sets, contrast, inter_gene_cor=None)
    _same_sets(est, read_full(native / "camera_all_est.tsv"))
    assert "Correlation" in est.columns
    fr = all_fit.fry(sets, contrast)
    _same_sets(fr, read_full(native / "fry_all.tsv"))


def test_roast_mroast_identical_with_seed(all_fit, native):
    sets = gene_sets(native / "all_sets.gmt")
    contrast = {"TvsB": ALL_CONTRASTS["TvsB"]}
    mr = all_fit.mroast(sets, contrast, nrot=499, seed=14)
    theirs = read_full(native / "mroast_all.tsv")
    _same_sets(mr, theirs, rtol=0)
    first = next(iter(sets.values()))
    ro = all_fit.roast(first, contrast, nrot=499, seed=7)
    _same_sets(ro, read_full(native / "roast_all.tsv"), rtol=0)
    again = all_fit.roast(first, contrast, nrot=499, seed=7)
    pd.testing.assert_frame_equal(again, ro)


def test_camera_airway_voom_equal_native(airway_fit, native):
    sets = gene_sets(native / "airway_sets.gmt")
    cam = airway_fit.camera(sets, "dextreated")
    theirs = read_full(native / "camera_airway.tsv")
    _same_sets(cam, theirs)
    assert 0 < cam.attrs["mapping_rate"] < 1  # filterByExpr removed some set members
    _same_sets(airway_fit.fry(sets, "dextreated"), read_full(native / "fry_airway.tsv"))


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------


def test_unknown_coefficient_names_the_valid_ones(all_fit):
    with pytest.raises(ValueError, match=r"'C' is not a design column.*\['B1', 'B2', 'T'\]"):
        all_fit.test("C - B1")
    with pytest.raises(ValueError, match="not a design column"):
        all_fit.camera({"s": all_fit.genes[:10]}, "Tx")
    with pytest.raises(ValueError, match="one contrast"):
        all_fit.camera({"s": all_fit.genes[:10]}, ["T - B1", "B2 - B1"])


def test_no_overlap_names_id_types(all_fit):
    with pytest.raises(ValueError, match=r"Ensembl gene IDs.*Affymetrix probe IDs"):
        all_fit.camera({"s": ["ENSG00000000003", "ENSG00000000419"]}, "T - B1")


def test_roast_without_seed_warns(all_fit):
    with pytest.warns(DataWarning, match="seed"):
        all_fit.roast(all_fit.genes[:20], "T - B1", nrot=99)


def test_gene_set_input_checks(tmp_path):
    bad = tmp_path / "bad.gmt"
    bad.write_text("set1\tdesc\tg1\tg2\nset2 only-spaces g3\n")
    with pytest.raises(ValueError, match="line 2"):
        gene_sets(bad)
    with pytest.raises(TypeError, match="list of gene IDs"):
        gene_sets({"s": "g1"})
    with pytest.raises(ValueError, match="between 3 and"):
        gene_sets({"s": ["a", "b"]}, min_size=3)
    sets = gene_sets({"a": ["g1", "g2", "g1"], "b": ["x"]})
    assert sets["a"] == ["g1", "g2"]
    index, report = map_sets(sets, ["g0", "g1", "g2"])
    assert list(index) == ["a"]
    np.testing.assert_array_equal(index["a"], [2, 3])  # 1-based rows for R
    assert report["mapping_rate"] == pytest.approx(2 / 3)
    assert id_type(["1017", "7157"]) == "Entrez (numeric)"


def test_decide_tests_input_checks(all_fit):
    tested = all_fit.test(ALL_CONTRASTS)
    for method in ("nestedF", "hierarchical"):
        with pytest.raises(ValueError, match="pass the LimmaFit"):
            decide_tests(tested, method=method)
    with pytest.raises(ValueError, match="method="):
        decide_tests(all_fit, "T - B1", method="bogus")
    with pytest.raises(ValueError, match="p_value"):
        decide_tests(all_fit, "T - B1", p_value=2)
    single = decide_tests(tested["TvsB"])
    assert isinstance(tested["TvsB"], DETable)
    assert list(single.columns) == ["TvsB"]
