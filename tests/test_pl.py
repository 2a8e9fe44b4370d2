"""degbridge.pl: each plotting function draws (Agg) the artists its data call for.

Counts of points per colour are checked against pandas computations on the same table; MDS
and voom numbers against a native Rscript; save= writes a PNG atomically.
"""

from __future__ import annotations

import os
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

import degbridge
from degbridge import pl

from .conftest import read_matrix_bin, run_rscript, write_matrix_bin


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _de_table(n=400, seed=0, names=("logFC", "AveExpr", "P.Value", "adj.P.Val")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    logfc = rng.normal(0, 1.5, n)
    p = np.clip(np.exp(-np.abs(logfc) * rng.uniform(1, 6, n)), 1e-30, 1)
    adj = np.minimum(p * 4, 1)
    cols = dict(zip(names, (logfc, rng.normal(7, 2, n), p, adj)))
    df = pd.DataFrame(cols, index=[f"ENSG{i:08d}" for i in range(n)])
    df["symbol"] = [f"GENE{i}" if i % 2 else "" for i in range(n)]
    return df


def _collections(ax) -> dict[str, np.ndarray]:
    """label -> offsets of each labelled scatter collection."""
    return {c.get_label(): np.asarray(c.get_offsets()) for c in ax.collections}


def _expected(df, alpha, lfc, fc="logFC", adj="adj.P.Val"):
    sig = (df[adj] < alpha) & (df[fc].abs() >= lfc)
    return int((sig & (df[fc] > 0)).sum()), int((sig & (df[fc] < 0)).sum()), int((~sig).sum())


# ---------------------------------------------------------------------------------------
# DE tables
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("alpha", "lfc"), [(0.05, 0.0), (0.01, 1.0), (0.2, 2.5)])
def test_volcano_colours_match_pandas_counts(alpha, lfc):
    df = _de_table()
    up, down, ns = _expected(df, alpha, lfc)
    assert up > 0 and down > 0 and ns > 0
    ax = pl.volcano(df, alpha=alpha, lfc=lfc, label=0)
    pts = _collections(ax)
    assert len(pts["up"]) == up and len(pts["down"]) == down
    assert len(pts["not significant"]) == ns
    colours = {c.get_label(): to_hex(c.get_facecolor()[0]) for c in ax.collections}
    assert colours == {"up": pl.UP, "down": pl.DOWN, "not significant": pl.NOT_SIG}
    # the up points are exactly the significant positive genes, at (logFC, -log10 P)
    sig_up = df[(df["adj.P.Val"] < alpha) & (df["logFC"] >= lfc) & (df["logFC"] > 0)]
    expected = np.column_stack([sig_up["logFC"], -np.log10(sig_up["P.Value"])])
    np.testing.assert_allclose(np.sort(pts["up"], axis=0), np.sort(expected, axis=0))
    assert ax.get_xlabel() == "logFC" and ax.get_ylabel() == "-log10 P.Value"
    lines = [ln.get_xdata()[0] for ln in ax.get_lines()]
    assert sorted(lines) == ([-lfc, lfc] if lfc > 0 else [])


def test_volcano_labels_top_genes_by_symbol():
    df = _de_table()
    top = df.sort_values("P.Value").index[:7]
    ax = pl.volcano(df, label=7)
    texts = [t.get_text() for t in ax.texts]
    want = [df.loc[g, "symbol"] or g for g in top]
    assert texts == want
    assert any(t.startswith("GENE") for t in texts) and any(t.startswith("ENSG") for t in texts)


def test_volcano_edger_and_deseq2_names():
    for names, labels in [
        (("logFC", "logCPM", "PValue", "FDR"), ("logFC", "-log10 PValue")),
        (("log2FoldChange", "baseMean", "pvalue", "padj"), ("log2FoldChange", "-log10 pvalue")),
    ]:
        df = _de_table(names=names)
        df[names[1]] = np.abs(df[names[1]]) + 1
        up, down, ns = _expected(df, 0.05, 0.0, fc=names[0], adj=names[3])
        ax = pl.volcano(df, label=0)
        pts = _collections(ax)
        assert (len(pts["up"]), len(pts["down"]), len(pts["not significant"])) == (up, down, ns)
        assert (ax.get_xlabel(), ax.get_ylabel()) == labels
        ax = pl.ma(df)
        assert (ax.get_xlabel(), ax.get_ylabel()) == (names[1], names[0])
        assert len(_collections(ax)["up"]) == up


