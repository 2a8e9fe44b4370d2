"""The output contract: folders degbridge did not write are kept, inputs are never written,
temporary entries never stay, symbolic links are written through, Ctrl-C writes nothing."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import degbridge
from degbridge import LeakageWarning, cli, compare, read_table, write_results
from degbridge.io import files as io

DATA = Path(__file__).resolve().parents[1] / "data"
TOP200 = DATA / "limma_voom_top200.csv"
FAST = ["--models", "linear", "--cv", "2", "--no-report", "-q"]


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry under root: file bytes, link targets, folders (links not followed)."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath, name)
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = "link->" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = p.read_bytes()
    return out


def run_compare(*args) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cli.main(["compare", str(TOP200), *FAST, *map(str, args)])


@pytest.fixture(scope="module")
def comparison():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        return compare(read_table(TOP200), target="logFC", models=["linear"], cv=2, progress=False)


def _expr_files(folder: Path, *, groups: list[str], n_genes: int = 60) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    n = len(groups)
    x = pd.DataFrame(
        rng.normal(7, 1, (n_genes, n)).round(4),
        index=[f"g{i}" for i in range(n_genes)],
        columns=[f"s{j}" for j in range(n)],
    )
    x.to_csv(folder / "e.tsv", sep="\t")
    pd.DataFrame({"grp": groups}, index=x.columns).to_csv(folder / "s.tsv", sep="\t")
    return folder / "e.tsv", folder / "s.tsv"


# ---------------------------------------------------------------------------------------
# a folder degbridge did not write is kept
# ---------------------------------------------------------------------------------------


def test_compare_refuses_a_foreign_folder_and_force_keeps_foreign_files(tmp_path, capsys):
    d = tmp_path / "d"
    d.mkdir()
    (d / "thesis.txt").write_text("four years of work")
    assert run_compare("-o", d) == 1
    err = capsys.readouterr().err
    assert "not written by degbridge" in err and "--force" in err
    assert sorted(p.name for p in d.iterdir()) == ["thesis.txt"]
    assert run_compare("-o", d, "--force") == 0
    assert (d / "thesis.txt").read_text() == "four years of work"
    assert (d / "leaderboard.tsv").is_file()
    manifest = json.loads((d / io.MANIFEST).read_text())
    assert "thesis.txt" not in manifest["files"] and "leaderboard.tsv" in manifest["files"]
    # now the folder holds a manifest: a second run needs no --force and keeps the thesis
    assert run_compare("-o", d) == 0
    assert (d / "thesis.txt").read_text() == "four years of work"


def test_comparison_write_keeps_foreign_folder(tmp_path, comparison):
    d = tmp_path / "d"
    d.mkdir()
    (d / "thesis.txt").write_text("x")
    with pytest.raises(ValueError, match=r"not written by degbridge.*overwrite=True"):
        comparison.write(d)
    assert [p.name for p in tmp_path.iterdir()] == ["d"]
    comparison.write(d, overwrite=True)
    assert (d / "thesis.txt").read_text() == "x"


def test_stale_own_files_removed_foreign_kept(tmp_path, comparison):
    d = tmp_path / "d"
    write_results(comparison, d)
    assert (d / "report.html").is_file()
    (d / "notes.md").write_text("mine")
    comparison.write(d)  # degbridge's own folder: no overwrite needed
    assert not (d / "report.html").exists()  # listed in the old manifest, not written again
    assert (d / "notes.md").read_text() == "mine"


def test_own_folder_with_a_foreign_file_of_a_written_name_needs_overwrite(tmp_path, comparison):
    d = tmp_path / "d"
    comparison.write(d)
    (d / "report.html").write_text("my own report")  # not in the manifest
    with pytest.raises(ValueError, match="did not write"):
        write_results(comparison, d)
    assert (d / "report.html").read_text() == "my own report"


def test_hostile_manifest_cannot_remove_files_outside(tmp_path, comparison):
    d = tmp_path / "d"
    comparison.write(d)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (d / io.MANIFEST).write_text(json.dumps({"files": ["../victim.txt", str(victim)]}))
    comparison.write(d, overwrite=True)  # the real files are not listed any more
    assert victim.read_text() == "keep"


def test_empty_existing_folder_is_used(tmp_path, comparison):
    d = tmp_path / "d"
    d.mkdir()
    comparison.write(d)
    assert (d / "leaderboard.tsv").is_file()


@pytest.mark.r
def test_run_and_multi_contrast_limma_keep_foreign_folder(tmp_path, capsys):
    e, s = _expr_files(tmp_path, groups=["A", "A", "B", "B", "C", "C"])
    for command in (
        [
            "limma",
            e,
            "--samples",
            s,
            "--groups",
            "grp",
            "--contrast",
            "B - A",
            "--contrast",
            "C - A",
        ],
        ["run", e, "--samples", s, "--groups", "grp", "--contrast", "B - A", *FAST],
    ):
        d = tmp_path / f"out_{command[0]}"
        d.mkdir()
        (d / "thesis.txt").write_text("x")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert cli.main([*map(str, command), "-o", str(d), "-q"]) == 1
        assert "not written by degbridge" in capsys.readouterr().err
        assert sorted(p.name for p in d.iterdir()) == ["thesis.txt"]


# ---------------------------------------------------------------------------------------
# -o ., failing renames, symbolic links
# ---------------------------------------------------------------------------------------


def test_output_to_cwd_leaves_no_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.txt").write_text("keep")
    assert run_compare("-o", ".") == 1  # not empty, not degbridge's
    assert run_compare("-o", ".", "--force") == 0
    assert run_compare("-o", ".") == 0  # now it is degbridge's
    names = sorted(p.name for p in tmp_path.iterdir())
    assert not [n for n in names if n.endswith((".tmp", ".old"))], names
    assert "leaderboard.tsv" in names and (tmp_path / "mine.txt").read_text() == "keep"


@pytest.mark.parametrize("existing", [False, True])
def test_failing_rename_leaves_no_temporary_entry(tmp_path, monkeypatch, comparison, existing):
    d = tmp_path / "d"
    if existing:
        comparison.write(d)
    before = snapshot(tmp_path)

    def busy(src, dst):
        raise OSError(errno.EBUSY, "Device or resource busy (injected)", str(dst))

    monkeypatch.setattr(io.os, "replace", busy)
    with pytest.raises(OSError, match="busy"):
        comparison.write(d)
    with pytest.raises(OSError, match="busy"):
        read_table(TOP200).write(tmp_path / "t.tsv")
    assert snapshot(tmp_path) == before


def test_cross_device_rename_is_copied_and_cleaned(tmp_path, monkeypatch):
    real = os.replace
    calls = {"n": 0}

    def exdev_once(src, dst):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(errno.EXDEV, "Invalid cross-device link (injected)")
        return real(src, dst)

    staged = tmp_path / "staged"
    staged.write_text("new")
    dst = tmp_path / "dst.txt"
    monkeypatch.setattr(io.os, "replace", exdev_once)
    io._replace_file(staged, dst)
    assert dst.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst.txt"]


def test_symlinked_file_is_written_through(tmp_path):
    target = tmp_path / "real" / "table.tsv"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.tsv"
    link.symlink_to(target)
    read_table(TOP200).write(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert read_table(target).shape[0] == 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.tsv", "real"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.tsv"]


def test_symlinked_results_folder_is_written_through(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "out"
    link.symlink_to(real, target_is_directory=True)
    assert run_compare("-o", link) == 0
    assert run_compare("-o", link) == 0
    assert link.is_symlink()
    assert (real / "leaderboard.tsv").is_file() and (real / io.MANIFEST).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "real"]  # no .old, no .tmp


# ---------------------------------------------------------------------------------------
# inputs are never written
# ---------------------------------------------------------------------------------------


def test_report_onto_the_table_is_refused(tmp_path, capsys):
    t = tmp_path / "t.csv"
    t.write_bytes(TOP200.read_bytes())
    (tmp_path / "alias.csv").symlink_to(t)
    for report in (t, tmp_path / "." / "t.csv", tmp_path / "alias.csv"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = cli.main(["compare", str(t), "--models", "linear", "--cv", "2", "-q",
                             "-o", str(tmp_path / "r"), "--report", str(report)])  # fmt: skip
        assert code == 1
        err = capsys.readouterr().err
        assert "is the input file" in err and str(report) in err and str(t) in err
    assert t.read_bytes() == TOP200.read_bytes()
    assert not (tmp_path / "r").exists()


def test_limma_output_onto_an_input_is_refused(tmp_path, capsys):
    e, s = _expr_files(tmp_path, groups=["A", "A", "A", "B", "B", "B"])
    extra = tmp_path / "x.tsv"
    extra.write_text("gene\tf\ng0\t1\n")
    before = snapshot(tmp_path)
    for out in (e, s, Path(f"{tmp_path}/./e.tsv")):
        code = cli.main(["limma", str(e), "--samples", str(s), "--groups", "grp",
                         "--contrast", "B - A", "-o", str(out), "-q"])  # fmt: skip
        assert code == 1
        assert "is the input file" in capsys.readouterr().err
    code = cli.main(["compare", str(TOP200), *FAST, "--extra", str(extra), "-o", str(extra)])
    assert code == 1 and "is the input file" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_check_not_input_names_both_paths(tmp_path):
    a = tmp_path / "a.tsv"
    a.write_text("x")
    os.link(a, tmp_path / "b.tsv")  # a hard link: another name, the same file
    with pytest.raises(ValueError, match=r"'.*b\.tsv' is the input file '.*a\.tsv'"):
        io.check_not_input(tmp_path / "b.tsv", [a])
    io.check_not_input(tmp_path / "c.tsv", [a, None])


def test_protected_input_inside_output_folder_is_not_replaced(tmp_path, comparison):
    d = tmp_path / "d"
    comparison.write(d)
    with io.protect_inputs([d / "leaderboard.tsv"]), pytest.raises(ValueError, match="input"):
        comparison.write(d)


# ---------------------------------------------------------------------------------------
# contrast file names
# ---------------------------------------------------------------------------------------


def test_contrast_file_names_are_unique():
    files = cli.contrast_file_names(["A/2 - B", "A*2 - B", "F", "f", "contrasts", "..."])
    assert len({f.casefold() for f in files.values()} | {"f.tsv", "contrasts.tsv"}) == 8
    assert files["A/2 - B"] == "A_2_-_B.tsv" and files["A*2 - B"] == "A_2_-_B_2.tsv"


@pytest.mark.r
def test_cli_contrasts_with_the_same_file_name_are_all_written(tmp_path):
    e, s = _expr_files(tmp_path, groups=["A", "A", "B", "B", "F", "F"])
    contrasts = ["A/2 - B", "A*2 - B", "(F)"]  # "(F)" sanitises to "F"
    out = tmp_path / "tables"
    argv = ["limma", str(e), "--samples", str(s), "--groups", "grp", "-o", str(out), "-q"]
    for c in contrasts:
        argv += ["--contrast", c]
    assert cli.main(argv) == 0
    mapping = pd.read_csv(out / "contrasts.tsv", sep="\t")
    files = dict(zip(mapping["contrast"], mapping["file"], strict=True))
    assert set(contrasts) <= set(files) and files["(F-test of all contrasts)"] == "F.tsv"
    assert len(set(files.values())) == len(files) == 4
    ref = degbridge.run_limma(
        pd.read_csv(e, sep="\t", index_col=0),
        samples=pd.read_csv(s, sep="\t", index_col=0),
        groups="grp",
        contrast=contrasts,
        method="ls",
    )
    for c in contrasts:
        got = read_table(out / files[c])
        np.testing.assert_allclose(got.loc[ref[c].index, "logFC"], ref[c]["logFC"], rtol=1e-12)
    assert "F" in read_table(out / "F.tsv").columns


# ---------------------------------------------------------------------------------------
# Ctrl-C
# ---------------------------------------------------------------------------------------


@pytest.mark.r
def test_ctrl_c_during_an_r_call_raises_after_r_returns_and_session_works():
    """The flag mechanism, in process: SIGINT while R sleeps, KeyboardInterrupt after."""
    from degbridge import r

    s = r.session()
    ri = s.ri
    # a constant, no user text; a busy R loop (R checks for interrupts as limma's loops do;
    # Sys.sleep would not do: R catches SIGINT itself while it waits in select())
    code = "function() { s <- 0; for (i in 1:5e8) s <- s + i; s }"
    s.env["degbridge_test_slow"] = ri.baseenv["eval"](ri.parse(code))
    handler = signal.getsignal(signal.SIGINT)
    try:
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
        started = time.perf_counter()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            r.call("degbridge_test_slow")
        assert time.perf_counter() - started < 5  # R stopped, did not run its ~30 s
        assert signal.getsignal(signal.SIGINT) is handler
        # the session is usable and no interrupt is left pending for the next call
        x = pd.DataFrame(np.random.default_rng(1).normal(7, 1, (50, 4)), columns=list("abcd"))
        tab = degbridge.run_limma(x, groups=["A", "A", "B", "B"], contrast="B - A", method="ls")
        assert tab.shape[0] == 50
    finally:
        del s.env["degbridge_test_slow"]


@pytest.mark.r
def test_ctrl_c_during_limma_in_r_exits_130_and_writes_nothing(tmp_path):
    """A real Ctrl-C in a subprocess while R's duplicateCorrelation runs (~12 s)."""
    rng = np.random.default_rng(0)
    n_genes, n = 8000, 24
    cols = [f"s{j}" for j in range(n)]
    pd.DataFrame(
        rng.normal(8, 1, (n_genes, n)).round(4),
        index=[f"g{i}" for i in range(n_genes)],
        columns=cols,
    ).to_csv(tmp_path / "e.tsv", sep="\t")
    pd.DataFrame(
        {"grp": ["a", "b"] * (n // 2), "blk": [f"b{j // 2}" for j in range(n)]}, index=cols
    ).to_csv(tmp_path / "s.tsv", sep="\t")
    with subprocess.Popen(
        [sys.executable, "-m", "degbridge", "limma", "e.tsv", "--samples", "s.tsv", "--groups",
         "grp", "--contrast", "b - a", "--block", "blk", "-o", "out.tsv"],
        cwd=tmp_path, stderr=subprocess.PIPE, text=True,
    ) as proc:  # fmt: skip
        for line in proc.stderr:
            if "running limma" in line:
                break
        time.sleep(2.5)  # inside R by now (checks and the copy into R take well under a second)
        started = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 130, rest
        assert time.perf_counter() - started < 5
        assert "interrupted" in rest and "Exception ignored" not in rest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.tsv", "s.tsv"]


# ---------------------------------------------------------------------------------------
# property: random output paths in a tree of decoys
# ---------------------------------------------------------------------------------------

segment = st.text(st.sampled_from("abcXYZ019_-. é"), min_size=1, max_size=6).filter(
    lambda s: s.strip(" ") == s and s not in (".", "..")
)
decoy_names = st.lists(
    st.tuples(st.lists(segment, max_size=2), segment, st.binary(max_size=40)), max_size=8
)


def _build_tree(root: Path, decoys, n_links: int) -> list[Path]:
    made = []
    for folders, name, data in decoys:
        folder = root.joinpath(*folders)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            f = folder / f"decoy_{name}"
            if not f.exists():
                f.write_bytes(data)
                made.append(f)
        except (FileExistsError, NotADirectoryError):
            continue  # a segment is already a file: this decoy is skipped
    for i, target in enumerate(made[:n_links]):
        link = root / f"decoy_link{i}"
        link.symlink_to(target)
    dirs = sorted({p.parent for p in made})
    if dirs:
        (root / "decoy_dirlink").symlink_to(dirs[0], target_is_directory=True)
    return made


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    decoys=decoy_names,
    n_links=st.integers(0, 2),
    out_parts=st.lists(
        st.one_of(segment, st.sampled_from(["decoy_dirlink", ".", ".."])), max_size=3
    ),
    pick_existing=st.integers(-1, 8),
    force=st.booleans(),
)
def test_decoys_survive_any_output_path(
    tmp_path_factory, decoys, n_links, out_parts, pick_existing, force
):
    base = tmp_path_factory.mktemp("tree")
    root = base / "root"
    root.mkdir()
    made = _build_tree(root, decoys, n_links)
    entries = sorted(root.rglob("*"))
    if 0 <= pick_existing < len(entries):
        out = entries[pick_existing]  # an existing decoy file, folder or link
    else:
        out = root.joinpath(*out_parts) if out_parts else root
    if not os.path.realpath(out).startswith(os.path.realpath(base)):
        out = root  # ".." above the tree: stay inside it
    before = snapshot(base)
    decoy_bytes = {p: p.read_bytes() for p in made}
    args = ["-o", str(out)] + (["--force"] if force else [])
    code = run_compare(*args)
    assert code in (0, 1)
    after = snapshot(base)
    for p, data in decoy_bytes.items():
        assert p.read_bytes() == data, p
    for rel, value in before.items():
        assert after.get(rel) == value, rel  # nothing that existed changed or vanished
    assert not [k for k in after if k.endswith((".tmp", ".old")) or ".tmp" in k.split("/")[-1]]
