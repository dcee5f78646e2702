"""The upload parser: the bad-file catalogue (exact messages), fuzzing, preparation, exports."""

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import emdata
from emdata import csvparse

BAD = Path(__file__).parent / "fixtures" / "bad_csv"
_BINARY = (
    "This file is not text: it looks like a binary file (an image, archive or program data) "
    "renamed to .csv. Export your table as CSV (comma-separated values) and upload that file."
)
_KEEP = "The other {} are used; fix those lines in the file if you need them."

#: file -> ("error", the one message) or ("note", a message that must be among the notes).
#: The page test (tests/test_page_your_data.py) asserts the same messages on screen.
CATALOGUE = {
    "empty.csv": ("error", "The file is empty. Upload a CSV file with a header row and at least two rows of numbers."),
    "whitespace_only.csv": ("error", "The file is empty. Upload a CSV file with a header row and at least two rows of numbers."),
    "header_only.csv": ("error", "The file has a header (height, weight) but no data rows. Add the data below the header and upload again."),
    "one_row.csv": ("error", "The file has only one data row. A mixture model needs many rows (at least a few dozen): upload the whole table."),
    "fewer_distinct_than_k.csv": ("error", "The data have only 2 distinct point(s), fewer than the K = 3 components asked for. Choose K ≤ 2, or upload more varied data."),
    "constant_column.csv": ("error", "Column 'y' has the same value (5) in every usable row, so it cannot tell groups apart and its variance is zero. Pick another column."),
    "text_in_numeric.csv": ("note", "Left out 1 of 31 rows: 1 with text in a numeric column (line 14: 'abc'). " + _KEEP.format("30 rows")),
    "excel_sep_line.csv": ("note", "The first line ('sep=;', a hint Excel writes) names the separator; it was used and the line skipped."),
    "semicolon_text_in_numbers.csv": ("note", "Left out 1 of 5 rows: 1 with text in a numeric column (line 4: 'n/a?'). " + _KEEP.format("4 rows")),
    "thousands_separators.csv": ("note", "Column 'price' uses commas as thousands separators ('185,029' was read as 185029); if the commas are decimal marks instead, use a semicolon-separated file."),
    "thousands_in_quotes.csv": ("note", "Column 'price' uses commas as thousands separators ('1,200' was read as 1200); if the commas are decimal marks instead, use a semicolon-separated file."),
    "decimal_commas.csv": ("note", "Column 'x' uses decimal commas ('0,346' was read as 0.346); if the commas separate thousands instead, remove them and upload again."),
    "mixed_decimal_styles.csv": ("error", "Column 'x' mixes decimal commas (like '1,5') with decimal points or thousands separators, so its numbers cannot be read reliably. Use one style for the whole column and upload again."),
    "huge_magnitudes.csv": ("note", "Column 'assets' has a standard deviation of 1.1e+12; it is fitted in units of 1e12 (values divided by 1e12) so that the numbers stay readable and the regularisation keeps its meaning."),
    "tiny_magnitudes.csv": ("note", "Column 'size' has a standard deviation of 4.7e-13; it is fitted in units of 1e-13 (values divided by 1e-13) so that the numbers stay readable and the regularisation keeps its meaning."),
    "duplicated_rows.csv": ("note", "5 of 25 rows repeat an earlier row exactly. They are kept as separate observations; remove them from the file if they are copies by mistake."),
    "binary_png.csv": ("error", _BINARY),
    "random_binary.csv": ("error", _BINARY),
    "pickle_renamed.csv": ("error", _BINARY),
    "excel_renamed.csv": ("error", "This is an Excel workbook (or a ZIP archive), not a CSV file. In your spreadsheet program use Save As → CSV, then upload the .csv file."),
    "latin1.csv": ("note", "The file is not UTF-8; it was read as Windows-1252 (Latin-1). If accented letters look wrong, save the file as UTF-8 and upload it again."),
    "bom.csv": ("note", "The file starts with a UTF-8 byte-order mark (BOM); it was removed."),
    "utf16.csv": ("note", "The file is in UTF-16 (as some spreadsheet programs save); it was read as such."),
    "ragged_rows.csv": ("note", "Left out 2 row(s) that do not have 2 fields like the first row (lines 10, 23). Fix those lines if you need them."),
    "mostly_ragged.csv": ("error", "Most rows do not have the 2 field(s) of the first row (e.g. line 2 has 3). Check the delimiter and the quotes, or export the table again as CSV."),
    "unclosed_quote.csv": ("error", 'The file has a quote (") that is never closed, so everything after it would become one cell. Remove the stray quote or close it, then upload again.'),
    "nan_and_inf.csv": ("note", "Left out 4 of 24 rows: 2 with a missing value (lines 7, 10); 2 with an infinite value (lines 8, 9). " + _KEEP.format("20 rows")),
    "all_rows_missing.csv": ("error", "No row has a number in every chosen column (cells are empty, text or infinite). Pick other columns or fill in the numbers, then upload again."),
    "all_text.csv": ("error", "No column holds numbers, and the table is not a basket list (basket id, item[, quantity]). Upload numeric columns, a counts matrix, or a basket list."),
    "too_many_columns.csv": ("error", "The file has 1,001 columns; at most 1,000 are supported. Keep only the columns you want to model and upload again."),
    "duplicate_column_names.csv": ("note", "1 column name(s) appeared twice; the repeats were numbered, e.g. 'x (2)'."),
    "unnamed_column.csv": ("note", "1 column(s) had no name and were called 'column N' by position."),
    "long_missing_basket_id.csv": ("note", "Left out 1 of 7 lines: 1 with no basket id (line 4). " + _KEEP.format("6 lines")),
    "long_bad_quantities.csv": ("note", "Left out 3 of 7 lines: 1 with text as quantity (line 6); 1 with a negative quantity (line 3); 1 with a fractional quantity (line 4). " + _KEEP.format("4 lines")),
    "long_one_item.csv": ("error", "Only one distinct item ('milk') is left; a mixture of multinomials needs at least two kinds of item. Check the item column."),
    "long_all_zero.csv": ("error", "Every basket is empty (all quantities are 0). Check the quantity column."),
    "counts_bad_rows.csv": ("note", "Left out 3 of 20 rows: 1 with a negative count (line 4); 1 with a fractional count (line 5); 1 with no items at all (line 3). " + _KEEP.format("17 rows")),
}
#: K asked for where it matters (the rest use K = 2).
K_FOR = {"fewer_distinct_than_k.csv": 3}


