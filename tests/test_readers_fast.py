"""read_table / read_matrix: the fast path (pandas' C reader, round_trip floats) gives exactly
what the careful path (csv module, every field a string) gives, values equal to Python's
float() of each field, and the careful path still takes over for anything unusual."""

from __future__ import annotations

import csv
import gzip
import math
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from degbridge.io import matrix_reader as M
from degbridge.io import table_reader as T
from degbridge.io.matrix_reader import read_matrix
from degbridge.io.table_reader import read_table

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "tables"


# ---------------------------------------------------------------------------------------------
# helpers: run one path or the other, compare results bit for bit
# ---------------------------------------------------------------------------------------------


def _outcome(fn):
    """(result, None, warnings) or (None, error message, warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out, err = fn(), None
        except (ValueError, TypeError) as exc:
            out, err = None, f"{type(exc).__name__}: {exc}"
    return out, err, sorted(f"{w.category.__name__}: {w.message}" for w in caught)


def _table_paths(path, **kw):
    """(fast outcome, careful outcome, whether the fast path read the body)."""
    used = []
    real = T._parsed_fast

    def spy(*a, **k):
        got = real(*a, **k)
        used.append(got is not None)
        return got

    with mock.patch.object(T, "_parsed_fast", spy):
        fast = _outcome(lambda: read_table(path, **kw))
    with mock.patch.object(T, "_parsed_fast", lambda *a, **k: None):
        careful = _outcome(lambda: read_table(path, **kw))
    return fast, careful, any(used)


def _matrix_paths(path, **kw):
    used = []
    real = M._read_matrix_fast

    def spy(*a, **k):
        got = real(*a, **k)
        used.append(got is not None)
        return got

    with mock.patch.object(M, "_read_matrix_fast", spy):
        fast = _outcome(lambda: read_matrix(path, **kw))
    with mock.patch.object(M, "_read_matrix_fast", lambda *a, **k: None):
        careful = _outcome(lambda: read_matrix(path, **kw))
    return fast, careful, any(used)


def _bits(a: np.ndarray) -> np.ndarray:
    """float64 bit patterns with every NaN made one NaN (signs of zeros kept)."""
    a = np.where(np.isnan(a), np.nan, a).astype(np.float64)
    return a.view(np.int64)


def _assert_same_frame(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert type(a) is type(b)
    assert list(a.columns) == list(b.columns)
    assert list(a.index) == list(b.index)
    assert a.index.name == b.index.name
    assert list(a.dtypes) == list(b.dtypes)
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_float_dtype(x):
            assert np.array_equal(_bits(x.to_numpy()), _bits(y.to_numpy())), c
        else:
            pd.testing.assert_series_equal(x, y, check_exact=True)
    if hasattr(a, "meta"):
        assert a.meta == b.meta


def _assert_same(fast, careful) -> None:
    (fa, fe, fw), (ca, ce, cw) = fast, careful
    assert fe == ce
    assert fw == cw
    if ca is not None:
        _assert_same_frame(fa, ca)


# ---------------------------------------------------------------------------------------------
# the shipped test files and the real tables
# ---------------------------------------------------------------------------------------------


def _text_tables(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.name.removesuffix(".gz").endswith((".csv", ".tsv", ".txt"))
    )


FILES = [p for p in _text_tables(DATA) if "counts" not in p.name]
MATRICES = [p for p in _text_tables(DATA) if "counts" in p.name]


@pytest.mark.parametrize("path", MATRICES, ids=lambda p: p.name)
def test_read_matrix_fast_equals_careful_on_test_files(path):
    fast, careful, used = _matrix_paths(path)
    _assert_same(fast, careful)
    assert careful[1] is None
    assert used


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_read_table_fast_equals_careful_on_test_files(path):
    kind = "deseq2" if "deseq2" in path.name else "edger" if "edger" in path.name else "auto"
    fast, careful, used = _table_paths(path, kind=kind, duplicates="first")
    _assert_same(fast, careful)
    assert careful[1] is None
    # every comma/tab file is well formed: the fast path must have read it
    if "write_table" not in path.name:  # space-separated: the careful path by design
        assert used, path.name


def _csv_floats(path: Path) -> dict[str, np.ndarray]:
    """The reference: Python's float() of every field (csv module), NA as NaN."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle, delimiter="\t" if path.suffix == ".tsv" else ","))
    header, rows = rows[0], rows[1:]
    out = {}
    for j, name in enumerate(header):
        try:
            out[name] = np.array([math.nan if r[j] in T.NA_TOKENS else float(r[j]) for r in rows])
        except ValueError:
            continue  # a text column
    return out


