"""The DuckDB loading recipe (examples/duckdb_load.py): after several syncs with updates and
deletions, loaded after each, the table equals the source collection, for Parquet and for JSONL
(plain and zstd) output."""

import importlib.util
import json
import os
import subprocess

import duckdb
import pytest
from faunadb import query as q

import fauna_dev_process
from fauna_dev_process import ROOT, binary

SECRET = "fnLoadRecipeRoot"


def _recipe():
    spec = importlib.util.spec_from_file_location("duckdb_load", ROOT / "examples" / "duckdb_load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    dev = fauna_dev_process.FaunaDev(
        binary("FAUNA_DEV_BIN", "fauna-dev", "fauna-dev"),
        tmp_path_factory.mktemp("fauna-dev") / "fauna-dev.log",
        SECRET,
    )
    yield dev
    dev.stop()


def _source(client, name):
    """{id: data} of every document of collection `name`, read with the driver."""
    page = client.query(q.map_(lambda r: q.get(r), q.paginate(q.documents(q.collection(name)), size=1000)))
    return {d["ref"].id(): d["data"] for d in page["data"]}


@pytest.mark.parametrize("output", [
    {"format": "parquet"},
    {"format": "jsonl"},
    {"format": "jsonl", "compression": "zstd"},
], ids=["parquet", "jsonl", "jsonl-zstd"])
def test_loaded_table_equals_the_collection_after_syncs_with_updates_and_deletions(server, tmp_path, output):
    # One collection per case: the server is shared by the module.
    name = "items_" + "_".join(output.values())
    c = server.client()
    c.query(q.create_collection({"name": name}))
    c.query(q.create_index({"name": f"{name}_ts", "source": q.collection(name),
                            "values": [{"field": ["ts"]}, {"field": ["ref"]}]}))
    ref = lambda i: q.ref(q.collection(name), str(i))  # noqa: E731
    for i in range(1, 41):
        c.query(q.create(ref(i), {"data": {"n": i, "name": f"item {i}", "tags": ["a", i % 3]}}))
    out = tmp_path / "out"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({
        "domain": server.host, "port": server.port, "scheme": "http",
        "collection": {"name": name, "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}},
        "output": {"dir": str(out), "batch_rows": 15, **output},
    }))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAUNA_", "RUST_LOG"))}
    env["FAUNA_SECRET"] = SECRET
    sync_bin = binary("FAUNA_SYNC_BIN", "fauna-sync", "fauna-sync")
    recipe = _recipe()
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    changes = [
        # round 1: updates, deletions, creations
        lambda: [c.query(q.update(ref(i), {"data": {"n": -i}})) for i in (2, 5, 7)]
        + [c.query(q.delete(ref(i))) for i in (3, 4)]
        + [c.query(q.create(ref(100 + i), {"data": {"n": 100 + i}})) for i in range(3)],
        # round 2: a document updated twice, one created then deleted, one updated then deleted
        lambda: [c.query(q.update(ref(10), {"data": {"n": 1}})), c.query(q.update(ref(10), {"data": {"n": 2}})),
                 c.query(q.create(ref(200), {"data": {"n": 200}})), c.query(q.delete(ref(200))),
                 c.query(q.update(ref(11), {"data": {"n": 0}})), c.query(q.delete(ref(11)))],
        # round 3: nothing changed
        lambda: [],
    ]
    loaded = []
    for round_ in range(4):
        if round_ > 0:
            changes[round_ - 1]()
        r = subprocess.run([str(sync_bin), "sync", "--config", str(cfg)], env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        loaded.append(recipe.load(con, out, name))
        table = {ref_: json.loads(data) for ref_, data in con.execute(f"SELECT ref, data FROM {name}").fetchall()}
        assert table == _source(c, name), f"after sync {round_ + 1}"
    assert loaded == [3, 1, 1, 0]
    extension = {"parquet": ".parquet", "jsonl": ".jsonl"}[output["format"]]
    extension += {"zstd": ".zst"}.get(output.get("compression"), "")
    files = [json.loads(line)["file"] for line in (out / "_manifest.jsonl").read_text().splitlines()]
    assert len(files) == 5 and all(f.endswith(extension) for f in files), files
    # The version guard: the first files loaded again after the newer ones change nothing
    # (their records are older than the rows, or than the deletions kept in <table>_deleted).
    before = sorted(con.execute(f"SELECT ref, ts, data FROM {name}").fetchall())
    con.execute("DELETE FROM _fauna_sync_loaded WHERE file IN (SELECT file FROM _fauna_sync_loaded ORDER BY file LIMIT 3)")
    assert recipe.load(con, out, name) == 3
    assert sorted(con.execute(f"SELECT ref, ts, data FROM {name}").fetchall()) == before


def test_typed_columns_load_latest_wins_with_deletions_and_a_ts_guard(server, tmp_path):
    """Typed Parquet loaded with the typed recipe: after each of four syncs (updates, a type
    change, a new field, deletions) the table's typed columns equal the collection's values,
    and loading every file again, oldest last, changes nothing."""
    name = "items_typed"
    c = server.client()
    c.query(q.create_collection({"name": name}))
    c.query(q.create_index({"name": f"{name}_ts", "source": q.collection(name),
                            "values": [{"field": ["ts"]}, {"field": ["ref"]}]}))
    ref = lambda i: q.ref(q.collection(name), str(i))  # noqa: E731
    for i in range(1, 21):
        c.query(q.create(ref(i), {"data": {"n": i, "name": f"item {i}"}}))
    out = tmp_path / "out"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({
        "domain": server.host, "port": server.port, "scheme": "http",
        "collection": {"name": name, "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}},
        "output": {"dir": str(out), "batch_rows": 8, "format": "parquet", "columns": "typed"},
    }))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAUNA_", "RUST_LOG"))}
    env["FAUNA_SECRET"] = SECRET
    sync_bin = binary("FAUNA_SYNC_BIN", "fauna-sync", "fauna-sync")
    recipe = _recipe()
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    changes = [
        lambda: [c.query(q.update(ref(2), {"data": {"n": "two"}})),   # a variant: n__v_string
                 c.query(q.delete(ref(3))),
                 c.query(q.create(ref(100), {"data": {"n": 100, "price": 1.5}}))],  # a new column
        lambda: [c.query(q.update(ref(10), {"data": {"n": 1}})), c.query(q.update(ref(10), {"data": {"n": 2}})),
                 c.query(q.create(ref(200), {"data": {"n": 200}})), c.query(q.delete(ref(200))),
                 c.query(q.delete(ref(2)))],
        lambda: [],
    ]

    def typed_table():
        cols = [r[0] for r in con.execute(f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{name}'").fetchall()]
        rows = con.execute(f"SELECT * FROM {name}").fetchall()
        table = {}
        for row in rows:
            r = dict(zip(cols, row))
            values = {"n": r.get("n") if r.get("n") is not None else r.get("n__v_string"),
                      "name": r.get("name"), "price": r.get("price")}
            table[r["ref"]] = {k: v for k, v in values.items() if v is not None}
            assert json.loads(r["data"]) == table[r["ref"]]
        return table

    for round_ in range(4):
        if round_ > 0:
            changes[round_ - 1]()
        r = subprocess.run([str(sync_bin), "sync", "--config", str(cfg)], env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        recipe.load(con, out, name, typed=True)
        assert typed_table() == _source(c, name), f"after sync {round_ + 1}"
    types = dict(con.execute(f"SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = '{name}'").fetchall())
    assert {k: types[k] for k in ["n", "name", "price", "n__v_string", "ts"]} == {
        "n": "BIGINT", "name": "VARCHAR", "price": "DOUBLE", "n__v_string": "VARCHAR", "ts": "BIGINT"}
    before = sorted(con.execute(f"SELECT * FROM {name}").fetchall())
    # Every file loaded again, the newest first: nothing changes.
    con.execute("DELETE FROM _fauna_sync_loaded")
    files = [json.loads(line)["file"] for line in (out / "_manifest.jsonl").read_text().splitlines()]
    for f in reversed(files):
        con.execute("BEGIN")
        con.execute("DELETE FROM _fauna_sync_loaded")
        con.executemany("INSERT INTO _fauna_sync_loaded VALUES (?)", [[g] for g in files if g != f])
        con.execute("COMMIT")
        assert recipe.load(con, out, name, typed=True) == 1
    assert sorted(con.execute(f"SELECT * FROM {name}").fetchall()) == before
