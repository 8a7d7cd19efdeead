"""Load fauna-sync output into a current DuckDB table: run after each `fauna-sync sync`.

The manifest lists the committed files in commit order; a file is loaded once (the table
`_fauna_sync_loaded` remembers which). Parquet and JSONL files (plain, `.gz`, `.zst`) are both
read, so the output of `sync --format jsonl` (the default) loads as well as Parquet's. Within
the new files the latest version per `ref` wins (greatest `ts`; a deletion record at the same
`ts` wins over a write), and only if it is newer than the stored row or the stored deletion
(`{table}_deleted` keeps deleted ids' ts), so a file loaded again or late changes nothing; a
deletion record (non-null deletion column) removes the row. Needs the sync's `deletions`
configured with `"deletion_mode": "deleted_field"` (column `deleted_at` below).

    python examples/duckdb_load.py OUT_DIR DATABASE.duckdb TABLE [--typed]

With `--typed` (Parquet written with `columns: typed`, the default of new Parquet outputs) the
table has the files' typed columns beside `data`: the files of one load are read by column
name (`union_by_name`), a column the table lacks is added with the files' type (a stream's
schema only grows: new columns and `<col>__v_<type>` variants), and each row is inserted by
name, so a column absent from a newer file is NULL in its rows.

For an object store, load the `httpfs` extension, read `s3://…/_manifest.jsonl` with
`read_json` and pass `s3://…/<file>` paths (DuckDB reads them directly); for BigQuery and
Snowflake see `docs/loading.md`.
"""

import json
import sys
from pathlib import Path

import duckdb

SETUP = """
CREATE TABLE IF NOT EXISTS _fauna_sync_loaded (file VARCHAR PRIMARY KEY);
CREATE TABLE IF NOT EXISTS {table} (ref VARCHAR PRIMARY KEY, ts BIGINT, data JSON);
CREATE TABLE IF NOT EXISTS {table}_deleted (ref VARCHAR PRIMARY KEY, ts BIGINT);
"""

# The records of the new files of each kind: $parquet and $jsonl are lists of paths. JSONL is
# read with explicit columns (other keys, e.g. `deletion_detected` or additional columns, are
# left out; a missing key is NULL); gzip and zstd are recognised by the file extension.
SOURCES = {
    "parquet": "SELECT ref, ts, data::JSON AS data, deleted_at FROM read_parquet($parquet)",
    "jsonl": """SELECT ref, ts, data, deleted_at FROM read_json($jsonl,
        format = 'newline_delimited', compression = 'auto',
        columns = {ref: 'VARCHAR', ts: 'BIGINT', data: 'JSON', deleted_at: 'VARCHAR'})""",
}

MERGE = """
CREATE OR REPLACE TEMP TABLE _latest AS
SELECT * FROM ({sources})
QUALIFY row_number() OVER (PARTITION BY ref ORDER BY ts DESC, deleted_at IS NULL) = 1;
DELETE FROM _latest WHERE EXISTS (SELECT 1 FROM {table} t WHERE t.ref = _latest.ref AND t.ts >= _latest.ts)
                       OR EXISTS (SELECT 1 FROM {table}_deleted d WHERE d.ref = _latest.ref AND d.ts >= _latest.ts);
DELETE FROM {table} WHERE ref IN (SELECT ref FROM _latest);
DELETE FROM {table}_deleted WHERE ref IN (SELECT ref FROM _latest);
INSERT INTO {table} SELECT ref, ts, data FROM _latest WHERE deleted_at IS NULL;
INSERT INTO {table}_deleted SELECT ref, ts FROM _latest WHERE deleted_at IS NOT NULL;
"""


TYPED_SETUP = """
CREATE TABLE IF NOT EXISTS _fauna_sync_loaded (file VARCHAR PRIMARY KEY);
CREATE TABLE IF NOT EXISTS {table}_deleted (ref VARCHAR PRIMARY KEY, ts BIGINT);
"""

TYPED_LATEST = """
CREATE OR REPLACE TEMP TABLE _latest AS
SELECT * FROM read_parquet($parquet, union_by_name = true)
QUALIFY row_number() OVER (PARTITION BY ref ORDER BY ts DESC, deleted_at IS NULL) = 1
"""

