"""Keys and roles: filtered pages, and 403 exactly where the real server gives it."""

import pytest
from faunadb import query as q
from faunadb.errors import PermissionDenied
from faunadb.objects import Native, Ref

from conftest import CLIENT_SECRET, CONNECT_SECRET, READONLY_SECRET, SERVER_SECRET
from helpers import expect_error

DENIED = "Insufficient privileges to perform the action."


def letters(i):
    return Ref(str(i), Ref("seed_letters", Native.COLLECTIONS))


def private(i):
    return Ref(str(i), Ref("seed_private", Native.COLLECTIONS))


@pytest.fixture
def connect(fauna):
    """The seeded `connect-readonly` role: read on Collections(), Indexes(), seed_letters and
    its ts index; nothing on seed_private."""
    return fauna.client(CONNECT_SECRET)


def test_role_reads_what_it_is_granted(connect):
    assert connect.query(q.get(letters(101)))["data"]["letter"] == "A"
    page = connect.query(q.paginate(q.documents(q.collection("seed_letters"))))
    assert page["data"] == [letters(i) for i in range(101, 107)]
    ts_page = connect.query(q.paginate(q.match(q.index("seed_letters_by_ts")), size=100))
    assert [entry[1] for entry in ts_page["data"]] == [letters(i) for i in range(101, 107)]
    names = {r.id() for r in connect.query(q.paginate(q.collections(), size=1000))["data"]}
    assert {"seed_letters", "seed_private"} <= names
    assert connect.query(q.get(q.index("seed_letters_by_ts")))["name"] == "seed_letters_by_ts"
    assert connect.query(q.get(q.collection("seed_private")))["name"] == "seed_private"


def test_role_pages_are_filtered_silently(connect):
    assert connect.query(q.paginate(q.documents(q.collection("seed_private"))))["data"] == []
    assert connect.query(q.exists(private(201))) is False


def test_role_gets_403_where_the_server_denies(connect):
    expect_error(lambda: connect.query(q.get(private(201))),
                 PermissionDenied, 403, "permission denied", DENIED, [])
    expect_error(lambda: connect.query(q.paginate(q.match(q.index("seed_private_by_ts")))),
                 PermissionDenied, 403, "permission denied", DENIED, ["paginate"])
    # Create is denied at its own position (WritePermissionsSpec); update and delete at the root.
    expect_error(lambda: connect.query(q.create(q.collection("seed_letters"), {"data": {}})),
                 PermissionDenied, 403, "permission denied", DENIED, ["create"])
    expect_error(lambda: connect.query(q.update(letters(101), {"data": {"x": 1}})),
                 PermissionDenied, 403, "permission denied", DENIED, [])
    expect_error(lambda: connect.query(q.delete(letters(101))),
                 PermissionDenied, 403, "permission denied", DENIED, [])
    expect_error(lambda: connect.query(q.create_collection({"name": "nope"})),
                 PermissionDenied, 403, "permission denied", DENIED, ["create_collection"])
    # History is a separate privilege.
    expect_error(lambda: connect.query(q.paginate(letters(101), events=True)),
                 PermissionDenied, 403, "permission denied", DENIED, ["paginate"])


def test_server_readonly_key(fauna, uid):
    ro = fauna.client(READONLY_SECRET)
    assert ro.query(q.get(private(201)))["data"] == {"secret_value": "s1"}
    assert len(ro.query(q.paginate(q.documents(q.collection("seed_letters"))))["data"]) == 6
    expect_error(lambda: ro.query(q.create(q.collection("seed_letters"), {"data": {}})),
                 PermissionDenied, 403, "permission denied", DENIED, ["create"])


def test_server_key_writes_documents_and_collections_not_databases_keys_roles(fauna, uid):
    """Server keys may create collections and indexes (the core checks `CreateInstance` on
    Collections()/Indexes(); only databases, keys, roles and access providers are closed to
    them, `AbstractServerPermissions.RootClassIDs`). The driver's own suite relies on it."""
    server = fauna.client(SERVER_SECRET)
    doc = server.query(q.create(q.collection("seed_private"), {"data": {"by": uid}}))
    assert server.query(q.get(doc["ref"]))["data"] == {"by": uid}
    server.query(q.delete(doc["ref"]))
    created = server.query(q.create_collection({"name": f"srv_{uid}"}))
    assert created["name"] == f"srv_{uid}"
    expect_error(lambda: server.query(q.create_database({"name": f"srv_{uid}"})),
                 PermissionDenied, 403, "permission denied", DENIED, ["create_database"])
    expect_error(lambda: server.query(q.create_key({"role": "server"})),
                 PermissionDenied, 403, "permission denied", DENIED, ["create_key"])
    expect_error(lambda: server.query(q.create_role({"name": f"r_{uid}", "privileges": []})),
                 PermissionDenied, 403, "permission denied", DENIED, ["create_role"])
    expect_error(lambda: server.query(q.paginate(q.keys())),
                 PermissionDenied, 403, "permission denied", DENIED, ["paginate"])


def test_client_key(fauna):
    cl = fauna.client(CLIENT_SECRET)
    assert cl.query(q.paginate(q.documents(q.collection("seed_letters"))))["data"] == []
    expect_error(lambda: cl.query(q.get(letters(101))),
                 PermissionDenied, 403, "permission denied", DENIED, [])
    expect_error(lambda: cl.query(q.paginate(q.databases())),
                 PermissionDenied, 403, "permission denied", DENIED, ["paginate"])
