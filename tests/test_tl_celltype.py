"""tl.limma(celltype_key=...): one pseudobulk and one fit per cell type, against a native R loop.

The cells are simulated from the real airway libraries: each library is a donor, and each of
its cells draws reads (Poisson) from the library's own expression profile, scaled by a
per-cell-type profile and, in the "stim" donors, by fold changes on known genes of that cell
type. The airway dex effect is balanced out: each condition holds two dex-treated and two
untreated libraries, one of each cell line.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from degbridge import DataWarning, get, tl, write_h5ad

from .conftest import assert_same_table, read_full, run_rscript, write_matrix_bin

pytestmark = pytest.mark.r

STIM = {"SRR1039508", "SRR1039512", "SRR1039517", "SRR1039521"}  # 2 control + 2 dex-treated
CANON = ["logFC", "AveExpr", "t", "P.Value", "adj.P.Val", "B"]
MAIN = {"T": 60, "B": 40, "Mono": 30}  # cells per donor


def simulate(airway, n_genes=2000, n_de=60, fold=4.0, seed=1):
    """Cells × genes (sparse counts) with obs donor, condition, cell_type; and the DE genes.

    Cell types: ``MAIN`` in every donor; ``"pDC"`` (3 cells per donor: every pseudobulk
    sample below min_cells=10); ``"Neutro"`` (30 cells in control donors, 4 in stim donors:
    no stim sample left after min_cells=10).
    """
    counts, _ = airway
    rng = np.random.default_rng(seed)
    top = counts.sum(axis=1).sort_values(ascending=False).index[:n_genes]
    lib = counts.loc[top]
    genes = np.asarray(top, dtype=str)
    sizes = {**MAIN, "pDC": 3, "Neutro": None}
    profiles, de = {}, {}
    for cell_type in sizes:
        profiles[cell_type] = rng.lognormal(0.0, 0.7, n_genes)  # cell-type expression
        chosen = rng.choice(np.arange(200, n_genes), n_de, replace=False)  # not the top 200
        de[cell_type] = (chosen, np.where(np.arange(n_de) % 2 == 0, fold, 1 / fold))
    blocks, obs = [], []
    for donor in lib.columns:
        stim = donor in STIM
        base = lib[donor].to_numpy(dtype=float)
        for cell_type, n in sizes.items():
            n = (4 if stim else 30) if n is None else n
            p = base * profiles[cell_type]
            if stim:
                idx, fc = de[cell_type]
                p[idx] *= fc
            p /= p.sum()
            depth = rng.poisson(1500, size=n)
            blocks.append(rng.poisson(np.outer(depth, p)))
            obs += [(donor, "stim" if stim else "ctrl", cell_type)] * n
    X = sp.csr_matrix(np.vstack(blocks).astype(np.float64))
    obs = pd.DataFrame(obs, columns=["donor", "condition", "cell_type"])
    obs.index = [f"cell{i}" for i in range(len(obs))]
    adata = ad.AnnData(X=X, obs=obs, var=pd.DataFrame(index=genes))
    truth = {c: set(genes[idx]) for c, (idx, _) in de.items()}
    return adata, truth


@pytest.fixture(scope="module")
def cells(airway):
    return simulate(airway)


@pytest.fixture(scope="module")
def fitted(cells):
    adata, _ = cells
    adata = adata.copy()
    with pytest.warns(DataWarning, match=r"2 of 5 cell types skipped") as rec:
        tl.limma(
            adata,
            groupby="condition",
            sample_key="donor",
            celltype_key="cell_type",
            contrast="stim - ctrl",
            progress=False,
            key_added="pb",
        )
    assert len([w for w in rec if issubclass(w.category, DataWarning)]) == 1  # one summary
    return adata


NATIVE = r"""
cts <- readLines("cell_types.txt")
genes <- readLines("genes.txt")
allp <- c()
for (ct in cts) {
  x <- read_matrix_bin(ct)
  rownames(x) <- genes
  group <- factor(readLines(paste0(ct, ".groups")))
  design <- model.matrix(~ 0 + group)
  colnames(design) <- levels(group)
  dge <- DGEList(counts = x)
  keep <- filterByExpr(dge, design = design)
  dge <- dge[keep, , keep.lib.sizes = FALSE]
  dge <- calcNormFactors(dge)
  v <- voom(dge, design)
  fit <- lmFit(v, design)
  cm <- makeContrasts(stim - ctrl, levels = design)
  fit2 <- eBayes(contrasts.fit(fit, cm))
  tt <- topTable(fit2, coef = 1, number = Inf, sort.by = "none")
  write_full(tt, paste0(ct, ".tsv"))
  allp <- c(allp, tt$P.Value)
}
writeLines(sprintf("%.17g", p.adjust(allp, "BH")), "global.txt")
"""


def _native_pseudobulks(adata, cell_types, d, min_cells=10):
    """Sum the cells of each cell type × donor by hand (numpy), min_cells applied; write
    each cell type's genes × samples matrix and condition labels for the R loop."""
    X = adata.X.toarray()
    obs = adata.obs
    for ct in cell_types:
        cols, groups = [], []
        for donor in sorted(obs["donor"].unique()):
            sel = ((obs["cell_type"] == ct) & (obs["donor"] == donor)).to_numpy()
            if sel.sum() >= min_cells:
                cols.append(X[sel].sum(axis=0))
                groups.append(obs.loc[sel, "condition"].iloc[0])
        write_matrix_bin(np.column_stack(cols), d / ct)
        (d / f"{ct}.groups").write_text("\n".join(groups) + "\n")
    (d / "cell_types.txt").write_text("\n".join(cell_types) + "\n")
    (d / "genes.txt").write_text("\n".join(adata.var_names) + "\n")


