"""Child databases: a tree (root -> tenant1..3 -> sub each) with the same schema in every
database, keys scoped to each, CRUD, pagination, history, Remove and folds in each, and the
core's answers when a key reaches for data outside its database.

The tree lives on its own instance (module fixture), so the seeded main instance is untouched.
"""

from dataclasses import dataclass, field

import pytest
from faunadb import query as q
from faunadb.errors import BadRequest, PermissionDenied, Unauthorized
from faunadb.objects import Native, Ref

from conftest import ROOT_SECRET
from helpers import Recorder, expect_error, walk_forward

TENANTS = ["tenant1", "tenant2", "tenant3"]
PATHS = [p for t in TENANTS for p in (t, f"{t}/sub")]
DOCS = 10
DENIED = "Insufficient privileges to perform the action."


def db_ref(path):
    """The ref of the database at `path` ("a/b") as the root sees it."""
    ref = None
    for name in path.split("/"):
        ref = Ref(name, Native.DATABASES, ref)
    return ref


def users(doc_id, scope=None):
    return Ref(str(doc_id), Ref("users", Native.COLLECTIONS, scope))


@dataclass
class Tree:
    instance: object
    root: object
    servers: dict = field(default_factory=dict)
    admins: dict = field(default_factory=dict)
    key_refs: dict = field(default_factory=dict)

    def server(self, path):
        return self.instance.client(self.servers[path])

    def admin(self, path):
        return self.instance.client(self.admins[path])


def seed(client, path):
    client.query(q.create_collection({"name": "users", "history_days": None}))
    client.query(q.create_index({
        "name": "users_by_team",
        "source": q.collection("users"),
        "terms": [{"field": ["data", "team"]}],
        "values": [{"field": ["data", "age"]}, {"field": "ref"}],
    }))
    client.query([
        q.create(q.ref(q.collection("users"), i),
                 {"data": {"name": f"{path}-{i}", "team": i % 2, "age": i}})
        for i in range(1, DOCS + 1)
    ])


@pytest.fixture(scope="module")
def tree(start_instance):
    inst = start_instance(name="databases")
    t = Tree(inst, inst.client())
    for tenant in TENANTS:
        t.root.query(q.create_database({"name": tenant, "data": {"tier": tenant}}))
        for role, keys in (("server", t.servers), ("admin", t.admins)):
            key = t.root.query(q.create_key({"database": q.database(tenant), "role": role}))
            keys[tenant] = key["secret"]
            t.key_refs[(tenant, role)] = key["ref"]
        tenant_admin = t.admin(tenant)
        tenant_admin.query(q.create_database({"name": "sub"}))
        for role, keys in (("server", t.servers), ("admin", t.admins)):
            key = tenant_admin.query(q.create_key({"database": q.database("sub"), "role": role}))
            keys[f"{tenant}/sub"] = key["secret"]
    for path in PATHS:
        # Server keys create collections and indexes, as the driver's own suite does.
        seed(t.server(path), path)
    return t


def test_databases_are_listed_and_read_as_the_core_renders_them(tree):
    root = tree.root
    page = root.query(q.paginate(q.databases()))
    assert page["data"] == [Ref(t, Native.DATABASES) for t in TENANTS]
    doc = root.query(q.get(q.database("tenant1")))
    assert doc["ref"] == Ref("tenant1", Native.DATABASES)
    assert doc["name"] == "tenant1"
    assert doc["data"] == {"tier": "tenant1"}
    assert len(doc["global_id"]) == 13
    assert list(doc) == ["ref", "ts", "name", "data", "global_id"]
    assert root.query(q.exists(q.database("tenant1")))
    assert not root.query(q.exists(q.database("nope")))
    expect_error(lambda: root.query(q.get(q.database("nope"))), BadRequest, 400,
                 "invalid ref", "Ref refers to undefined database 'nope'", ["get"])
    # A grandchild, seen from the root: its ref carries its parent.
    nested = q.database("sub", q.database("tenant2"))
    assert root.query(q.get(nested))["ref"] == db_ref("tenant2/sub")
    assert root.query(q.paginate(q.databases(q.database("tenant2"))))["data"] == [
        db_ref("tenant2/sub")]
    rec = Recorder()
    tree.instance.client(observer=rec).query(q.paginate(q.collections(q.database("tenant1"))))
    assert rec.last.response_raw == (
        '{"resource":{"data":[{"@ref":{"id":"users","collection":{"@ref":{"id":"collections"}},'
        '"database":{"@ref":{"id":"tenant1","collection":{"@ref":{"id":"databases"}}}}}}]}}'
    )