def run_pipeline(data: bytes, name: str, k: int = 2):
    """What the page does with the defaults: parse, propose, prepare, check K.

    Returns (error message or None, notes, prepared or None).
    """
    try:
        table = emdata.parse_csv(data, name)
        p = emdata.propose_model(table)
        prep = emdata.prepare(table, p.model, p.columns, p.basket, p.item, p.quantity)
        emdata.check_n_components(prep.X, k)
    except emdata.DataError as err:
        return str(err), [], None
    return None, table.notes + prep.notes, prep


def test_catalogue_is_complete():
    files = sorted(p.name for p in BAD.glob("*.csv"))
    assert files == sorted(CATALOGUE), "every fixture has its message, and vice versa"
    assert len(CATALOGUE) + 1 >= 31  # + the over-size file made at run time


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_bad_file_gets_its_exact_message(name):
    kind, message = CATALOGUE[name]
    error, notes, prep = run_pipeline((BAD / name).read_bytes(), name, K_FOR.get(name, 2))
    if kind == "error":
        assert error == message
    else:
        assert error is None, error
        assert message in notes
        assert prep.X.shape[0] >= 2 and np.isfinite(prep.X).all()


def test_over_size_limit_file_is_refused_before_parsing():
    data = b"x,y\n" + b"1.234567,7.654321\n" * (50 * 2**20 // 18)  # ~50 MB, made at run time
    assert len(data) > emdata.MAX_UPLOAD_BYTES
    with pytest.raises(emdata.DataError) as err:
        emdata.parse_csv(data, "big.csv")
    assert str(err.value) == (
        "The file is 50.0 MB, more than the 20 MB limit. "
        "Upload a smaller file, for example a random sample of its rows."
    )


def test_upload_limit_matches_streamlit_config():
    import tomllib

    cfg = tomllib.loads((Path(__file__).parents[1] / ".streamlit" / "config.toml").read_text())
    assert emdata.MAX_UPLOAD_MB == cfg["server"]["maxUploadSize"] == 20


# ---- what is kept is right ----------------------------------------------------------------


def test_valid_rows_are_kept_exactly():
    rows = [(f"{a:.4f}", f"{b:.4f}") for a, b in np.random.default_rng(3).normal(size=(30, 2))]
    text = "x,y\n" + "\n".join(",".join(r) for r in rows[:10]) + "\n1.0,oops\n,2\n"
    text += "\n".join(",".join(r) for r in rows[10:]) + "\n"
    error, notes, prep = run_pipeline(text.encode(), "t.csv")
    assert error is None
    np.testing.assert_array_equal(prep.X, np.array(rows, dtype=float))
    assert prep.dropped == {"text": 1, "missing": 1, "infinite": 0}
    assert list(prep.line_numbers[:11]) == list(range(2, 12)) + [14]


def test_delimiters_encodings_and_headers():
    body = [[1.5, 2.0], [3.25, -4.0], [5.0, 6.5]]
    for sep in [",", ";", "\t", "|"]:
        for enc in ["utf-8", "utf-8-sig", "utf-16", "latin-1"]:
            for header in [True, False]:
                lines = ([sep.join(["größe", "b"])] if header else []) + [
                    sep.join(str(v) for v in r) for r in body
                ]
                t = emdata.parse_csv("\r\n".join(lines).encode(enc), "f.csv")
                assert t.has_header is header and t.delimiter == sep
                if header:
                    assert t.columns == ["größe", "b"]
                X = np.column_stack([t.numeric[c] for c in t.columns])
                np.testing.assert_array_equal(X, body)


def test_header_can_be_forced():
    t = emdata.parse_csv(b"1,2\n3,4\n5,6\n", "f.csv", header=True)
    assert t.columns == ["1", "2"] and t.n_rows == 2


def test_gaussian_rescaling_is_a_power_of_ten_and_stated():
    t = emdata.parse_csv(b"a,b\n1e12,1\n3e12,2\n2e12,4\n", "f.csv")
    p = emdata.gaussian_matrix(t, ["a", "b"])
    np.testing.assert_array_equal(p.scale, [1e11, 1.0])
    np.testing.assert_allclose(p.X[:, 0], [10.0, 30.0, 20.0])
    assert p.feature_names == ["a (×1e11)", "b"]


def test_row_limit_samples_with_stated_seed():
    t = emdata.parse_csv(("x\n" + "\n".join(str(i % 97 + 0.5) for i in range(500))).encode())
    p = emdata.gaussian_matrix(t, ["x"], max_rows=100)
    assert p.X.shape == (100, 1)
    assert any("random sample of 100 rows (seed 0)" in n for n in p.notes)
    rng = np.random.default_rng(emdata.SAMPLE_SEED)
    idx = np.sort(rng.choice(500, size=100, replace=False))
    np.testing.assert_array_equal(p.X[:, 0], t.numeric["x"][idx])


def test_long_table_counts_match_a_crosstab():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "basket_id": rng.integers(0, 40, 400),
            "item": rng.choice(["milk", "bread", "eggs", "jam", "tea"], 400),
            "quantity": rng.integers(1, 4, 400),
        }
    )
    t = emdata.parse_csv(df.to_csv(index=False).encode())
    p = emdata.propose_model(t)
    assert (p.model, p.basket, p.item, p.quantity) == ("long", "basket_id", "item", "quantity")
    prep = emdata.prepare(t, p.model, basket=p.basket, item=p.item, quantity=p.quantity)
    ref = pd.crosstab(df.basket_id.astype(str), df.item, values=df.quantity, aggfunc="sum").fillna(0)
    ref = ref.loc[prep.row_names, prep.feature_names]
    np.testing.assert_array_equal(prep.X, ref.to_numpy(dtype=np.int64))