@pytest.fixture(scope="module")
def native(cells, tmp_path_factory):
    """The native R loop over the three fitted cell types; its folder."""
    adata, _ = cells
    d = tmp_path_factory.mktemp("native_celltype")
    _native_pseudobulks(adata, ["B", "Mono", "T"], d)
    run_rscript(NATIVE, d)
    return d


def test_each_cell_type_equals_a_native_r_loop(fitted, native):
    cell_types = list(get.limma_df(fitted, key="pb")["cell_type"].unique())
    assert cell_types == ["B", "Mono", "T"]
    for ct in cell_types:
        ours = get.limma_df(fitted, key="pb", cell_type=ct)
        assert list(ours.columns) == ["cell_type", "contrast", "gene", *CANON]
        assert set(ours["contrast"]) == {"stim - ctrl"}
        theirs = read_full(native / f"{ct}.tsv")
        assert_same_table(ours.set_index("gene"), theirs, rtol=1e-10, columns=CANON)


def test_global_adjustment_equals_r_p_adjust_over_all_cell_types(cells, fitted, native):
    adata, _ = cells
    tmp_path = native
    cell_types = ["B", "Mono", "T"]
    native_p = pd.concat([read_full(tmp_path / f"{ct}.tsv")["P.Value"] for ct in cell_types])
    expected = np.loadtxt(tmp_path / "global.txt")
    glob = adata.copy()
    with pytest.warns(DataWarning):
        tl.limma(
            glob,
            groupby="condition",
            sample_key="donor",
            celltype_key="cell_type",
            contrast="stim - ctrl",
            adjust="global",
            progress=False,
        )
    ours = get.limma_df(glob)
    # the same rows in the same order as R's loop (cell types in order, genes in input order)
    ours = ours.set_index(["cell_type", "gene"]).loc[
        [(ct, g) for ct in cell_types for g in read_full(tmp_path / f"{ct}.tsv").index]
    ]
    np.testing.assert_allclose(ours["P.Value"], native_p.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours["adj.P.Val"], expected, rtol=1e-10)
    # not the per-cell-type BH (which each fit returns)
    per = get.limma_df(fitted, key="pb").set_index(["cell_type", "gene"]).loc[ours.index]
    assert not np.allclose(ours["adj.P.Val"], per["adj.P.Val"], rtol=1e-6)
    assert glob.uns["degbridge"]["params"]["adjust"] == "global"


