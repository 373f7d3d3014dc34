"""``read``: files, DuckDB SQL and table objects into a :class:`~dawn.data.Frame`.

One function reads every source dawn accepts:

- a path (``str`` or ``Path``) to CSV / TSV (optionally ``.gz``, ``.bz2``, ``.zst``),
  Parquet (a file or a folder of files), JSON (an array of objects or one object per
  line), Arrow IPC / Feather, or a DuckDB database file (``.duckdb``, with ``table=`` or
  ``query=``);
- ``query="SELECT ..."``: DuckDB SQL, which can read files itself
  (``FROM 'rows.csv'``) or the tables named in ``tables={"events": df}``; with a
  ``source`` as well, that source is the table ``data``;
- a pandas / polars DataFrame, a pyarrow Table, a dict of columns or a Frame.

CSV types
---------
CSV cells are text; dawn keeps a column as text unless *every* value converts:
whole numbers → ``int64``, other numbers → ``float64``, ``true``/``false`` → ``bool``,
ISO-8601 date-times → ``timestamp``. A column in which any value has a leading zero
(``"007"``, ``"02134"``) or whose whole numbers do not fit in 64 bits stays text, so
identifiers and postal codes are never silently turned into numbers. In text columns an
empty cell is a missing value; in other columns ``NA``, ``null``, ``nan`` and the like
are missing too. To choose types yourself, read with pandas or pyarrow and pass the
table object.

>>> import pandas as pd
>>> f = read(pd.DataFrame({"zip": ["02134", "10001"], "n": [1, 2]}))
>>> f.columns, len(f)
(['zip', 'n'], 2)
>>> read(query="SELECT 41 + 1 AS answer").numpy("answer").tolist()
[42]
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from dawn.data.frame import Frame, as_frame
from dawn.errors import (
    ColumnNotFoundError,
    DataError,
    EmptyDataError,
    SchemaError,
    SourceNotFoundError,
    close_matches,
)

__all__ = ["FORMATS", "check_schema", "fingerprint", "read"]

#: File extensions ``read`` recognises, and the format each means.
FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
    ".duckdb": "duckdb",
    ".ddb": "duckdb",
}
_COMPRESSED = {".gz", ".bz2", ".zst", ".lz4"}
_NULL_TOKENS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                "1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null", "None"]
_TIMESTAMP_TYPES = (pa.timestamp("s"), pa.timestamp("ns"),
                    pa.timestamp("s", tz="UTC"), pa.timestamp("ns", tz="UTC"))


def read(
    source: Any = None,
    *,
    query: str | None = None,
    tables: Mapping[str, Any] | None = None,
    table: str | None = None,
    format: str | None = None,
    columns: Iterable[str] | None = None,
    allow_empty: bool = False,
) -> Frame:
    """Read a file, a DuckDB query or a table object into a :class:`Frame`.

    Parameters
    ----------
    source
        A path (``str`` / ``Path``) or a pandas / polars / pyarrow / dict table.
        Optional when ``query`` is given.
    query
        DuckDB SQL. Alone, it runs in a fresh in-memory database (relative file names
        resolve against the working directory); with a ``.duckdb`` ``source`` it runs
        inside that database; with any other ``source`` that source is the table ``data``.
    tables
        Extra tables for ``query``, by name: table objects or paths.
    table
        The table to read from a ``.duckdb`` file (optional when it holds exactly one).
    format
        ``"csv"``, ``"tsv"``, ``"parquet"``, ``"json"``, ``"arrow"`` or ``"duckdb"``;
        by default taken from the file's extension.
    columns
        Keep only these columns, in this order.
    allow_empty
        Return an empty Frame instead of raising :class:`EmptyDataError` for zero rows.

    Returns
    -------
    Frame

    Raises
    ------
    SourceNotFoundError
        A file, folder or database table that does not exist (close names suggested).
    ColumnNotFoundError
        A name in ``columns`` that is not in the data.
    EmptyDataError
        No rows, unless ``allow_empty=True``.
    DataError
        An unknown format, a malformed file, or SQL that DuckDB rejects.

    Examples
    --------
    >>> import pyarrow as pa
    >>> events = pa.table({"user": ["a", "b", "a"], "n": [1, 2, 3]})
    >>> f = read(query="SELECT user, sum(n)::BIGINT AS n FROM events GROUP BY user ORDER BY user",
    ...          tables={"events": events})
    >>> f.strings("user").tolist(), f.numpy("n").tolist()
    (['a', 'b'], [4, 2])
    """
    if tables is not None and query is None:
        raise DataError("`tables=` names tables for a SQL query; pass `query=` as well.")
    if source is None and query is None:
        raise DataError("nothing to read: pass a path or table object as `source`, or SQL "
                        "as `query=`.")
    if table is not None and query is not None:
        raise DataError("pass either `table=` or `query=` for a database file, not both.")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        _check_exists(path, query)
        fmt = _format_of(path, format)
        if fmt == "duckdb":
            frame = _read_duckdb_file(path, table=table, query=query, tables=tables)
            query = None
        else:
            if table is not None:
                raise DataError(f"`table={table!r}` applies to .duckdb database files, not to "
                                f"{fmt} file {str(path)!r}.")
            frame = _read_file(path, fmt, None if query else columns)
    elif source is not None:
        if format is not None or table is not None:
            raise DataError("`format=` and `table=` apply to files; a "
                            f"{type(source).__name__} is read as it is.")
        frame = as_frame(source)
    else:
        frame = None
    if query is not None:
        named = dict(tables or {})
        if frame is not None:
            named.setdefault("data", frame)
        frame = _run_sql(query, named)
    assert frame is not None
    if columns is not None:
        frame = _select(frame, list(columns), source)
    if len(frame) == 0 and not allow_empty:
        where = f"{str(source)!r}" if source is not None and not query else "the query"
        raise EmptyDataError(f"{where} has no rows (columns: {frame.columns}); check the "
                             "file or the query's filter, or pass allow_empty=True.")
    return frame


# -- files -------------------------------------------------------------------------
def _format_of(path: Path, format: str | None) -> str:
    known = sorted(set(FORMATS.values()))
    if format is not None:
        fmt = str(format).lower().lstrip(".")
        if fmt not in known:
            raise DataError(f"format={format!r} is not supported; use one of {known}.")
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext in FORMATS:
        return FORMATS[ext]
    if path.is_dir():
        if any(path.glob("**/*.parquet")):
            return "parquet"
        raise DataError(f"folder {str(path)!r} holds no .parquet files; pass a file, or a "
                        "folder of Parquet files.")
    what = f"extension {ext!r}" if ext else "no extension"
    raise DataError(f"cannot tell the format of {str(path)!r} ({what}); supported extensions "
                    f"are {sorted(FORMATS)} (optionally compressed: .gz, .bz2, .zst), or pass "
                    f"format= one of {known}.")


def _check_exists(path: Path, query: str | None) -> None:
    if path.exists():
        return
    parent = path.parent if str(path.parent) else Path(".")
    if parent.is_dir():
        names = sorted(p.name for p in parent.iterdir())
        hint = close_matches(path.name, names)
        where = f" The folder {str(parent)!r} holds {len(names)} entries.{hint}"
    else:
        where = f" The folder {str(parent)!r} does not exist either."
    sql = ""
    if query is None and str(path).lstrip().split(" ")[0].upper() in {"SELECT", "WITH", "FROM"}:
        sql = " To run SQL, pass it as read(query=...)."
    raise SourceNotFoundError(f"no such file: {str(path)!r}.{where}{sql}")


def _read_file(path: Path, fmt: str, columns: Iterable[str] | None) -> Frame:
    columns = None if columns is None else list(columns)
    try:
        if fmt in ("csv", "tsv"):
            return _read_csv(path, "\t" if fmt == "tsv" else ",", columns)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            if columns is not None:
                _require(pq.read_schema(path).names if path.is_file() else
                         pq.read_table(path).column_names, columns, path)
            return Frame(pq.read_table(path, columns=columns))
        if fmt == "arrow":
            import pyarrow.feather as feather

            return Frame(feather.read_table(path))
        if fmt == "json":
            return _run_sql("SELECT * FROM read_json_auto($path)", {}, {"path": str(path)},
                            what=f"JSON file {str(path)!r}")
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise SourceNotFoundError(f"no such file: {str(path)!r}.") from None
        raise DataError(f"could not read {fmt} file {str(path)!r}: {exc}") from None
    raise DataError(f"format {fmt!r} cannot be read from a plain file; use one of "
                    f"{sorted(set(FORMATS.values()) - {'duckdb'})}.")  # pragma: no cover


def _read_csv(path: Path, delimiter: str, columns: list[str] | None) -> Frame:
    import pyarrow.csv as pcsv

    bad_rows: list[Any] = []

    def on_invalid(row: Any) -> str:
        bad_rows.append(row)
        return "error"

    def options(threads: bool) -> dict[str, Any]:
        return {"read_options": pcsv.ReadOptions(use_threads=threads),
                "parse_options": pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                                   invalid_row_handler=on_invalid)}

    try:
        with pcsv.open_csv(path, **options(False)) as reader:
            names = reader.schema.names
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            return Frame(pa.table({}))
        raise _csv_error(path, exc, bad_rows) from None
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SchemaError(f"CSV file {str(path)!r} has duplicate column names {dup}; rename "
                          "them so each is unique.")
    if columns is not None:
        _require(names, columns, path)
    convert = pcsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, include_columns=columns,
        null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True)
    try:
        table = pcsv.read_csv(path, convert_options=convert, **options(True))
    except pa.ArrowInvalid as exc:
        error: Exception = exc
        if bad_rows and not any(getattr(r, "number", None) for r in bad_rows):
            bad_rows.clear()  # parse again on one thread: it knows the row number
            try:
                pcsv.read_csv(path, convert_options=convert, **options(False))
            except pa.ArrowInvalid as exc1:
                error = exc1
        raise _csv_error(path, error, bad_rows) from None
    return Frame(pa.table({n: _infer(table.column(n)) for n in table.column_names}))


def _csv_error(path: Path, exc: Exception, bad_rows: list[Any]) -> DataError:
    msg = str(exc)
    if "UTF8" in msg:
        return DataError(f"CSV file {str(path)!r} is not valid UTF-8 ({msg}); save it as UTF-8, "
                         "or read it with pandas.read_csv(..., encoding=...) and pass the "
                         "DataFrame.")
    row = bad_rows[0] if bad_rows else None
    if row is not None:
        at = f" at row {row.number} (counting the header as row 1)" if row.number else ""
        return DataError(
            f"malformed CSV file {str(path)!r}{at}: expected {row.expected_columns} columns, "
            f"got {row.actual_columns}: {row.text[:120]!r}. Quote values that contain the "
            "delimiter, or fix the row.")
    return DataError(f"malformed CSV file {str(path)!r}: {msg}")


def _infer(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Type one all-text CSV column (see the module docstring for the rules)."""
    import pyarrow.compute as pc

    if col.null_count == len(col):
        return pa.chunked_array([pa.nulls(len(col))])
    out = _convert(col)
    if out is None:
        tokens = pc.is_in(col, value_set=pa.array(_NULL_TOKENS))
        if not pc.any(tokens).as_py():
            return col
        values = pc.if_else(tokens, pa.scalar(None, pa.string()), col)
        if values.null_count == len(values):
            return pa.chunked_array([pa.nulls(len(col))])
        out = _convert(values)
    return col if out is None else out


