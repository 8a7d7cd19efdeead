"""`fauna-sync read` end to end against fauna-dev, every message validated by the pinned
`airbyte-protocol-models`: records, per-stream STATE with exact record counts, stream
statuses, resumable full refresh, incremental reads with updates and deletes, a future state,
and the checks of CAT that apply (airbyte-protocol.md §2)."""

from datetime import datetime, timezone

import pytest
from faunadb import query as q

DELETIONS = {"deletion_mode": "deleted_field", "column": "deleted_at"}


def catalog(name, mode):
    return {"streams": [{"stream": {"name": name, "json_schema": {"type": "object"},
                                    "supported_sync_modes": ["full_refresh", "incremental"]},
                         "sync_mode": mode, "destination_sync_mode": "append"}]}


def records(run, stream=None):
    return [m["record"] for m in run.messages
            if m["type"] == "RECORD" and (stream is None or m["record"]["stream"] == stream)]


def states(run):
    return [m["state"] for m in run.messages if m["type"] == "STATE"]


def statuses(run, name):
    return [m["trace"]["stream_status"]["status"] for m in run.messages
            if m["type"] == "TRACE" and m["trace"]["type"] == "STREAM_STATUS"
            and m["trace"]["stream_status"]["stream_descriptor"]["name"] == name]


def assert_counts_match(run):
    """CAT: each STATE's recordCount is the number of records of its stream since its previous
    STATE, and every record is followed by a STATE of its stream."""
    pending = {}
    for m in run.messages:
        if m["type"] == "RECORD":
            pending[m["record"]["stream"]] = pending.get(m["record"]["stream"], 0) + 1
        elif m["type"] == "STATE":
            s = m["state"]
            assert s["type"] == "STREAM"
            name = s["stream"]["stream_descriptor"]["name"]
            assert s["sourceStats"]["recordCount"] == pending.pop(name, 0), m
    assert pending == {}, f"records after the last STATE: {pending}"


@pytest.fixture(scope="module")
def people(fauna_dev):
    """A collection of its own (these tests change it): 5 documents and a [ts, ref] index."""
    c = fauna_dev.client()
    c.query(q.create_collection({"name": "people", "history_days": 30}))
    c.query(q.create_index({"name": "people_by_ts", "source": q.collection("people"),
                            "values": [{"field": "ts"}, {"field": "ref"}]}))
    for i in range(1, 6):
        c.query(q.create(q.ref(q.collection("people"), str(i)), {"data": {"n": i}}))
    return c


def config(fauna_dev, **collection):
    return fauna_dev.config(collection={"name": "people", **collection},
                            output={"batch_rows": 2})


def test_full_refresh_records_states_and_statuses(airbyte, fauna_dev, people):
    run = airbyte("read", "--config", config(fauna_dev), "--catalog", catalog("people", "full_refresh"))
    assert run.code == 0, run.stderr
    got = records(run, "people")
    assert [r["data"]["ref"] for r in got] == ["1", "2", "3", "4", "5"]
    assert [r["data"]["data"] for r in got] == [{"n": i} for i in range(1, 6)]
    assert all(isinstance(r["emitted_at"], int) for r in got)
    assert_counts_match(run)
    assert len(states(run)) >= 3  # batches of 2 records: a STATE after each
    assert statuses(run, "people") == ["STARTED", "RUNNING", "COMPLETE"]
    estimates = [m["trace"]["estimate"] for m in run.messages
                 if m["type"] == "TRACE" and m["trace"]["type"] == "ESTIMATE"]
    assert estimates == [{"name": "people", "type": "STREAM", "row_estimate": 5}]
    # Two full refreshes give the same records (CAT: test_read_sequential_slices / reruns).
    again = airbyte("read", "--config", config(fauna_dev), "--catalog", catalog("people", "full_refresh"))
    assert [r["data"] for r in records(again)] == [r["data"] for r in got]


