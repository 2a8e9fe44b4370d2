"""The degbridge command: every subcommand, --help, and one-line errors with no partial output."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import degbridge
import degbridge.comparison
from degbridge import cli

from .conftest import DATA, run_cli


@pytest.fixture(scope="module")
def small_counts(tmp_path_factory, airway):
    """4,000 airway genes as files: the counts matrix and the sample sheet."""
    counts, samples = airway
    d = tmp_path_factory.mktemp("cli_in")
    sub = counts.iloc[:4000].astype(int)
    sub.to_csv(d / "counts.tsv", sep="\t")
    samples.rename_axis("id").to_csv(d / "samples.tsv", sep="\t")
    return d, sub, samples


@pytest.mark.parametrize(
    "command", ["limma", "compare", "run", "concordance", "genesets", "report", "demo"]
)
def test_help_shows_examples(command):
    out = run_cli(command, "--help")
    assert out.returncode == 0
    assert "examples:" in out.stdout
    assert f"degbridge {command}" in out.stdout


def test_version_and_main_help():
    out = run_cli("--version")
    assert out.stdout.strip() == f"degbridge {degbridge.__version__}"
    out = run_cli("--help")
    assert "degbridge demo" in out.stdout and "limma" in out.stdout
    out = run_cli()
    assert out.returncode == 2 and "required" in out.stderr


@pytest.mark.r
def test_limma_command_equals_python(small_counts, tmp_path):
    d, counts, samples = small_counts
    out_file = tmp_path / "table.tsv"
    out = run_cli("limma", d / "counts.tsv", "--samples", d / "samples.tsv", "--design", "~ celltype + dex",
                  "--coef", "dextreated", "-o", out_file)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "method: voom (integer counts detected)" in out.stderr
    got = degbridge.read_table(out_file)
    ref = degbridge.run_limma(
        counts, samples=samples, design="~ celltype + dex", coef="dextreated", method="voom"
    )
    pd.testing.assert_frame_equal(
        pd.DataFrame(got), pd.DataFrame(ref), check_exact=True, check_names=False
    )
    assert "DETable:" in out.stdout


@pytest.mark.r
def test_limma_several_contrasts_folder(small_counts, tmp_path):
    d, _, _ = small_counts
    out = run_cli("limma", d / "counts.tsv", "--samples", d / "samples.tsv", "--groups", "celltype",
                  "--contrast", "N61311 - N052611", "--contrast", "N080611 - N052611", "-o", tmp_path / "tables", "-q")  # fmt: skip
    assert out.returncode == 0, out.stderr
    names = sorted(p.name for p in (tmp_path / "tables").iterdir())
    assert names == [
        ".degbridge-manifest.json",
        "F.tsv",
        "N080611_-_N052611.tsv",
        "N61311_-_N052611.tsv",
        "contrasts.tsv",
    ]
    mapping = pd.read_csv(tmp_path / "tables" / "contrasts.tsv", sep="\t")
    assert mapping["file"].tolist() == ["N61311_-_N052611.tsv", "N080611_-_N052611.tsv", "F.tsv"]


def test_compare_command_writes_results(tmp_path):
    out = run_cli("compare", DATA / "limma_voom_every10th.csv", "--target", "B", "--models", "linear,decision_tree",
                  "--cv", "3", "-o", tmp_path / "res", "-q")  # fmt: skip
    assert out.returncode == 0, out.stderr
    files = sorted(p.name for p in (tmp_path / "res").iterdir())
    assert files == sorted([
        "leaderboard.tsv", "predictions.tsv", "importances.tsv", "leakage.tsv", "leakage_scores.tsv",
        "preprocessing.tsv", "outliers.tsv", "cv_scores.tsv", "params.json", "best_model.txt",
        "de_table.tsv", "report.html", ".degbridge-manifest.json",
    ])  # fmt: skip
    manifest = json.loads((tmp_path / "res" / ".degbridge-manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(f for f in files if not f.startswith("."))
    assert "best:" in out.stdout
    assert "degbridge: warning: target 'B'" in out.stderr  # the leakage warning, one line
    board = pd.read_csv(tmp_path / "res" / "leaderboard.tsv", sep="\t")
    assert set(board["model"]) == {"linear", "decision_tree"}
    # rebuild the report from the folder
    out = run_cli("report", tmp_path / "res", "-o", tmp_path / "again.html", "-q")
    assert out.returncode == 0, out.stderr
    html = (tmp_path / "again.html").read_text()
    assert "Leaderboard" in html and "Volcano plot" in html


def test_compare_command_max_fit_samples(tmp_path):
    """--max-fit-samples N caps the training genes and says so; 5 is refused naming the flag."""
    table = DATA / "limma_voom_every10th.csv"
    out = run_cli("compare", table, "--target", "B", "--models", "linear,knn", "--cv", "2",
                  "--max-fit-samples", "100", "-o", tmp_path / "res", "-q", "--no-report")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "models fitted on 100 random training genes of " in out.stdout
    board = pd.read_csv(tmp_path / "res" / "leaderboard.tsv", sep="\t").set_index("model")
    assert board.loc["knn", "note"].startswith("fitted on a random 100 of ")
    assert json.loads((tmp_path / "res" / "params.json").read_text())["max_fit_samples"] == 100
    out = run_cli("compare", table, "--max-fit-samples", "5", "-o", tmp_path / "bad", "-q")
    assert out.returncode != 0
    assert "--max-fit-samples must be 0 (every gene) or at least 10, not 5" in out.stderr
    assert not (tmp_path / "bad").exists()


@pytest.mark.r
def test_run_command(small_counts, tmp_path):
    d, _, _ = small_counts
    out = run_cli("run", d / "counts.tsv", "--samples", d / "samples.tsv", "--design", "~ celltype + dex",
                  "--coef", "dextreated", "--target", "logFC", "--models", "seed", "--cv", "0",
                  "-o", tmp_path / "res", "-q")  # fmt: skip
    assert out.returncode == 0, out.stderr
    params = (tmp_path / "res" / "params.json").read_text()
    assert '"selected_on": "test"' in params  # --cv 0 is the seed's single split
    assert (tmp_path / "res" / "de_table.tsv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "missing.tsv", "-o", "res"], "degbridge: error: file 'missing.tsv' does not exist"),
        (["compare", str(DATA / "limma_voom_top200.csv"), "--target", "logfc", "-o", "res"],
         "degbridge: error: target 'logfc' is not a column; numeric columns are"),
        (["compare", str(DATA / "deseq2_top30_na10.csv"), "-o", "res"], "is a DESeq2 results table"),
        (["report", "nowhere"], "is not a degbridge results folder"),
    ],
)  # fmt: skip
def test_errors_are_one_line_without_partial_output(tmp_path, args, message):
    out = run_cli(*args, cwd=tmp_path)
    assert out.returncode == 1
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("degbridge: error:")]
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "res").exists()


@pytest.mark.r
def test_bad_design_is_one_line(small_counts, tmp_path):
    d, _, _ = small_counts
    out = run_cli("limma", d / "counts.tsv", "--samples", d / "samples.tsv", "--design", "~ celltype + dexx",
                  "--coef", "dextreated", "-o", tmp_path / "t.tsv")  # fmt: skip
    assert out.returncode == 1
    assert (
        out.stderr.strip()
        .splitlines()[-1]
        .startswith("degbridge: error: formula '~ celltype + dexx': 'dexx' is not a column")
    )
    assert not (tmp_path / "t.tsv").exists()
    out = run_cli("limma", d / "counts.tsv", "--samples", d / "samples.tsv", "--design", "~ celltype + dexx",
                  "--coef", "dextreated", "-o", tmp_path / "t.tsv", "--debug")  # fmt: skip
    assert "Traceback" in out.stderr


def test_ctrl_c_leaves_nothing(tmp_path, monkeypatch, capsys):
    """An interrupt in the middle of compare: exit 130, no results folder."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(degbridge.comparison, "compare", interrupted)
    code = cli.main(
        ["compare", str(DATA / "limma_voom_top200.csv"), "-o", str(tmp_path / "res"), "-q"]
    )
    assert code == 130
    assert "interrupted; no partial output was written" in capsys.readouterr().err
    assert not (tmp_path / "res").exists()