def test_every_skipped_cell_type_is_reported_with_its_reason(fitted):
    uns = fitted.uns["pb"]
    skipped = pd.DataFrame(uns["skipped"]).set_index("cell_type")["reason"]
    assert sorted(skipped.index) == ["Neutro", "pDC"]
    assert "condition='ctrl' has 0, condition='stim' has 0" in skipped["pDC"]
    assert "min_samples=2" in skipped["pDC"]
    assert "condition='stim' has 0" in skipped["Neutro"]
    assert "ctrl" not in skipped["Neutro"].split("min_samples=2 per condition): ")[1]
    samples = pd.DataFrame(uns["samples"])
    neutro = samples[samples["cell_type"] == "Neutro"]
    assert (neutro.loc[neutro["condition"] == "stim", "n_cells"] == 4).all()
    assert set(neutro.loc[neutro["condition"] == "stim", "used"]) == {
        "no: fewer than min_cells=10 cells"
    }
    assert set(neutro.loc[neutro["condition"] == "ctrl", "used"]) == {"no: cell type skipped"}
    n = pd.DataFrame(uns["n_samples"])
    assert n["n_samples"].tolist() == [4] * 6  # B, Mono, T × ctrl, stim
    with pytest.raises(ValueError, match=r"cell_type='pDC' has no results.*'pDC': too few"):
        get.limma_df(fitted, key="pb", cell_type="pDC")
    with pytest.raises(ValueError, match=r"fitted cell types are \['B', 'Mono', 'T'\]"):
        get.limma_df(fitted, key="pb", cell_type="NK")


def test_a_fit_failing_on_its_data_is_skipped_with_the_reason(cells):
    adata, _ = cells
    adata = adata.copy()
    # Mono: two ctrl donors and one stim donor left → 1 residual df, too few for limma
    mono = adata.obs["cell_type"] == "Mono"
    keep_donors = {"SRR1039508", "SRR1039509", "SRR1039513"}  # one stim, two ctrl
    drop = mono & ~adata.obs["donor"].isin(keep_donors)
    adata = adata[~drop.to_numpy()].copy()
    assert (adata.obs["cell_type"] == "Mono").sum() == 90
    with pytest.warns(DataWarning, match=r"'Mono': fit failed: the design leaves 1 residual"):
        tl.limma(
            adata,
            groupby="condition",
            sample_key="donor",
            celltype_key="cell_type",
            contrast="stim - ctrl",
            min_samples=1,
            progress=False,
        )
    assert set(get.limma_df(adata)["cell_type"]) == {"B", "T"}
    skipped = pd.DataFrame(adata.uns["degbridge"]["skipped"]).set_index("cell_type")["reason"]
    assert skipped["Mono"].startswith("fit failed: ")
    assert "Mono" not in list(adata.uns["degbridge"]["cell_types"])


def test_an_r_error_in_one_cell_type_is_its_reason(cells, monkeypatch):
    """An error raised in R for one cell type's data skips that cell type with R's message."""
    import degbridge.de.limma
    from degbridge import RError

    adata, _ = cells
    adata = adata.copy()
    real = degbridge.de.limma.run_limma

    def failing_for_b(pb, **kw):
        if (pb.obs["n_cells"] == 40).all():  # B: 40 cells per donor
            raise RError(
                "Error in voom(dge, design): Need at least two genes to fit a mean-variance trend"
            )
        return real(pb, **kw)

    monkeypatch.setattr(degbridge.de.limma, "run_limma", failing_for_b)
    with pytest.warns(DataWarning, match=r"'B': fit failed: Error in voom\(dge, design\): Need"):
        tl.limma(adata, groupby="condition", sample_key="donor", celltype_key="cell_type",
                 contrast="stim - ctrl", progress=False)  # fmt: skip
    assert list(adata.uns["degbridge"]["cell_types"]) == ["Mono", "T"]


