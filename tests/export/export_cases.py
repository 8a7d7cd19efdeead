"""Shared constants of the export judge: the secret, odd names, columns, export variants."""

ROOT_SECRET = "fauna-sync-judge-root-7c1e"  # the test's own fixed root secret (--root-secret)
ODD_NAME = "a.b/c é 50%"  # a collection whose directory name needs escaping
# fauna-sync's own files at the output root (spec/output-layout.md §1): the run lock, the
# manifest, the owner record and the state.
LOCK_FILE = ".fauna-sync.lock"
BOOKKEEPING = [LOCK_FILE, "_manifest.jsonl", "_output.json", "_state.json"]

# --------------------------------------------------------------------------------------------
# Export variants

TYPED_COLUMNS = [
    {"name": "req", "path": ["data", "req"], "type": "string", "required": True},
    {"name": "doc_id", "path": ["ref", "id"], "type": "string"},  # required by default
    {"name": "coll", "path": ["ref", "collection", "id"], "type": "string", "required": True},
    {"name": "ref_obj", "path": ["ref"], "type": "object", "required": True},
    {"name": "ts_copy", "path": ["ts"], "type": "integer", "required": True},
    {"name": "s", "path": ["data", "s"], "type": "string", "required": False},
    {"name": "n", "path": ["data", "n"], "type": "integer", "required": False},
    {"name": "n_text", "path": ["data", "n"], "type": "string", "required": False},
    {"name": "x", "path": ["data", "x"], "type": "number", "required": False},
    {"name": "x_text", "path": ["data", "x"], "type": "string", "required": False},
    {"name": "flag", "path": ["data", "flag"], "type": "boolean", "required": False},
    {"name": "flag_text", "path": ["data", "flag"], "type": "string", "required": False},
    {"name": "owner", "path": ["data", "owner"], "type": "object", "required": False},
    {"name": "owner_id", "path": ["data", "owner", "id"], "type": "string", "required": False},
    {"name": "owner_coll", "path": ["data", "owner", "collection", "id"], "type": "string",
     "required": False},
    {"name": "owner_coll_ref", "path": ["data", "owner", "collection"], "type": "object",
     "required": False},
    {"name": "nested", "path": ["data", "nested"], "type": "object", "required": False},
    {"name": "nested_value", "path": ["data", "nested", "value"], "type": "integer",
     "required": False},
    {"name": "at_key", "path": ["data", "nested", "@k"], "type": "string", "required": False},
    {"name": "tags", "path": ["data", "tags"], "type": "array", "required": False},
    {"name": "tags_text", "path": ["data", "tags"], "type": "string", "required": False},
    {"name": "when", "path": ["data", "when"], "type": "string", "format": "date-time",
     "airbyte_type": "timestamp_with_timezone", "required": False},
    {"name": "born", "path": ["data", "born"], "type": "string", "format": "date",
     "required": False},
    {"name": "blob", "path": ["data", "blob"], "type": "string", "required": False},
    {"name": "fn", "path": ["data", "fn"], "type": "string", "required": False},
    {"name": "missing", "path": ["data", "no", "such", "path"], "type": "integer",
     "required": False},
    {"name": "ttl", "path": ["ttl"], "type": "string", "required": False},
]

ALL = {}  # no collection named: every collection is exported
SMALL = ["--page-size", "3", "--batch-rows", "4"]
TYPED = {"collection": {"name": "typed", "data_column": False, "additional_columns": TYPED_COLUMNS,
                        "page_size": 4}}
TYPED_WITH_DATA = {"collection": {
    "name": "typed", "additional_columns": TYPED_COLUMNS,
    "deletions": {"deletion_mode": "deleted_field", "column": "gone_at"}}}

VARIANTS = {
    "jsonl": (ALL, [*SMALL, "--format", "jsonl"]),
    "jsonl_gzip": ({"output": {"compression": "gzip"}}, [*SMALL, "--format", "jsonl"]),
    "jsonl_zstd": ({"output": {"format": "jsonl", "compression": "zstd"}}, SMALL),
    # Parquet in the data-column layout these judges check (`columns: json`; typed columns,
    # the default of new Parquet outputs, are judged by tests/typed).
    "parquet": ({"output": {"format": "parquet", "columns": "json"}}, SMALL),
    "parquet_again": ({"output": {"format": "parquet", "columns": "json"}}, SMALL),
    "typed_jsonl": (TYPED, ["--batch-rows", "5"]),
    "typed_parquet": ({**TYPED, "output": {"format": "parquet", "batch_rows": 5, "columns": "json"}}, []),
    "typed_data_jsonl": (TYPED_WITH_DATA, []),
    "typed_data_parquet": ({**TYPED_WITH_DATA, "output": {"format": "parquet", "columns": "json"}}, []),
}