def test_volcano_skips_missing_values_and_needs_columns():
    df = _de_table()
    df.iloc[:10, df.columns.get_loc("P.Value")] = np.nan
    ax = pl.volcano(df, label=3)
    assert sum(len(v) for v in _collections(ax).values()) == len(df) - 10
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['P.Value'\].*PValue"):
        pl.volcano(df.drop(columns="P.Value"))
    with pytest.raises(ValueError, match=r"\['logFC', 'AveExpr'\]"):
        pl.ma(df[["P.Value"]])
    with pytest.raises(ValueError, match="alpha"):
        pl.volcano(df, alpha=2)
    with pytest.raises(ValueError, match="label"):
        pl.volcano(df, label=-1)
    with pytest.raises(TypeError, match="DataFrame"):
        pl.volcano(df.to_numpy())
    bad = df.assign(logFC="x")
    with pytest.raises(ValueError, match="'logFC' must be numeric"):
        pl.volcano(bad)


def test_ma_colours_and_axes():
    df = _de_table(seed=4)
    up, down, ns = _expected(df, 0.1, 0.5)
    ax = pl.ma(df, alpha=0.1, lfc=0.5)
    pts = _collections(ax)
    assert (len(pts["up"]), len(pts["down"]), len(pts["not significant"])) == (up, down, ns)
    # x is AveExpr, y is logFC
    down_rows = df[(df["adj.P.Val"] < 0.1) & (df["logFC"] <= -0.5)]
    np.testing.assert_allclose(
        np.sort(pts["down"], axis=0),
        np.sort(down_rows[["AveExpr", "logFC"]].to_numpy(), axis=0),
    )
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("AveExpr", "logFC")


def test_pvalue_histogram_counts():
    df = _de_table()
    ax = pl.pvalue_histogram(df, bins=20)
    heights = [p.get_height() for p in ax.patches]
    expected, _ = np.histogram(df["P.Value"], bins=20, range=(0, 1))
    assert heights == expected.tolist()
    assert ax.get_xlabel() == "P.Value" and ax.get_ylabel() == "genes"


def test_ax_reuse_title_and_show_default():
    df = _de_table()
    fig, axes = plt.subplots(1, 2)
    out = pl.volcano(df, ax=axes[1], title="$x$ <b>", label=0)
    assert out is axes[1] and out.figure is fig
    assert out.get_title() == r"\$x\$ <b>"
    assert len(axes[0].collections) == 0
    with pytest.raises(TypeError, match="matplotlib Axes"):
        pl.volcano(df, ax="nope")
    assert matplotlib.is_interactive() is False
    before = plt.get_fignums()
    pl.pvalue_histogram(df)  # a new pyplot figure, not shown (non-interactive session)
    assert len(plt.get_fignums()) == len(before) + 1


def test_save_writes_png_atomically(tmp_path):
    df = _de_table()
    path = tmp_path / "volcano.png"
    ax = pl.volcano(df, save=path)
    assert ax is not None
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["volcano.png"]  # no temporary left behind
    pl.ma(df, save=tmp_path / "ma.pdf")
    assert (tmp_path / "ma.pdf").read_bytes()[:4] == b"%PDF"
    pl.ma(df, save=tmp_path / "noext")
    assert (tmp_path / "noext").read_bytes()[:4] == b"\x89PNG"
    # an existing file survives a failed save (unknown format): nothing half-written
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match="not supported"):
        pl.volcano(df, save=tmp_path / "v.unknownfmt")
    assert path.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["ma.pdf", "noext", "volcano.png"]
    with pytest.raises(ValueError, match="does not exist"):
        pl.volcano(df, save=tmp_path / "missing" / "v.png")


