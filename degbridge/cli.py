"""The ``degbridge`` command: limma, compare, run, concordance, genesets, celltypes, report,
demo.

Errors print one line (``degbridge: error: ...``) and exit with status 1 (2 for usage
errors); ``--debug`` shows the traceback. Every output follows the output contract of
:mod:`degbridge._io`: written atomically (an error or Ctrl-C, exit status 130, leaves no
half-written file or folder), never onto an input file, and a results folder is new, empty or
one degbridge wrote (``--force`` to write into another one; its other files are kept).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from . import __version__
from ._exceptions import DegbridgeWarning, RError, RNotAvailableError
from ._params import (
    DECIDE_METHODS,
    LEAKAGE,
    METHODS,
    NORMALIZE,
    OTHER_METHODS,
    OUTLIERS,
    WEIGHTS,
    cli_help,
    resolve_method,
)

PROG = "degbridge"

EXAMPLES = {
    "main": """examples:
  degbridge demo                                   # the whole path on the bundled airway data
  degbridge limma counts.tsv --samples samples.tsv --design "~ celltype + dex" \\
      --coef dextreated --method voom -o table.tsv
  degbridge compare table.tsv --target logFC -o results/
  degbridge run counts.tsv --samples samples.tsv --design "~ celltype + dex" \\
      --coef dextreated --target logFC -o results/
  degbridge report results/
""",
    "limma": """examples:
  # RNA-seq counts, design over a sample sheet, test the dex coefficient
  degbridge limma counts.tsv --samples samples.tsv --design "~ celltype + dex" \\
      --coef dextreated --method voom -o table.tsv
  # log-expression (microarray), two groups from a sample-sheet column
  degbridge limma expr.tsv --samples samples.tsv --groups cell --contrast "T - B" -o t_vs_b.tsv
  # several contrasts: one table each, plus the F-test, in a folder
  degbridge limma expr.tsv --samples s.tsv --groups g --contrast "B - A" --contrast "C - A" -o tables/
  # ... with decideTests over the contrasts (decide.tsv, summary, report.html with an UpSet plot)
  degbridge limma expr.tsv --samples s.tsv --groups g --contrast "B - A" --contrast "C - A" \\
      --decide -o tables/

