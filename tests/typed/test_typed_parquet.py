"""Typed Parquet columns (issue 24) judged by pyarrow, DuckDB and the official `faunadb` driver.

Two writers of the same documents, fixtures/typed/documents.jsonl (wire documents as Fauna
returns them), are judged alike: `cargo run --example typed_parquet` (the writer alone, with
the schema sidecars) and a real `fauna-sync export --format parquet` run against fauna-dev
serving those documents (the run's batch file). The same wire JSON is decoded by the driver
(`faunadb._json.parse_json`), and every typed cell must equal what the driver decoded at the
column's original path (from the Parquet field metadata), in the column whose kind is the
driver value's kind, and be NULL in the path's other columns: no value is lost or doubled.
"""

import base64
import datetime
import json
import math
import os
import socket
import subprocess
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from faunadb._json import parse_json, to_json
from faunadb.objects import FaunaTime, Query, Ref, SetRef

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "fixtures" / "typed" / "documents.jsonl"
FLATTEN_DEPTH = 1
NS_RANGE = (-(2**63) + 2, 2**63 - 1)  # half-open; DuckDB's NULL/infinity sentinels excluded

# name, original path, kind, Arrow type: exactly, in file order.
EXPECTED_COLUMNS = [
    ("name", ["Name"], "string", "string"),
    ("a__b", ["a", "b"], "string", "string"),
    ("a__b_2", ["a__b"], "string", "string"),
    ("address__city", ["address", "City"], "string", "string"),
    ("address__geo", ["address", "geo"], "object", "string"),
    ("address__zip", ["address", "zip"], "string", "string"),
    ("blob", ["blob"], "bytes", "binary"),
    ("born", ["born"], "time", "timestamp[ns, tz=UTC]"),
    ("born__v_time_text", ["born"], "time_text", "string"),
    ("count", ["count"], "int", "int64"),
    ("day", ["day"], "date", "date32[day]"),
    ("mixed", ["mixed"], "array", "string"),
    ("name_2", ["name"], "string", "string"),
    ("ok", ["ok"], "boolean", "bool"),
    ("owner", ["owner"], "ref", "struct<id: string, collection: string, type: string>"),
    ("price", ["price"], "double", "double"),
    ("q", ["q"], "query", "string"),
    ("ref_", ["ref"], "string", "string"),
    ("s", ["s"], "set", "string"),
    ("scores", ["scores"], "array", "string"),
    ("tagged___ts", ["tagged", "@ts"], "string", "string"),
    ("tags", ["tags"], "list<string>", "list<item: string>"),
    ("address__zip__v_int", ["address", "zip"], "int", "int64"),
    ("count__v_double", ["count"], "double", "double"),
    ("price__v_int", ["price"], "int", "int64"),
    ("ts_", ["ts"], "string", "string"),
    ("address", ["address"], "string", "string"),
    ("count__v_string", ["count"], "string", "string"),
    ("edge", ["edge"], "time", "timestamp[ns, tz=UTC]"),
    ("_ts", ["@ts"], "string", "string"),
]

DUCKDB_TYPES = {
    "string": "VARCHAR", "object": "VARCHAR", "array": "VARCHAR", "query": "VARCHAR",
    "set": "VARCHAR", "time_text": "VARCHAR", "int": "BIGINT", "double": "DOUBLE",
    "boolean": "BOOLEAN", "bytes": "BLOB", "time": "TIMESTAMPTZ_NS", "date": "DATE",
    "ref": 'STRUCT(id VARCHAR, collection VARCHAR, "type" VARCHAR)', "list<string>": "VARCHAR[]",
}


def example_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("typed") / "part-00000001.parquet"
    # The test scripts hand over the example their workspace build made (TYPED_PARQUET_BIN):
    # `cargo run` of it alone would resolve other features and compile again.
    explicit = os.environ.get("TYPED_PARQUET_BIN")
    command = [explicit] if explicit else ["cargo", "run", "-q", "--example", "typed_parquet", "--"]
    subprocess.run(command + [str(FIXTURE), str(out)], cwd=ROOT, check=True, timeout=1800)
    return out


