"""``degbridge celltypes``: DE per cell type of an .h5ad/.zarr, here or on dask workers.

The tables written are compared with ``tl.de`` run in this process on the same cells (the
simulation of tests/test_tl_celltype.py from the real airway libraries); the dask run with
the serial one, byte for byte.
"""

from __future__ import annotations

import anndata as ad
import pandas as pd
import pytest

from degbridge import DataWarning, tl
from degbridge.sc import get

from .conftest import run_cli
from .test_tl_celltype import simulate

pytestmark = [pytest.mark.r, pytest.mark.slow]

ARGS = ["--sample-key", "donor", "--celltype-key", "cell_type", "--groupby", "condition",
        "--contrast", "stim - ctrl", "-q"]  # fmt: skip


@pytest.fixture(scope="module")
def cells(airway):
    adata, _ = simulate(airway, n_genes=800)
    return adata


@pytest.fixture(scope="module")
def stores(cells, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cells")
    cells.write_h5ad(folder / "cells.h5ad")
    with pytest.warns(UserWarning, match="zarr v2"):  # anndata's note on its default format
        cells.write_zarr(folder / "cells.zarr")
    return folder


def _read(path):
    return pd.read_csv(path, sep="\t", float_precision="round_trip", keep_default_na=False,
                       na_values=[""])  # fmt: skip


def test_serial_h5ad_writes_what_tl_de_stores(cells, stores, tmp_path):
    out = tmp_path / "out"
    proc = run_cli("celltypes", stores / "cells.h5ad", *ARGS, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "report.html", "results.tsv", "samples.tsv", "skipped.tsv",
    ]  # fmt: skip
    assert "2 of 5 cell types skipped (see skipped.tsv)" in proc.stderr
    memory = cells.copy()
    with pytest.warns(DataWarning, match="2 of 5 cell types skipped"):
        tl.de(memory, groupby="condition", sample_key="donor", celltype_key="cell_type",
              contrast="stim - ctrl", progress=False)  # fmt: skip
    expected = get.de_df(memory)
    got = _read(out / "results.tsv")
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_exact=True,
                                  check_dtype=False)  # fmt: skip
    skipped = _read(out / "skipped.tsv")
    assert skipped["cell_type"].tolist() == ["Neutro", "pDC"]
    assert skipped["reason"].str.startswith("too few samples").all()
    html = (out / "report.html").read_text()
    assert "Differential expression per cell type" in html
    assert html.count("<figure>") == 2  # the bars and the volcano panels
    # stdout: calls per cell type
    assert proc.stdout.split("\n")[0].split() == ["cell_type", "contrast", "tested", "up", "down"]


def test_dask_workers_on_zarr_equal_the_serial_run(stores, tmp_path):
    serial, dask_run = tmp_path / "serial", tmp_path / "dask"
    assert run_cli("celltypes", stores / "cells.zarr", *ARGS, "-o", serial).returncode == 0
    proc = run_cli("celltypes", stores / "cells.zarr", *ARGS, "--workers", "2", "-o", dask_run)
    assert proc.returncode == 0, proc.stderr
    for name in ("results.tsv", "skipped.tsv", "samples.tsv"):
        assert (dask_run / name).read_bytes() == (serial / name).read_bytes(), name
    # the cluster's own logging stays out of the way (only degbridge's warning is printed)
    assert [ln for ln in proc.stderr.splitlines() if ln.strip()] == [
        ln for ln in proc.stderr.splitlines() if ln.startswith("degbridge: warning:")
    ]


def test_hostile_cell_type_names_are_text_in_the_report(cells, tmp_path):
    adata = cells.copy()
    hostile = '<img src=x onerror="alert(1)">'
    adata.obs["cell_type"] = adata.obs["cell_type"].astype(str).replace({"T": hostile})
    adata.write_h5ad(tmp_path / "hostile.h5ad")
    out = tmp_path / "out"
    proc = run_cli("celltypes", tmp_path / "hostile.h5ad", *ARGS, "-o", out)
    assert proc.returncode == 0, proc.stderr
    html = (out / "report.html").read_text()
    assert hostile not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert hostile in set(_read(out / "results.tsv")["cell_type"])


def test_bad_inputs_are_one_line_each(stores, tmp_path):
    cases = [
        (["celltypes", tmp_path / "nope.h5ad", *ARGS, "-o", tmp_path / "o1"],
         "no such file or folder"),
        (["celltypes", tmp_path, *ARGS, "-o", tmp_path / "o2"],
         "is a folder but not a zarr store"),
        (["celltypes", stores / "cells.zarr", *ARGS, "-o", stores / "cells.zarr" / "out"],
         "is inside the input"),
        (["celltypes", stores / "cells.h5ad", *ARGS, "--workers", "0", "-o", tmp_path / "o3"],
         "--workers must be a positive number of processes, not 0"),
        (["celltypes", stores / "cells.zarr", *ARGS, "--layer", "counts", "--workers", "1",
          "-o", tmp_path / "o4"], "layer 'counts' is not in"),
        (["celltypes", stores / "cells.h5ad", *ARGS, "--scheduler", "tcp://127.0.0.1:1",
          "-o", tmp_path / "o5"], "cannot reach the dask scheduler at 'tcp://127.0.0.1:1'"),
    ]  # fmt: skip
    for args, message in cases:
        proc = run_cli(*args)
        assert proc.returncode == 1, (args, proc.stderr)
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("degbridge: error: "), proc.stderr
        assert message in lines[0], (message, lines[0])
    assert not any((tmp_path / f"o{k}").exists() for k in range(1, 6))
    assert not (stores / "cells.zarr" / "out").exists()
    back = ad.read_h5ad(stores / "cells.h5ad")  # the input is untouched
    assert "degbridge" not in back.uns


def test_report_of_an_entry_read_back_from_h5ad(cells, tmp_path):
    from degbridge.report.html import write_report
    from degbridge.sc.storage import write_h5ad

    adata = cells.copy()
    with pytest.warns(DataWarning, match="2 of 5 cell types skipped"):
        tl.de(adata, groupby="condition", sample_key="donor", celltype_key="cell_type",
              contrast=["stim - ctrl"], progress=False, key_added="pb")  # fmt: skip
    back = ad.read_h5ad(write_h5ad(adata, tmp_path / "fitted.h5ad"))
    html = write_report(tmp_path / "r.html", celltypes=back.uns["pb"]).read_text()
    assert html.count("<figure>") == 2 and "Cell types skipped" in html
    with pytest.raises(TypeError, match=r"celltypes= takes what tl.de\(\.\.\., celltype_key=\) stores"):  # fmt: skip
        write_report(tmp_path / "bad.html", celltypes=get.de_df(adata, key="pb"))
    assert not (tmp_path / "bad.html").exists()