def test_round_trip_h5ad(fitted, tmp_path):
    path = write_h5ad(fitted, tmp_path / "cells.h5ad")
    back = ad.read_h5ad(path)
    for ct in (None, "T"):
        a = get.limma_df(fitted, key="pb", cell_type=ct)
        b = get.limma_df(back, key="pb", cell_type=ct)
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    for part in ("skipped", "samples", "n_samples", "fits"):
        pd.testing.assert_frame_equal(
            pd.DataFrame(fitted.uns["pb"][part]).reset_index(drop=True),
            pd.DataFrame(back.uns["pb"][part]).reset_index(drop=True),
            check_dtype=False,
        )
    assert list(back.uns["pb"]["cell_types"]) == ["B", "Mono", "T"]


def test_injected_genes_are_recovered(cells, fitted):
    _, truth = cells
    for ct in MAIN:
        table = get.limma_df(fitted, key="pb", cell_type=ct)
        hits = set(table.loc[table["adj.P.Val"] < 0.05, "gene"])
        recall = len(hits & truth[ct]) / len(truth[ct])
        precision = len(hits & truth[ct]) / max(len(hits), 1)
        others = set().union(*(truth[c] for c in MAIN if c != ct)) - truth[ct]
        assert recall > 0.3, (ct, recall)
        assert precision > 0.8, (ct, precision)
        assert len(hits & others) / len(others) < recall / 4  # another cell type's genes


def test_progress_bar_over_cell_types_and_quiet_without(cells, capsys):
    adata, _ = cells
    two = adata[adata.obs["cell_type"].isin(["T", "B"]).to_numpy()].copy()
    kw = {"groupby": "condition", "sample_key": "donor", "celltype_key": "cell_type"}
    tl.limma(two, contrast="stim - ctrl", progress=False, **kw)
    assert capsys.readouterr().err == ""
    tl.limma(two, contrast="stim - ctrl", progress=True, **kw)
    assert "cell types" in capsys.readouterr().err


def test_bad_input(cells):
    adata, _ = cells
    base = {"groupby": "condition", "contrast": "stim - ctrl", "progress": False}
    with pytest.raises(ValueError, match=r"celltype_key='celltype' is not an obs column; obs columns are \['donor', 'condition', 'cell_type'\]"):  # fmt: skip
        tl.limma(adata, sample_key="donor", celltype_key="celltype", **base)
    with pytest.raises(ValueError, match=r"sample_key='patient' is not an obs column; obs columns are \['donor'"):  # fmt: skip
        tl.limma(adata, sample_key="patient", celltype_key="cell_type", **base)
    with pytest.raises(ValueError, match=r"needs sample_key= as well.*obs columns are"):
        tl.limma(adata, celltype_key="cell_type", **base)
    with pytest.raises(ValueError, match=r"adjust must be one of"):
        tl.limma(adata, sample_key="donor", celltype_key="cell_type", adjust="bonf", **base)
    with pytest.raises(ValueError, match=r"min_samples must be a positive integer"):
        tl.limma(adata, sample_key="donor", celltype_key="cell_type", min_samples=0, **base)
    # every cell type skipped: one error giving each reason
    with pytest.raises(ValueError, match=r"every cell type of 'cell_type' was skipped") as err:
        tl.limma(adata, sample_key="donor", celltype_key="cell_type", min_cells=1000, **base)
    for ct in ("B", "Mono", "T", "pDC", "Neutro"):
        assert f"'{ct}': too few samples with >= 1000 cells" in str(err.value)
    # normalised data in the layer: the existing count check message
    lognorm = adata.copy()
    lognorm.layers["counts"] = lognorm.X.copy()
    lognorm.X = lognorm.X.log1p()
    with pytest.raises(ValueError, match=r"X holds non-integer or negative values.*normalised or log data, not raw counts.*pass layer='counts'"):  # fmt: skip
        tl.limma(lognorm, sample_key="donor", celltype_key="cell_type", **base)
    with pytest.raises(ValueError, match=r"not a design column|stim - ctl|ctl"):
        tl.limma(adata, sample_key="donor", celltype_key="cell_type", **{**base, "contrast": "stim - ctl"})  # fmt: skip
    assert "degbridge" not in adata.uns  # nothing written