#: The real tables' subsets bundled in tests/data (always), and the whole shared tables when
#: this checkout sits beside them (the project never needs them).
REAL = [DATA / n for n in ("limma_voom_every10th.csv", "edger_top40.csv", "deseq2_top30_na10.csv")]
REAL += sorted(SHARED.glob("*.csv")) + sorted(SHARED.glob("*.tsv")) if SHARED.is_dir() else []


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name[:40])
def test_real_tables_every_value_correctly_rounded(path):
    """Each value equals float() of its field (pandas' default parser misrounds 1,556 values
    of the limma-voom table; round_trip none)."""
    kind = "deseq2" if "deseq2" in path.name else "edger" if "edger" in path.name else "limma"
    fast, careful, used = _table_paths(path, kind=kind, duplicates="first")
    _assert_same(fast, careful)
    assert used
    tab = fast[0]
    ref = _csv_floats(path)
    checked = 0
    for original, canonical in [(c, tab.meta["column_map"].get(c, c)) for c in ref]:
        if canonical in tab.columns and pd.api.types.is_float_dtype(tab[canonical]):
            got = tab[canonical].to_numpy()
            assert np.array_equal(_bits(got), _bits(ref[original][: got.size])), original
            checked += 1
    assert checked >= 3


# ---------------------------------------------------------------------------------------------
# awkward values, generated
# ---------------------------------------------------------------------------------------------

AWKWARD = [
    "1e-300",
    "5e-324",
    "4.9e-324",
    "2.2250738585072014e-308",
    "1.7976931348623157e308",
    "1e500",
    repr(0.1 + 0.2),
    "0.30000000000000004",
    "-0.0",
    "-0",
    "+0",
    "0.1234567890123456789",
    "12345678901234567",
    "9007199254740993",
    "18446744073709551617",
    "-9223372036854775809",
    "1.5E-147",
    ".5",
    "5.",
    "+7",
    " 3.25",
    "3.25 ",
    "Inf",
    "-Inf",
    "inf",
    "Infinity",
    "-infinity",
    "NaN",
    "NAN",
    "nan",
    "-nan",
    "NA",
    "",
    "N/A",
    "NULL",
    "None",
    " NA",
    "1_000",
]

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
number_text = st.one_of(
    finite.map(repr),
    finite.map(lambda x: f"{x:.15g}"),
    finite.map(lambda x: f"{x:.17e}"),
    st.integers(-(10**20), 10**20).map(str),
    st.integers(0, 500).map(str),
    st.sampled_from(AWKWARD),
)
cell = st.tuples(number_text, st.booleans()).map(lambda t: f'"{t[0]}"' if t[1] else t[0])


@st.composite
def tables(draw):
    n = draw(st.integers(1, 12))
    k = draw(st.integers(1, 4))
    sep = draw(st.sampled_from([",", "\t"]))
    names = ["logFC", "AveExpr", "t", "P.Value", "extra"][: k + 1]
    rows = [[f'"g{i}"'] + [draw(cell) for _ in names] for i in range(n)]
    header = sep.join(f'"{h}"' for h in names)  # R's row-names layout: no header above IDs
    return header + "\n" + "\n".join(sep.join(r) for r in rows) + "\n"


@given(text=tables(), gz=st.booleans())
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_read_table_fast_equals_careful_generated(tmp_path_factory, text, gz):
    path = tmp_path_factory.mktemp("t") / ("x.csv.gz" if gz else "x.csv")
    data = text.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    fast, careful, _ = _table_paths(path, kind="limma")
    _assert_same(fast, careful)


