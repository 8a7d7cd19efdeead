"""Parquet output read back with pyarrow and DuckDB: schema and metadata as spec/output-layout.md
§3.2 says, and rows equal to the JSONL export of the same collection, row for row."""

import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import judge
import mapping
from export_cases import BOOKKEEPING, TYPED_COLUMNS

ARROW_TYPES = {
    "string": pa.string(), "integer": pa.int64(), "number": pa.float64(),
    "boolean": pa.bool_(), "object": pa.string(), "array": pa.string(),
}
DUCKDB_TYPES = {
    "string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE",
    "boolean": "BOOLEAN", "object": "VARCHAR", "array": "VARCHAR",
}

# parquet variant -> (JSONL variant of the same collections, data column, columns, deletion column)
PAIRS = {
    "parquet": ("jsonl", True, [], None),
    "typed_parquet": ("typed_jsonl", False, TYPED_COLUMNS, None),
    "typed_data_parquet": ("typed_data_jsonl", True, TYPED_COLUMNS, "gone_at"),
}


def _schema(data_column, columns, deletion_column):
    fields = [pa.field("ref", pa.string(), nullable=False), pa.field("ts", pa.int64(), nullable=False)]
    if data_column:
        fields.append(pa.field("data", pa.string()))
    fields += [pa.field(c["name"], ARROW_TYPES[c["type"]]) for c in columns]
    if deletion_column:
        fields.append(pa.field(deletion_column, pa.string()))
        fields.append(pa.field("deletion_detected", pa.bool_()))
    return pa.schema(fields)


def _pairs(variant, runs):
    """[(stream, parquet manifest entry, its JSONL records)] with matching batches."""
    pq_run, jsonl_run = runs(variant), runs(PAIRS[variant][0])
    jsonl = {(e["stream"], e["seq"]): recs for stream in {e["stream"] for e in jsonl_run.manifest()}
             for e, recs in judge.committed_records(jsonl_run, stream)}
    entries = pq_run.manifest()
    assert sorted((e["stream"], e["seq"], e["rows"]) for e in entries) == sorted(
        (s, q, len(r)) for (s, q), r in jsonl.items())
    return [(pq_run.out / e["file"], e, jsonl[(e["stream"], e["seq"])]) for e in entries]


def _assert_row_matches(row, rec, data_column, columns, deletion_column):
    """A Parquet row (dict of Python values) equals the JSONL record under §3.2's conversion."""
    assert (row["ref"], row["ts"]) == (rec["ref"], rec["ts"])
    names = ["ref", "ts"] + (["data"] if data_column else []) + [c["name"] for c in columns]
    names += [deletion_column, "deletion_detected"] if deletion_column else []
    assert list(row) == names
    if data_column:
        if rec["data"] is None:
            assert row["data"] is None
        else:
            assert mapping.canon(json.loads(row["data"])) == mapping.canon(rec["data"]), rec["ref"]
    for c in columns:
        want = mapping.parquet_cell(rec[c["name"]], c["type"])
        assert mapping.canon(row[c["name"]]) == mapping.canon(want), (rec["ref"], c, row[c["name"]])
    if deletion_column:
        assert row[deletion_column] is None and row["deletion_detected"] is None


@pytest.mark.parametrize("variant", sorted(PAIRS))
def test_parquet_schema_and_metadata(variant, runs):
    """Columns, Arrow types, nullability; zstd; key-value metadata with versions and schema."""
    _, data_column, columns, deletion_column = PAIRS[variant]
    want_schema = _schema(data_column, columns, deletion_column)
    want_meta = {
        "data_column": data_column,
        "columns": [{"name": c["name"], "type": c["type"]} for c in columns],
        "deletion_column": deletion_column,
        **({"detected_column": "deletion_detected"} if deletion_column else {}),
    }
    run = runs(variant)
    assert run.manifest()
    for entry in run.manifest():
        assert entry["format"] == "parquet"
        pf = pq.ParquetFile(run.out / entry["file"])
        assert pf.schema_arrow.remove_metadata() == want_schema
        assert [f.nullable for f in pf.schema_arrow] == [f.nullable for f in want_schema]
        meta = pf.metadata.metadata
        assert sorted(meta) == [b"ARROW:schema", b"fauna_sync.format_version", b"fauna_sync.schema"]
        assert meta[b"fauna_sync.format_version"] == b"1"
        assert json.loads(meta[b"fauna_sync.schema"]) == want_meta
        assert list(json.loads(meta[b"fauna_sync.schema"])) == list(want_meta)
        assert pf.metadata.format_version == "1.0" and pf.metadata.num_rows == entry["rows"]
        parquet_schema = pf.schema
        assert parquet_schema.column(0).physical_type == "BYTE_ARRAY"
        assert parquet_schema.column(0).logical_type.type == "STRING"
        assert parquet_schema.column(1).physical_type == "INT64"
        for rg in range(pf.metadata.num_row_groups):
            group = pf.metadata.row_group(rg)
            assert {group.column(i).compression for i in range(group.num_columns)} == {"ZSTD"}