def test_crud_and_pagination_in_every_database(tree, uid):
    for path in PATHS:
        c = tree.server(path)
        assert c.query(q.get(users(3)))["data"] == {"name": f"{path}-3", "team": 1, "age": 3}
        refs, pages = walk_forward(c, q.documents(q.collection("users")), 3)
        assert refs == [users(i) for i in range(1, DOCS + 1)], path
        assert len(pages) == 4
        odd = c.query(q.paginate(q.match(q.index("users_by_team"), 1)))["data"]
        assert [age for age, _ in odd] == [1, 3, 5, 7, 9]
        created = c.query(q.create(q.collection("users"), {"data": {"name": uid, "team": 3}}))
        updated = c.query(q.update(created["ref"], {"data": {"age": 40}}))
        assert updated["data"] == {"name": uid, "team": 3, "age": 40}
        assert c.query(q.paginate(q.match(q.index("users_by_team"), 3)))["data"] == [
            [40, created["ref"]]]
        c.query(q.delete(created["ref"]))
        assert not c.query(q.exists(created["ref"]))
        assert c.query(q.count(q.documents(q.collection("users")))) == DOCS


def test_history_events_and_at_in_every_database(tree):
    for path in PATHS:
        c = tree.server(path)
        v1 = c.query(q.create(q.collection("users"), {"data": {"v": 1, "at": path}}))
        v2 = c.query(q.update(v1["ref"], {"data": {"v": 2}}))
        events = c.query(q.paginate(v1["ref"], events=True))["data"]
        assert [(e["action"], e["ts"]) for e in events] == [
            ("create", v1["ts"]), ("update", v2["ts"])]
        assert c.query(q.at(v1["ts"], q.get(v1["ref"])))["data"] == {"v": 1, "at": path}
        adds = c.query(q.paginate(q.documents(q.collection("users")), events=True,
                                  after=v1["ts"]))["data"]
        assert [(e["action"], e["document"]) for e in adds] == [("add", v1["ref"])]
        c.query(q.delete(v1["ref"]))


def test_remove_of_a_later_version_restores_the_previous_one(tree):
    """The driver suite's `test_remove`: removing the `create` event at the time of a
    replace removes that version (storage knows only live and deleted versions)."""
    for path in PATHS:
        c = tree.server(path)
        doc = c.query(q.create(q.collection("users"), {"data": {"n": 0}}))
        new = c.query(q.replace(doc["ref"], {"data": {"n": 1}}))
        assert c.query(q.get(doc["ref"])) == new
        assert c.query(q.remove(doc["ref"], new["ts"], "create")) is None
        assert c.query(q.get(doc["ref"])) == doc
        events = c.query(q.paginate(doc["ref"], events=True))["data"]
        assert [(e["action"], e["ts"]) for e in events] == [("create", doc["ts"])]
        # Removing the first version makes the next one the create.
        again = c.query(q.update(doc["ref"], {"data": {"n": 2}}))
        c.query(q.remove(doc["ref"], doc["ts"], "create"))
        events = c.query(q.paginate(doc["ref"], events=True))["data"]
        assert [(e["action"], e["ts"]) for e in events] == [("create", again["ts"])]
        c.query(q.delete(doc["ref"]))


def test_folds_over_pages_sets_and_arrays(tree):
    c = tree.server("tenant2/sub")
    page = q.paginate(q.match(q.index("users_by_team"), 0), size=2)
    # A fold over a page is a page of the one result, keeping the cursors.
    for fold, expected in ((q.count, 2), (q.sum, 6), (q.mean, 3.0)):
        got = c.query(fold(q.select(["data"], q.map_(q.lambda_(["age", "ref"], q.var("age")),
                                                    page))))
        assert got == expected
    folded = c.query(q.sum(q.map_(q.lambda_(["age", "ref"], q.var("age")), page)))
    assert folded["data"] == [6]
    assert "after" in folded
    assert c.query(q.count(q.paginate(q.documents(q.collection("users")))))["data"] == [DOCS]
    assert c.query([q.count([1, 2, 3]), q.sum([1, 2.5]), q.mean([1, 2])]) == [3, 3.5, 1.5]
    expect_error(lambda: c.query(q.mean([])), BadRequest, 400, "invalid argument",
                 "Non-empty array expected.", ["mean"])
    expect_error(lambda: c.query(q.sum(["x"])), BadRequest, 400, "invalid argument",
                 "Number expected, String provided.", ["sum"])