@st.composite
def matrices(draw):
    n = draw(st.integers(1, 10))
    k = draw(st.integers(1, 5))
    sep = draw(st.sampled_from([",", "\t"]))
    ints = draw(st.booleans())
    value = st.integers(0, 3).map(str) if ints else cell
    rows = [[f"G{i:03d}"] + [draw(value) for _ in range(k)] for i in range(n)]
    if ints and draw(st.booleans()):
        rows[draw(st.integers(0, n - 1))][1] = draw(st.sampled_from(["-0", '"-00"', "-0.0"]))
    header = sep.join(["gene", *(f"S{j}" for j in range(k))])
    return header + "\n" + "\n".join(sep.join(r) for r in rows) + "\n"


@given(text=matrices())
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_read_matrix_fast_equals_careful_generated(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("m") / "m.tsv"
    path.write_text(text)
    fast, careful, _ = _matrix_paths(path)
    _assert_same(fast, careful)
    if careful[0] is not None:  # the values are float() of the fields
        rows = list(csv.reader(text.splitlines()[1:], delimiter="\t" if "\t" in text else ","))
        ref = np.array(
            [[math.nan if v.strip() in T.NA_TOKENS else float(v) for v in r[1:]] for r in rows]
        )
        assert np.array_equal(_bits(fast[0].to_numpy()), _bits(ref))


# ---------------------------------------------------------------------------------------------
# the fast path hands over to the careful one
# ---------------------------------------------------------------------------------------------


def test_negative_zero_in_an_integer_column(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text("gene\ta\tb\ng1\t-0\t1\ng2\t3\t0\n")
    m = read_matrix(path)
    assert np.signbit(m.loc["g1", "a"]) and not np.signbit(m.loc["g2", "b"])
    path.write_text("gene\tlogFC\tP.Value\ng1\t-0\t0.5\ng2\t3\t0.1\n")
    assert np.signbit(read_table(path)["logFC"].iloc[0])


UNUSUAL_TABLES = {
    "short_row": "ID,logFC,P.Value\ng1,1.5,0.1\ng2,2.5\n",
    "long_row": "ID,logFC,P.Value\ng1,1.5,0.1\ng2,2.5,0.2,9\n",
    "quoted_newline": 'ID,logFC,P.Value,desc\ng1,1.5,0.1,"a\nb"\ng2,2.5,0.2,c\n',
    "doubled_quotes": 'ID,logFC,P.Value,desc\ng1,1.5,0.1,"say ""hi"""\ng2,2.5,0.2,c\n',
    "delimiter_only_line": "ID,logFC,P.Value\ng1,1.5,0.1\n,,\ng2,2.5,0.2\n",
    "blank_and_space_lines": "ID,logFC,P.Value\n\ng1,1.5,0.1\n   \ng2,2.5,0.2\n\n",
    "text_in_logfc": "ID,logFC,P.Value\ng1,1.5,0.1\ng2,up,0.2\n",
    "decimal_comma": "ID;logFC;P.Value\ng1;1,5;0,1\ng2;2,5;0,2\n",
    "bool_column": "ID,logFC,P.Value,flag\ng1,1.5,0.1,TRUE\ng2,2.5,0.2,FALSE\n",
    "na_id": "ID,logFC,P.Value\nNA,1.5,0.1\ng2,2.5,0.2\n",
    "trailing_delimiters": "ID,logFC,P.Value,\ng1,1.5,0.1,\ng2,2.5,0.2,\n",
    "group_line": '"1100"\nID\tlogFC\tP.Value\ng1\t1.5\t0.1\ng2\t-0.5\t0.2\n',
    "comment_then_header": "# exported\nID\tlogFC\tP.Value\ng1\t1.5\t0.1\n#x\t1\t0.5\n",
    "form_feed": "ID\tlogFC\tP.Value\ng1\t1.5\t0.1\x0cg2\t2\t0.3\n",
    "duplicate_ids": "ID,logFC,P.Value\ng1,1.5,0.1\ng1,2.5,0.2\n",
    "inf_logfc": "ID,logFC,P.Value\ng1,Inf,0.1\ng2,2.5,0.2\n",
    "mixed_text_column": "ID,logFC,P.Value,x\n"
    + "".join(f"g{i},1,0.5,{i}.50\n" for i in range(40))
    + "g40,1,0.5,abc\n",
}


@pytest.mark.parametrize("name", sorted(UNUSUAL_TABLES))
def test_read_table_unusual_inputs_same_on_both_paths(tmp_path, name):
    path = tmp_path / f"{name}.csv"
    path.write_text(UNUSUAL_TABLES[name])
    fast, careful, _ = _table_paths(path, duplicates="first" if "duplicate" in name else "error")
    _assert_same(fast, careful)


UNUSUAL_MATRICES = {
    "comment_mid_file": "gene\ta\tb\ng1\t1\t2\n# note\ng2\t3\t4\n",
    "space_only_line": "gene\ta\tb\ng1\t1\t2\n  \t \ng2\t3\t4\n",
    "text_value": "gene\ta\tb\ng1\t1\t2\ng2\tx\t4\n",
    "na_spellings": "gene\ta\tb\ng1\t NA\tNaN\ng2\t#N/A\t<NA>\n",
    "crlf_quoted": '"gene"\t"a"\t"b"\r\n"0012"\t"1.5"\t2\r\n"NA"\t3\t4\r\n',
    "latin1": "gene\tsampl\xe9\ng1\t1.25\ng2\t2\n",
    "r_rownames": '"a" "b"\n"g1" 1 2.5\n"g2" 3 4\n',
    "header_only": "gene\ta\tb\n",
    "unicode_line_break": "gene\ta\tb\ng1\t1\t2\u2028g2\t3\t4\n",
}


@pytest.mark.parametrize("name", sorted(UNUSUAL_MATRICES))
def test_read_matrix_unusual_inputs_same_on_both_paths(tmp_path, name):
    path = tmp_path / f"{name}.tsv"
    text = UNUSUAL_MATRICES[name]
    path.write_bytes(text.encode("latin-1" if name == "latin1" else "utf-8"))
    fast, careful, _ = _matrix_paths(path)
    _assert_same(fast, careful)


def test_read_matrix_fast_path_used_and_exact_on_a_count_file(tmp_path):
    rng = np.random.default_rng(3)
    counts = rng.negative_binomial(2, 0.02, size=(3000, 7))
    logs = np.log2(counts + 0.5) * rng.uniform(0.9, 1.1, counts.shape)
    frame = pd.DataFrame(np.hstack([counts, logs]), index=[f"{i:05d}" for i in range(3000)]).rename(
        columns=str
    )
    path = tmp_path / "m.tsv.gz"
    text = frame.to_csv(sep="\t", float_format="%.17g").replace(".0\t", "\t")
    path.write_bytes(gzip.compress(text.encode()))
    fast, careful, used = _matrix_paths(path)
    assert used
    _assert_same(fast, careful)
    assert fast[0].index[0] == "00000"  # leading zeros kept
    assert np.array_equal(fast[0].to_numpy(), frame.to_numpy())


# ---------------------------------------------------------------------------------------------
# the fast path's layout check, against a field-by-field reading of each line
# ---------------------------------------------------------------------------------------------


def _layout_reference(text: str, sep: str, ncol: int):
    """Indices of the non-blank lines when each holds ``ncol`` fields, every field either
    free of quotes or wholly quoted (a quote pair around it, no quote inside); else None."""
    rows = []
    for i, line in enumerate(text.split("\n")):
        if not line:
            continue
        fields, pos = 0, 0
        while True:
            fields += 1
            if line[pos : pos + 1] == '"':
                close = line.find('"', pos + 1)
                if close < 0:
                    return None
                pos = close + 1
                if pos < len(line) and line[pos] != sep:
                    return None
            else:
                end = line.find(sep, pos)
                end = len(line) if end < 0 else end
                if '"' in line[pos:end]:
                    return None
                pos = end
            if pos >= len(line):
                break
            pos += 1  # past the delimiter
            if pos == len(line):  # a trailing delimiter: one more, empty field
                fields += 1
                break
        if fields != ncol:
            return None
        rows.append(i)
    return rows


@given(
    text=st.text(alphabet='ab,\t"\n ', max_size=40),
    sep=st.sampled_from([",", "\t"]),
    ncol=st.integers(2, 4),
)
@example(text='x,"a\nb",y\n', sep=",", ncol=2)  # a newline inside quotes
@example(text='"a,b",c\n\nd,"e"\n', sep=",", ncol=2)  # a quoted delimiter, a blank line
@example(text="a,b\nc\nd,e,f\n", sep=",", ncol=2)  # right total, wrong lines
@example(text='"a""b",c\n', sep=",", ncol=2)  # doubled quotes
@settings(max_examples=400, deadline=None)
def test_line_layout_matches_a_field_by_field_reading(text, sep, ncol):
    got = T._line_layout(text.encode(), sep, ncol)
    want = _layout_reference(text, sep, ncol)
    if want is None:
        assert got is None
    else:
        assert got is not None and got.tolist() == want


# ---------------------------------------------------------------------------------------------
# read_matrix: one block converted in place, several blocks, gzip members across pieces
# ---------------------------------------------------------------------------------------------


def _float_of_fields(text: str, sep: str = "\t") -> np.ndarray:
    rows = [r for r in csv.reader(text.splitlines()[1:], delimiter=sep) if r]
    return np.array([[float(v) for v in r[1:]] for r in rows])


def _int_matrix_text(n: int, k: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    big = [0, 1, 2**53 + 1, 2**62 + 12345, -(2**63), 2**63 - 1, 123456789012345678]
    values = rng.choice(big, size=(n, k)).astype(object)
    small = rng.random((n, k)) < 0.5
    values[small] = rng.integers(0, 50, size=int(small.sum()))
    lines = ["gene\t" + "\t".join(f"S{j}" for j in range(k))]
    lines += [f"G{i:05d}\t" + "\t".join(str(v) for v in row) for i, row in enumerate(values)]
    return "\n".join(lines) + "\n"


def test_read_matrix_all_integers_exact(tmp_path):
    """An all-integer block is converted to float in its own memory: every value equals
    float() of its field (int64 beyond 2**53 included)."""
    text = _int_matrix_text(500, 6, 0)
    path = tmp_path / "ints.tsv"
    path.write_text(text)
    fast, careful, used = _matrix_paths(path)
    assert used
    _assert_same(fast, careful)
    assert np.array_equal(_bits(fast[0].to_numpy()), _bits(_float_of_fields(text)))


@pytest.mark.parametrize("kind", ["ints", "floats", "text_na"])
def test_read_matrix_several_blocks_same_as_careful(tmp_path, monkeypatch, kind):
    """Blocks of a few rows (blank lines among them) give the careful reader's matrix."""
    monkeypatch.setattr(M, "_BLOCK_VALUES", 40)  # 10 rows per block at 4 columns
    rng = np.random.default_rng(5)
    lines = ["gene\tA\tB\tC"]
    for i in range(97):
        if kind == "ints":
            cells = [str(v) for v in rng.integers(0, 9, 3)]
        else:
            cells = [repr(float(v)) for v in rng.normal(0, 10, 3)]
            if kind == "text_na" and i % 7 == 0:
                cells[1] = "NA"
        lines.append(f"g{i:03d}\t" + "\t".join(cells))
        if i % 13 == 5:
            lines.append("")
    text = "\n".join(lines) + "\n"
    path = tmp_path / "m.tsv"
    path.write_text(text)
    fast, careful, used = _matrix_paths(path)
    assert used
    _assert_same(fast, careful)
    assert fast[0].shape == (97, 3)
    if kind != "text_na":
        assert np.array_equal(_bits(fast[0].to_numpy()), _bits(_float_of_fields(text)))


def test_gzip_members_across_input_pieces(tmp_path):
    """Concatenated gzip members, the first longer than one 1 MiB input piece."""
    rng = np.random.default_rng(9)
    values = rng.normal(size=(25_000, 8))
    lines = ["gene\t" + "\t".join(f"S{j}" for j in range(8))]
    lines += [f"g{i}\t" + "\t".join(repr(float(v)) for v in row) for i, row in enumerate(values)]
    text = "\n".join(lines) + "\n"
    cut = text.index("\n", len(text) * 3 // 4) + 1
    first, second = gzip.compress(text[:cut].encode()), gzip.compress(text[cut:].encode())
    assert len(first) > 1 << 20
    path = tmp_path / "m.tsv.gz"
    path.write_bytes(first + second)
    got = read_matrix(path)
    assert np.array_equal(_bits(got.to_numpy()), _bits(values))
    path.write_bytes(first + second[:-9])  # truncated
    with pytest.raises(ValueError, match="damaged or truncated gzip"):
        read_matrix(path)