def test_failure_while_writing_keeps_previous_results(tmp_path, monkeypatch):
    """A failure half-way through writing a results folder leaves the previous one intact."""
    res_dir = tmp_path / "res"
    assert (
        cli.main(
            [
                "compare",
                str(DATA / "limma_voom_top200.csv"),
                "--models",
                "linear",
                "--cv",
                "2",
                "-o",
                str(res_dir),
                "-q",
            ]
        )
        == 0
    )
    before = {p.name: p.read_bytes() for p in res_dir.iterdir()}

    import degbridge.report

    def broken(*args, **kwargs):
        raise OSError("disk full (injected)")

    monkeypatch.setattr(degbridge.report, "write_report", broken)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = cli.main(
            [
                "compare",
                str(DATA / "limma_voom_top200.csv"),
                "--models",
                "knn",
                "--cv",
                "2",
                "-o",
                str(res_dir),
                "-q",
            ]
        )
    assert code == 1
    after = {p.name: p.read_bytes() for p in res_dir.iterdir()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["res"]  # no temporary folders left


@pytest.mark.r
def test_limma_command_runs_edger(tmp_path, airway, capsys):
    counts, samples = airway
    sub = counts.iloc[::10].astype(int)
    sub.to_csv(tmp_path / "counts.tsv", sep="\t")
    samples.rename_axis("id").to_csv(tmp_path / "samples.tsv", sep="\t")
    args = ["limma", str(tmp_path / "counts.tsv"), "--samples", str(tmp_path / "samples.tsv"),
            "--design", "~ celltype + dex", "--coef", "dextreated", "-q"]  # fmt: skip
    assert cli.main([*args, "--method", "edger", "-o", str(tmp_path / "e.tsv")]) == 0
    ours = degbridge.read_table(tmp_path / "e.tsv", kind="limma")
    direct = degbridge.run_edger(sub, samples=samples, design="~ celltype + dex", coef="dextreated")
    assert list(ours.index) == list(direct.index)
    np.testing.assert_allclose(ours["logFC"], direct["logFC"], rtol=1e-12)
    np.testing.assert_allclose(ours["P.Value"], direct["P.Value"], rtol=1e-12)
    code = cli.main([*args, "--method", "deseq2", "--robust", "-o", str(tmp_path / "d.tsv")])
    assert code == 1 and not (tmp_path / "d.tsv").exists()
    assert "--robust apply to limma, not to --method deseq2" in capsys.readouterr().err


@pytest.mark.r
def test_limma_decide_equals_native_decidetests(small_counts, tmp_path):
    """--decide: decide.tsv equals decideTests in a native Rscript (voom, nestedF and separate)."""
    from .conftest import run_rscript

    d, _, _ = small_counts
    contrasts = ["N61311 - N052611", "N080611 - N052611", "N061011 - N052611"]
    args = ["limma", d / "counts.tsv", "--samples", d / "samples.tsv", "--groups", "celltype"]
    for c in contrasts:
        args += ["--contrast", c]
    for method in ("separate", "nestedF"):
        out = run_cli(*args, "--decide", method, "--p-value", "0.1", "-o", tmp_path / method)
        assert out.returncode == 0, out.stderr
        assert f"decideTests ({method}, adj. p < 0.1)" in out.stdout
    code = f"""
    counts <- as.matrix(read.delim("{d / "counts.tsv"}", row.names = 1, check.names = FALSE))
    s <- read.delim("{d / "samples.tsv"}", row.names = 1)
    s <- s[colnames(counts), , drop = FALSE]
    group <- factor(s$celltype)
    design <- model.matrix(~ 0 + group)
    colnames(design) <- levels(group)
    y <- DGEList(counts)
    keep <- filterByExpr(y, group = group)
    y <- calcNormFactors(y[keep, , keep.lib.sizes = FALSE])
    v <- voom(y, design)
    fit <- lmFit(v, design)
    cm <- makeContrasts(contrasts = c({", ".join(f'"{c}"' for c in contrasts)}), levels = design)
    fit2 <- eBayes(contrasts.fit(fit, cm))
    for (m in c("separate", "nestedF")) {{
      dt <- decideTests(fit2, method = m, p.value = 0.1)
      write.table(data.frame(gene = rownames(dt), unclass(dt), check.names = FALSE),
                  paste0("r_", m, ".tsv"), sep = "\\t", quote = FALSE, row.names = FALSE)
    }}
    """
    run_rscript(code, tmp_path)
    for method in ("separate", "nestedF"):
        ours = pd.read_csv(tmp_path / method / "decide.tsv", sep="\t", index_col=0)
        theirs = pd.read_csv(tmp_path / f"r_{method}.tsv", sep="\t", index_col=0)
        assert list(ours.columns) == contrasts
        theirs.columns = contrasts
        pd.testing.assert_frame_equal(ours.loc[theirs.index], theirs, check_names=False)
        assert len(ours) == len(theirs)
        summary = pd.read_csv(tmp_path / method / "decide_summary.tsv", sep="\t", index_col=0)
        for c in contrasts:
            assert summary.loc["Up", c] == (theirs[c] == 1).sum()
            assert summary.loc["Down", c] == (theirs[c] == -1).sum()
        html = (tmp_path / method / "report.html").read_text()
        assert "Several contrasts: decideTests" in html and "Genes called per combination" in html
    # wrong uses: one line each, nothing written
    out = run_cli(*args[:6], "--contrast", contrasts[0], "--decide", "-o", tmp_path / "one")
    assert out.returncode == 1 and "--decide needs several contrasts" in out.stderr
    assert not (tmp_path / "one").exists()
    out = run_cli(*args, "--decide", "sideways", "-o", tmp_path / "bad")
    assert out.returncode == 2 and "invalid choice: 'sideways'" in out.stderr


@pytest.mark.r
def test_concordance_command(tmp_path, airway):
    from scipy.stats import spearmanr

    counts, samples = airway
    sub = counts.iloc[::16].astype(int)  # ~2,400 genes: DESeq2 in a few seconds
    sub.to_csv(tmp_path / "counts.tsv", sep="\t")
    samples.rename_axis("id").to_csv(tmp_path / "samples.tsv", sep="\t")
    base = ["concordance", tmp_path / "counts.tsv", "--samples", tmp_path / "samples.tsv",
            "--design", "~ celltype + dex", "--coef", "dextreated"]  # fmt: skip
    out = run_cli(*base, "--methods", "voom,edger,deseq2", "-o", tmp_path / "conc")
    assert out.returncode == 0, out.stderr
    files = sorted(p.name for p in (tmp_path / "conc").iterdir())
    assert files == sorted([".degbridge-manifest.json", "voom.tsv", "edger.tsv", "deseq2.tsv",
                            "spearman.tsv", "overlap.tsv", "disagreement.tsv", "report.html"])  # fmt: skip
    # the method tables are the Python API's (one checked here; each method has parity tests)
    voom = pd.read_csv(tmp_path / "conc" / "voom.tsv", sep="\t", index_col=0)
    direct = degbridge.run_limma(sub, samples=samples, design="~ celltype + dex",
                                 coef="dextreated", method="voom")  # fmt: skip
    np.testing.assert_allclose(voom.loc[direct.index, "logFC"], direct["logFC"], rtol=1e-12)
    # the concordance tables, recomputed independently from the written method tables
    tabs = {m: pd.read_csv(tmp_path / "conc" / f"{m}.tsv", sep="\t", index_col=0)
            for m in ("voom", "edger", "deseq2")}  # fmt: skip
    shared = tabs["voom"].index.intersection(tabs["edger"].index).intersection(tabs["deseq2"].index)
    spearman = pd.read_csv(tmp_path / "conc" / "spearman.tsv", sep="\t", index_col=0)
    for a, b in (("voom", "edger"), ("voom", "deseq2"), ("edger", "deseq2")):
        both = tabs[a].index.intersection(tabs[b].index)
        x, y = tabs[a].loc[both, "logFC"], tabs[b].loc[both, "logFC"]
        ok = x.notna() & y.notna()
        rho = spearmanr(x[ok], y[ok]).statistic
        np.testing.assert_allclose(spearman.loc[a, b], rho, rtol=1e-10)
        assert f"Spearman logFC {a} ~ {b}: {rho:.4f}" in out.stdout
    sig = pd.DataFrame({m: (t.loc[shared, "adj.P.Val"] < 0.05).to_numpy() for m, t in tabs.items()})
    overlap = pd.read_csv(tmp_path / "conc" / "overlap.tsv", sep="\t")
    for _, row in overlap.iterrows():
        combo = (sig == [row["voom"], row["edger"], row["deseq2"]]).all(axis=1)
        assert combo.sum() == row["n_genes"]
    assert overlap["n_genes"].sum() == sig.any(axis=1).sum()
    html = (tmp_path / "conc" / "report.html").read_text()
    assert "Concordance of methods" in html and "Significant genes per combination" in html
    # bad input: one line, nothing written
    for methods, message in (("voom", "at least two different methods"),
                             ("voom,limma2", "['limma2'] not among")):  # fmt: skip
        out = run_cli(*base, "--methods", methods, "-o", tmp_path / "x")
        assert out.returncode == 1 and message in out.stderr, out.stderr
        assert not (tmp_path / "x").exists()


def test_p_value_needs_decide(tmp_path):
    out = run_cli("limma", DATA / "limma_voom_every10th.csv", "--groups", "g", "--contrast", "b - a",
                  "--p-value", "0.01", "-o", tmp_path / "t.tsv")  # fmt: skip
    assert out.returncode == 1 and "--p-value is the cut-off of --decide" in out.stderr
    assert not (tmp_path / "t.tsv").exists()