@pytest.mark.parametrize(
    ("text", "model"),
    [
        (b"price\n1\n2\n3\n", "gmm1d"),
        (b"id,a,b\n1,0.5,2\n2,1.5,3\n3,2.5,1\n", "gmm"),
        (b"a,b,c\n0,1,3\n2,0,0\n0,0,1\n1,1,0\n", "counts"),
        (b"order,product\n7,milk\n7,tea\n8,milk\n", "long"),
    ],
)
def test_model_proposal(text, model):
    p = emdata.propose_model(emdata.parse_csv(text))
    assert p.model == model
    if model == "gmm":
        assert p.columns == ["a", "b"]  # the row-number column is not proposed


# ---- fuzzing: any bytes -> a table or a DataError, nothing else ------------------------------

_cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**15), 10**15).map(str),
    st.sampled_from(["", "NA", "abc", '"', "1,5", "1,234", "1.234,5", "=cmd|x", "\x00", "é", "inf"]),
    st.text(max_size=6),
)


@given(st.binary(max_size=600))
def test_fuzz_any_bytes(data):
    _fuzz_one(data)


@given(
    st.lists(st.lists(_cells, min_size=1, max_size=4), min_size=0, max_size=12),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]),
)
def test_fuzz_table_like_text(rows, sep, encoding):
    text = "\n".join(sep.join(r) for r in rows)
    _fuzz_one(text.encode(encoding, errors="replace"))