def _convert(values: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """``values`` as the first of int64, float64, bool, timestamp that fits, or ``None``."""
    import pyarrow.compute as pc

    for target in (pa.int64(), pa.float64(), pa.bool_(), *_TIMESTAMP_TYPES):
        try:
            out = pc.cast(values, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        if target in (pa.int64(), pa.float64()):
            if pc.any(pc.match_substring_regex(values, r"^[-+]?0[0-9]")).as_py():
                return None  # leading zeros: an identifier or a code, keep the text
            if target == pa.float64() and (pc.max(pc.abs(out)).as_py() or 0) >= 2.0**63 \
                    and pc.all(pc.match_substring_regex(values, r"^[-+]?[0-9]+$")).as_py():
                return None  # whole numbers too large for int64: keep the text
        return out
    return None


# -- SQL ---------------------------------------------------------------------------
def _run_sql(query: str, tables: Mapping[str, Any], params: Mapping[str, Any] | None = None,
             *, con: Any = None, what: str = "the SQL query") -> Frame:
    import duckdb

    own = con is None
    if own:
        con = duckdb.connect()
    try:
        for name, obj in tables.items():
            if isinstance(obj, (str, os.PathLike)):
                obj = read(obj, allow_empty=True)
            con.register(str(name), as_frame(obj).table)
        try:
            rel = con.sql(query, params=dict(params) if params else None)
            if rel is None:
                raise DataError(f"{what} returned no table; read with a SELECT statement.")
            table = rel.to_arrow_table()
        except duckdb.IOException as exc:
            text = str(exc)
            if "No files found" in text:
                raise SourceNotFoundError(f"{what} names a file that does not exist: {text} "
                                          f"(relative paths resolve against {os.getcwd()!r}).")\
                    from None
            raise DataError(f"{what} failed: {text}") from None
        except duckdb.Error as exc:
            raise DataError(f"{what} failed: {exc}") from None
    finally:
        if own:
            con.close()
    return Frame(table)


def _read_duckdb_file(path: Path, *, table: str | None, query: str | None,
                      tables: Mapping[str, Any] | None) -> Frame:
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise DataError(f"could not open DuckDB database {str(path)!r}: {exc}") from None
    try:
        if query is not None:
            return _run_sql(query, tables or {}, con=con, what=f"the query on {str(path)!r}")
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables ORDER BY table_name").fetchall()]
        if table is None:
            if len(names) != 1:
                raise DataError(f"DuckDB database {str(path)!r} holds {len(names)} tables "
                                f"{names}; pick one with table=... or pass query=....")
            table = names[0]
        if table not in names:
            raise SourceNotFoundError(f"DuckDB database {str(path)!r} has no table {table!r}; "
                                      f"its tables are {names}.{close_matches(table, names)}")
        quoted = '"' + table.replace('"', '""') + '"'
        return Frame(con.sql(f"SELECT * FROM {quoted}").to_arrow_table())
    finally:
        con.close()


# -- columns and schema ------------------------------------------------------------
def _require(names: list[str], columns: list[str], source: Any) -> None:
    missing = [c for c in columns if c not in names]
    if missing:
        where = f" in {str(source)!r}" if isinstance(source, (str, os.PathLike)) else ""
        raise ColumnNotFoundError(
            f"column {missing[0]!r}{where} does not exist; columns are {names}."
            f"{close_matches(missing[0], names)}")


def _select(frame: Frame, columns: list[str], source: Any) -> Frame:
    _require(frame.columns, columns, source)
    return frame.select(columns)


_KINDS = {
    "string": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)
    or pa.types.is_string_view(t),
    "numeric": lambda t: pa.types.is_integer(t) or pa.types.is_floating(t)
    or pa.types.is_decimal(t) or pa.types.is_boolean(t),
    "integer": pa.types.is_integer,
    "float": pa.types.is_floating,
    "bool": pa.types.is_boolean,
    "datetime": lambda t: pa.types.is_timestamp(t) or pa.types.is_date(t),
    "any": lambda t: True,
}


def check_schema(data: Any, schema: Mapping[str, str] | Iterable[str]) -> Frame:
    """Check that ``data`` has the named columns, of the given kinds; return it as a Frame.

    ``schema`` maps column names to a kind — ``"string"``, ``"numeric"`` (numbers or
    bools), ``"integer"``, ``"float"``, ``"bool"``, ``"datetime"`` or ``"any"`` — or is a
    list of names that may hold anything. A column that is entirely missing values (type
    ``null``) passes any kind.

    Raises
    ------
    ColumnNotFoundError
        A column that is not in the data (close names suggested).
    SchemaError
        A column of another kind, naming the type found and the kind wanted.

    Examples
    --------
    >>> import pandas as pd
    >>> f = check_schema(pd.DataFrame({"text": ["hi"], "age": [31]}),
    ...                  {"text": "string", "age": "numeric"})
    >>> check_schema(f, {"age": "string"})
    Traceback (most recent call last):
    dawn.errors.SchemaError: column 'age' has type int64, but string is wanted; ...
    """
    frame = as_frame(data)
    wanted = dict(schema) if isinstance(schema, Mapping) else dict.fromkeys(schema, "any")
    for name, kind in wanted.items():
        if kind not in _KINDS:
            raise SchemaError(f"unknown kind {kind!r} for column {name!r}; use one of "
                              f"{sorted(_KINDS)}.{close_matches(str(kind), list(_KINDS))}")
        frame.require(name, purpose="the schema")
        t = frame.table.schema.field(name).type
        if not (pa.types.is_null(t) or _KINDS[kind](t)):
            raise SchemaError(f"column {name!r} has type {t}, but {kind} is wanted; convert the "
                              "column (e.g. with pandas astype / to_numeric) or fix the schema.")
    return frame


def fingerprint(data: Any) -> str:
    """A short stable hash of a table's column names, types and values (for lineage).

    Tables with the same columns, types and values in the same order have the same
    fingerprint, however they were read or chunked.

    >>> import pandas as pd
    >>> fingerprint(pd.DataFrame({"a": [1, 2]})) == fingerprint({"a": [1, 2]})
    True
    >>> fingerprint({"a": [1, 2]}) == fingerprint({"a": [2, 1]})
    False
    """
    import pyarrow.compute as pc

    frame = as_frame(data)
    h = hashlib.blake2b(digest_size=16)
    for name in frame.columns:
        col = frame.arrow(name)
        t = col.type
        h.update(f"{name}\x00{t}\x00{len(col)}\x00".encode())
        h.update(np.asarray(col.is_null(), dtype=bool).tobytes())
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
            filled = pc.fill_null(col, pa.scalar(0 if not pa.types.is_boolean(t) else False, t))
            h.update(np.ascontiguousarray(filled.to_numpy(zero_copy_only=False)).tobytes())
            continue
        try:
            text = pa.concat_arrays([pc.fill_null(col.cast(pa.large_string()), "")])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            h.update(repr(col.to_pylist()).encode())  # nested types: rare, small
            continue
        offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[
            text.offset:text.offset + len(text) + 1]
        h.update(np.diff(offsets).tobytes())
        if len(text):
            h.update(memoryview(text.buffers()[2])[offsets[0]:offsets[-1]])
    return h.hexdigest()
