"""Paginate over Documents, indexes and Range: sizes, every cursor form, walks both ways."""

import pytest
from faunadb import query as q
from faunadb.errors import BadRequest
from faunadb.objects import Native, Ref

from helpers import expect_error, raw, walk_backward, walk_forward

N = 10


@pytest.fixture
def letters(client, uid):
    """A collection with documents 1..N (created in one transaction) and a [ts, ref] index."""
    coll = f"pg_{uid}"
    client.query(q.create_collection({"name": coll}))
    client.query(q.do(*[
        q.create(q.ref(q.collection(coll), str(i)), {"data": {"i": i}}) for i in range(1, N + 1)
    ]))
    client.query(q.create_index({
        "name": f"{coll}_by_ts",
        "source": q.collection(coll),
        "values": [{"field": "ts"}, {"field": "ref"}],
    }))
    return coll


def ref(coll, i):
    return Ref(str(i), Ref(coll, Native.COLLECTIONS))


def test_documents_are_in_numeric_id_order(client, uid):
    coll = f"num_{uid}"
    client.query(q.create_collection({"name": coll}))
    ids = ["9", "10", "100", "2", "1000000000000000000"]
    for i in ids:
        client.query(q.create(q.ref(q.collection(coll), i), {}))
    page = client.query(q.paginate(q.documents(q.collection(coll))))
    assert [r.id() for r in page["data"]] == sorted(ids, key=int)
    assert set(page) == {"data"}


@pytest.mark.parametrize("size", [1, 2, 64])
def test_walk_documents_forwards_and_backwards(client, letters, size):
    docs = q.documents(q.collection(letters))
    full = client.query(q.paginate(docs, size=100000))["data"]
    assert full == [ref(letters, i) for i in range(1, N + 1)]
    forward, pages = walk_forward(client, docs, size)
    assert forward == full
    assert "before" not in pages[0]
    for prev, page in zip(pages, pages[1:]):
        # `after` is the first element of the next page; the next page echoes it as `before`.
        assert prev["after"] == [page["data"][0]]
        assert page["before"] == prev["after"]
    backward, pages = walk_backward(client, docs, size)
    assert backward == full
    for later, page in zip(pages, pages[1:]):
        # Backward pages are exclusive of the cursor and keep ascending order.
        assert later["before"] == [later["data"][0]]
        assert page["after"] == later["before"]


def test_size_64_is_the_default_and_100000_the_maximum(client, uid):
    coll = f"big_{uid}"
    client.query(q.create_collection({"name": coll}))
    client.query(q.do(*[q.create(q.ref(q.collection(coll), str(i)), {}) for i in range(1, 71)]))
    docs = q.documents(q.collection(coll))
    first = client.query(q.paginate(docs))
    assert len(first["data"]) == 64
    assert first["after"] == [ref(coll, 65)]
    assert len(client.query(q.paginate(docs, size=1000000))["data"]) == 70


def test_cursor_forms(client, letters):
    docs = q.documents(q.collection(letters))
    r = lambda i: ref(letters, i)  # noqa: E731
    # After is inclusive; the given cursor is echoed as `before`.
    page = client.query(q.paginate(docs, size=3, after=[r(4)]))
    assert page == {"before": [r(4)], "after": [r(7)], "data": [r(4), r(5), r(6)]}
    # A scalar cursor is a one-element array.
    assert client.query(q.paginate(docs, size=3, after=r(4)))["data"] == [r(4), r(5), r(6)]
    # Before is exclusive; the given cursor is echoed as `after`.
    page = client.query(q.paginate(docs, size=3, before=[r(4)]))
    assert page == {"after": [r(4)], "data": [r(1), r(2), r(3)]}
    page = client.query(q.paginate(docs, size=3, before=[r(8)]))
    assert page == {"before": [r(5)], "after": [r(8)], "data": [r(5), r(6), r(7)]}
    # The cursor object form.
    via_object = client.query(raw({"paginate": docs, "size": 3, "cursor": {"after": [r(4)]}}))
    assert via_object["data"] == [r(4), r(5), r(6)]
    via_object = client.query(raw({"paginate": docs, "size": 3, "cursor": {"before": [r(4)]}}))
    assert via_object["data"] == [r(1), r(2), r(3)]
    # Sentinels: 0 sorts before every ref, null after every ref.
    assert client.query(q.paginate(docs, size=3, after=0))["data"] == [r(1), r(2), r(3)]
    assert client.query(raw({"paginate": docs, "size": 3, "after": None}))["data"] == []
    assert client.query(q.paginate(docs, size=3, before=0))["data"] == []
    last = client.query(raw({"paginate": docs, "size": 3, "before": None}))
    assert last["data"] == [r(8), r(9), r(10)]
    assert last["before"] == [r(8)]
    # Cursors need not name an existing document.
    assert client.query(q.paginate(docs, size=2, after=[ref(letters, 0)]))["data"] == [
        r(1), r(2)
    ]
    assert client.query(q.paginate(docs, size=2, after=[ref(letters, 45)]))["data"] == []
    assert client.query(q.paginate(docs, size=2, before=[ref(letters, 45)]))["data"] == [
        r(9), r(10)
    ]


