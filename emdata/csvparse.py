"""Robust CSV parsing for uploads: any bytes in, a table or ONE clear :class:`DataError` out.

What it handles (each case has its own message, see ``tests/test_emdata_csv.py``):
size limit, empty file, binary files renamed ``.csv`` (Excel, ZIP, PDF, images, pickles),
UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252 / Latin-1, comma / semicolon / tab /
pipe delimiters, header or not, ragged rows (left out and counted), thousands separators
and decimal commas (converted and stated, or refused when ambiguous), text in numeric
columns (cells remembered so the rows can be counted when dropped).

Nothing is executed or unpickled: the bytes are only decoded as text and split.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from emdata.errors import DataError

__all__ = ["ParsedTable", "parse_csv", "MAX_UPLOAD_MB", "MAX_UPLOAD_BYTES", "MAX_COLUMNS"]


def _configured_upload_mb(default: int = 20) -> int:
    """``[server] maxUploadSize`` from ``.streamlit/config.toml`` (the one place it is set)."""
    path = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"
    try:
        with open(path, "rb") as f:
            return int(tomllib.load(f)["server"]["maxUploadSize"])
    except (OSError, KeyError, ValueError, TypeError, tomllib.TOMLDecodeError):
        return default


#: Upload limit in megabytes, the same as Streamlit's (AppTest bypasses Streamlit's check).
MAX_UPLOAD_MB = _configured_upload_mb()
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
#: More columns than this are refused (nobody picks from 1,000 columns).
MAX_COLUMNS = 1000

_DELIMITERS = ["\t", ";", ",", "|"]  # preference order when several split consistently
_DELIM_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_MISSING = {"", "na", "n/a", "#n/a", "nan", "null", "none", "-", "?", "."}

_PLAIN = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|infinity)", re.I)
_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d*)?")  # 1,234,567.89
_DECIMAL_COMMA = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d*),\d+")  # 12,5 or 1.234,5
_AMBIGUOUS = re.compile(r"[+-]?[1-9]\d{0,2},\d{3}")  # 1,234: a thousand or one point two?

_MAGIC = [
    (b"PK\x03\x04", "excel"),
    (b"\xd0\xcf\x11\xe0", "excel"),
    (b"%PDF", "binary"),
    (b"\x89PNG", "binary"),
    (b"GIF8", "binary"),
    (b"\xff\xd8\xff", "binary"),
    (b"\x1f\x8b", "binary"),
    (b"\x80", "binary"),  # Python pickle: never unpickled, refused as binary
]

MSG_EMPTY = "The file is empty. Upload a CSV file with a header row and at least two rows of numbers."
MSG_BINARY = (
    "This file is not text: it looks like a binary file (an image, archive or program data) "
    "renamed to .csv. Export your table as CSV (comma-separated values) and upload that file."
)
MSG_EXCEL = (
    "This is an Excel workbook (or a ZIP archive), not a CSV file. In your spreadsheet program "
    "use Save As → CSV, then upload the .csv file."
)


@dataclass
class ParsedTable:
    """An uploaded table, split into cells, with per-column numbers where they exist.

    Attributes
    ----------
    raw : DataFrame, shape (N, C)
        Every cell as the text it was in the file (stripped), columns named as in the header.
    numeric : dict of str -> ndarray, shape (N,)
        For numeric columns: the values (NaN where the cell was missing or text).
    text_cells : dict of str -> ndarray of bool, shape (N,)
        For numeric columns: True where the cell held text that is not a number.
    line_numbers : ndarray of int, shape (N,)
        Line of the file each row came from (1-based, header included), for messages.
    delimiter, encoding : str
        What was detected.
    has_header : bool
        Whether the first row was used as column names.
    notes : list of str
        Everything changed or left out while reading, one sentence each.
    """

    raw: pd.DataFrame
    numeric: dict
    text_cells: dict
    line_numbers: np.ndarray
    delimiter: str
    encoding: str
    has_header: bool
    notes: list = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """Column names, in file order."""
        return list(self.raw.columns)

    @property
    def n_rows(self) -> int:
        """Number of data rows N."""
        return len(self.raw)

    @property
    def numeric_columns(self) -> list[str]:
        """Columns whose cells are (mostly) numbers."""
        return [c for c in self.columns if c in self.numeric]

    @property
    def text_columns(self) -> list[str]:
        """Columns that hold text (ids, item names, ...)."""
        return [c for c in self.columns if c not in self.numeric]

    @property
    def delimiter_name(self) -> str:
        """"comma", "semicolon", "tab", "pipe" or "none (one column)"."""
        return _DELIM_NAMES.get(self.delimiter, "none (one column)")

    def preview(self, n: int = 10) -> pd.DataFrame:
        """First ``n`` rows as text, for display (never rendered as HTML)."""
        return self.raw.head(n)


# ----------------------------------------------------------------------------------------------
# bytes -> text
# ----------------------------------------------------------------------------------------------


def _decode(data: bytes, notes: list) -> tuple[str, str]:
    """Decode bytes to text, refusing binary data; returns (text, encoding name)."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            raise DataError(MSG_EXCEL if kind == "excel" else MSG_BINARY)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        notes.append("The file starts with a UTF-8 byte-order mark (BOM); it was removed.")
        encoding = "utf-8"
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataError(_bad_utf8(err)) from None
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError(MSG_BINARY) from None
        encoding = "utf-16"
        notes.append("The file is in UTF-16 (as some spreadsheet programs save); it was read as such.")
    else:
        if b"\x00" in data:
            raise DataError(MSG_BINARY)
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            try:
                text, encoding = data.decode("cp1252"), "windows-1252"
            except UnicodeDecodeError:
                text, encoding = data.decode("latin-1"), "latin-1"
            notes.append(
                f"The file is not UTF-8; it was read as {encoding.capitalize()} (Latin-1). "
                "If accented letters look wrong, save the file as UTF-8 and upload it again."
            )
    if "\x00" in text:
        raise DataError(MSG_BINARY)
    sample = text[:100_000]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    if control > max(2, 0.01 * len(sample)):
        raise DataError(MSG_BINARY)
    return text, encoding