def _fuzz_one(data: bytes):
    try:
        t = csvparse._parse(data, "fuzz.csv", None, None)  # strict: no safety net
    except emdata.DataError as err:
        assert str(err) and "Traceback" not in str(err)
        return
    assert t.n_rows >= 2 and len(t.columns) >= 1
    for c, v in t.numeric.items():
        assert v.shape == (t.n_rows,) and t.text_cells[c].shape == (t.n_rows,)
    try:
        p = emdata.propose_model(t)
        prep = emdata.prepare(t, p.model, p.columns, p.basket, p.item, p.quantity)
    except emdata.DataError:
        return
    assert np.isfinite(prep.X).all() and prep.X.shape[0] >= 1


# ---- exports --------------------------------------------------------------------------------


def test_safe_csv_neutralises_formulas_and_keeps_numbers():
    df = pd.DataFrame(
        {
            "=HYPERLINK(\"x\")": ["=cmd|' /C calc'!A0", "+1+2", "-2+3", "@SUM(A1)", "\tx", "\r=1", "ok", "-1.5"],
            "value": [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "count": np.arange(-4, 4),
        }
    )
    out = list(csv.reader(io.StringIO(emdata.safe_csv(df).decode("utf-8"))))
    assert out[0] == ["'=HYPERLINK(\"x\")", "value", "count"]
    first = [r[0] for r in out[1:]]
    assert first == ["'=cmd|' /C calc'!A0", "'+1+2", "'-2+3", "'@SUM(A1)", "'\tx", "'\r=1", "ok", "-1.5"]
    assert [r[1] for r in out[1:]] == ["-1.5", "2.0", "-3.0", "4.0", "5.0", "6.0", "7.0", "8.0"]
    assert [r[2] for r in out[1:]] == [str(i) for i in range(-4, 4)]
    for row in out:  # no cell a spreadsheet would evaluate
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")) or cell[0] == "'"


def test_safe_csv_from_array_and_index():
    out = emdata.safe_csv(np.array([[1.0, -2.0]]), columns=["-a", "b"]).decode()
    assert out == '"\'-a","b"\n1.0,-2.0\n'
    df = pd.DataFrame({"x": [1]}, index=["=1+1"])
    assert emdata.safe_csv(df, index=True).decode().splitlines()[1] == '"\'=1+1",1'


def test_fast_path_for_big_files_matches_the_line_by_line_parser(monkeypatch):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(3_000, 3)) * [1, 1e3, 1e-3]
    text = "a;b;c\n" + "\n".join(";".join(f"{v:.6g}" for v in row) for row in X) + "\n"
    monkeypatch.setattr(csvparse, "FAST_PATH_CHARS", 10_000)  # "big" for this test
    assert len(text) > csvparse.FAST_PATH_CHARS
    fast = emdata.parse_csv(text.encode())
    monkeypatch.setattr(csvparse, "FAST_PATH_CHARS", 10**12)
    slow = emdata.parse_csv(text.encode())
    assert fast.columns == slow.columns == ["a", "b", "c"] and fast.delimiter == ";"
    for c in fast.columns:
        np.testing.assert_array_equal(fast.numeric[c], slow.numeric[c])
    np.testing.assert_array_equal(fast.line_numbers, slow.line_numbers)
    # a ragged line sends a big file down the counting path: still counted, not lost
    monkeypatch.setattr(csvparse, "FAST_PATH_CHARS", 10_000)
    lines = text.splitlines()
    lines[500] += ";9"
    t = emdata.parse_csv(("\n".join(lines) + "\n").encode())
    assert t.n_rows == 2_999
    assert "Left out 1 row(s) that do not have 3 fields like the first row (line 501)." in t.notes[0]