TYPED_MERGE = """
DELETE FROM _latest WHERE EXISTS (SELECT 1 FROM {table} t WHERE t.ref = _latest.ref AND t.ts >= _latest.ts)
                       OR EXISTS (SELECT 1 FROM {table}_deleted d WHERE d.ref = _latest.ref AND d.ts >= _latest.ts);
DELETE FROM {table} WHERE ref IN (SELECT ref FROM _latest);
DELETE FROM {table}_deleted WHERE ref IN (SELECT ref FROM _latest);
INSERT INTO {table} BY NAME SELECT * EXCLUDE ({deletion_columns}) FROM _latest WHERE deleted_at IS NULL;
INSERT INTO {table}_deleted SELECT ref, ts FROM _latest WHERE deleted_at IS NOT NULL;
"""

# The columns of deletion records, not kept in the table.
DELETION_COLUMNS = ("deleted_at", "deletion_detected")


def load_typed(con, out_dir, table, new):
    """The typed load of the files `new` (root-relative, all Parquet): the table gains the
    columns it lacks, then the same version guard as `load`."""
    paths = [str(Path(out_dir) / f) for f in new]
    con.execute(TYPED_SETUP.format(table=table))
    con.execute("BEGIN")
    con.execute(TYPED_LATEST, {"parquet": paths})
    columns = con.execute("SELECT column_name, column_type FROM (DESCRIBE _latest)").fetchall()
    kept = [(n, t) for n, t in columns if n not in DELETION_COLUMNS]
    dropped = ", ".join(f'"{n}"' for n, _ in columns if n in DELETION_COLUMNS)
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                         [table]).fetchone()[0]
    if not exists:
        con.execute(f"CREATE TABLE {table} ({', '.join(f'{chr(34)}{n}{chr(34)} {t}' for n, t in kept)})")
    have = {n for (n,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]).fetchall()}
    for n, t in kept:
        if n not in have:
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{n}" {t}')
    merge = TYPED_MERGE.format(table=table, deletion_columns=dropped or "ref")
    if not dropped:
        merge = merge.replace(" EXCLUDE (ref)", "")
    for statement in merge.split(";"):
        if statement.strip():
            con.execute(statement)
    con.executemany("INSERT INTO _fauna_sync_loaded VALUES (?)", [[f] for f in new])
    con.execute("COMMIT")
    return len(new)


def kind(file):
    """`parquet` or `jsonl` (also `.jsonl.gz`, `.jsonl.zst`), by the file's name."""
    if file.endswith(".parquet"):
        return "parquet"
    if file.endswith((".jsonl", ".jsonl.gz", ".jsonl.zst")):
        return "jsonl"
    raise ValueError(f"{file}: not a fauna-sync batch file")


def load(con, out_dir, table, stream=None, typed=False):
    """Loads the not-yet-loaded files of `stream` (default: `table`) listed by
    `<out_dir>/_manifest.jsonl`; returns how many files were loaded. `typed`: keep the typed
    columns of typed Parquet files (see the module's docs)."""
    out_dir = Path(out_dir)
    stream = stream or table
    con.execute((TYPED_SETUP if typed else SETUP).format(table=table))
    manifest = out_dir / "_manifest.jsonl"
    lines = manifest.read_text().splitlines() if manifest.exists() else []
    listed = [json.loads(line) for line in lines if line.strip()]
    loaded = {row[0] for row in con.execute("SELECT file FROM _fauna_sync_loaded").fetchall()}
    new = [f["file"] for f in listed if f["stream"] == stream and f["file"] not in loaded]
    if not new:
        return 0
    if typed:
        return load_typed(con, out_dir, table, new)
    paths = {k: [str(out_dir / f) for f in new if kind(f) == k] for k in SOURCES}
    sources = " UNION ALL ".join(SOURCES[k] for k in SOURCES if paths[k])
    con.execute("BEGIN")
    for statement in MERGE.format(table=table, sources=sources).split(";"):
        if statement.strip():
            params = {k: v for k, v in paths.items() if v and f"${k}" in statement}
            con.execute(statement, params)
    con.executemany("INSERT INTO _fauna_sync_loaded VALUES (?)", [[f] for f in new])
    con.execute("COMMIT")
    return len(new)


if __name__ == "__main__":
    out, database, table = sys.argv[1:4]
    typed = "--typed" in sys.argv[4:]
    print(f"loaded {load(duckdb.connect(database), out, table, typed=typed)} file(s)")