def _bad_utf8(err: UnicodeDecodeError) -> str:
    return (
        "The file starts with a UTF-8 marker but is not valid UTF-8 "
        f"(byte {err.start + 1}). Save it again as 'CSV UTF-8' and upload it."
    )


# ----------------------------------------------------------------------------------------------
# text -> rows
# ----------------------------------------------------------------------------------------------


def _rows(text: str, delimiter: str | None) -> list[list[str]]:
    if delimiter is None:
        if "\x1f" in text:
            return [[line] for line in text.splitlines()]
        delimiter = "\x1f"  # one column: still let the csv module remove the quotes
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        return list(reader)
    except csv.Error:
        raise DataError(
            "The file could not be split into fields (a quote is never closed or a field is "
            "too long). Check the quotes in the file, or export it again as CSV."
        ) from None


def _sniff_delimiter(text: str) -> str | None:
    """The delimiter that splits the first lines into the same number (≥ 2) of fields."""
    lines = [ln for ln in text.splitlines()[:60] if ln.strip()]
    if not lines:
        return None
    sample = "\n".join(lines)
    best = None
    for d in _DELIMITERS:
        if d not in sample:
            continue
        try:
            counts = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=d) if r]
        except csv.Error:
            continue
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        share = counts.count(mode) / len(counts)
        if mode >= 2 and share >= 0.8 and (best is None or share > best[1] + 1e-9):
            best = (d, share)
    if best:
        return best[0]
    # no delimiter splits consistently: take the one on most lines (ragged rows follow)
    present = [(sum(d in ln for ln in lines), d) for d in _DELIMITERS]
    n_lines, d = max(present, key=lambda t: t[0])
    return d if n_lines >= 0.5 * len(lines) and len(lines) >= 2 else None


def _is_number(s: str) -> bool:
    s = s.strip()
    return bool(_PLAIN.fullmatch(s) or _THOUSANDS.fullmatch(s) or _DECIMAL_COMMA.fullmatch(s))