def test_wide_gaussian_tables_are_capped_and_sampled_by_cells(monkeypatch):
    rng = np.random.default_rng(2)
    header = ",".join(f"c{j}" for j in range(25))
    body = "\n".join(",".join(f"{v:.3f}" for v in row) for row in rng.normal(size=(40, 25)))
    t = emdata.parse_csv((header + "\n" + body + "\n").encode())
    p = emdata.propose_model(t)
    assert p.model == "gmm" and p.columns == [f"c{j}" for j in range(20)]
    with pytest.raises(emdata.DataError) as err:
        emdata.gaussian_matrix(t, t.columns)
    assert str(err.value) == (
        "25 columns are chosen; a Gaussian mixture here fits at most 20 at once. "
        "Pick the columns that matter most."
    )
    import importlib

    module = importlib.import_module("emdata.prepare")  # (emdata.prepare is also a function)
    monkeypatch.setattr(module, "MAX_GAUSS_CELLS", 400)  # the real one is 400,000
    wide = emdata.parse_csv(("a,b,c,d\n" + "\n".join(
        ",".join(f"{v:.3f}" for v in row) for row in rng.normal(size=(120, 4))) + "\n").encode())
    prep = emdata.gaussian_matrix(wide, wide.columns)
    assert prep.X.shape == (100, 4)
    assert any("a random sample of 100 rows (seed 0)" in n for n in prep.notes)


@given(
    st.lists(st.lists(_cells, min_size=3, max_size=3), min_size=2, max_size=15),
    st.sampled_from(list(emdata.MODELS)),
    st.lists(st.integers(0, 2), max_size=3),
    st.integers(1, 4),
)
def test_fuzz_any_model_and_columns(rows, model, picks, k):
    """Whatever the learner picks on whatever table: data, or one DataError."""
    text = "\n".join(["a,b,c"] + [",".join(c.replace(",", ";") for c in r) for r in rows])
    try:
        t = emdata.parse_csv(text.encode("utf-8", errors="replace"))
        cols = [t.columns[j] for j in picks if j < len(t.columns)]
        basket, item = (t.columns + t.columns)[: 2] if len(t.columns) >= 2 else (None, None)
        quantity = t.columns[2] if len(t.columns) > 2 and 2 in picks else None
        prep = emdata.prepare(t, model, cols, basket, item, quantity)
        emdata.check_n_components(prep.X, k)
    except emdata.DataError as err:
        assert str(err)
        return
    assert np.isfinite(prep.X).all() and prep.X.shape[0] >= 2