def test_invalid_cursor_object(client, letters):
    docs = q.documents(q.collection(letters))
    expect_error(
        lambda: client.query(raw({"paginate": docs, "cursor": {"sideways": 1}})),
        BadRequest, 400, "invalid argument",
        "Invalid cursor object. Expected an object with either 'before' or 'after' key in it.",
        ["cursor"],
    )


def test_after_and_before_together_is_not_a_form(client, letters):
    docs = q.documents(q.collection(letters))
    expect_error(
        lambda: client.query(raw({"paginate": docs, "after": 0, "before": 0})),
        BadRequest, 400, "invalid expression", None, [],
    )


@pytest.mark.parametrize("size", [1, 2, 64])
def test_walk_ts_index_both_ways(client, letters, size):
    idx = q.match(q.index(f"{letters}_by_ts"))
    full = client.query(q.paginate(idx, size=100000))["data"]
    assert len(full) == N
    ts = full[0][0]
    assert full == [[ts, ref(letters, i)] for i in range(1, N + 1)]
    forward, pages = walk_forward(client, idx, size)
    assert forward == full
    for prev, page in zip(pages, pages[1:]):
        # Cursors of an index with values: the values, then the entry's ref.
        first = page["data"][0]
        assert prev["after"] == [first[0], first[1], first[1]]
    backward, _ = walk_backward(client, idx, size)
    assert backward == full


def test_range_over_a_ts_ref_index(client, uid):
    """Airbyte's incremental read: custom ids 101-104 in one Do, then an update and a create."""
    coll = f"ab_{uid}"
    client.query(q.create_collection({"name": coll}))
    created = client.query(q.do(*[
        q.create(q.ref(q.collection(coll), str(i)), {"data": {"a": i - 100}})
        for i in range(101, 105)
    ]))
    t0 = created["ts"]
    client.query(q.create_index({
        "name": f"{coll}_ts",
        "source": q.collection(coll),
        "values": [{"field": "ts"}, {"field": "ref"}],
    }))
    idx = q.match(q.index(f"{coll}_ts"))
    everything = client.query(q.paginate(q.range(idx, [0], []), size=64))["data"]
    assert everything == [[t0, ref(coll, i)] for i in range(101, 105)]
    # Page size 2 with the `after` cursor, as Airbyte walks it.
    page = client.query(q.paginate(q.range(idx, [0], []), size=2))
    assert page["data"] == everything[:2]
    assert page["after"] == [t0, ref(coll, 103), ref(coll, 103)]
    page = client.query(q.paginate(q.range(idx, [0], []), size=2, after=page["after"]))
    assert page["data"] == everything[2:]
    assert "after" not in page

    updated = client.query(q.update(ref(coll, 102), {"data": {"a": 10}}))
    t1 = updated["ts"]
    created = client.query(q.create(q.ref(q.collection(coll), "200"), {"data": {"a": 200}}))
    t2 = created["ts"]
    assert t0 < t1 < t2

    since = client.query(q.paginate(q.range(idx, [t0 + 1], []), size=64))["data"]
    assert since == [[t1, ref(coll, 102)], [t2, ref(coll, 200)]]
    # From the last (ts, ref) seen: inclusive, so the first element is the one already seen.
    resumed = client.query(q.paginate(q.range(idx, [t0, ref(coll, 104)], []), size=64))["data"]
    assert resumed == [[t0, ref(coll, 104)], [t1, ref(coll, 102)], [t2, ref(coll, 200)]]
    # Upper bounds are inclusive prefixes too.
    upto = client.query(q.paginate(q.range(idx, [], [t1]), size=64))["data"]
    assert upto == [[t0, ref(coll, i)] for i in (101, 103, 104)] + [[t1, ref(coll, 102)]]
    docs = client.query(q.map_(
        lambda x: q.get(q.select(1, x)), q.paginate(q.range(idx, [t0 + 1], []))
    ))
    assert [(d["ref"].id(), d["ts"], d["data"]) for d in docs["data"]] == [
        ("102", t1, {"a": 10}), ("200", t2, {"a": 200}),
    ]
    # A state far in the future yields nothing.
    future = 253370764800000000
    assert client.query(q.paginate(q.range(idx, [future, ref(coll, 10)], [])))["data"] == []
    expect_error(
        lambda: client.query(q.paginate(q.range(idx, [0], []), events=True)),
        BadRequest, 400, "invalid argument", "Set does not support events history.", [],
    )