@pytest.mark.parametrize("variant", sorted(PAIRS))
def test_parquet_rows_equal_jsonl_rows_pyarrow(variant, runs, dataset):
    """pyarrow: every row equals the JSONL record of the same batch, and the mapping's record."""
    _, data_column, columns, deletion_column = PAIRS[variant]
    for path, entry, records in _pairs(variant, runs):
        rows = pq.read_table(path).to_pylist()
        assert len(rows) == len(records) == entry["rows"]
        for row, rec in zip(rows, records):
            _assert_row_matches(row, rec, data_column, columns, deletion_column)
        # The records themselves are what the mapping says (JSONL is judged in detail elsewhere).
        docs = {d["ref"].id: d for d in dataset.docs[entry["stream"]]}
        for row in rows:
            want = mapping.record(docs[row["ref"]], data_column=data_column, columns=columns,
                                  deletion_column=deletion_column)
            _assert_row_matches(row, want, data_column, columns, deletion_column)


@pytest.mark.parametrize("variant", sorted(PAIRS))
def test_parquet_rows_equal_jsonl_rows_duckdb(variant, runs):
    """DuckDB read_parquet: column types as declared and rows equal to the JSONL records."""
    _, data_column, columns, deletion_column = PAIRS[variant]
    want_types = [("ref", "VARCHAR"), ("ts", "BIGINT")] + ([("data", "VARCHAR")] if data_column else [])
    want_types += [(c["name"], DUCKDB_TYPES[c["type"]]) for c in columns]
    want_types += [(deletion_column, "VARCHAR"), ("deletion_detected", "BOOLEAN")] if deletion_column else []
    con = duckdb.connect()
    for path, entry, records in _pairs(variant, runs):
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        assert [(r[0], r[1]) for r in described] == want_types
        cur = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
        assert len(rows) == len(records) == entry["rows"]
        for row, rec in zip(rows, records):
            _assert_row_matches(row, rec, data_column, columns, deletion_column)
        (count, min_ts, max_ts) = con.execute(
            "SELECT count(*), min(ts), max(ts) FROM read_parquet(?)", [str(path)]).fetchone()
        assert (count, min_ts, max_ts) == (entry["rows"], entry["min_ts"], entry["max_ts"])


def test_parquet_rewrite_is_byte_identical(runs):
    """Two runs over the same documents write identical Parquet bytes (no time/host/path)."""
    first, second = runs("parquet"), runs("parquet_again")
    strip = lambda m: [(e["file"], e["rows"], e["bytes"], e["sha256"]) for e in m]  # noqa: E731
    assert strip(first.manifest()) == strip(second.manifest())


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_type_mismatch_fails_and_commits_nothing(fmt, export):
    """A string under a column declared integer stops the export (exit 1) in every format
    (spec/export-format.md, "Records"), naming the column, document, collection, declared type
    and value; no file is committed."""
    config = {"collection": {"name": "typed", "additional_columns": [
        {"name": "s_as_int", "path": ["data", "s"], "type": "integer", "required": False}]},
        "output": {"format": fmt}}
    run = export(config, name=f"mismatch-{fmt}")
    assert run.returncode == 1, run.stderr
    for part in ["s_as_int", "document 1", "'typed'", "integer", '"héllo"']:
        assert part in run.stderr, (part, run.stderr)
    assert [f for f in run.files() if f not in BOOKKEEPING] == []
    if (run.out / "_manifest.jsonl").exists():
        assert run.manifest() == []