def test_hostile_gene_names_are_literal():
    df = _de_table(n=50)
    df.index = [f"$\\alpha_{{{i}}}$\n<x>" for i in range(50)]
    df["symbol"] = ""
    ax = pl.volcano(df, label=3)
    for t in ax.texts:
        assert "\n" not in t.get_text() and t.get_text().startswith(r"\$")
    ax.figure.canvas.draw()  # no mathtext parse errors


# ---------------------------------------------------------------------------------------
# pseudobulk QC
# ---------------------------------------------------------------------------------------


def _cells(seed=0):
    import anndata as ad
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    donors, types = ["d1", "d2", "d3", "d4"], ["B", "T"]
    rows = []
    sizes = {("d1", "B"): 30, ("d1", "T"): 5, ("d2", "B"): 25, ("d2", "T"): 40,
             ("d3", "B"): 3, ("d3", "T"): 12, ("d4", "B"): 60, ("d4", "T"): 18}  # fmt: skip
    for (d, t), k in sizes.items():
        rows += [(d, t)] * k
    obs = pd.DataFrame(rows, columns=["donor", "cell_type"])
    obs.index = [f"c{i}" for i in range(len(obs))]
    X = sp.csr_matrix(rng.poisson(2, size=(len(obs), 30)).astype(float))
    assert donors and types
    return ad.AnnData(X=X, obs=obs, var=pd.DataFrame(index=[f"g{i}" for i in range(30)])), sizes


def test_pseudobulk_qc_points_threshold_and_dropped():
    adata, sizes = _cells()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        pb = degbridge.pp.pseudobulk(adata, "donor", groupby="cell_type", min_cells=10)
    ax = pl.pseudobulk_qc(pb)
    pts = _collections(ax)
    kept = {k: v for k, v in sizes.items() if v >= 10}
    for t in ("B", "T"):
        got = pts[t]
        cells = sorted(v for (d, tt), v in kept.items() if tt == t)
        assert sorted(got[:, 0]) == cells
        # y: total counts per pseudobulk sample, summed independently from the cells
        sub = adata[adata.obs["cell_type"] == t]
        totals = pd.Series(np.asarray(sub.X.sum(axis=1)).ravel(), index=sub.obs_names)
        per = totals.groupby(sub.obs["donor"].to_numpy()).sum()
        per = per[[d for (d, tt) in kept if tt == t]]
        assert sorted(got[:, 1]) == sorted(per.tolist())
    assert sorted(pts["dropped (2)"][:, 0]) == [3, 5]
    assert ax.get_xlim()[0] < 3  # the dropped samples' ticks are inside the axes
    vlines = [ln for ln in ax.get_lines() if ln.get_label().startswith("min_cells")]
    assert [ln.get_xdata()[0] for ln in vlines] == [10]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "cells per pseudobulk sample"
    ax = pl.pseudobulk_qc(pb, min_cells=20, min_counts=500)
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels == ["min_cells = 20", "min_counts = 500"]
    with pytest.raises(ValueError, match="n_cells"):
        pl.pseudobulk_qc(adata)
    with pytest.raises(ValueError, match="'nope' is not an obs column"):
        pl.pseudobulk_qc(pb, groupby="nope")
    with pytest.raises(TypeError, match=r"pp\.pseudobulk"):
        pl.pseudobulk_qc(pb.to_df())


