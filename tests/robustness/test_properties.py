"""Property tests: read_table round trips, and design/contrast parsing never evaluates text."""

from __future__ import annotations

import contextlib
import re
import string
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import degbridge
from degbridge import DETable, read_table
from degbridge.de.contrasts import parse_contrast
from degbridge.de.formula import design_from_formula, validate_formula
from degbridge.io.table import NA_TOKENS
from degbridge.io.table_reader import _EXCEL_DATE

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# gene IDs as they come: letters, digits, leading zeros, dots, dashes, Unicode, spaces inside
id_chars = st.characters(
    blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\r\n\x85\ufeff"
)
gene_id = (
    st.text(id_chars, min_size=1, max_size=14)
    .map(str.strip)
    .filter(
        lambda g: (
            g != "" and g not in NA_TOKENS and not g.startswith("#") and not _EXCEL_DATE.match(g)
        )
    )
)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
pvalue = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def de_tables(draw):
    n = draw(st.integers(min_value=1, max_value=25))
    ids = draw(st.lists(gene_id, min_size=n, max_size=n, unique=True))
    cols = {}
    cols["logFC"] = draw(st.lists(finite, min_size=n, max_size=n))
    if draw(st.booleans()):
        cols["AveExpr"] = draw(st.lists(finite, min_size=n, max_size=n))
    p = draw(st.lists(pvalue, min_size=n, max_size=n))
    cols["P.Value"] = p
    if draw(st.booleans()):
        cols["adj.P.Val"] = [min(1.0, v * 3) for v in p]
    if draw(st.booleans()):
        cols["B"] = draw(st.lists(finite, min_size=n, max_size=n))
    extra_name = draw(st.text(string.ascii_letters + "_", min_size=1, max_size=8)).strip()
    extra = "x_" + extra_name
    values = draw(st.lists(st.one_of(finite, st.just(np.nan)), min_size=n, max_size=n))
    assume(not all(np.isnan(v) for v in values))
    cols[extra] = values
    frame = pd.DataFrame(cols, index=pd.Index(ids, dtype=object))
    return DETable(frame)


@SETTINGS
@given(table=de_tables(), ext=st.sampled_from([".tsv", ".csv", ".tsv.gz", ".txt"]))
def test_write_then_read_gives_the_same_table(tmp_path, table, ext):
    path = tmp_path / f"table{ext}"
    table.write(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", degbridge.ColumnAliasWarning)
        back = read_table(path)
    pd.testing.assert_frame_equal(
        pd.DataFrame(back), pd.DataFrame(table), check_exact=True, check_index_type=False
    )


# ---------------------------------------------------------------------------------------
# contrasts: arbitrary text never evaluates; valid expressions round trip
# ---------------------------------------------------------------------------------------

COLUMNS = ["control", "treated", "dose", "cell.line_2", "(Intercept)"]


@SETTINGS
@given(text=st.text(max_size=40))
def test_arbitrary_contrast_text_parses_or_raises_valueerror(text):
    try:
        vec = parse_contrast(text, COLUMNS)
    except ValueError as err:
        assert str(err)
        return
    assert vec.shape == (len(COLUMNS),) and np.isfinite(vec).all() and np.any(vec)


@SETTINGS
@given(
    coefs=st.lists(
        st.fractions(min_value=-5, max_value=5, max_denominator=8).filter(lambda f: f != 0),
        min_size=1,
        max_size=4,
    ),
    names=st.permutations(COLUMNS),
)
def test_valid_contrasts_round_trip(coefs, names):
    terms = []
    expected = np.zeros(len(COLUMNS))
    for coef, name in zip(coefs, names):
        expected[COLUMNS.index(name)] += float(coef)
        quoted = name if re.fullmatch(r"[A-Za-z.][A-Za-z0-9._]*", name) else f"`{name}`"
        frac = Fraction(coef)
        sign = "-" if frac < 0 else "+"
        mag = abs(frac)
        factor = (
            f"{mag.numerator}*{quoted}/{mag.denominator}"
            if mag.denominator != 1
            else f"{mag.numerator}*{quoted}"
        )
        terms.append(f" {sign} {factor}")
    text = "".join(terms)
    assume(np.any(expected))
    np.testing.assert_allclose(parse_contrast(text, COLUMNS), expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------
# formulas: only placeholders ever reach formulaic
# ---------------------------------------------------------------------------------------

SAMPLES = pd.DataFrame(
    {
        "dex": ["a", "b"] * 4,
        "cell": list("wwxxyyzz"),
        "age": np.arange(8.0),
        "odd name": list("pqpqpqpq"),
    },
    index=[f"s{i}" for i in range(8)],
)


@SETTINGS
@given(text=st.text(alphabet=string.printable, max_size=40))
def test_arbitrary_formula_text_never_reaches_formulaic(text, monkeypatch):
    import formulaic

    seen = []
    real = formulaic.model_matrix

    def spy(formula, *args, **kwargs):
        seen.append(formula)
        return real(formula, *args, **kwargs)

    monkeypatch.setattr(formulaic, "model_matrix", spy)
    formula = "~" + text
    with contextlib.suppress(ValueError):
        design_from_formula(formula, SAMPLES)
    for f in seen:
        assert re.fullmatch(r"~[ _v0-9+\-:*()]*", f), f  # placeholders and operators only


@SETTINGS
@given(text=st.text(max_size=30))
def test_validate_formula_tokens_are_known(text):
    try:
        tokens = validate_formula("~" + text, list(SAMPLES.columns))
    except ValueError:
        return
    for kind, value in tokens:
        assert kind in ("var", "factor", "num", "op", "basis")
        if kind in ("var", "factor"):
            assert value in SAMPLES.columns
        if kind == "basis":  # ns/bs/poly of a known column with a positive integer df
            assert value.fn in ("ns", "bs", "poly") and value.column in SAMPLES.columns
            assert isinstance(value.df, int) and value.df >= 1
        if kind == "num":
            assert value in ("0", "1")


@pytest.mark.r
@SETTINGS
@given(text=st.text(max_size=30))
def test_run_limma_never_calls_r_with_a_bad_contrast(text, monkeypatch):
    from degbridge.r import _session

    def forbidden(*args, **kwargs):
        raise AssertionError("R was called")

    assume(text.strip() not in ("b", "a") and not re.fullmatch(r"[\s+\-*/().\dab`]*", text))
    monkeypatch.setattr(_session, "call", forbidden)
    expr = pd.DataFrame(
        np.random.default_rng(0).normal(size=(10, 4)), index=[f"g{i}" for i in range(10)]
    )
    with pytest.raises(ValueError):
        degbridge.run_limma(expr, groups=list("aabb"), contrast=text)
