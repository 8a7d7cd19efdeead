"""Load fauna-sync output into a current DuckDB table: run after each `fauna-sync sync`.

The manifest lists the committed files in commit order; a file is loaded once (the table
`_fauna_sync_loaded` remembers which). Parquet and JSONL files (plain, `.gz`, `.zst`) are both
read, so the output of `sync --format jsonl` (the default) loads as well as Parquet's. Within
the new files the latest version per `ref` wins (greatest `ts`; a deletion record at the same
`ts` wins over a write), and only if it is newer than the stored row or the stored deletion
(`{table}_deleted` keeps deleted ids' ts), so a file loaded again or late changes nothing; a
deletion record (non-null deletion column) removes the row. Needs the sync's `deletions`
configured with `"deletion_mode": "deleted_field"` (column `deleted_at` below).

    python examples/duckdb_load.py OUT_DIR DATABASE.duckdb TABLE

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


def kind(file):
    """`parquet` or `jsonl` (also `.jsonl.gz`, `.jsonl.zst`), by the file's name."""
    if file.endswith(".parquet"):
        return "parquet"
    if file.endswith((".jsonl", ".jsonl.gz", ".jsonl.zst")):
        return "jsonl"
    raise ValueError(f"{file}: not a fauna-sync batch file")


def load(con, out_dir, table, stream=None):
    """Loads the not-yet-loaded files of `stream` (default: `table`) listed by
    `<out_dir>/_manifest.jsonl`; returns how many files were loaded."""
    out_dir = Path(out_dir)
    stream = stream or table
    con.execute(SETUP.format(table=table))
    manifest = out_dir / "_manifest.jsonl"
    lines = manifest.read_text().splitlines() if manifest.exists() else []
    listed = [json.loads(line) for line in lines if line.strip()]
    loaded = {row[0] for row in con.execute("SELECT file FROM _fauna_sync_loaded").fetchall()}
    new = [f["file"] for f in listed if f["stream"] == stream and f["file"] not in loaded]
    if not new:
        return 0
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
    print(f"loaded {load(duckdb.connect(database), out, table)} file(s)")