def test_a_full_refresh_resumes_from_a_state_taken_mid_stream(airbyte, fauna_dev, people, tmp_path):
    cfg, cat = config(fauna_dev), catalog("people", "full_refresh")
    clean = airbyte("read", "--config", cfg, "--catalog", cat)
    first_state = states(clean)[0]
    # Four ranges of ids read at once (the default concurrency): each range's progress is in
    # the state.
    position = first_state["stream"]["stream_state"]["position"]
    assert position["at"] == "parts" and len(position["parts"]) == 4, position
    emitted_before = records(clean)[: int(first_state["sourceStats"]["recordCount"])]
    resumed = airbyte("read", "--config", cfg, "--catalog", cat, "--state", [first_state])
    assert resumed.code == 0, resumed.stderr
    assert_counts_match(resumed)
    # The records up to the STATE plus the resumed read equal one clean read.
    assert [r["data"] for r in emitted_before + records(resumed)] == [r["data"] for r in records(clean)]


def test_incremental_reads_with_an_update_and_a_delete(airbyte, fauna_dev, people):
    cfg = config(fauna_dev, deletions=DELETIONS)
    cat = catalog("people", "incremental")
    first = airbyte("read", "--config", cfg, "--catalog", cat)
    assert first.code == 0, first.stderr
    ids = [r["data"]["ref"] for r in records(first)]
    assert ids == ["1", "2", "3", "4", "5"] or set(ids) >= {"1", "2", "3", "4", "5"}
    assert all(r["data"]["_ab_cdc_deleted_at"] is None for r in records(first))
    last = states(first)[-1]
    # Nothing changed: no records, but a STATE.
    idle = airbyte("read", "--config", cfg, "--catalog", cat, "--state", [last])
    assert records(idle) == [] and states(idle), idle.stdout
    people.query(q.update(q.ref(q.collection("people"), "2"), {"data": {"n": 20}}))
    people.query(q.delete(q.ref(q.collection("people"), "3")))
    second = airbyte("read", "--config", cfg, "--catalog", cat, "--state", [states(idle)[-1]])
    assert second.code == 0, second.stderr
    assert_counts_match(second)
    got = records(second)
    assert [(r["data"]["ref"], r["data"]["_ab_cdc_deleted_at"] is not None) for r in got] == [
        ("2", False), ("3", True)]
    assert got[0]["data"]["data"] == {"n": 20}
    gone = got[1]["data"]
    # Only ref, ts and the deletion column (source-fauna's zone-less isoformat), then the CDC columns.
    when = datetime.fromtimestamp(gone["ts"] / 1_000_000, timezone.utc)
    assert gone == {"ref": "3", "ts": gone["ts"], "deleted_at": when.replace(tzinfo=None).isoformat(),
                    "_ab_cdc_updated_at": gone["_ab_cdc_deleted_at"],
                    "_ab_cdc_deleted_at": gone["_ab_cdc_deleted_at"]}
    assert datetime.fromisoformat(gone["_ab_cdc_deleted_at"]) == when


def test_a_future_state_gives_no_records_but_a_state(airbyte, fauna_dev, people):
    cfg = config(fauna_dev)
    future = {"snapshot_ts": 1, "position": {"at": "synced", "to": 4102444800000000},
              "next_seq": 2, "rows": 5, "format": "airbyte"}
    state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "people"},
                                           "stream_state": future}}]
    run = airbyte("read", "--config", cfg, "--catalog", catalog("people", "incremental"), "--state", state)
    assert run.code == 0, run.stderr
    assert records(run) == []
    (s,) = states(run)
    assert s["stream"]["stream_state"]["position"] == {"at": "synced", "to": 4102444800000000}
    assert s["sourceStats"]["recordCount"] == 0


def test_incremental_without_an_index_reads_in_full_refresh_and_says_so(airbyte, fauna_dev, seeded):
    run = airbyte("read", "--config", fauna_dev.config(collection={"name": "orders"}),
                  "--catalog", catalog("orders", "incremental"))
    assert run.code == 0, run.stderr
    assert [r["data"]["ref"] for r in records(run)] == ["10"]
    logs = [m["log"]["message"] for m in run.messages if m["type"] == "LOG"]
    assert any("stream 'orders' is read in full refresh" in line for line in logs), logs
    assert_counts_match(run)
