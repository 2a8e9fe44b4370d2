"""Import a GEO2R export and compare models, with external per-probe features joined by ID.

    python examples/import_geo2r.py [GEO2R_TABLE.tsv] [-o OUTPUT]

Default table: 300 probes of the GEO2R export for GSE48452 (human liver, NASH vs control;
tests/data/geo2r_GSE48452_top300.tsv). GEO2R tables have no AveExpr and rounded values; the
annotation columns (Gene.symbol, Gene.title) are text and are dropped from the features (and
reported). Here the "external" table is derived from that annotation: whether a probe maps to
several genes or to none, as another lab's per-gene table would be joined.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import pandas as pd

import degbridge as db

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "data" / "geo2r_GSE48452_top300.tsv"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("table", nargs="?", default=str(DEFAULT))
    parser.add_argument("-o", "--output", default="geo2r_results")
    args = parser.parse_args()

    table = db.read_table(args.table, contrast="NASH - control")
    print(table.summary())

    # an external per-probe table, keyed by the same probe IDs (only some probes present)
    symbols = table["Gene.symbol"].fillna("")
    annotation = pd.DataFrame(
        {
            "n_genes": symbols.str.count("///") + (symbols != ""),
            "unannotated": (symbols == "").astype(float),
        },
        index=table.index,
    ).iloc[::2]  # half the probes, to show partial matching
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", db.LeakageWarning)
        res = db.compare(
            table, target="logFC", extra={"annot": annotation}, models="seed", cv=3, progress=False
        )
    for w in caught:
        print("warning:", w.message)
    print(res.preprocessing.to_string(index=False))
    print(res.summary())
    db.write_results(res, args.output, table=table)
    print(f"results and report in {args.output}/")


if __name__ == "__main__":
    main()