def _looks_like_header(first: list[str], rest: list[list[str]]) -> bool:
    """Heuristic: the first row names the columns rather than holding data."""
    cells = [c.strip() for c in first]
    if not any(cells):
        return False
    for j, c in enumerate(cells):
        if c and not _is_number(c) and c.lower() not in _MISSING:
            below = [r[j].strip() for r in rest[:200] if j < len(r) and r[j].strip()]
            numbers = sum(_is_number(b) for b in below)
            if below and numbers / len(below) >= 0.5:
                return True  # a word on top of a column of numbers
    if all(c and not _is_number(c) for c in cells):
        # all text: a header unless its values reappear below (ids, items repeat)
        for j, c in enumerate(cells):
            if any(j < len(r) and r[j].strip() == c for r in rest[:1000]):
                return False
        return True
    return False


def _unique_names(names: list[str], notes: list) -> list[str]:
    out, seen, renamed, blank = [], set(), [], 0
    for j, n in enumerate(names):
        n = " ".join(n.split())  # collapse whitespace and newlines
        if not n:
            n = f"column {j + 1}"
            blank += 1
        base, k = n, 2
        while n in seen:
            n = f"{base} ({k})"
            k += 1
        if n != base:
            renamed.append(base)
        seen.add(n)
        out.append(n)
    if blank:
        notes.append(f"{blank} column(s) had no name and were called 'column N' by position.")
    if renamed:
        notes.append(
            f"{len(renamed)} column name(s) appeared twice; the repeats were numbered, "
            "e.g. 'x (2)'."
        )
    return out


# ----------------------------------------------------------------------------------------------
# cells -> numbers
# ----------------------------------------------------------------------------------------------