def run_file(tmp_path_factory):
    """The batch file of a real export of the fixture's documents from fauna-dev."""
    import fauna_dev_process

    work = tmp_path_factory.mktemp("typed-run")
    dataset = work / "dataset"
    (dataset / "documents").mkdir(parents=True)
    (dataset / "schema.json").write_text(json.dumps({
        "collections": [{"name": "things", "history_days": None},
                        {"name": "people", "history_days": None}],
        "keys": [{"secret": "fnTypedJudge", "role": "server"}],
    }))
    lines = []
    for line in FIXTURE.read_text().splitlines():
        if line.strip():
            doc = json.loads(line)
            lines.append(json.dumps({"id": doc["ref"]["@ref"]["id"], "ts": doc["ts"],
                                     "data": doc["data"]}))
    (dataset / "documents" / "things.jsonl").write_text("\n".join(lines) + "\n")
    dev_bin = fauna_dev_process.binary("FAUNA_DEV_BIN", "fauna-dev", "fauna-dev")
    sync_bin = fauna_dev_process.binary("FAUNA_SYNC_BIN", "fauna-sync", "fauna-sync")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dev = subprocess.Popen([str(dev_bin), "--port", str(port), "--dataset", str(dataset)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert "listening" in dev.stdout.readline()
        out = work / "out"
        subprocess.run([str(sync_bin), "export", "--endpoint", f"http://127.0.0.1:{port}",
                        "--collection", "things", "--format", "parquet", "--columns", "typed", "--out", str(out)],
                       env=dict(os.environ, FAUNA_SECRET="fnTypedJudge"), check=True,
                       timeout=600, capture_output=True)
    finally:
        dev.terminate()
        dev.wait(timeout=10)
    manifest = [json.loads(line) for line in (out / "_manifest.jsonl").read_text().splitlines()]
    assert [m["file"] for m in manifest] == ["things/part-00000001.parquet"]
    path = out / "things" / "part-00000001.parquet"
    # The manifest line counts the file's variant columns and the values they hold.
    table = pq.read_table(path)
    variants = [f.name for f in table.schema
                if f.metadata and b"fauna_sync.variant_of" in f.metadata]
    held = sum(len(table) - table.column(n).null_count for n in variants)
    assert manifest[0]["schema"] == {"version": 1, "columns": len(EXPECTED_COLUMNS),
                                     "variants": len(variants), "variant_values": held}
    assert len(variants) == 5
    return path


@pytest.fixture(scope="module", params=["example", "run"])
def typed_file(request, tmp_path_factory):
    """The typed file of each writer."""
    if request.param == "example":
        return example_file(tmp_path_factory)
    return run_file(tmp_path_factory)


@pytest.fixture(scope="module")
def sidecar_file(tmp_path_factory):
    """The example's file, beside which it writes the schema sidecars."""
    return example_file(tmp_path_factory)


def driver_decode(raw):
    """The driver's decoding of a plain-JSON-parsed wire value. Objects are walked here and
    every tagged value and scalar is decoded by `parse_json`: the driver's own object hook
    runs inner objects first, so it turns `{"@obj": {"@ts": "x"}}` into a FaunaTime (it cannot
    read tag-named keys, as tests/export/test_export_tag_keys.py notes)."""
    if isinstance(raw, dict) and list(raw) == ["@obj"]:
        return {k: driver_decode(v) for k, v in raw["@obj"].items()}
    if isinstance(raw, dict) and not any(k.startswith("@") for k in raw):
        return {k: driver_decode(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [driver_decode(v) for v in raw]
    return parse_json(json.dumps(raw))


@pytest.fixture(scope="module")
def driver_docs():
    lines = [line for line in FIXTURE.read_text().splitlines() if line.strip()]
    return [driver_decode(json.loads(line)) for line in lines]


# --------------------------------------------------------------------------------------------
# An independent reading of the mapping, from the driver's values


def time_ns(t: FaunaTime):
    """Nanoseconds since the epoch of a driver time (its ISO text, exactly)."""
    text = t.value
    assert text.endswith("Z"), text
    whole, _, frac = text[:-1].partition(".")
    dt = datetime.datetime.fromisoformat(whole).replace(tzinfo=datetime.timezone.utc)
    delta = dt - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    secs = delta.days * 86400 + delta.seconds
    return secs * 10**9 + int((frac + "000000000")[:9])


def kind_of(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "double"
    if isinstance(v, str):
        return "string"
    if isinstance(v, FaunaTime):
        return "time" if NS_RANGE[0] <= time_ns(v) < NS_RANGE[1] else "time_text"
    if isinstance(v, datetime.date):
        return "date"
    if isinstance(v, (bytes, bytearray)):
        return "bytes"
    if isinstance(v, Ref):
        return "ref"
    if isinstance(v, SetRef):
        return "set"
    if isinstance(v, Query):
        return "query"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    raise AssertionError(f"unexpected driver value {v!r}")


def export_form(v):
    """The export JSON of a driver value (for the JSON-text columns)."""
    if isinstance(v, FaunaTime):
        return v.value
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray)):
        return base64.urlsafe_b64encode(bytes(v)).decode()
    if isinstance(v, Ref):  # the export form has no `collection` key but for documents
        return {k: x for k, x in ref_form(v).items() if x is not None}
    if isinstance(v, (SetRef, Query)):
        return to_json(v)
    if isinstance(v, dict):
        return {k: export_form(x) for k, x in v.items()}
    if isinstance(v, list):
        return [export_form(x) for x in v]
    return v


def ref_form(r: Ref):
    parent = r.collection()
    if parent is not None and parent.collection() is None and parent.id() == "collections":
        return {"id": r.id(), "collection": None, "type": "collection"}
    if parent is not None and parent.collection() is not None and parent.collection().id() == "collections":
        return {"id": r.id(), "collection": parent.id(), "type": "document"}
    raise AssertionError(f"fixture ref not covered: {r!r}")


def placements(data, columns):
    """(path, kind, value) of every non-null value a column holds, walking flattened objects."""
    list_kinds = {tuple(c["path"]): c["kind"] for c in columns if c["kind"].startswith("list<")}

    def walk(path, v):
        k = kind_of(v)
        if k is None:
            return
        if k == "object" and len(path) <= FLATTEN_DEPTH:
            for key, child in v.items():
                yield from walk(path + [key], child)
            return
        if k == "array" and tuple(path) in list_kinds:
            element = list_kinds[tuple(path)][len("list<"):-1]
            if all(kind_of(x) in (None, element) for x in v):
                k = list_kinds[tuple(path)]
        yield path, k, v

    for key, v in data.items():
        yield from walk([key], v)


def expected_cell(kind, v):
    if kind == "time":
        return time_ns(v)
    if kind == "time_text":
        return v.value
    if kind == "bytes":
        return bytes(v)
    if kind == "ref":
        return ref_form(v)
    if kind in ("set", "query"):
        return to_json(v)
    if kind in ("object", "array"):
        return json.dumps(export_form(v), separators=(",", ":"))
    if kind.startswith("list<"):
        return [expected_cell(kind[len("list<"):-1], x) if x is not None else None for x in v]
    return v


def actual_cells(table, name, kind):
    col = table.column(name)
    if kind == "time":
        return pc.cast(col, pa.int64()).to_pylist()
    return col.to_pylist()


# --------------------------------------------------------------------------------------------


def test_columns_types_and_paths_are_exact(typed_file):
    schema = pq.read_schema(typed_file)
    assert [f.name for f in schema][:3] == ["ref", "ts", "data"]
    got = []
    for f in list(schema)[3:]:
        meta = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
        got.append((f.name, json.loads(meta["fauna_sync.path"]), meta["fauna_sync.kind"], str(f.type)))
        if "fauna_sync.variant_of" in meta:
            first = next(c for c in got if c[1] == got[-1][1])
            assert meta["fauna_sync.variant_of"] == first[0]
    assert got == [tuple(c) for c in EXPECTED_COLUMNS]
    plan = json.loads(schema.metadata[b"fauna_sync.column_plan"])
    assert [c["name"] for c in plan["columns"]] == [c[0] for c in EXPECTED_COLUMNS]
    assert plan["options"] == {"flatten_depth": 1, "separator": "__", "reserved": []}


def test_every_cell_equals_the_driver_value(typed_file, driver_docs):
    table = pq.read_table(typed_file)
    columns = [{"name": n, "path": p, "kind": k} for n, p, k, _ in EXPECTED_COLUMNS]
    by_slot = {(tuple(c["path"]), c["kind"].split("<")[0]): c["name"] for c in columns}
    expected = {c["name"]: [None] * len(driver_docs) for c in columns}
    for row, doc in enumerate(driver_docs):
        for path, kind, v in placements(doc["data"], columns):
            name = by_slot.get((tuple(path), kind.split("<")[0]))
            assert name is not None, f"row {row}: no column for {path} {kind}"
            assert expected[name][row] is None, f"row {row}: {name} filled twice"
            expected[name][row] = expected_cell(kind, v)
    for c in columns:
        got = actual_cells(table, c["name"], c["kind"])
        assert got == expected[c["name"]], c["name"]
    # -0.0 keeps its sign; the ids are the driver's.
    price = table.column("price").to_pylist()
    assert math.copysign(1, price[3]) == -1
    assert table.column("ref").to_pylist() == [d["ref"].id() for d in driver_docs]
    assert table.column("ts").to_pylist() == [d["ts"] for d in driver_docs]


def test_data_column_stays_the_lossless_export_json(typed_file, driver_docs):
    data = pq.read_table(typed_file).column("data").to_pylist()
    assert [json.loads(d) for d in data] == [export_form(doc["data"]) for doc in driver_docs]


def test_duckdb_reads_the_same_types_and_values(typed_file, driver_docs):
    con = duckdb.connect()
    described = con.sql(f"DESCRIBE SELECT * FROM read_parquet('{typed_file}')").fetchall()
    types = {name: ty for name, ty, *_ in described}
    for name, _, kind, _ in EXPECTED_COLUMNS:
        assert types[name] == DUCKDB_TYPES[kind], name
    rows = con.sql(
        f"SELECT epoch_ns(born), born__v_time_text, epoch_ns(edge), owner.id, owner.collection,"
        f" owner.\"type\", tags, day, blob FROM read_parquet('{typed_file}') ORDER BY ref"
    ).fetchall()
    d = [doc["data"] for doc in driver_docs]
    assert rows == [
        (time_ns(d[0]["born"]), None, None, d[0]["owner"].id(), "people", "document",
         ["a", "b"], d[0]["day"], bytes(d[0]["blob"])),
        (None, d[1]["born"].value, None, "things", None, "collection", [], d[1]["day"], None),
        (None, d[2]["born"].value, time_ns(d[2]["edge"]), None, None, None, None, None, None),
        (None, d[3]["born"].value, time_ns(d[3]["edge"]), None, None, None, None, None,
         bytes(d[3]["blob"])),
    ]
    # The extremes DuckDB reserves are text variants, so no typed value reads as infinity.
    assert time_ns(d[2]["born"]) == 2**63 - 1 and time_ns(d[3]["born"]) == -(2**63)


def test_schema_sidecar_counts_every_type(sidecar_file):
    schema = json.loads(Path(str(sidecar_file) + ".schema.json").read_text())
    assert schema["version"] == 1 and schema["documents"] == 4
    count = next(p for p in schema["paths"] if p["path"] == ["count"])
    assert {t: s["count"] for t, s in count["types"].items()} == {"int": 2, "double": 1, "string": 1}
    assert count["types"]["string"]["first"] == {"ts": 1700000000000003, "id": "103"}
    born = next(p for p in schema["paths"] if p["path"] == ["born"])
    assert born["types"]["time"]["count"] == 4 and born["types"]["time"]["out_of_range"] == 3
    owner = next(p for p in schema["paths"] if p["path"] == ["owner"])
    assert owner["types"]["ref"]["refs"] == {"collection": 1, "document:people": 1}


def test_json_schema_sidecar_validates_every_export_record(sidecar_file, driver_docs):
    import jsonschema

    schema = json.loads(Path(str(sidecar_file) + ".record.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    for doc in driver_docs:
        record = {"ref": doc["ref"].id(), "ts": doc["ts"], "data": export_form(doc["data"])}
        jsonschema.validate(record, schema)
    data = schema["properties"]["data"]["properties"]
    assert data["count"] == {"anyOf": [{"type": "integer"}, {"type": "number"}, {"type": "string"}]}
    assert data["born"]["format"] == "date-time"
    # A wrong type is refused: the sidecar is exact, not permissive.
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"ref": "1", "ts": 1, "data": {"ok": "yes"}}, schema)


def test_bigquery_sidecar_lists_the_typed_columns(sidecar_file):
    fields = json.loads(Path(str(sidecar_file) + ".bigquery.json").read_text())
    assert [f["name"] for f in fields] == ["ref", "ts", "data"] + [c[0] for c in EXPECTED_COLUMNS]
    by_name = {f["name"]: (f["type"], f["mode"]) for f in fields}
    assert by_name["born"] == ("TIMESTAMP", "NULLABLE")
    assert by_name["tags"] == ("STRING", "REPEATED")
    assert by_name["owner"] == ("RECORD", "NULLABLE")
    assert by_name["count__v_double"] == ("FLOAT64", "NULLABLE")
