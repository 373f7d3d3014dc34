"""dawn.data.read: every source, the CSV type rules, and every error a user can hit."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dawn.data import FORMATS, Frame, check_schema, fingerprint, read
from dawn.errors import (
    ColumnNotFoundError,
    DataError,
    EmptyDataError,
    SchemaError,
    SourceNotFoundError,
)

DF = pd.DataFrame({"text": ["hello, world", "multi\nline", "plain"],
                   "n": [1, 2, 3], "x": [0.5, np.nan, 2.0]})


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# -- formats -------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".csv", ".tsv", ".csv.gz", ".parquet", ".json", ".jsonl",
                                 ".feather"])
def test_every_file_format_round_trips(tmp_path, ext):
    path = tmp_path / f"rows{ext}"
    if ext in (".csv", ".csv.gz"):
        DF.to_csv(path, index=False)
    elif ext == ".tsv":
        DF.to_csv(path, index=False, sep="\t")
    elif ext == ".parquet":
        DF.to_parquet(path)
    elif ext == ".json":
        DF.to_json(path, orient="records")
    elif ext == ".jsonl":
        DF.to_json(path, orient="records", lines=True)
    else:
        DF.to_feather(path)
    f = read(path)
    assert isinstance(f, Frame) and f.columns == ["text", "n", "x"]
    assert f.strings("text").tolist() == DF["text"].tolist()
    assert f.numpy("n").tolist() == [1, 2, 3]
    np.testing.assert_array_equal(f.numeric("x"), [0.5, np.nan, 2.0])
    assert read(str(path), columns=["x", "text"]).columns == ["x", "text"]


def test_format_argument_overrides_the_extension(tmp_path):
    path = write_csv(tmp_path / "rows.txt", "a;b\n1;2\n")
    with pytest.raises(DataError, match=r"extension '\.txt'.*'\.csv'"):
        read(path)
    path = write_csv(tmp_path / "rows.data", "a\tb\n1\t2\n")
    assert read(path, format="tsv").columns == ["a", "b"]
    with pytest.raises(DataError, match=r"format='xlsx' is not supported"):
        read(path, format="xlsx")


def test_folder_of_parquet_files(tmp_path):
    (tmp_path / "parts").mkdir()
    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "parts" / "0.parquet")
    pq.write_table(pa.table({"a": [3]}), tmp_path / "parts" / "1.parquet")
    assert sorted(read(tmp_path / "parts").numpy("a").tolist()) == [1, 2, 3]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"holds no .parquet files"):
        read(tmp_path / "empty")


def test_shared_csv_gz_reads(shared_data):
    f = read(shared_data("macrobase", "sensor10k.csv.gz"))
    assert len(f) == 10479 and f.table.schema.field("temperature").type == pa.float64()


def test_youtube_comments_keep_commas_and_parse_dates(shared_data):
    f = read(shared_data("youtube-spam", "Youtube01-Psy.csv"))
    assert len(f) == 350
    assert any("," in s for s in f.strings("CONTENT"))
    assert pa.types.is_timestamp(f.table.schema.field("DATE").type)
    assert set(f.numpy("CLASS").tolist()) == {0, 1}


# -- CSV types -----------------------------------------------------------------------
def test_csv_types_are_inferred_but_identifiers_stay_text(tmp_path):
    path = write_csv(tmp_path / "t.csv",
                     "zip,id,n,x,flag,when,big,note\n"
                     '02134,1,7,1.5,true,2020-01-01T10:00:00,123456789012345678901234,"a, b"\n'
                     '10001,2,NA,2,false,2020-01-02T11:30:00,5,\n')
    f = read(path)
    types = dict(zip(f.columns, f.table.schema.types, strict=True))
    assert types["zip"] == pa.string() and f.strings("zip").tolist() == ["02134", "10001"]
    assert types["id"] == pa.int64() and types["n"] == pa.int64()
    assert f.numpy("n")[0] == 7 and np.isnan(f.numpy("n")[1])  # NA is missing in numbers
    assert types["x"] == pa.float64() and types["flag"] == pa.bool_()
    assert pa.types.is_timestamp(types["when"])
    assert types["big"] == pa.string()  # too large for int64: not silently made a float
    assert f.strings("note").tolist() == ["a, b", ""]
    assert f.arrow("note").null_count == 1  # an empty text cell is missing


def test_csv_text_words_like_na_stay_text_in_text_columns(tmp_path):
    f = read(write_csv(tmp_path / "t.csv", "word\nNA\nhello\n"))
    assert f.strings("word").tolist() == ["NA", "hello"]


def test_csv_quoted_newlines_across_parse_blocks(tmp_path):
    n = 30_000  # several pyarrow blocks
    df = pd.DataFrame({"text": [f"line {i}\nstill {i}, with comma" for i in range(n)],
                       "i": np.arange(n)})
    df.to_csv(tmp_path / "big.csv", index=False)
    f = read(tmp_path / "big.csv")
    assert len(f) == n and f.strings("text")[12345] == "line 12345\nstill 12345, with comma"
    np.testing.assert_array_equal(f.numpy("i"), np.arange(n))


def test_all_missing_column_reads_as_null_type(tmp_path):
    f = read(write_csv(tmp_path / "t.csv", "a,b\n1,\n2,NA\n"))
    assert pa.types.is_null(f.table.schema.field("b").type)
    assert np.isnan(f.numeric("b")).all() and f.strings("b").tolist() == ["", ""]


# -- SQL -----------------------------------------------------------------------------
def test_query_reads_files_itself(tmp_path, monkeypatch):
    DF.to_csv(tmp_path / "rows.csv", index=False)
    monkeypatch.chdir(tmp_path)
    f = read(query="SELECT text, n FROM 'rows.csv' WHERE n >= 2 ORDER BY n")
    assert f.numpy("n").tolist() == [2, 3] and f.strings("text")[0] == "multi\nline"


def test_query_over_named_tables_of_every_kind(tmp_path):
    DF.to_parquet(tmp_path / "p.parquet")
    f = read(query="SELECT count(*)::INT AS n FROM a, b, c, d",
             tables={"a": DF, "b": pl.DataFrame({"z": [1, 2]}), "c": pa.table({"y": [1]}),
                     "d": tmp_path / "p.parquet"})
    assert f.numpy("n").tolist() == [3 * 2 * 1 * 3]


def test_query_over_a_source_sees_it_as_data(tmp_path):
    DF.to_csv(tmp_path / "rows.csv", index=False)
    f = read(tmp_path / "rows.csv", query="SELECT n FROM data WHERE x > 1")
    assert f.numpy("n").tolist() == [3]
    assert read(DF, query="SELECT text FROM data", columns=["text"]).columns == ["text"]


def test_duckdb_database_file_by_table_or_query(tmp_path):
    import duckdb

    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE orders AS SELECT range AS id, range * 2 AS total "
                    "FROM range(5)")
    assert read(db).numpy("total").tolist() == [0, 2, 4, 6, 8]
    assert read(db, table="orders", columns=["id"]).columns == ["id"]
    f = read(db, query="SELECT sum(total)::BIGINT AS s FROM orders")
    assert f.numpy("s").tolist() == [20]
    with pytest.raises(SourceNotFoundError, match=r"no table 'order'.*Did you mean 'orders'"):
        read(db, table="order")
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE users AS SELECT 1 AS id")
    with pytest.raises(DataError, match=r"holds 2 tables \['orders', 'users'\]; pick one"):
        read(db)


@pytest.mark.parametrize(("sql", "message"), [
    ("SELEC 1", "syntax error"),
    ("SELECT nope FROM t", 'column "nope" not found'),
    ("SELECT * FROM missing_table", "missing_table"),
])
def test_sql_errors_carry_duckdbs_message(sql, message):
    with pytest.raises(DataError, match=message):
        read(query=sql, tables={"t": DF})


def test_query_naming_a_missing_file():
    with pytest.raises(SourceNotFoundError, match=r"no_such_file.csv"):
        read(query="SELECT * FROM 'no_such_file.csv'")


# -- table objects -------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: DF, lambda: pl.from_pandas(DF), lambda: pa.Table.from_pandas(DF),
    lambda: {"text": DF["text"].tolist(), "n": [1, 2, 3], "x": DF["x"].to_numpy()},
])
def test_table_objects_are_read_as_they_are(make):
    f = read(make())
    assert f.columns == ["text", "n", "x"] and f.strings("text")[1] == "multi\nline"
    assert f.numpy("n").tolist() == [1, 2, 3]
    np.testing.assert_array_equal(f.numeric("x"), [0.5, np.nan, 2.0])


# -- errors --------------------------------------------------------------------------
def test_missing_file_names_the_path_and_close_matches(tmp_path):
    DF.to_csv(tmp_path / "comments.csv", index=False)
    with pytest.raises(SourceNotFoundError, match=r"comment\.csv.*Did you mean 'comments.csv'"):
        read(tmp_path / "comment.csv")
    with pytest.raises(SourceNotFoundError, match=r"does not exist either"):
        read(tmp_path / "nope" / "rows.csv")
    with pytest.raises(FileNotFoundError, match=r"pass it as read\(query=\.\.\.\)"):
        read("SELECT * FROM 'x.csv'")


def test_missing_columns_name_the_close_match(tmp_path):
    DF.to_csv(tmp_path / "rows.csv", index=False)
    DF.to_parquet(tmp_path / "rows.parquet")
    for source in (tmp_path / "rows.csv", tmp_path / "rows.parquet", DF):
        with pytest.raises(ColumnNotFoundError, match=r"'txt'.*Did you mean 'text'"):
            read(source, columns=["n", "txt"])


def test_empty_tables_raise_unless_allowed(tmp_path):
    header_only = write_csv(tmp_path / "h.csv", "a,b\n")
    blank = write_csv(tmp_path / "blank.csv", "")
    for source in (header_only, blank, DF.iloc[:0]):
        with pytest.raises(EmptyDataError, match=r"no rows.*allow_empty=True"):
            read(source)
    assert read(header_only, allow_empty=True).columns == ["a", "b"]
    assert len(read(blank, allow_empty=True)) == 0
    with pytest.raises(EmptyDataError, match=r"the query has no rows"):
        read(query="SELECT 1 AS a WHERE false")


def test_malformed_csv_names_the_file_and_row(tmp_path):
    path = write_csv(tmp_path / "bad.csv", 'a,b\n1,2\n"x\ny",4\n3,4,5\n6,7\n')
    with pytest.raises(DataError, match=r"bad\.csv.*row 4.*expected 2 columns, got 3"):
        read(path)


def test_csv_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("name\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not valid UTF-8"):
        read(path)


def test_corrupt_parquet_and_json(tmp_path):
    (tmp_path / "x.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"x\.parquet"):
        read(tmp_path / "x.parquet")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(DataError, match=r"x\.json"):
        read(tmp_path / "x.json")


def test_duplicate_csv_headers(tmp_path):
    with pytest.raises(SchemaError, match=r"duplicate column names \['a'\]"):
        read(write_csv(tmp_path / "d.csv", "a,a\n1,2\n"))


def test_compressed_csv(tmp_path):
    with gzip.open(tmp_path / "r.csv.gz", "wt") as fh:
        fh.write("a\n007\n")
    assert read(tmp_path / "r.csv.gz").strings("a").tolist() == ["007"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "nothing to read"),
    ({"tables": {"t": DF}}, "pass `query=` as well"),
    ({"source": DF, "format": "csv"}, "apply to files"),
    ({"source": "x.duckdb", "table": "t", "query": "SELECT 1"}, "not both"),
    ({"source": 42}, "cannot read an object of type int"),
])
def test_bad_argument_combinations(kwargs, message):
    with pytest.raises(DataError, match=message):
        read(**kwargs)


def test_table_argument_only_for_databases(tmp_path):
    DF.to_csv(tmp_path / "rows.csv", index=False)
    with pytest.raises(DataError, match=r"applies to .duckdb"):
        read(tmp_path / "rows.csv", table="x")


def test_formats_table_is_public():
    assert FORMATS[".csv"] == "csv" and FORMATS[".duckdb"] == "duckdb"


# -- schema checks and fingerprints --------------------------------------------------
def test_check_schema_accepts_and_names_what_is_wrong():
    f = check_schema(DF, {"text": "string", "n": "integer", "x": "numeric"})
    assert isinstance(f, Frame)
    assert check_schema(DF, ["text", "n"]) is not None
    with pytest.raises(SchemaError, match=r"column 'text' has type (large_)?string, but numeric"):
        check_schema(DF, {"text": "numeric"})
    with pytest.raises(ColumnNotFoundError, match=r"Did you mean 'text'"):
        check_schema(DF, {"txt": "string"})
    with pytest.raises(SchemaError, match=r"unknown kind 'strng'.*Did you mean 'string'"):
        check_schema(DF, {"text": "strng"})


def test_fingerprint_follows_values_not_chunking_or_origin(tmp_path):
    DF.to_parquet(tmp_path / "p.parquet")
    a = fingerprint(read(tmp_path / "p.parquet"))
    assert a == fingerprint(pa.Table.from_pandas(DF, preserve_index=False))
    chunked = pa.concat_tables([pa.Table.from_pandas(DF.iloc[:1], preserve_index=False),
                                pa.Table.from_pandas(DF.iloc[1:], preserve_index=False)])
    assert a == fingerprint(chunked)
    changed = DF.copy()
    changed.loc[2, "text"] = "plain!"
    assert a != fingerprint(changed)
    assert fingerprint(Frame(pa.table({"s": ["ab", "c"]})).slice(1, 2)) == \
        fingerprint({"s": ["c"]})