# ---------------------------------------------------------------------------------------
# comparisons
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def comparison():
    rng = np.random.default_rng(1)
    n = 240
    x = rng.normal(size=(n, 4))
    df = pd.DataFrame(x, columns=["a", "b", "c", "$d$"], index=[f"g{i}" for i in range(n)])
    df["y"] = 2 * df["a"] - df["b"] + 0.5 * rng.normal(size=n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", degbridge.LeakageWarning)
        return degbridge.compare(
            df, target="y", models=["linear", "decision_tree", "knn"], cv=3, progress=False
        )


def test_leaderboard_bars(comparison):
    res = comparison
    ax = pl.leaderboard(res)
    lb = res.leaderboard[res.leaderboard["status"] == "ok"].sort_values("cv_r2_mean")
    bars = ax.patches
    assert [round(b.get_width(), 12) for b in bars] == [
        round(v, 12) for v in lb["cv_r2_mean"].clip(lower=-1)
    ]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(lb["model"])
    best = [to_hex(b.get_facecolor()) for b, m in zip(bars, lb["model"]) if m == res.best.name]
    assert best == ["#12355b"]
    np.testing.assert_allclose(_collections(ax)["test R²"][:, 0], lb["test_r2"].clip(lower=-1))


def test_predicted_vs_observed_and_residuals(comparison):
    res = comparison
    p = res.predictions
    ax = pl.predicted_vs_observed(res)
    pts = _collections(ax)
    test = p[p["split"] == "test"]
    train = p[p["split"] == "train"]
    np.testing.assert_allclose(pts["test genes"], test[["observed", "predicted"]].to_numpy())
    np.testing.assert_allclose(
        pts["training genes (out-of-fold)"], train[["observed", "oof"]].to_numpy()
    )
    assert ax.get_xlabel() == "observed y" and ax.get_ylabel() == "predicted y"
    ax = pl.residuals(res)
    np.testing.assert_allclose(
        np.asarray(ax.collections[0].get_offsets()), test[["predicted", "residual"]].to_numpy()
    )


def test_importances_top_and_model(comparison):
    res = comparison
    imp = res.importances
    ax = pl.importances(res, top=2)
    rows = imp[imp["model"] == res.best.name].sort_values("perm_mean").iloc[-2:]
    assert [t.get_text() for t in ax.get_yticklabels()] == [pl._literal(f) for f in rows["feature"]]
    np.testing.assert_allclose([b.get_width() for b in ax.patches], rows["perm_mean"])
    ax = pl.importances(res, model="knn", top=None)
    assert len(ax.patches) == (imp["model"] == "knn").sum()
    assert r"\$d\$" in [t.get_text() for t in ax.get_yticklabels()]
    with pytest.raises(ValueError, match="model 'nope' has no importances"):
        pl.importances(res, model="nope")
    ax = pl.importance_heatmap(res)
    assert ax.images[0].get_array().shape == (4, 3)
    with pytest.raises(TypeError, match="Comparison"):
        pl.leaderboard(_de_table())


# ---------------------------------------------------------------------------------------
# numbers computed in R, against a native Rscript
# ---------------------------------------------------------------------------------------


def _counts(n_genes=300, n_samples=8, seed=5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mu = rng.gamma(1.0, 60, size=(n_genes, 1)) * rng.uniform(0.6, 1.6, size=(1, n_samples))
    mu[:20, n_samples // 2 :] *= 4
    counts = rng.negative_binomial(5, 5 / (5 + mu)).astype(float)
    return pd.DataFrame(
        counts,
        index=[f"g{i}" for i in range(n_genes)],
        columns=[f"s{j}" for j in range(n_samples)],
    )


@pytest.mark.r
@pytest.mark.parametrize(("counts", "top", "selection"), [(False, 500, "pairwise"),
                                                          (False, 50, "common"),
                                                          (True, 100, "pairwise")])  # fmt: skip
def test_mds_coordinates_match_native_plotmds(tmp_path, counts, top, selection):
    x = _counts() if counts else np.log2(_counts() + 1) + 0.01 * np.arange(8)
    write_matrix_bin(x.to_numpy(), tmp_path / "x")
    obj = "DGEList(counts = x)" if counts else "x"
    run_rscript(
        f"""
x <- read_matrix_bin("x")
m <- plotMDS({obj}, top = {top}, gene.selection = "{selection}", plot = FALSE)
out <- cbind(m$x, m$y, c(m$var.explained[1:2], rep(NA, length(m$x) - 2)))
writeBin(as.numeric(out), "mds.bin", size = 8, endian = "little")
cat(dim(out), file = "mds.dim")
""",
        tmp_path,
    )
    native = read_matrix_bin(tmp_path / "mds")
    coords = pl.mds_coordinates(x, top=top, gene_selection=selection)
    np.testing.assert_allclose(coords["x"], native[:, 0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(coords["y"], native[:, 1], rtol=0, atol=1e-10)
    np.testing.assert_allclose(coords.attrs["var_explained"][:2], native[:2, 2], atol=1e-10)
    assert list(coords.index) == list(x.columns)
    # the drawn points are these coordinates, one collection per group, labels literal
    groups = ["a$", "a$", "b", "b", "a$", "b", "a$", "b"]
    ax = pl.mds(x, groups=groups, top=top, gene_selection=selection)
    pts = _collections(ax)
    sel = np.array(groups) == "a$"
    np.testing.assert_allclose(pts[r"a\$"], coords[["x", "y"]].to_numpy()[sel])
    np.testing.assert_allclose(pts["b"], coords[["x", "y"]].to_numpy()[~sel])
    assert [t.get_text() for t in ax.texts] == list(x.columns)
    assert ax.get_xlabel().startswith("Leading logFC dim 1 (")


@pytest.mark.r
def test_mds_anndata_obs_groups_and_bad_input():
    import anndata as ad

    x = np.log2(_counts() + 1)
    adata = ad.AnnData(
        X=x.T.to_numpy(), obs=pd.DataFrame({"cond": list("aabbaabb")}, index=x.columns)
    )
    ax = pl.mds(adata, groups="cond", labels=False)
    frame = pl.mds_coordinates(x)
    got = np.vstack([_collections(ax)["a"], _collections(ax)["b"]])
    want = frame.to_numpy()[np.argsort(list("aabbaabb"), kind="stable")]
    np.testing.assert_allclose(got, want, atol=1e-12)
    with pytest.raises(
        ValueError, match="'nope' is not an obs column; obs columns are \\['cond'\\]"
    ):
        pl.mds(adata, groups="nope")
    with pytest.raises(ValueError, match="at least 3 samples"):
        pl.mds(x.iloc[:, :2])
    with pytest.raises(ValueError, match="gene_selection"):
        pl.mds(x, gene_selection="all")
    with pytest.raises(ValueError, match="3 labels for 8 samples"):
        pl.mds(x, groups=["a", "b", "c"])


@pytest.mark.r
@pytest.mark.parametrize("filter_", [True, False])
def test_voom_trend_matches_native_voom(tmp_path, filter_):
    counts = _counts()
    groups = ["A"] * 4 + ["B"] * 4
    write_matrix_bin(counts.to_numpy(), tmp_path / "x")
    flt = "TRUE" if filter_ else "FALSE"
    run_rscript(
        f"""
x <- read_matrix_bin("x")
g <- factor(rep(c("A", "B"), each = 4))
design <- model.matrix(~0 + g)
dge <- DGEList(counts = x)
if ({flt}) dge <- dge[filterByExpr(dge, design = design), , keep.lib.sizes = FALSE]
dge <- calcNormFactors(dge)
v <- voom(dge, design, save.plot = TRUE)
pts <- cbind(v$voom.xy$x, v$voom.xy$y)
writeBin(as.numeric(pts), "pts.bin", size = 8, endian = "little"); cat(dim(pts), file = "pts.dim")
ln <- cbind(v$voom.line$x, v$voom.line$y)
writeBin(as.numeric(ln), "ln.bin", size = 8, endian = "little"); cat(dim(ln), file = "ln.dim")
""",
        tmp_path,
    )
    pts, line = read_matrix_bin(tmp_path / "pts"), read_matrix_bin(tmp_path / "ln")
    ax = pl.voom_trend(counts, groups=groups, filter=filter_)
    drawn = np.asarray(ax.collections[0].get_offsets())
    np.testing.assert_allclose(drawn, pts, rtol=0, atol=1e-10)
    trend = ax.get_lines()[0]
    np.testing.assert_allclose(trend.get_xdata(), line[:, 0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(trend.get_ydata(), line[:, 1], rtol=0, atol=1e-10)
    detected = int((counts.sum(axis=1) > 0).sum())  # voom leaves out genes with no counts
    assert (len(drawn) < detected) is filter_
    assert len(drawn) <= detected
    # the same fit from an explicit design matrix
    design = pd.DataFrame({"A": [1.0] * 4 + [0.0] * 4, "B": [0.0] * 4 + [1.0] * 4},
                          index=counts.columns)  # fmt: skip
    ax = pl.voom_trend(counts, design, filter=filter_)
    np.testing.assert_allclose(np.asarray(ax.collections[0].get_offsets()), pts, atol=1e-10)


@pytest.mark.r
def test_voom_trend_bad_input():
    counts = _counts()
    with pytest.raises(ValueError, match=r"exactly one of design= .* or groups="):
        pl.voom_trend(counts)
    with pytest.raises(ValueError, match="needs counts"):
        pl.voom_trend(np.log2(counts + 0.5), groups=list("aaaabbbb"))
    with pytest.raises(ValueError, match="one row per sample"):
        pl.voom_trend(counts, np.ones((3, 2)))
    with pytest.raises(ValueError, match="normalize"):
        pl.voom_trend(counts, groups=list("aaaabbbb"), normalize="bad")


# ---------------------------------------------------------------------------------------
# sets of genes: upset
# ---------------------------------------------------------------------------------------


def _decide(n=600, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.choice([-1, 0, 0, 0, 1], size=(n, 3))
    return pd.DataFrame(values, columns=["B - A", "C - A", "C - B"],
                        index=[f"g{i}" for i in range(n)])  # fmt: skip


def _bars(ax):
    return next(c for c in ax.containers if c.get_label() == "intersections")


def test_upset_counts_each_gene_once_in_its_exact_combination():
    d = _decide()
    ax = pl.upset(d)
    called = d != 0
    # independent count: a gene's combination as a string key, genes in no set left out
    keys = called.apply(lambda row: "".join("1" if v else "0" for v in row), axis=1)
    expected = keys[keys != "000"].value_counts()
    texts = sorted(int(t.get_text().replace(",", "")) for t in ax.texts)
    assert texts == sorted(expected.tolist())
    bars = _bars(ax)
    assert len(bars) == len(expected)
    heights = np.array([b.get_height() for b in bars])
    assert np.all(np.diff(heights) <= 1e-12)  # largest first
    # filled dots: one per (combination, set in it)
    dots = _collections(ax)
    assert len(dots["in set"]) == sum(k.count("1") for k in expected.index)
    assert len(dots["in set"]) + len(dots["not in set"]) == 3 * len(expected)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [f"{c} ({int(called[c].sum()):,})" for c in d.columns]


def test_upset_from_concordance_and_max_combinations():
    idx = [f"g{i}" for i in range(300)]

    def table(seed):
        r = np.random.default_rng(seed)
        p = r.uniform(size=300) ** 3
        return pd.DataFrame({"logFC": r.normal(size=300), "P.Value": p,
                             "adj.P.Val": np.minimum(p * 3, 1)}, index=idx)  # fmt: skip

    conc = degbridge.concordance({"voom": table(1), "edgeR": table(2), "DESeq2": table(3)})
    ax = pl.upset(conc, max_combinations=2)
    assert len(_bars(ax)) == 2
    drawn = sorted(int(t.get_text().replace(",", "")) for t in ax.texts)
    assert drawn == sorted(conc.overlap["n_genes"].head(2).tolist())
    assert "smaller combinations" in ax.get_xlabel()


def test_upset_bad_input():
    with pytest.raises(TypeError, match="genes × sets DataFrame"):
        pl.upset([[1, 0]])
    with pytest.raises(ValueError, match=r"'x'.*neither booleans nor numbers"):
        pl.upset(pd.DataFrame({"x": ["a", "b"]}))
    with pytest.raises(ValueError, match="'a' holds missing values"):
        pl.upset(pd.DataFrame({"a": [1.0, np.nan]}))
    with pytest.raises(ValueError, match="max_combinations"):
        pl.upset(_decide(), max_combinations=0)
    ax = pl.upset(pd.DataFrame({"a": [False, False]}))  # nothing called: an empty figure
    assert len(_bars(ax)) == 0