def test_parents_read_their_descendants_with_scoped_refs(tree):
    root = tree.root
    scope = db_ref("tenant3/sub")
    coll = q.collection("users", q.database("sub", q.database("tenant3")))
    refs, _ = walk_forward(root, q.documents(coll), 4)
    assert refs == [users(i, scope) for i in range(1, DOCS + 1)]
    assert refs[0].collection().database() == scope
    doc = root.query(q.get(refs[0]))
    assert doc["ref"] == users(1, scope)
    assert doc["data"]["name"] == "tenant3/sub-1"
    matched = root.query(q.paginate(q.match(q.index("users_by_team", q.database("tenant1")), 0)))
    assert matched["data"][0] == [2, users(2, db_ref("tenant1"))]
    # A tenant's server key reads its own child too (reads reach descendants).
    sub_ref = Ref("1", Ref("users", Native.COLLECTIONS, Ref("sub", Native.DATABASES)))
    assert tree.server("tenant1").query(q.get(sub_ref))["data"]["name"] == "tenant1/sub-1"
    # Writes do not reach another database.
    expect_error(lambda: root.query(q.create(coll, {"data": {}})), BadRequest, 400,
                 "invalid argument", "Cannot write a scoped ref.", ["create"])
    expect_error(lambda: root.query(q.delete(refs[0])), BadRequest, 400,
                 "invalid argument", "Cannot write a scoped ref.", ["delete"])


def test_a_tenant_key_cannot_reach_another_tenant(tree):
    t1 = tree.server("tenant1")
    # A ref as the root sees tenant2's document: the database is unknown from tenant1, so
    # the ref is unresolved.
    foreign = users(1, db_ref("tenant2"))
    expect_error(lambda: t1.query(q.get(foreign)), BadRequest, 400, "invalid ref",
                 "Ref refers to undefined collection 'users'", ["get"])
    assert t1.query(q.exists(foreign)) is False
    expect_error(
        lambda: t1.query(q.paginate(q.documents(q.collection("users", q.database("tenant2"))))),
        BadRequest, 400, "invalid ref", "Ref refers to undefined database 'tenant2'",
        ["paginate", "documents", "scope"],
    )
    # The same ids exist in every database; each key reads its own.
    assert t1.query(q.get(users(1)))["data"]["name"] == "tenant1-1"
    # Server keys may not list or read databases and keys.
    expect_error(lambda: t1.query(q.paginate(q.databases())), PermissionDenied, 403,
                 "permission denied", DENIED, ["paginate"])
    expect_error(lambda: t1.query(q.paginate(q.keys())), PermissionDenied, 403,
                 "permission denied", DENIED, ["paginate"])
    expect_error(lambda: t1.query(q.create_database({"name": "x"})), PermissionDenied, 403,
                 "permission denied", DENIED, ["create_database"])


def test_scoped_secrets(tree):
    inst = tree.instance
    t1 = inst.client(f"{ROOT_SECRET}:tenant1:server")
    assert t1.query(q.get(users(1)))["data"]["name"] == "tenant1-1"
    expect_error(lambda: t1.query(q.get(users(1, db_ref("tenant2")))), BadRequest, 400,
                 "invalid ref", "Ref refers to undefined collection 'users'", ["get"])
    expect_error(lambda: t1.query(q.create_key({"role": "server"})), PermissionDenied, 403,
                 "permission denied", DENIED, ["create_key"])
    sub = inst.client(f"{ROOT_SECRET}:tenant1/sub:admin")
    assert sub.query(q.get(users(2)))["data"]["name"] == "tenant1/sub-2"
    assert sub.query(q.paginate(q.keys()))["data"] == []
    # A tenant's admin key scopes further down; its server key may not.
    down = inst.client(tree.admins["tenant2"] + ":sub:server-readonly")
    assert down.query(q.get(users(2)))["data"]["name"] == "tenant2/sub-2"
    expect_error(lambda: down.query(q.create(q.collection("users"), {})), PermissionDenied,
                 403, "permission denied", DENIED, ["create"])
    # Anything after ':' that is no scope is ignored (`AuthParser`).
    assert inst.client(tree.servers["tenant3"] + ":whatever").query(
        q.get(users(1)))["data"]["name"] == "tenant3-1"
    for secret in (tree.servers["tenant1"] + ":sub:server", f"{ROOT_SECRET}:nope:admin",
                   f"{ROOT_SECRET}:tenant1:adminx"):
        expect_error(lambda: inst.client(secret).query(q.get(users(1))), Unauthorized, 401,
                     "unauthorized", "Unauthorized")


