"""A database tree exported and synced by fauna-sync, judged by the official Python driver.

The driver builds a tree on its own fauna-dev (root -> tenant1..3 -> sub each, the same
collection `orders` with its [ts, ref] index in every database), writes through secrets scoped
to each database, and reads every database's documents back (Paginate(Documents()) + Get) with
a secret scoped `server-readonly`. The table rebuilt from fauna-sync's output — each
(database, ref)'s latest record in manifest order, deletion records removing — must equal what
the driver reads, after a first sync and again after writes, deletions and a new tenant.
"""

import json
import os
import subprocess

import pytest
from faunadb import query as q

from conftest import FaunaDev, _binary

PATHS = ["", "tenant1", "tenant1/sub", "tenant2", "tenant2/sub", "tenant3", "tenant3/sub"]


def scoped(server, path, role="admin"):
    secret = server.root_secret if not path else f"{server.root_secret}:{path}:{role}"
    return server.client(secret)


def make_database(server, path):
    parent, _, name = path.rpartition("/")
    scoped(server, parent).query(q.create_database({"name": name}))
    c = scoped(server, path)
    c.query(q.create_collection({"name": "orders"}))
    c.query(q.create_index({"name": "orders_ts", "source": q.collection("orders"),
                            "values": [{"field": "ts"}, {"field": "ref"}]}))


def fill(server, path, ids):
    c = scoped(server, path)
    for i in ids:
        c.query(q.create(q.ref(q.collection("orders"), str(i)),
                         {"data": {"db": path, "n": i, "items": [{"sku": f"s{i}", "qty": i * 2}],
                                   "note": "é\n\"quoted\"", "big": 2**53 + i}}))


def read_back(server, paths):
    """(database, id) -> (ts, data) of every database's orders, as the driver reads them."""
    out = {}
    for path in paths:
        c = scoped(server, path, "server-readonly")
        after = None
        while True:
            page = c.query(q.paginate(q.documents(q.collection("orders")), size=2, after=after))
            for ref in page["data"]:
                doc = c.query(q.get(ref))
                out[(path, ref.id())] = (doc["ts"], doc["data"])
            if "after" not in page:
                break
            after = page["after"]
    return out


def rebuilt(out):
    """The table rebuilt from the manifest's files, in manifest order."""
    table = {}
    for line in (out / "_manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        for rec_line in (out / entry["file"]).read_text().splitlines():
            rec = json.loads(rec_line)
            key = (rec["database"], rec["ref"])
            if rec.get("deleted_at") is None:
                table[key] = (rec["ts"], rec["data"])
            else:
                table.pop(key, None)
    return table


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    server = FaunaDev(_binary("FAUNA_DEV_BIN", "fauna-dev", "fauna-dev"),
                      tmp_path_factory.mktemp("tree") / "fauna-dev.log")
    try:
        root = server.client()
        root.query(q.create_collection({"name": "orders"}))
        root.query(q.create_index({"name": "orders_ts", "source": q.collection("orders"),
                                   "values": [{"field": "ts"}, {"field": "ref"}]}))
        for path in PATHS[1:]:
            make_database(server, path)
        for path in PATHS:
            fill(server, path, range(1, 4))
        yield server
    finally:
        server.stop()


def sync(server, out):
    binary = _binary("FAUNA_SYNC_BIN", "fauna-sync", "fauna-sync")
    config = out.parent / "config.json"
    config.write_text(json.dumps(server.config(
        databases={"select": "recursive"},
        defaults={"deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}})))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAUNA_", "RUST_LOG"))}
    proc = subprocess.run([str(binary), "sync", "--config", str(config), "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_a_synced_tree_equals_every_database_as_the_driver_reads_it(tree, tmp_path):
    out = tmp_path / "out"
    sync(tree, out)
    want = read_back(tree, PATHS)
    assert len(want) == 21
    assert rebuilt(out) == want

    scoped(tree, "tenant2/sub").query(
        q.update(q.ref(q.collection("orders"), "2"), {"data": {"n": 20, "items": None}}))
    scoped(tree, "tenant1").query(q.delete(q.ref(q.collection("orders"), "3")))
    make_database(tree, "tenant4")
    fill(tree, "tenant4", [7])
    sync(tree, out)
    paths = PATHS + ["tenant4"]
    want = read_back(tree, paths)
    assert ("tenant1", "3") not in want and want[("tenant4", "7")][1]["db"] == "tenant4"
    assert rebuilt(out) == want
