"""`fauna-sync read` end to end against fauna-dev, every message validated by the pinned
`airbyte-protocol-models`: records, per-stream STATE with exact record counts, stream
statuses, resumable full refresh, incremental reads with updates and deletes, a future state,
and the checks of CAT that apply (airbyte-protocol.md §2)."""

import re
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
    # The platform shows why nothing was read: a WARN LOG, not only a line on stderr.
    (warning,) = [m["log"]["message"] for m in run.messages
                  if m["type"] == "LOG" and m["log"]["level"] == "WARN"]
    assert re.fullmatch(
        r"stream 'people' is synced up to 2100-01-01T00:00:00Z, which is ahead of the server's time "
        r"\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z when this read began\): nothing was read and its "
        r"state is kept\. Check the Fauna server's clock, or reset the stream if its state was edited\.",
        warning), warning


def test_incremental_without_an_index_reads_in_full_refresh_and_says_so(airbyte, fauna_dev, seeded):
    run = airbyte("read", "--config", fauna_dev.config(collection={"name": "orders"}),
                  "--catalog", catalog("orders", "incremental"))
    assert run.code == 0, run.stderr
    assert [r["data"]["ref"] for r in records(run)] == ["10"]
    logs = [m["log"]["message"] for m in run.messages if m["type"] == "LOG"]
    assert any("stream 'orders' is read in full refresh" in line for line in logs), logs
    assert_counts_match(run)


def without_emitted_at(messages):
    """The messages with every `emitted_at` (a clock reading) removed."""
    out = []
    for m in messages:
        m = dict(m)
        for payload in ("record", "trace"):
            if payload in m:
                m[payload] = {k: v for k, v in m[payload].items() if k != "emitted_at"}
        out.append(m)
    return out


def status(name, value, namespace=None):
    descriptor = {"name": name} if namespace is None else {"name": name, "namespace": namespace}
    return {"type": "TRACE", "trace": {"type": "STREAM_STATUS", "stream_status": {
        "stream_descriptor": descriptor, "status": value}}}


@pytest.fixture(scope="module")
def gap_streams(fauna_dev):
    """gap_users keeps history 15 minutes (history_days 0) and tracks deletions; gap_orders
    comes after it in the catalog."""
    c = fauna_dev.client()
    for name, days in [("gap_users", 0), ("gap_orders", 30)]:
        c.query(q.create_collection({"name": name, "history_days": days}))
        c.query(q.create_index({"name": f"{name}_by_ts", "source": q.collection(name),
                                "values": [{"field": "ts"}, {"field": "ref"}]}))
    c.query(q.create(q.ref(q.collection("gap_users"), "1"), {"data": {"n": 1}}))
    c.query(q.create(q.ref(q.collection("gap_orders"), "1"), {"data": {"n": 1}}))
    return c


def test_one_streams_history_gap_does_not_starve_the_others(airbyte, fauna_dev, gap_streams):
    """Issue 22, bug 3: users' state older than its history (history_gap: stop) ended the read
    with users INCOMPLETE and orders never started, on every run until users was reset."""
    cfg = fauna_dev.config(collections=[
        {"name": "gap_users", "deletions": dict(DELETIONS, history_gap="stop")},
        {"name": "gap_orders"}])
    cat = {"streams": catalog("gap_users", "incremental")["streams"]
           + catalog("gap_orders", "incremental")["streams"]}
    first = airbyte("read", "--config", cfg, "--catalog", cat)
    assert first.code == 0, first.stderr
    last = {s["stream"]["stream_descriptor"]["name"]: s for s in states(first)}
    # users was last read two hours ago, as far as its state tells: longer than it keeps history.
    users = last["gap_users"]
    users["stream"]["stream_state"]["position"]["to"] -= 2 * 3600 * 1_000_000
    gap_streams.query(q.create(q.ref(q.collection("gap_orders"), "2"), {"data": {"n": 2}}))
    created = gap_streams.query(q.select("ts", q.get(q.ref(q.collection("gap_orders"), "2"))))

    run = airbyte("read", "--config", cfg, "--catalog", cat, "--state", [users, last["gap_orders"]])
    assert run.code == 1, run.stderr
    got = without_emitted_at(run.messages)
    window_start, window_end = [m for m in got if m["type"] == "STATE"]
    assert window_end["state"]["stream"]["stream_state"]["position"]["at"] == "synced"
    gap = ("collection 'gap_users' was last synced 120 minutes ago, longer than Fauna keeps its history "
           "(history_days plus 15 minutes), so deletions in between may be lost; nothing was read. Set "
           "\"history_gap\": \"reconcile\" in the collection's \"deletions\" to detect them by comparing ids (or "
           "\"resync\" to read the collection again in full), run sync more often (or raise the collection's history_days), or delete this collection's "
           "output and state to export it again")
    summary = got[-2]
    assert summary["type"] == "LOG" and summary["log"]["message"].startswith(
        "Read 2 stream(s), 1 failed ('gap_users'): "), summary
    assert got == [
        status("gap_users", "STARTED"),
        status("gap_users", "RUNNING"),
        status("gap_users", "INCOMPLETE"),
        status("gap_orders", "STARTED"),
        status("gap_orders", "RUNNING"),
        window_start,
        {"type": "RECORD", "record": {"stream": "gap_orders",
                                      "data": {"ref": "2", "ts": created, "data": {"n": 2}}}},
        window_end,
        status("gap_orders", "COMPLETE"),
        summary,
        {"type": "TRACE", "trace": {"type": "ERROR", "error": {
            "message": gap, "failure_type": "system_error",
            "stream_descriptor": {"name": "gap_users"}}}},
    ]
    assert [s["stream"]["stream_descriptor"] for s in (window_start["state"], window_end["state"])] == [
        {"name": "gap_orders"}, {"name": "gap_orders"}]
    assert [s["sourceStats"]["recordCount"] for s in (window_start["state"], window_end["state"])] == [0, 1]
    assert window_end["state"]["stream"]["stream_state"]["stream"] == "gap_orders"


def test_a_streams_namespace_is_echoed_in_every_message_about_it(airbyte, fauna_dev, people):
    cat = catalog("people", "incremental")
    cat["streams"][0]["stream"]["namespace"] = "crm"
    run = airbyte("read", "--config", config(fauna_dev), "--catalog", cat)
    assert run.code == 0, run.stderr
    crm = {"name": "people", "namespace": "crm"}
    assert records(run) and all(r["namespace"] == "crm" for r in records(run))
    assert states(run) and all(s["stream"]["stream_descriptor"] == crm for s in states(run))
    traces = [m["trace"] for m in run.messages if m["type"] == "TRACE"]
    assert [t["stream_status"]["stream_descriptor"] for t in traces if t["type"] == "STREAM_STATUS"] == [crm] * 3
    assert [t["estimate"]["namespace"] for t in traces if t["type"] == "ESTIMATE"] == ["crm"]
    # Its STATE, given back, resumes it: nothing changed, no records.
    again = airbyte("read", "--config", config(fauna_dev), "--catalog", cat, "--state", [states(run)[-1]])
    assert again.code == 0, again.stderr
    assert records(again) == [] and states(again)
    assert [m for m in again.messages if m["type"] == "LOG"][:-1] == []