def test_deletions_are_remove_events_in_deletion_order(client, uid):
    coll = f"del_{uid}"
    client.query(q.create_collection({"name": coll}))
    t0 = client.query(q.do(*[
        q.create(q.ref(q.collection(coll), str(i)), {"data": {"a": i}}) for i in range(101, 105)
    ]))["ts"]
    client.query(q.update(ref(coll, 104), {"data": {"a": 0}}))
    t_del_101 = client.query(q.delete(ref(coll, 101)))["ts"]
    assert t_del_101 == t0  # Delete returns the previous version.
    removes = lambda after: client.query(q.filter_(  # noqa: E731
        lambda e: q.equals(q.select(["action"], e), "remove"),
        q.paginate(q.documents(q.collection(coll)), events=True, size=64, after=after),
    ))
    client.query(q.delete(ref(coll, 103)))
    page = removes({"ts": 0, "action": "remove"})
    assert [(e["action"], e["document"]) for e in page["data"]] == [
        ("remove", ref(coll, 101)), ("remove", ref(coll, 103)),
    ]
    first, second = page["data"]
    assert t0 < first["ts"] < second["ts"]
    assert set(first) == {"ts", "action", "document"}

    client.query(q.delete(ref(coll, 102)))
    cursor = {"ts": second["ts"], "action": "remove", "resource": ref(coll, 103)}
    page = removes(cursor)
    assert [e["document"] for e in page["data"]] == [ref(coll, 103), ref(coll, 102)]
    assert page["data"][1]["ts"] > second["ts"]

    events = client.query(
        q.paginate(q.documents(q.collection(coll)), events=True, size=64)
    )["data"]
    # Data-only updates add no set events; creates at one ts come in id order.
    assert [(e["action"], e["document"].id()) for e in events] == [
        ("add", "101"), ("add", "102"), ("add", "103"), ("add", "104"),
        ("remove", "101"), ("remove", "103"), ("remove", "102"),
    ]
    assert [e["ts"] for e in events[:4]] == [t0] * 4


def test_event_cursors(client, uid):
    coll = f"ev_{uid}"
    client.query(q.create_collection({"name": coll}))
    ts = [client.query(q.create(q.ref(q.collection(coll), str(i)), {}))["ts"] for i in (1, 2, 3)]
    client.query(q.delete(ref(coll, 2)))
    set_events = q.documents(q.collection(coll))
    full = client.query(q.paginate(set_events, events=True))["data"]
    assert [(e["action"], e["document"].id()) for e in full] == [
        ("add", "1"), ("add", "2"), ("add", "3"), ("remove", "2"),
    ]
    # An integer cursor includes every event at that ts.
    assert client.query(q.paginate(set_events, events=True, after=ts[1]))["data"] == full[1:]
    assert client.query(
        q.paginate(set_events, events=True, after=q.epoch(ts[1], "microsecond"))
    )["data"] == full[1:]
    # Walking one event at a time reproduces the full list; cursors are event objects.
    walked, pages = walk_forward(client, set_events, 1, events=True)
    assert walked == full
    assert pages[0]["after"] == full[1]
    assert client.query(q.paginate(set_events, events=True, after=pages[0]["after"]))[
        "data"
    ] == full[1:]
    # Document history: create, update with the diff, delete with null data.
    doc = client.query(q.create(q.collection(coll), {"data": {"foo": "bar", "buzz": "bing"}}))
    client.query(q.update(doc["ref"], {"data": {"foo": "baz"}}))
    client.query(q.delete(doc["ref"]))
    history = client.query(q.paginate(doc["ref"], events=True))["data"]
    assert [(e["action"], e["data"]) for e in history] == [
        ("create", {"foo": "bar", "buzz": "bing"}),
        ("update", {"foo": "baz"}),
        ("delete", None),
    ]
    assert all(e["document"] == doc["ref"] for e in history)


def test_at_reads_old_versions(client, uid):
    coll = f"at_{uid}"
    client.query(q.create_collection({"name": coll}))
    v1 = client.query(q.create(q.ref(q.collection(coll), "1"), {"data": {"v": 1}}))
    v2 = client.query(q.update(v1["ref"], {"data": {"v": 2}}))
    client.query(q.create(q.ref(q.collection(coll), "2"), {"data": {"v": 1}}))
    assert client.query(q.at(v1["ts"], q.get(v1["ref"])))["data"] == {"v": 1}
    assert client.query(q.get(v1["ref"], ts=v1["ts"]))["data"] == {"v": 1}
    assert client.query(q.get(v1["ref"]))["data"] == {"v": 2}
    assert client.query(q.at(v2["ts"], q.paginate(q.documents(q.collection(coll)))))[
        "data"
    ] == [v1["ref"]]
    assert client.query(q.paginate(q.documents(q.collection(coll)), ts=v2["ts"]))["data"] == [
        v1["ref"]
    ]
    assert client.query(q.at(v1["ts"] - 1, q.exists(v1["ref"]))) is False
    client.query(q.delete(v1["ref"]))
    assert client.query(q.at(v2["ts"], q.get(v1["ref"])))["data"] == {"v": 2}
