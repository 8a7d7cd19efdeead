"""`fauna-sync load` judged by the official Python driver: after an export and four syncs
(updates, deletions, a delete + re-create, ttl changes, a type conflict), each loaded after its
run, the PostgreSQL table equals the collection as the driver reads it — every document's id,
its exact `ts`, and `data` typed value by value (ints stay exact 64-bit integers, doubles stay
doubles, times, dates, bytes and refs in their export form), computed from the driver's raw
wire JSON by the independent mapping of tests/export/mapping.py. Loading everything again, and
loading the oldest files again after the newest, changes nothing.

The same runs written with `--columns typed` load into typed tables, and every typed column
(each column of the output's plan, variants included) is judged too: per document, the value
the driver decodes at the column's path goes in the column of its kind, typed as PostgreSQL
holds it (bigint, double precision, timestamptz, date, bytea, the `fauna_ref` composite,
arrays, jsonb), and is NULL in every other column — by the independent reading of
tests/typed/test_typed_parquet.py.

Needs `FAUNA_SYNC_PG_URL` (a superuser URL; the test command starts the server: scripts/test).
"""

import json
import os
import subprocess

import psycopg
import pytest
from faunadb import query as q

from typed.test_typed_parquet import driver_decode, expected_cell, placements, time_ns

import fauna_dev_process
from export import mapping
from fauna_dev_process import binary

SECRET = "fnLoadJudgedRoot"
COLLECTION = "accounts"


@pytest.fixture(scope="module")
def pg_url():
    url = os.environ.get("FAUNA_SYNC_PG_URL")
    if not url:
        pytest.fail("FAUNA_SYNC_PG_URL is not set: run the tests through scripts/test, which starts PostgreSQL")
    return url


@pytest.fixture
def server(tmp_path_factory):
    dev = fauna_dev_process.FaunaDev(
        binary("FAUNA_DEV_BIN", "fauna-dev", "fauna-dev"),
        tmp_path_factory.mktemp("fauna-dev") / "fauna-dev.log",
        SECRET,
    )
    yield dev
    dev.stop()


def _live_documents(server):
    """(ref, raw wire response of its Get) of every live document, read with the official
    driver (Paginate(Documents()) + Get)."""
    seen = {}
    c = server.client(observer=lambda r: seen.__setitem__("last", r))
    refs, after = [], None
    while True:
        page = c.query(q.paginate(q.documents(q.collection(COLLECTION)), size=7, after=after))
        refs += page["data"]
        if "after" not in page:
            break
        after = page["after"]
    for ref in refs:
        c.query(q.get(ref))
        yield ref, seen["last"].response_raw


def _collection_by_driver(server):
    """{id: (ts, data in export form)} of every live document; values decoded from the
    driver's raw wire response."""
    docs = {}
    for _, raw in _live_documents(server):
        doc = mapping.decode(mapping.parse_wire(raw)["resource"])
        docs[doc["ref"].id] = (doc["ts"], _typed(mapping.export(doc.get("data"))))
    return docs