def test_keys_and_key_from_secret(tree):
    root = tree.root
    ref = tree.key_refs[("tenant1", "server")]
    key = root.query(q.get(ref))
    assert key["role"] == "server"
    assert key["database"] == Ref("tenant1", Native.DATABASES)
    assert "secret" not in key
    assert root.query(q.key_from_secret(tree.servers["tenant1"]))["ref"] == ref
    assert ref in root.query(q.paginate(q.keys(), size=100))["data"]
    # Keys held by the root are not the tenant's to see. `KeyNotFound` is no
    # `InstanceNotFound`: 400 (`Error.statusCode`).
    t1_admin = tree.admin("tenant1")
    secret = tree.servers["tenant2"]
    expect_error(lambda: t1_admin.query(q.key_from_secret(secret)), BadRequest, 400,
                 "instance not found", f"No key found for secret {secret}.", [])
    held = t1_admin.query(q.key_from_secret(tree.servers["tenant1/sub"]))
    assert held["database"] == Ref("sub", Native.DATABASES)
    # A deleted key stops working.
    temp = root.query(q.create_key({"database": q.database("tenant3"), "role": "client"}))
    assert tree.instance.client(temp["secret"]).query(q.paginate(q.documents(
        q.collection("users"))))["data"] == []
    root.query(q.delete(temp["ref"]))
    expect_error(lambda: tree.instance.client(temp["secret"]).query(q.now()),
                 Unauthorized, 401, "unauthorized", "Unauthorized")


def test_events_of_databases(tree, uid):
    root = tree.root
    made = root.query(q.create_database({"name": f"ev_{uid}"}))
    gone = root.query(q.delete(q.database(f"ev_{uid}")))
    assert gone["ref"] == made["ref"]
    events = root.query(q.paginate(q.databases(), events=True, after=made["ts"]))["data"]
    assert [(e["action"], e["document"]) for e in events][:2] == [
        ("add", made["ref"]), ("remove", made["ref"])]
    assert events[0]["ts"] == made["ts"]
    first = root.query(q.paginate(q.databases(), events=True, size=1))
    assert first["data"][0]["document"] == Ref("tenant1", Native.DATABASES)
    after = root.query(q.paginate(q.databases(), events=True, size=1, after=first["after"]))
    assert after["data"][0]["document"] == Ref("tenant2", Native.DATABASES)
    expect_error(lambda: tree.server("tenant1").query(q.paginate(q.databases(), events=True)),
                 PermissionDenied, 403, "permission denied", DENIED, ["paginate"])


def test_update_and_delete_a_subtree(tree, uid):
    root = tree.root
    name = f"tmp_{uid}"
    root.query(q.create_database({"name": name}))
    admin = root.query(q.create_key({"database": q.database(name), "role": "admin"}))["secret"]
    child = tree.instance.client(admin)
    child.query(q.create_database({"name": "deep"}))
    child.query(q.create_collection({"name": "c"}))
    renamed = root.query(q.update(q.database(name), {"name": f"{name}_2", "data": {"a": 1}}))
    assert renamed["ref"] == Ref(f"{name}_2", Native.DATABASES)
    assert renamed["data"] == {"a": 1}
    # The key follows its database.
    assert child.query(q.exists(q.database("deep")))
    gone = root.query(q.delete(q.database(f"{name}_2")))
    assert gone["name"] == f"{name}_2"
    assert not root.query(q.exists(q.database(f"{name}_2")))
    expect_error(lambda: child.query(q.now()), Unauthorized, 401, "unauthorized", "Unauthorized")
    # The name is free again, and the new database is empty.
    root.query(q.create_database({"name": name}))
    assert root.query(q.paginate(q.collections(q.database(name))))["data"] == []
    root.query(q.delete(q.database(name)))
