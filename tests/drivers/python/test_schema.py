"""Collections, indexes, roles and keys: create, get, list."""

from faunadb import query as q
from faunadb.errors import BadRequest
from faunadb.objects import Native, Ref

from helpers import Recorder, expect_error


def listed(client, native_set):
    return client.query(q.paginate(native_set, size=100000))["data"]


def test_create_get_and_list_a_collection(fauna, uid):
    rec = Recorder()
    client = fauna.client(observer=rec)
    name = f"coll_{uid}"
    created = client.query(q.create_collection({"name": name}))
    assert rec.last.status_code == 201
    assert set(created) == {"ref", "ts", "history_days", "name"}
    assert created["ref"] == Ref(name, Native.COLLECTIONS)
    assert created["name"] == name
    assert created["history_days"] == 0
    assert isinstance(created["ts"], int)
    assert int(rec.last.response_headers["x-txn-time"]) == created["ts"]

    fetched = client.query(q.get(q.collection(name)))
    assert rec.last.status_code == 200
    assert fetched == created
    assert Ref(name, Native.COLLECTIONS) in listed(client, q.collections())
    assert client.query(q.exists(q.collection(name))) is True
    assert client.query(q.exists(q.collection(f"missing_{uid}"))) is False


def test_collection_options_are_stored(client, uid):
    created = client.query(
        q.create_collection({"name": f"opts_{uid}", "history_days": 30, "data": {"team": "x"}})
    )
    assert created["history_days"] == 30
    assert created["data"] == {"team": "x"}


def test_duplicate_collection(client, uid):
    client.query(q.create_collection({"name": f"dup_{uid}"}))
    expect_error(
        lambda: client.query(q.create_collection({"name": f"dup_{uid}"})),
        BadRequest, 400, "instance already exists", "Collection already exists.",
        ["create_collection"],
    )


def test_create_get_and_list_an_index(client, uid):
    coll = f"ix_{uid}"
    client.query(q.create_collection({"name": coll}))
    values = [{"field": "ts"}, {"field": "ref"}]
    created = client.query(
        q.create_index({"name": f"{coll}_by_ts", "source": q.collection(coll), "values": values})
    )
    assert created["ref"] == Ref(f"{coll}_by_ts", Native.INDEXES)
    assert created["name"] == f"{coll}_by_ts"
    assert created["source"] == Ref(coll, Native.COLLECTIONS)
    # Stored verbatim: exporters compare `values` with [{field: "ts"}, {field: "ref"}].
    assert created["values"] == values
    assert created["active"] is True
    assert created["serialized"] is True
    # Only stored fields are rendered; term-less indexes get 8 partitions (Index.scala
    # DefaultPartitionPolicy), indexes with terms 1 (IndexSpec "creates an index").
    assert set(created) == {
        "ref", "ts", "active", "serialized", "name", "source", "values", "partitions"
    }
    assert created["partitions"] == 8

    assert client.query(q.get(q.index(f"{coll}_by_ts"))) == created
    assert client.query(q.select("source", q.get(q.index(f"{coll}_by_ts")))) == Ref(
        coll, Native.COLLECTIONS
    )
    assert Ref(f"{coll}_by_ts", Native.INDEXES) in listed(client, q.indexes())

    terms = [{"field": ["data", "letter"]}]
    by_letter = client.query(
        q.create_index({"name": f"{coll}_by_letter", "source": q.collection(coll), "terms": terms})
    )
    assert by_letter["terms"] == terms
    assert set(by_letter) == {
        "ref", "ts", "active", "serialized", "name", "source", "terms", "partitions"
    }
    assert by_letter["partitions"] == 1


def test_create_get_and_list_a_role(client, uid):
    coll = f"rl_{uid}"
    client.query(q.create_collection({"name": coll}))
    privileges = [
        {"resource": q.collection(coll), "actions": {"read": True, "history_read": True}},
        {"resource": q.collections(), "actions": {"read": True}},
    ]
    created = client.query(q.create_role({"name": f"role_{uid}", "privileges": privileges}))
    assert created["ref"] == Ref(f"role_{uid}", Native.ROLES)
    assert created["name"] == f"role_{uid}"
    assert created["privileges"] == [
        {"resource": Ref(coll, Native.COLLECTIONS), "actions": {"read": True, "history_read": True}},
        {"resource": Native.COLLECTIONS, "actions": {"read": True}},
    ]
    assert client.query(q.get(q.role(f"role_{uid}"))) == created
    assert Ref(f"role_{uid}", Native.ROLES) in listed(client, q.roles())


def test_create_get_and_list_keys(fauna, client, uid):
    coll = f"ky_{uid}"
    client.query(q.create_collection({"name": coll}))
    client.query(q.create_role({
        "name": f"kr_{uid}",
        "privileges": [{"resource": q.collection(coll), "actions": {"read": True}}],
    }))
    server_key = client.query(q.create_key({"role": "server", "data": {"who": "test"}}))
    assert server_key["ref"].collection() == Native.KEYS
    assert server_key["ref"].id().isdigit()
    assert server_key["role"] == "server"
    assert server_key["data"] == {"who": "test"}
    assert isinstance(server_key["secret"], str) and server_key["secret"]
    assert isinstance(server_key["hashed_secret"], str)

    fetched = client.query(q.get(server_key["ref"]))
    assert "secret" not in fetched
    assert fetched["hashed_secret"] == server_key["hashed_secret"]
    assert server_key["ref"] in listed(client, q.keys())

    role_key = client.query(q.create_key({"role": q.role(f"kr_{uid}")}))
    assert role_key["role"] == Ref(f"kr_{uid}", Native.ROLES)

    # The issued secrets authenticate.
    doc = client.query(q.create(q.collection(coll), {"data": {"a": 1}}))
    for secret in (server_key["secret"], role_key["secret"]):
        assert fauna.client(secret).query(q.get(doc["ref"]))["data"] == {"a": 1}


def test_seeded_schema(client):
    names = [r.id() for r in listed(client, q.collections())]
    assert {"seed_letters", "seed_private"} <= set(names)
    idx = client.query(q.get(q.index("seed_letters_by_ts")))
    assert idx["values"] == [{"field": "ts"}, {"field": "ref"}]
    assert idx["source"] == Ref("seed_letters", Native.COLLECTIONS)
    role = client.query(q.get(q.role("connect-readonly")))
    assert role["name"] == "connect-readonly"
    assert client.query(q.select("history_days", q.get(q.collection("seed_letters")))) == 30