The matrix file has genes in rows (IDs in the first column) and samples in columns; the
sample sheet has one row per sample (IDs in the first column, or in a column matching the
matrix's sample names).
""",
    "compare": """examples:
  degbridge compare table.tsv --target logFC -o results/
  degbridge compare table.tsv --target B --models seed --cv 5 --leakage drop -o results_B/
  degbridge compare geo2r.tsv --target logFC --extra methylation.tsv --n-jobs 2 -o results/

TABLE is any DE table read_table understands (limma topTable, GEO2R export...). Results:
leaderboard.tsv, predictions.tsv, importances.tsv, leakage.tsv, preprocessing.tsv,
params.json and report.html in the output folder.
""",
    "run": """examples:
  degbridge run counts.tsv --samples samples.tsv --design "~ celltype + dex" --coef dextreated \\
      --target logFC -o results/
""",
    "concordance": """examples:
  degbridge concordance counts.tsv --samples samples.tsv --design "~ celltype + dex" \\
      --coef dextreated -o concordance/
  degbridge concordance counts.tsv --samples samples.tsv --groups dex \\
      --contrast "treated - untrt" --methods voom,edger --fdr 0.01 -o voom_vs_edger/

Each method runs with its defaults (limma-voom with TMM and filterByExpr; edgeR
quasi-likelihood with filterByExpr and TMM; DESeq2 Wald test with independent filtering).
""",
    "genesets": """examples:
  degbridge genesets table.tsv --sets GO:BP -o go_bp.tsv
  degbridge genesets table.tsv --sets hallmark.gmt --min-size 5 -o hallmark.tsv

limma's cameraPR on the table's t statistic (or --statistic): a competitive test of each set
with the genes ranked by the table. GO sets are every gene annotated to a term or its
descendants (org.Hs.eg.db); the table's Ensembl IDs, symbols or Entrez IDs are mapped to
Entrez IDs. With the expression matrix at hand, camera on the fit (Python: fit.camera) uses
the sample correlations too.
""",
    "celltypes": """examples:
  # pseudobulk DE per cell type (voom), the cell types fitted one after another here
  degbridge celltypes cells.h5ad --sample-key donor --celltype-key cell_type \\
      --groupby condition --contrast "stim - ctrl" -o per_celltype/
  # on 2 local dask workers, each with its own R; X read lazily, summed by the workers
  degbridge celltypes cells.zarr --sample-key donor --celltype-key cell_type \\
      --groupby condition --contrast "stim - ctrl" --workers 2 -o per_celltype/
  # on an existing dask cluster
  degbridge celltypes cells.h5ad ... --scheduler tcp://10.0.0.5:8786 -o per_celltype/

CELLS is an .h5ad file or a .zarr store of cells x genes with raw counts (X or --layer). The
output folder gets results.tsv (one row per gene, cell type and contrast), skipped.tsv (cell
types not fitted and why), samples.tsv (each pseudobulk sample, used or why not) and
report.html.
""",
    "report": """examples:
  degbridge report results/                 # rebuilds results/report.html
  degbridge report results/ -o summary.html
""",
    "demo": """examples:
  degbridge demo                    # airway RNA-seq (bundled): voom, then logFC and B comparisons
  degbridge demo -o demo --quick    # five fast models, 3-fold CV: about a minute
  degbridge demo --dataset all      # ALL leukemia microarrays (Debian package r-bioc-all)
""",
}

logger = logging.getLogger("degbridge")

#: ``degbridge demo --quick``: models that fit in seconds on ~16,000 genes.
QUICK_MODELS = ["mean", "linear", "ridge", "hist_gradient_boosting", "knn"]


class CLIError(Exception):
    """A user-facing error of the command line."""


def _say(args, text: str) -> None:
    if not args.quiet:
        print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# shared options
# ---------------------------------------------------------------------------------------


def _add_design_options(p: argparse.ArgumentParser) -> None:
    """The matrix, the sample sheet, the design and what to test (limma, concordance)."""
    p.add_argument(
        "matrix", metavar="COUNTS_OR_EXPR", help="genes × samples matrix file (CSV/TSV, .gz ok)"
    )
    p.add_argument("--samples", metavar="FILE", help="sample sheet (CSV/TSV), one row per sample")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument(
        "--design",
        metavar="FORMULA",
        help='formula over sample-sheet columns, e.g. "~ celltype + dex"',
    )
    g.add_argument(
        "--groups", metavar="COLUMN", help="sample-sheet column of groups: design ~ 0 + group"
    )
    c = p.add_mutually_exclusive_group(required=True)
    c.add_argument(
        "--coef",
        metavar="NAME",
        help='design coefficient to test, e.g. dextreated, or a spline term, e.g. "ns(time, df = 2)" '
        "(its columns together: the moderated F-test)",
    )
    c.add_argument(
        "--contrast",
        metavar="EXPR",
        action="append",
        help='contrast, e.g. "treated - control" (repeatable)',
    )


def _add_limma_options(p: argparse.ArgumentParser) -> None:
    _add_design_options(p)
    # allowed values and help texts come from degbridge._params (shared with run_limma,
    # tl.limma and the R helper)
    p.add_argument(
        "--method",
        choices=[*METHODS, *OTHER_METHODS],
        default=None,
        help=f"{cli_help('method')} Or edger (glmQLFit/glmQLFTest) or deseq2 (DESeq/results) "
        "on raw counts.",
    )
    p.add_argument(
        "--normalize", default=NORMALIZE[0], choices=NORMALIZE, help=cli_help("normalize")
    )
    p.add_argument(
        "--no-filter",
        action="store_true",
        help=f"keep every gene. Without it: {cli_help('filter')}",
    )
    p.add_argument("--robust", action="store_true", help=cli_help("robust"))
    p.add_argument("--trend", action="store_true", help=cli_help("trend"))
    p.add_argument("--lfc", type=float, default=0.0, help=cli_help("lfc"))
    p.add_argument("--block", metavar="COLUMN", help=cli_help("block"))
    p.add_argument("--weights", choices=WEIGHTS, help=cli_help("weights"))
    p.add_argument("--confint", action="store_true", help=cli_help("confint"))


def _add_compare_options(p: argparse.ArgumentParser, *, target_default: str = "logFC") -> None:
    p.add_argument(
        "--target", default=target_default, help=f"column to predict (default {target_default})"
    )
    p.add_argument(
        "--models",
        default="default",
        help="seed | default | comma-separated names (default: default)",
    )
    p.add_argument(
        "--features", help="comma-separated feature columns (default: every numeric column)"
    )
    p.add_argument(
        "--extra",
        metavar="FILE",
        action="append",
        help="per-gene feature table joined by gene ID (repeatable)",
    )
    p.add_argument(
        "--cv",
        type=int,
        default=5,
        help="cross-validation folds; 0 for the seed's single split (default 5)",
    )
    p.add_argument(
        "--test-size", type=float, default=0.2, help="held-out fraction of genes (default 0.2)"
    )
    p.add_argument(
        "--leakage",
        choices=LEAKAGE,
        default="flag",
        help="same-test features: flag (default), drop or keep",
    )
    p.add_argument(
        "--outliers",
        choices=OUTLIERS,
        default="report",
        help="outlier handling (default report)",
    )
    p.add_argument("--n-jobs", type=int, default=1, help="parallel fits (-1: all cores)")
    p.add_argument(
        "--max-fit-samples",
        type=int,
        metavar="N",
        default=20000,
        help="fit each model on at most N random training genes when there are more "
        "(default 20000; 0: every gene)",
    )
    p.add_argument("--time-limit", type=float, help="seconds per model; slower models are stopped")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


FORCE_HELP = (
    "write into an existing output folder that degbridge did not write (files of the names it "
    "writes are replaced, all others are kept); without it such a folder is refused"
)


def _add_results_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="results folder: new, empty, or written by degbridge before",
    )
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p.add_argument(
        "--report", metavar="HTML", help="write the report here instead of OUTPUT/report.html"
    )
    p.add_argument("--no-report", action="store_true", help="skip the HTML report")


def _read_samples(path: str | None) -> pd.DataFrame | None:
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        raise CLIError(f"sample sheet {path!r} does not exist")
    sep = "\t" if p.suffix.lower() in (".tsv", ".txt", ".tab") else ","
    try:
        frame = pd.read_csv(p, sep=sep, index_col=0)
    except Exception as err:
        raise CLIError(f"cannot read sample sheet {path!r}: {err}") from None
    frame.index = frame.index.astype(str)
    return frame


def _run_other_method(args, matrix, samples, what):
    """``--method edger|deseq2``: the same inputs through run_edger / run_deseq2."""
    limma_only = {"--robust": args.robust, "--trend": args.trend, "--block": args.block,
                  "--weights": args.weights, "--confint": args.confint}  # fmt: skip
    given = [flag for flag, value in limma_only.items() if value]
    if args.method == "deseq2":
        given += [f for f, v in {"--lfc": args.lfc, "--no-filter": args.no_filter}.items() if v]
    if given:
        raise CLIError(f"{', '.join(given)} apply to limma, not to --method {args.method}")
    kw = {"samples": samples, "design": args.design, "groups": args.groups, **what}
    _say(args, f"running {args.method} on {matrix.shape[0]:,} genes × {matrix.shape[1]} samples")
    if args.method == "edger":
        from .de.edger import run_edger

        return run_edger(
            matrix, lfc=args.lfc, normalize=None if args.normalize == "none" else args.normalize,
            filter=None if args.no_filter else "filterByExpr", **kw,
        )  # fmt: skip
    from .de.deseq2 import run_deseq2

    return run_deseq2(matrix, **kw)


def _read_design_inputs(args):
    """The matrix and sample sheet of a limma-like command, and what to test."""
    from .io.matrix_reader import read_matrix

    _say(args, f"reading {args.matrix}")
    matrix = read_matrix(args.matrix)
    samples = _read_samples(args.samples)
    if args.groups is not None and samples is None:
        raise CLIError("--groups needs --samples (the sample sheet holding that column)")
    # coef= takes what contrasts cannot: 0-based positions and spline terms ("ns(time, df = 2)")
    if args.coef is not None:
        what = {"coef": args.coef}
    else:
        what = {"contrast": args.contrast[0] if len(args.contrast) == 1 else args.contrast}
    _start_r(args)
    return matrix, samples, what


def _start_r(args) -> None:
    """Start R before the work is announced (loading limma and edgeR takes a few seconds)."""
    from . import r

    _say(args, "starting R")
    r.session()


def _run_limma_from_args(args):
    from .de.limma import run_limma

    matrix, samples, what = _read_design_inputs(args)
    if args.method in OTHER_METHODS:
        return _run_other_method(args, matrix, samples, what)
    # the one method rule (_params.resolve_method), said up front; run_limma applies the same
    # rule again and records the choice in the table's meta
    choice = resolve_method(matrix, args.method, log=False)
    if args.method is None:
        _say(args, f"method: {choice.summary}")
    _say(
        args,
        f"running limma ({choice.method}) on {matrix.shape[0]:,} genes × {matrix.shape[1]} samples",
    )
    fit_options = {
        "samples": samples, "design": args.design, "groups": args.groups, "method": args.method,
        "normalize": None if args.normalize == "none" else args.normalize,
        "filter": None if args.no_filter else "filterByExpr", "block": args.block,
        "weights": args.weights,
    }  # fmt: skip
    test_options = {"robust": args.robust, "trend": args.trend, "lfc": args.lfc,
                    "confint": args.confint}  # fmt: skip
    if getattr(args, "decide", None) is None:
        return run_limma(matrix, **what, **fit_options, **test_options)
    # --decide: fit once, test the contrasts and decide on the same fit
    from .de import decide_tests, fit_limma

    fit = fit_limma(matrix, **fit_options)
    result = fit.test(**what, **test_options)
    result.decide = decide_tests(
        fit, fit.contrasts(**what).names, method=args.decide, p_value=args.p_value,
        robust=args.robust, trend=args.trend,
    )  # fmt: skip
    return result


def _compare_from_args(args, table):
    from .comparison import compare

    extra = None
    if args.extra:
        extra = {}
        for path in args.extra:
            p = Path(path)
            if not p.is_file():
                raise CLIError(f"extra table {path!r} does not exist")
            frame = pd.read_csv(p, sep=None, engine="python", index_col=0)
            frame.index = frame.index.astype(str)
            extra[re.sub(r"\W+", "_", p.name.split(".")[0]) or "extra"] = frame
    features = [f.strip() for f in args.features.split(",")] if args.features else None
    if args.max_fit_samples and not args.max_fit_samples >= 10:
        msg = f"--max-fit-samples must be 0 (every gene) or at least 10, not {args.max_fit_samples}"
        raise CLIError(msg)
    _say(args, f"comparing models for target {args.target!r}")
    return compare(
        table,
        target=args.target,
        features=features,
        extra=extra,
        models=args.models,
        cv=args.cv or None,
        test_size=args.test_size,
        random_state=args.seed,
        n_jobs=args.n_jobs,
        leakage=args.leakage,
        outliers=args.outliers,
        time_limit=args.time_limit,
        max_fit_samples=args.max_fit_samples or None,
        progress=not args.quiet,
    )


# ---------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------


def cmd_limma(args) -> int:
    from .de.limma import DEResults
    from .io.files import check_results_dir, results_dir

    out = Path(args.output)
    several = args.contrast is not None and len(args.contrast) > 1
    if args.decide is None and args.p_value is not None:
        raise CLIError("--p-value is the cut-off of --decide; add --decide (or leave it out)")
    if args.p_value is None:
        args.p_value = 0.05
    if args.decide is not None:
        if args.method in OTHER_METHODS:
            raise CLIError(f"--decide applies to limma, not to --method {args.method}")
        if not several:
            raise CLIError(
                "--decide needs several contrasts (--contrast twice or more): it decides which "
                "genes are called in which contrast; one table's adj.P.Val already decides"
            )
        if not 0 < args.p_value <= 1:
            raise CLIError(f"--p-value must be in (0, 1], not {args.p_value}")
    if several:
        check_results_dir(out, overwrite=args.force)  # fail before the R run, not after
    result = _run_limma_from_args(args)
    decide = getattr(result, "decide", None)
    if isinstance(result, DEResults):
        files = contrast_file_names(list(result), ftest=result.ftest is not None)
        with results_dir(out, overwrite=args.force) as tmp:
            for name, tab in result.items():
                tab.write(tmp / files[name])
            if result.ftest is not None:
                result.ftest.write(tmp / "F.tsv")
            mapping = pd.DataFrame({"contrast": list(files), "file": list(files.values())})
            if result.ftest is not None:
                mapping.loc[len(mapping)] = ["(F-test of all contrasts)", "F.tsv"]
            mapping.to_csv(tmp / "contrasts.tsv", sep="\t", index=False, lineterminator="\n")
            if decide is not None:
                _write_decide(tmp, decide)
        _say(
            args,
            f"wrote {len(result)} tables and the F-test to {out}/ (contrasts.tsv: which is which)",
        )
        first = next(iter(result.values()))
        if decide is not None:
            print(f"decideTests ({decide.attrs['method']}, adj. p < {decide.attrs['p_value']:g}):")
            print(decide.summary().to_string())
    else:
        result.write(out)
        _say(args, f"wrote {out}")
        first = result
    print(first.summary())
    return 0


def _write_decide(folder: Path, decide) -> None:
    """decide.tsv (genes × contrasts of -1/0/1), its summary and the report with the UpSet plot."""
    from .report.html import write_report

    frame = pd.DataFrame(decide)
    frame.index.name = "gene"
    frame.to_csv(folder / "decide.tsv", sep="\t", lineterminator="\n")
    decide.summary().rename_axis("call").to_csv(
        folder / "decide_summary.tsv", sep="\t", lineterminator="\n"
    )
    write_report(folder / "report.html", decide=decide, title="degbridge: decideTests")


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.+-]+", "_", name).strip("_.") or "contrast"


#: File stems the limma folder uses itself (compared case-insensitively: macOS, Windows).
_RESERVED_STEMS = {"f", "contrasts"}


def contrast_file_names(names: list[str], *, ftest: bool = True) -> dict[str, str]:
    """One distinct ``.tsv`` file name per contrast: sanitised, then ``_2``, ``_3``... on a clash.

    Two contrasts that sanitise to the same name (``A/2 - B`` and ``A*2 - B``), names differing
    only in case, and the folder's own files (``F.tsv``, ``contrasts.tsv``) never share a file.
    """
    taken = set(_RESERVED_STEMS if ftest else {"contrasts"})
    files = {}
    for name in names:
        stem = _safe_name(name)
        candidate, k = stem, 1
        while candidate.casefold() in taken:
            k += 1
            candidate = f"{stem}_{k}"
        taken.add(candidate.casefold())
        files[name] = f"{candidate}.tsv"
    return files


def cmd_compare(args) -> int:
    from .io.files import check_results_dir
    from .io.table_reader import read_table

    check_results_dir(args.output, overwrite=args.force)
    table = read_table(args.table)
    res = _compare_from_args(args, table)
    _write_results(args, res, table)
    return 0


def _write_results(args, res, table) -> None:
    from .handback import write_results

    out = Path(args.output)
    report = not getattr(args, "no_report", False)
    write_results(
        res, out, table=table, report=report and args.report is None, overwrite=args.force
    )
    if report and args.report is not None:
        from .report.html import write_report

        write_report(args.report, comparison=res, table=table)
    print(res.summary())
    where = args.report or (out / "report.html")
    _say(args, f"results in {out}/" + (f"; report: {where}" if report else ""))


def cmd_run(args) -> int:
    from .de.limma import DEResults
    from .io.files import check_results_dir

    check_results_dir(args.output, overwrite=args.force)
    table = _run_limma_from_args(args)
    if isinstance(table, DEResults):
        raise CLIError("degbridge run compares one contrast; give a single --coef or --contrast")
    res = _compare_from_args(args, table)
    _write_results(args, res, table)
    return 0


def cmd_concordance(args) -> int:
    from .de.concordance import concordance
    from .io.files import check_results_dir, results_dir

    out = Path(args.output)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    allowed = [*METHODS, *OTHER_METHODS]
    unknown = [m for m in methods if m not in allowed]
    if unknown:
        raise CLIError(f"--methods: {unknown} not among {allowed}")
    if len(set(methods)) < 2:
        raise CLIError(f"--methods needs at least two different methods, got {methods}")
    if not 0 < args.fdr < 1:
        raise CLIError(f"--fdr must be in (0, 1), not {args.fdr}")
    if args.top < 1:
        raise CLIError(f"--top must be a positive number of genes, not {args.top}")
    if isinstance(args.contrast, list) and len(args.contrast) > 1:
        raise CLIError("concordance compares one contrast; give a single --coef or --contrast")
    check_results_dir(out, overwrite=args.force)  # fail before the R runs, not after
    matrix, samples, what = _read_design_inputs(args)
    design = {"samples": samples, "design": args.design, "groups": args.groups, **what}
    tables = {}
    for method in dict.fromkeys(methods):
        _say(args, f"running {method} on {matrix.shape[0]:,} genes × {matrix.shape[1]} samples")
        if method == "edger":
            from .de.edger import run_edger

            tables[method] = run_edger(matrix, **design)
        elif method == "deseq2":
            from .de.deseq2 import run_deseq2

            tables[method] = run_deseq2(matrix, **design)
        else:
            from .de.limma import run_limma

            tables[method] = run_limma(matrix, method=method, **design)
    conc = concordance(tables, fdr=args.fdr, n_top=args.top)
    files = contrast_file_names(list(tables), ftest=False)
    with results_dir(out, overwrite=args.force) as tmp:
        for name, tab in tables.items():
            tab.write(tmp / files[name])
        conc.spearman.rename_axis("method").to_csv(
            tmp / "spearman.tsv", sep="\t", lineterminator="\n"
        )
        conc.overlap.to_csv(tmp / "overlap.tsv", sep="\t", index=False, lineterminator="\n")
        conc.disagreement.rename_axis("gene").to_csv(
            tmp / "disagreement.tsv", sep="\t", lineterminator="\n"
        )
        if not args.no_report:
            from .report.html import write_report

            write_report(tmp / "report.html", concordance=conc, title="degbridge: concordance")
    print(conc.summary())
    _say(args, f"results in {out}/")
    return 0


def cmd_genesets(args) -> int:
    from .de.genesets import camera_pr, check_statistic, gene_sets
    from .io.files import atomic_write, check_not_input
    from .io.table_reader import read_table

    out = Path(args.output)
    check_not_input(out, [args.table, args.sets])
    if out.is_dir():
        raise CLIError(f"-o {out} is a folder; genesets writes one table file")
    if out.suffix.lower() not in (".tsv", ".txt", ".csv"):
        raise CLIError(f"-o {out}: genesets writes a .tsv (or .txt) or .csv table")
    if args.min_size < 1 or args.max_size < args.min_size:
        raise CLIError(
            f"--min-size must be ≥ 1 and --max-size ≥ --min-size (got {args.min_size}, "
            f"{args.max_size})"
        )
    table = read_table(args.table)
    check_statistic(table, args.statistic)  # before the sets: GO sets take seconds
    source = args.sets if args.sets[:3].upper() == "GO:" else Path(args.sets)
    if isinstance(source, Path) and not source.is_file():
        raise CLIError(f"gene-set file {args.sets!r} does not exist (or use GO:BP, GO:MF, GO:CC)")
    _say(args, f"gene sets from {args.sets}")
    sets = gene_sets(source, min_size=args.min_size, max_size=args.max_size)
    _say(args, f"cameraPR on {args.statistic!r} of {len(table):,} genes, {len(sets):,} sets")
    res = camera_pr(table, sets, statistic=args.statistic, inter_gene_cor=args.inter_gene_cor)
    terms = getattr(sets, "terms", None)
    if terms:
        res.insert(0, "Term", [terms.get(k, "") for k in res.index])
    a = res.attrs
    frame = pd.DataFrame(res).rename_axis("set")
    sep = "," if ".csv" in out.name.lower() else "\t"
    with atomic_write(out) as handle:
        frame.to_csv(handle, sep=sep, lineterminator="\n")
    _say(
        args,
        f"{a.get('n_sets_mapped', len(res)):,} of {a.get('n_sets', len(sets)):,} sets tested; "
        f"wrote {out}",
    )
    print(frame.head(10).to_string())
    return 0


def cmd_celltypes(args) -> int:
    from .io.files import check_results_dir, results_dir
    from .report.celltypes import calls
    from .report.html import write_report
    from .sc import get
    from .sc.read import cell_store, open_cells
    from .sc.tl import de

    store, _ = cell_store(args.cells)
    out = Path(args.output)
    if out.resolve() == store.resolve() or store.resolve() in out.resolve().parents:
        raise CLIError(f"the output folder {str(out)!r} is inside the input {str(store)!r}")
    check_results_dir(out, overwrite=args.force)  # fail before the fits, not after
    if args.workers is not None and args.workers < 1:
        raise CLIError(f"--workers must be a positive number of processes, not {args.workers}")
    on_dask = args.scheduler is not None or args.workers is not None
    if on_dask:
        if not args.verbose:  # dask's scheduler, nanny and worker processes log at INFO
            os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
        from .sc._dask import connect

        if not args.verbose:
            logging.getLogger("distributed").setLevel(logging.ERROR)
        cluster = connect(args.scheduler, n_workers=args.workers)
    else:
        cluster = contextlib.nullcontext()
    with open_cells(store, lazy=on_dask, layer=args.layer) as adata, cluster as client:
        _say(args, f"{adata.n_obs:,} cells x {adata.n_vars:,} genes from {store}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DegbridgeWarning)
            de(
                adata, groupby=args.groupby, contrast=args.contrast, method=args.method,
                layer=args.layer, sample_key=args.sample_key, celltype_key=args.celltype_key,
                min_cells=args.min_cells, min_samples=args.min_samples, adjust=args.adjust,
                backend="dask" if on_dask else "serial", client=client,
                progress=not args.quiet,
            )  # fmt: skip
        for w in caught:  # the skipped cell types are in skipped.tsv here
            text = str(w.message).replace("adata.uns[key_added]['skipped']", "skipped.tsv")
            warnings.warn(text, w.category, stacklevel=1)
        entry = adata.uns["degbridge"]
    results = get.de_df(adata)
    with results_dir(out, overwrite=args.force) as tmp:
        results.to_csv(tmp / "results.tsv", sep="\t", index=False, lineterminator="\n")
        for part in ("skipped", "samples"):
            pd.DataFrame(entry[part]).to_csv(
                tmp / f"{part}.tsv", sep="\t", index=False, lineterminator="\n"
            )
        if not args.no_report:
            write_report(tmp / "report.html", celltypes=entry,
                         title="degbridge: DE per cell type", subtitle=str(store))  # fmt: skip
    summary = calls(results, 0.05) if len(results) else None
    if summary is not None:
        print(summary.to_string(index=False))
    _say(args, f"results in {out}/ (results.tsv, skipped.tsv, samples.tsv"
               + (", report.html)" if not args.no_report else ")"))  # fmt: skip
    return 0


def cmd_report(args) -> int:
    from .handback import load_comparison
    from .io.files import check_not_input
    from .report.html import write_report

    out = Path(args.output) if args.output else Path(args.folder) / "report.html"
    folder = Path(args.folder)
    if folder.is_dir():
        inputs = [p for p in folder.iterdir() if p.name != "report.html" and p.is_file()]
        check_not_input(out, inputs)
    res, table = load_comparison(args.folder)
    write_report(out, comparison=res, table=table)
    _say(args, f"wrote {out}")
    print(out)
    return 0


def _demo_annotation(args, table) -> dict:
    """External features (org.Hs.eg.db through R) and symbols for the report's labels.

    The table gains a ``symbol`` column (text: not a feature). Without the annotation package
    the demo goes on without external features and says how to add them.
    """
    from .features.annotation import annotation_features, gene_annotation

    try:
        ann = gene_annotation(table.index)
    except RNotAvailableError as err:
        _say(args, f"  note: no external features ({err})")
        return {}
    a = ann.attrs
    _say(
        args,
        f"gene annotation (org.Hs.eg.db {a['versions'].get('org', '?')}): {a['n_mapped']:,} of "
        f"{a['n_ids']:,} genes mapped; external features joined as 'ann_*'",
    )
    table["symbol"] = ann["symbol"].reindex(table.index).to_numpy()
    return {"ann": annotation_features(ann)}


def cmd_demo(args) -> int:
    from .comparison import compare
    from .de.limma import fit_limma, run_limma
    from .features.expression import expression_features
    from .io.files import check_results_dir, results_dir
    from .report.html import write_report

    check_results_dir(args.output, overwrite=args.force)
    started = time.perf_counter()
    if args.dataset == "airway":
        from .datasets import airway

        _say(
            args,
            "airway RNA-seq (Himes et al. 2014): 38,694 genes × 8 samples, 4 cell lines × dexamethasone",
        )
        counts, samples = airway()
        _say(args, 'limma-voom with TMM, design "~ celltype + dex", testing dextreated')
        fit = fit_limma(counts, samples=samples, design="~ celltype + dex", method="voom")
        table = fit.test(coef="dextreated")
        shown = {"expression": fit, "groups": samples[["dex", "celltype"]]}  # voom's E
        feats = expression_features(counts.loc[table.index], groups=samples["dex"])
        extra = {"expr": feats, **_demo_annotation(args, table)}
        title = "degbridge demo: airway, dexamethasone vs control"
    else:
        from .datasets import all_leukemia

        _say(
            args,
            "ALL leukemia microarrays (Chiaretti et al. 2004; Debian r-bioc-all): T-cell vs B-cell",
        )
        expr, cells = all_leukemia()
        table = run_limma(expr, groups=cells, contrast="T - B", method="ls")
        shown = {"expression": expr, "groups": pd.Series(cells, index=expr.columns, name="cell")}
        feats = expression_features(expr.loc[table.index], groups=cells)
        extra = {"expr": feats}  # Affymetrix probe IDs: no chip annotation package in Debian
        title = "degbridge demo: ALL leukemia, T-cell vs B-cell"
    _say(
        args,
        f"{table.shape[0]:,} genes tested, {int((table['adj.P.Val'] < 0.05).sum()):,} with adj.P.Val < 0.05",
    )
    models, cv = (QUICK_MODELS, 3) if args.quick else ("default", 5)
    results = []
    for target in ("logFC", "B"):
        which = "five fast" if args.quick else "13"
        joined = " and ".join(f"'{k}_*'" for k in extra)
        _say(args, f"comparing {which} models for {target} (features joined as {joined})")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DegbridgeWarning)
            res = compare(
                table, target=target, extra=extra, models=models, cv=cv, n_jobs=args.n_jobs,
                random_state=0, progress=not args.quiet,
            )  # fmt: skip
        for w in caught:
            _say(args, f"  note: {w.message}")
        results.append(res)
    out = Path(args.output)
    with results_dir(out, overwrite=args.force) as tmp:
        table.write(tmp / "de_table.tsv")
        for res in results:
            sub = tmp / f"compare_{res.target}"
            sub.mkdir()
            res.write_files(sub)
        write_report(tmp / "report.html", comparisons=results, table=table, title=title,
                     subtitle="limma through rpy2, then scikit-learn models predicting logFC and B",
                     **shown)  # fmt: skip
    for res in results:
        print(res.summary())
    print(f"report: {out / 'report.html'}")
    _say(args, f"done in {time.perf_counter() - started:.0f} s")
    return 0


# ---------------------------------------------------------------------------------------


def _limma_output(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--decide",
        nargs="?",
        const="separate",
        choices=DECIDE_METHODS,
        metavar="METHOD",
        help="with several contrasts: limma's decideTests (default method separate; also "
        "global, hierarchical, nestedF): decide.tsv (-1/0/1 per gene and contrast), "
        "decide_summary.tsv and report.html with the UpSet figure in the output folder",
    )
    p.add_argument(
        "--p-value",
        type=float,
        default=None,
        help="adjusted p-value cut-off for --decide (default 0.05, BH)",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="output table (.tsv/.csv[.gz]); a folder for several contrasts (one table each, "
        "F.tsv, and contrasts.tsv mapping each contrast to its file)",
    )
    p.add_argument("--force", action="store_true", help=FORCE_HELP)


def _concordance_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--methods",
        default="voom,edger,deseq2",
        help="comma-separated methods to run on the same counts and design "
        f"(from {', '.join([*METHODS, *OTHER_METHODS])}; default voom,edger,deseq2)",
    )
    p.add_argument(
        "--fdr", type=float, default=0.05, help="FDR at which a gene is significant (0.05)"
    )
    p.add_argument(
        "--top", type=int, default=20, help="genes listed where the methods disagree most (20)"
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="output folder: one table per method, spearman.tsv, overlap.tsv, "
        "disagreement.tsv, report.html",
    )
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p.add_argument("--no-report", action="store_true", help="skip the HTML report")


def _genesets_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sets",
        required=True,
        metavar="GO:BP|FILE.gmt",
        help="gene sets: GO:BP, GO:MF or GO:CC (human, org.Hs.eg.db) or a GMT file",
    )
    p.add_argument(
        "--statistic", default="t", help="signed genewise statistic to rank by (default t)"
    )
    p.add_argument("--min-size", type=int, default=10, help="smallest set kept (default 10)")
    p.add_argument("--max-size", type=int, default=500, help="largest set kept (default 500)")
    p.add_argument(
        "--inter-gene-cor",
        type=float,
        default=0.01,
        help="preset inter-gene correlation (limma's default 0.01)",
    )
    p.add_argument("-o", "--output", required=True, help="output table (.tsv or .csv)")


def _table_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "table", metavar="TABLE", help="DE table (limma topTable, GEO2R export, CSV/TSV)"
    )


def _celltypes_options(p: argparse.ArgumentParser) -> None:
    from .sc._celltype import ADJUST

    p.add_argument(
        "cells", metavar="CELLS", help=".h5ad file or .zarr store: cells x genes, raw counts"
    )
    p.add_argument(
        "--sample-key", required=True, help="obs column of the biological sample (donor)"
    )
    p.add_argument(
        "--celltype-key", required=True, help="obs column of the cell type: one fit each"
    )
    p.add_argument("--groupby", required=True, help="obs column of the condition compared")
    p.add_argument(
        "--contrast", action="append", required=True,
        help='contrast of groupby levels, e.g. "stim - ctrl" (repeat for several)',
    )  # fmt: skip
    p.add_argument(
        "--method", choices=[*METHODS, *OTHER_METHODS], default="voom",
        help="voom (default), trend, edger or deseq2 on each cell type's pseudobulk counts",
    )  # fmt: skip
    p.add_argument("--layer", help="layer with raw counts (default X)")
    p.add_argument("--min-cells", type=int, default=10, help="cells a pseudobulk sample needs (10)")
    p.add_argument(
        "--min-samples", type=int, default=2,
        help="samples per condition a cell type needs to be fitted (2)",
    )  # fmt: skip
    p.add_argument(
        "--adjust", choices=ADJUST, default="per_cell_type",
        help="BH within each cell type (default) or over all of them (global)",
    )  # fmt: skip
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="fit on the workers of this dask scheduler (tcp://host:8786); each starts its R once",
    )  # fmt: skip
    where.add_argument(
        "--workers", type=int, metavar="N",
        help="fit on N local dask worker processes (without --scheduler or --workers: one after "
        "another in this process)",
    )  # fmt: skip
    p.add_argument(
        "-o", "--output", required=True,
        help="output folder: results.tsv, skipped.tsv, samples.tsv, report.html",
    )  # fmt: skip
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p.add_argument("--no-report", action="store_true", help="skip the HTML report")


def _report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", metavar="RESULTS", help="a folder written by compare/run")
    p.add_argument("-o", "--output", help="HTML file (default RESULTS/report.html)")


def _demo_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o", "--output", default="degbridge-demo", help="output folder (default degbridge-demo)"
    )
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p.add_argument(
        "--dataset",
        choices=["airway", "all"],
        default="airway",
        help="airway (bundled) or all (r-bioc-all)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="five fast models and 3-fold CV instead of 13 models and 5-fold CV",
    )
    p.add_argument("--n-jobs", type=int, default=-1, help="parallel fits (default: all cores)")


#: The sub-commands: name → (one-line help, the functions adding its options, what it runs).
COMMANDS = {
    "limma": ("run limma on a matrix: DE table out", (_add_limma_options, _limma_output), "cmd_limma"),
    "compare": ("compare regressors on a DE table",
                (_table_argument, _add_compare_options, _add_results_options), "cmd_compare"),
    "run": ("limma then compare, in one go",
            (_add_limma_options, _add_compare_options, _add_results_options), "cmd_run"),
    "concordance": ("limma-voom, edgeR and DESeq2 on the same counts: how far they agree",
                    (_add_design_options, _concordance_options), "cmd_concordance"),
    "genesets": ("gene-set test (limma's cameraPR) on a DE table's ranked statistic",
                 (_table_argument, _genesets_options), "cmd_genesets"),
    "celltypes": ("pseudobulk DE per cell type of an .h5ad/.zarr, here or on a dask cluster",
                  (_celltypes_options,), "cmd_celltypes"),
    "report": ("rebuild the HTML report of a results folder", (_report_options,), "cmd_report"),
    "demo": ("the whole path on real data, no arguments needed", (_demo_options,), "cmd_demo"),
}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="R's limma from Python, and DE tables as regression problems.",
        epilog=EXAMPLES["main"],
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-q", "--quiet", action="store_true", help="print results only, no progress"
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", help="log details (column renames, R output)"
    )
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (text, adders, func) in COMMANDS.items():
        p = sub.add_parser(
            name, parents=[common], help=text, epilog=EXAMPLES[name], formatter_class=fmt
        )
        for add in adders:
            add(p)
        p.set_defaults(func=globals()[func])
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        format="%(message)s", level=logging.INFO if args.verbose else logging.WARNING
    )
    if not args.verbose:
        logging.getLogger("distributed").setLevel(logging.ERROR)
    with warnings.catch_warnings():  # scoped: in-process callers keep their own settings
        warnings.simplefilter("default", DegbridgeWarning)
        warnings.showwarning = _show_warning
        return _dispatch(args)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    text = " ".join(str(message).split())
    print(f"{PROG}: warning: {text}", file=sys.stderr if file is None else file)


def _inputs(args) -> list[str]:
    """The files a command reads: no output may be one of them."""
    names = [getattr(args, key, None) for key in ("matrix", "samples", "table", "cells")]
    return [n for n in names + list(getattr(args, "extra", None) or []) if n is not None]


def _run_command(args) -> int:
    from .io.files import check_not_input, protect_inputs

    inputs = _inputs(args)
    for out in (getattr(args, "output", None), getattr(args, "report", None)):
        if out is not None:
            check_not_input(out, inputs)
    with protect_inputs(inputs):
        return args.func(args)


def _dispatch(args) -> int:
    try:
        return _run_command(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; no partial output was written", file=sys.stderr)
        return 130
    except (
        CLIError,
        ValueError,
        TypeError,
        OSError,
        RNotAvailableError,
        RError,
        RuntimeError,
    ) as err:
        if args.debug:
            raise
        text = " ".join(str(err).split())
        print(f"{PROG}: error: {text}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