def _numeric_column(name: str, s: pd.Series, notes: list, delimiter: str | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Numbers of a column, or None when it is a text column.

    Returns (values with NaN for missing/text, mask of text cells).
    """
    stripped = s.str.strip()
    n = len(stripped)
    missing = stripped.str.lower().isin(_MISSING).to_numpy(dtype=bool)
    plain = stripped.str.fullmatch(_PLAIN.pattern, case=False).to_numpy(dtype=bool)
    thousands = np.zeros(n, dtype=bool)
    decimal = np.zeros(n, dtype=bool)
    ambiguous = np.zeros(n, dtype=bool)
    rest = ~plain & ~missing
    if rest.any():  # only cells that are not plain numbers need the slower patterns
        other = stripped[rest]
        thousands[rest] = other.str.fullmatch(_THOUSANDS.pattern).to_numpy(dtype=bool)
        decimal[rest] = other.str.fullmatch(_DECIMAL_COMMA.pattern).to_numpy(dtype=bool)
        ambiguous[rest] = other.str.fullmatch(_AMBIGUOUS.pattern).to_numpy(dtype=bool)
    present = ~missing
    numberlike = plain | thousands | decimal
    n_present = int(present.sum())
    if n_present == 0 or numberlike[present].sum() < 0.5 * n_present:
        return None
    text = present & ~numberlike

    only_thousands = thousands & ~decimal
    only_decimal = decimal & ~thousands
    has_dot = plain & stripped.str.contains(".", regex=False).to_numpy(dtype=bool)
    values = np.full(n, np.nan)
    cells = stripped[plain]
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pc.cast(pa.array(cells.astype("string[pyarrow]")), pa.float64())  # in C
        values[plain] = arr.to_numpy(zero_copy_only=False)
    except (ValueError, TypeError, ArithmeticError, ImportError):
        values[plain] = np.array(pd.to_numeric(cells, errors="coerce"), dtype=float)
    if only_decimal.any() and (only_thousands.any() or has_dot.any()):
        raise DataError(
            f"Column '{name}' mixes decimal commas (like '{stripped[only_decimal].iloc[0]}') "
            "with decimal points or thousands separators, so its numbers cannot be read "
            "reliably. Use one style for the whole column and upload again."
        )
    if only_decimal.any() or (ambiguous.any() and not only_thousands.any() and delimiter == ";"):
        conv = stripped[decimal].str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        values[decimal] = pd.to_numeric(conv, errors="coerce").to_numpy(dtype=float)
        j = int(np.flatnonzero(decimal)[0])
        notes.append(
            f"Column '{name}' uses decimal commas ('{stripped.iat[j]}' was read as "
            f"{values[j]:g}); if the commas separate thousands instead, remove them and upload again."
        )
    elif only_thousands.any() or ambiguous.any():
        conv = stripped[thousands].str.replace(",", "", regex=False)
        values[thousands] = pd.to_numeric(conv, errors="coerce").to_numpy(dtype=float)
        j = int(np.flatnonzero(thousands)[0])
        notes.append(
            f"Column '{name}' uses commas as thousands separators ('{stripped.iat[j]}' was read "
            f"as {values[j]:g}); if the commas are decimal marks instead, use a semicolon-"
            "separated file."
        )
    values[text | missing] = np.nan
    return values, text


#: Files longer than this (characters) try pandas' C parser first.
FAST_PATH_CHARS = 1_000_000


def _fast_frame(text: str, delimiter: str | None) -> pd.DataFrame | None:
    """All cells as text via pandas' C parser, for big *regular* files only.

    Regular: a delimiter, no quotes, no blank lines, every line with the same number of
    fields. Anything else returns None and goes through the csv module, which counts ragged
    and blank lines line by line.
    """
    if not delimiter or '"' in text:
        return None
    try:
        df = pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, dtype="string[pyarrow]", na_filter=False,
            skip_blank_lines=False, quoting=csv.QUOTE_NONE, engine="c",
        )
    except (ValueError, pd.errors.ParserError, csv.Error):
        return None
    if df.empty or df.isna().to_numpy().any():  # short or blank lines were padded
        return None
    return df


# ----------------------------------------------------------------------------------------------
# the parser
# ----------------------------------------------------------------------------------------------


def parse_csv(
    data: bytes,
    filename: str = "upload.csv",
    header: bool | None = None,
    max_bytes: int | None = None,
) -> ParsedTable:
    """Parse an uploaded CSV file.

    Parameters
    ----------
    data : bytes
        The file's content, exactly as uploaded.
    filename : str
        Its name (only used in messages).
    header : bool or None
        Whether the first row holds column names; None detects it.
    max_bytes : int or None
        Size limit; defaults to ``MAX_UPLOAD_BYTES`` (``maxUploadSize`` in
        ``.streamlit/config.toml``).

    Returns
    -------
    ParsedTable

    Raises
    ------
    DataError
        With one sentence (what is wrong, what to do) for every input that cannot be read.
        No other exception escapes for any bytes.
    """
    try:
        return _parse(bytes(data), filename, header, max_bytes)
    except DataError:
        raise
    except (ValueError, TypeError, OverflowError, MemoryError, RecursionError, csv.Error):
        # A last line of defence: the fuzz tests found none, but the learner must never see
        # a traceback if some byte sequence still surprises pandas or the csv module.
        raise DataError(
            f"'{filename}' could not be read as a table. Open it in a spreadsheet program, "
            "save it as CSV (UTF-8, comma-separated) and upload it again."
        ) from None


def _parse(data: bytes, filename: str, header: bool | None, max_bytes: int | None) -> ParsedTable:
    limit = MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    if len(data) > limit:
        raise DataError(
            f"The file is {len(data) / 2**20:.1f} MB, more than the {limit / 2**20:.0f} MB limit. "
            "Upload a smaller file, for example a random sample of its rows."
        )
    if not data.strip():
        raise DataError(MSG_EMPTY)
    notes: list[str] = []
    text, encoding = _decode(data, notes)
    if not text.strip():
        raise DataError(MSG_EMPTY)

    offset = 0  # lines removed from the top (for line numbers in messages)
    first, _, rest = text.partition("\n")
    hint = re.fullmatch(r'\s*"?sep=(.)"?\s*', first)
    if hint:  # Excel's "sep=;" first line names the separator
        delimiter, text, offset = hint.group(1), rest, 1
        notes.append(
            f"The first line ('{first.strip()}', a hint Excel writes) names the separator; it "
            "was used and the line skipped."
        )
        if not text.strip():
            raise DataError(MSG_EMPTY)
    else:
        delimiter = _sniff_delimiter(text)
    fast = _fast_frame(text, delimiter) if len(text) > FAST_PATH_CHARS else None
    if fast is not None:
        rows = fast.iloc[:1001].astype(object).to_numpy().tolist()  # header detection only
        line_no = np.arange(1, len(fast) + 1) + offset
    else:
        rows = _rows(text, delimiter)
        line_no = np.arange(1, len(rows) + 1) + offset  # ~ file lines (multi-line cells aside)
        # blank lines carry nothing; a line of bare delimiters (",,") is kept as a row of
        # missing values, so that it is counted when it is left out later
        lens = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        short = np.flatnonzero(lens <= 1)
        blank = [i for i in short if not (lens[i] == 1 and rows[i][0].strip())]
        keep = np.setdiff1d(np.arange(len(rows)), blank)
        n_blank_inside = int(keep[-1] - keep[0] + 1 - len(keep)) if len(keep) else 0
        if blank:
            rows = [rows[i] for i in keep]
            line_no = line_no[keep]
        if not rows:
            raise DataError(MSG_EMPTY)
        if n_blank_inside:
            notes.append(f"{n_blank_inside} empty line(s) between the rows were skipped.")
        if text.count('"') % 2 and any("\n" in c for c in rows[-1]):
            raise DataError(
                'The file has a quote (") that is never closed, so everything after it would '
                "become one cell. Remove the stray quote or close it, then upload again."
            )

    # a delimiter at the end of every line makes an empty last column: drop it
    if fast is not None:
        if fast.shape[1] >= 2 and (fast.iloc[:, -1].str.strip() == "").all():
            fast = fast.iloc[:, :-1]
            rows = [r[:-1] for r in rows]
    elif delimiter and all(len(r) >= 2 and r[-1].strip() == "" for r in rows):
        rows = [r[:-1] for r in rows]

    has_header = _looks_like_header(rows[0], rows[1:]) if header is None else bool(header)
    if has_header and len(rows) == 1:
        shown = ", ".join(c.strip() for c in rows[0])[:80]
        raise DataError(
            f"The file has a header ({shown}) but no data rows. Add the data below the header "
            "and upload again."
        )
    width = len(rows[0])
    if width > MAX_COLUMNS:
        raise DataError(
            f"The file has {width:,} columns; at most {MAX_COLUMNS:,} are supported. Keep only "
            "the columns you want to model and upload again."
        )
    names = [c.strip() for c in rows[0]] if has_header else [f"column {j + 1}" for j in range(width)]
    names = _unique_names(names, notes)
    body_lines = line_no[1:] if has_header else line_no
    if fast is not None:
        body_frame = fast.iloc[1:] if has_header else fast
        n_body = len(body_frame)
        columns = [body_frame.iloc[:, j].reset_index(drop=True) for j in range(width)]
    else:
        body = rows[1:] if has_header else rows
        good = np.fromiter(map(len, body), dtype=np.int64, count=len(body)) == width
        n_bad = int((~good).sum())
        if n_bad:
            bad_lines = body_lines[~good]
            if n_bad > 0.5 * len(body):
                raise DataError(
                    f"Most rows do not have the {width} field(s) of the first row (e.g. line "
                    f"{bad_lines[0]} has {len(body[int(np.flatnonzero(~good)[0])])}). Check the "
                    "delimiter and the quotes, or export the table again as CSV."
                )
            shown = ", ".join(str(x) for x in bad_lines[:5]) + (", …" if n_bad > 5 else "")
            notes.append(
                f"Left out {n_bad} row(s) that do not have {width} fields like the first row "
                f"({'line' if n_bad == 1 else 'lines'} {shown}). Fix those lines if you need them."
            )
            body = [r for r, g in zip(body, good, strict=True) if g]
            body_lines = body_lines[good]
        n_body = len(body)
        columns = list(zip(*body, strict=True)) if body else []
    if n_body == 0:
        raise DataError(MSG_EMPTY)
    if n_body == 1:
        raise DataError(
            "The file has only one data row. A mixture model needs many rows (at least a few "
            "dozen): upload the whole table."
        )

    # column-wise Arrow strings: the string operations below then run in C
    raw = pd.DataFrame(
        {name: pd.Series(col, dtype="string[pyarrow]").str.strip() for name, col in zip(names, columns, strict=True)}
    )
    numeric, text_cells = {}, {}
    for name in names:
        res = _numeric_column(name, raw[name], notes, delimiter)
        if res is not None:
            numeric[name], text_cells[name] = res
    return ParsedTable(
        raw=raw,
        numeric=numeric,
        text_cells=text_cells,
        line_numbers=np.asarray(body_lines, dtype=np.int64),
        delimiter=delimiter or "",
        encoding=encoding,
        has_header=has_header,
        notes=notes,
    )