def _typed(v):
    """`v` with each scalar tagged by its JSON type, so 2 and 2.0 (or True and 1) differ."""
    if isinstance(v, dict):
        return {k: _typed(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_typed(x) for x in v]
    return (type(v).__name__, v)


def _table(pg, schema):
    """{id: (ts_us, data)} of the loaded table; `ts` must be `ts_us` as a timestamp."""
    with pg.cursor() as cur:
        cur.execute(
            f'SELECT id, ts_us, data::text, ts = timestamptz \'epoch\' + ts_us * interval \'1 microsecond\' '
            f'FROM "{schema}"."{COLLECTION}" ORDER BY id'
        )
        rows = cur.fetchall()
    assert all(r[3] for r in rows), "ts differs from ts_us"
    return {r[0]: (r[1], _typed(json.loads(r[2]))) for r in rows}


def _load(sync_bin, env, out, url, schema):
    r = subprocess.run(
        [str(sync_bin), "load", "--out", str(out), "--into", url, "--schema", schema],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "fnLoad" not in r.stderr + r.stdout, "a secret in the load's output"
    return r.stdout


def _values(i):
    """Document i's data: every kind of value the wire has."""
    return {
        "n": i,
        "big": 2**62 + i,
        "ratio": i / 4,
        "whole_double": 2.0,
        "name": f"account {i}",
        "active": i % 2 == 0,
        "opened": q.time(f"2024-03-0{i % 9 + 1}T10:11:12.123456Z"),
        "born": q.date(f"199{i % 10}-01-02"),
        "blob": bytes([i % 256, 0, 255]),
        "owner": q.ref(q.collection("owners"), str(1000 + i)),
        "address": {"city": f"city {i}", "zip": f"{10000 + i}"},
        "tags": ["a", i, 1.5, None],
        "scores": [i, None, -i],
        "labels": [f"l{i}"],
        "nothing": None,
    }


def _plan_columns(out):
    """The typed columns of the output's plan, as tests/typed spells kinds."""
    state = json.loads((out / "_state.json").read_text())
    plan = state["streams"][COLLECTION]["typed"]["plan"]
    kind = lambda c: f"list<{c['of']}>" if c["kind"] == "list" else c["kind"]  # noqa: E731
    return [{"name": c["name"], "path": c["path"], "kind": kind(c)} for c in plan["columns"]]


def _typed_by_driver(server, columns):
    """{id: {column: cell}} of every live document: the driver's values placed in the column of
    their path and kind (None in the rest), as the PostgreSQL columns are read back."""
    rows = {}
    by_place = {(tuple(col["path"]), col["kind"]): col["name"] for col in columns}
    for ref, raw in _live_documents(server):
        doc = json.loads(raw)["resource"]
        row = {col["name"]: None for col in columns}
        for path, kind, v in placements(driver_decode(doc.get("data", {})), columns):
            name = by_place.get((tuple(path), kind))
            assert name, f"no column for {path} {kind} in the plan"
            row[name] = _as_read(kind, expected_cell(kind, v), v)
        rows[ref.id()] = row
    return rows


def _as_read(kind, cell, v):
    """A cell as PostgreSQL gives it back: times as microseconds (rounded toward the past),
    JSON texts parsed, lists of times as microseconds."""
    if kind == "time":
        return time_ns(v) // 1000
    if kind in ("object", "array", "set", "query"):
        return json.loads(cell)
    if kind == "list<time>":
        return [None if x is None else time_ns(x) // 1000 for x in v]
    return cell


def _typed_table(pg, schema, columns):
    """{id: {column: value}} of the loaded table's typed columns, and their SQL types."""
    def select(col):
        n = '"' + col["name"] + '"'
        if col["kind"] == "time":
            return f"(extract(epoch FROM {n}) * 1000000)::bigint"
        if col["kind"] == "ref":
            return f"to_jsonb({n})"
        if col["kind"] == "list<time>":
            return f"array(SELECT (extract(epoch FROM e) * 1000000)::bigint FROM unnest({n}) e)"
        return n
    with pg.cursor() as cur:
        cur.execute(
            "SELECT a.attname::text, CASE WHEN t.typtype = 'c' THEN t.typname::text "
            "ELSE format_type(a.atttypid, a.atttypmod) END FROM pg_attribute a "
            "JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped",
            (f'"{schema}"."{COLLECTION}"',),
        )
        types = dict(cur.fetchall())
        cur.execute(
            f'SELECT id, {", ".join(select(col) for col in columns)} '
            f'FROM "{schema}"."{COLLECTION}" ORDER BY id'
        )
        rows = {r[0]: {col["name"]: v for col, v in zip(columns, r[1:])} for r in cur.fetchall()}
    return rows, types


SQL_TYPES = {
    "int": "bigint", "double": "double precision", "string": "text", "boolean": "boolean",
    "time": "timestamp with time zone", "time_text": "text", "date": "date", "date_text": "text",
    "bytes": "bytea", "ref": "fauna_ref", "object": "jsonb", "array": "jsonb", "set": "jsonb",
    "query": "jsonb", "list<int>": "bigint[]", "list<double>": "double precision[]",
    "list<string>": "text[]", "list<boolean>": "boolean[]", "list<time>": "timestamp with time zone[]",
    "list<date>": "date[]", "list<bytes>": "bytea[]",
}


def _assert_typed(pg, schema, server, out, what):
    columns = _plan_columns(out)
    got, types = _typed_table(pg, schema, columns)
    for col in columns:
        assert types.get(col["name"]) == SQL_TYPES[col["kind"]], f"{what}: {col}"
    want = _typed_by_driver(server, columns)
    assert got == want, f"{what}: " + _diff(got, want)
    return columns


@pytest.mark.parametrize("columns", ["json", "typed"])
def test_loaded_tables_equal_the_collection_read_by_the_driver(server, pg_url, tmp_path, columns):
    c = server.client()
    c.query(q.create_collection({"name": "owners"}))
    c.query(q.create_collection({"name": COLLECTION}))
    c.query(q.create_index({"name": f"{COLLECTION}_by_ts", "source": q.collection(COLLECTION),
                            "values": [{"field": ["ts"]}, {"field": ["ref"]}]}))
    ref = lambda i: q.ref(q.collection(COLLECTION), str(i))  # noqa: E731
    for i in range(1, 31):
        params = {"data": _values(i)}
        if i in (5, 6, 7):
            params["ttl"] = q.time("2099-01-01T00:00:00Z")
        c.query(q.create(ref(i), params))

    out = tmp_path / "out"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({
        "domain": server.host, "port": server.port, "scheme": "http",
        "collection": {"name": COLLECTION, "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}},
        "output": {"dir": str(out), "format": "parquet", "batch_rows": 11, "columns": columns},
    }))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAUNA_", "RUST_LOG", "PG"))}
    env["FAUNA_SECRET"] = SECRET
    sync_bin = binary("FAUNA_SYNC_BIN", "fauna-sync", "fauna-sync")
    schema = f"judged_{columns}"
    rounds = [
        # sync 1: updates (a field's type changes: `n` becomes a string in one document, a
        # double in another), deletions, new documents
        lambda: [c.query(q.update(ref(2), {"data": {"n": "two", "extra": {"deep": [1, {"x": 2}]}}})),
                 c.query(q.update(ref(3), {"data": {"n": 3.5}})),
                 c.query(q.delete(ref(4))), c.query(q.delete(ref(8))),
                 c.query(q.create(ref(100), {"data": _values(100)}))],
        # sync 2: a delete + re-create of one id, a document updated twice, ttl extended,
        # ttl removed
        lambda: [c.query(q.delete(ref(9))), c.query(q.create(ref(9), {"data": {"n": "reborn"}})),
                 c.query(q.update(ref(10), {"data": {"n": 1}})), c.query(q.update(ref(10), {"data": {"n": 2}})),
                 c.query(q.update(ref(5), {"ttl": q.time("2199-01-01T00:00:00Z")})),
                 c.query(q.update(ref(6), {"ttl": None}))],
        # sync 3: a ttl moved into the past expires its document; a document created and
        # deleted between syncs; a replace that drops fields
        lambda: [c.query(q.update(ref(7), {"ttl": q.time("2001-01-01T00:00:00Z")})),
                 c.query(q.create(ref(200), {"data": {"n": 200}})), c.query(q.delete(ref(200))),
                 c.query(q.replace(ref(11), {"data": {"only": True}}))],
        # sync 4: nothing changed
        lambda: [],
    ]
    with psycopg.connect(pg_url, autocommit=True) as pg:
        pg.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # a server kept from an earlier run
        for round_ in range(5):
            if round_ > 0:
                rounds[round_ - 1]()
            command = "export" if round_ == 0 else "sync"
            r = subprocess.run([str(sync_bin), command, "--config", str(cfg)], env=env,
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stderr
            _load(sync_bin, env, out, pg_url, schema)
            want = _collection_by_driver(server)
            got = _table(pg, schema)
            assert got == want, f"after run {round_ + 1}: " + _diff(got, want)
            if columns == "typed":
                plan = _assert_typed(pg, schema, server, out, f"after run {round_ + 1}")
        assert "7" not in got and "4" not in got and "9" in got and "200" not in got
        if columns == "typed":
            # The type conflicts became variants; the lists and the ref became typed columns.
            kinds = {(c["name"], c["kind"]) for c in plan}
            for want_col in [("n", "int"), ("n__v_string", "string"), ("n__v_double", "double"),
                             ("scores", "list<int>"), ("labels", "list<string>"), ("owner", "ref"),
                             ("opened", "time"), ("born", "date"), ("blob", "bytes"),
                             ("address__city", "string"), ("tags", "array"), ("extra__deep", "array")]:
                assert want_col in kinds, f"{want_col} not in {sorted(kinds)}"

        # Loading again changes nothing; so does loading the oldest files again after the
        # newest (the version guard: their records are older than the rows or the deletions).
        before = _table(pg, schema)
        _load(sync_bin, env, out, pg_url, schema)
        assert _table(pg, schema) == before
        if columns == "typed":
            _assert_typed(pg, schema, server, out, "after the replay")
        with pg.cursor() as cur:
            cur.execute(f'SELECT count(*) FROM "{schema}"._fauna_sync_loads')
            (loaded,) = cur.fetchone()
            cur.execute(
                f'DELETE FROM "{schema}"._fauna_sync_loads WHERE file IN '
                f'(SELECT file FROM "{schema}"._fauna_sync_loads ORDER BY file LIMIT 3)'
            )
            assert cur.rowcount == 3 and loaded > 3
        _load(sync_bin, env, out, pg_url, schema)
        assert _table(pg, schema) == before
        if columns == "typed":
            _assert_typed(pg, schema, server, out, "after the replay")


def _diff(got, want):
    ids = sorted(set(got) | set(want), key=lambda s: (len(s), s))
    bad = [i for i in ids if got.get(i) != want.get(i)][:3]
    return "; ".join(f"{i}: table {got.get(i)!r} != driver {want.get(i)!r}" for i in bad)
