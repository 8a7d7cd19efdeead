"""`fauna-sync read`: its inputs are parsed before anything is read. CAT's
`test_airbyte_trace_message_on_failure` (an invalid catalog gives a TRACE error) and every
input-state form of airbyte-protocol.md §1.4 plus source-fauna's LEGACY state being accepted."""

import pytest

USERS_STREAM = {"name": "users", "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh"]}


def configured(name="users", mode="full_refresh"):
    return {"streams": [{"stream": dict(USERS_STREAM, name=name), "sync_mode": mode,
                         "destination_sync_mode": "overwrite"}]}


def errors(run):
    return [m["trace"]["error"] for m in run.messages
            if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]


def test_an_invalid_catalog_is_a_trace_error(airbyte, fauna_dev, seeded):
    config = fauna_dev.config(collection={"name": "users"})
    run = airbyte("read", "--config", config, "--catalog", configured("does_not_exist", "INVALID"))
    assert run.code != 0
    (err,) = errors(run)
    assert err["failure_type"] == "config_error"
    assert "stream 'does_not_exist' has sync_mode \"INVALID\"" in err["message"]
    assert [m["type"] for m in run.messages] == ["TRACE"]


def test_a_stream_the_config_does_not_have(airbyte, fauna_dev, seeded):
    config = fauna_dev.config(collection={"name": "users"})
    run = airbyte("read", "--config", config, "--catalog", configured("orders"))
    (err,) = errors(run)
    assert err["failure_type"] == "config_error"
    assert "stream 'orders' is not a collection of this config (its streams: 'users')" in err["message"]


def test_a_missing_state_file_is_named(airbyte, fauna_dev, seeded, tmp_path):
    config = fauna_dev.config(collection={"name": "users"})
    run = airbyte("read", "--config", config, "--catalog", configured(), "--state", tmp_path / "none.json")
    (err,) = errors(run)
    assert err["failure_type"] == "config_error"
    assert err["message"].startswith(f"invalid --state file {tmp_path / 'none.json'}: cannot read it"), err


LEGACY = {"users": {"updates_cursor": {"ts": 1658504456881000, "ref": "1"},
                    "remove_cursor": {"ts": 1658504400000000, "ref": "2"}}}

# A finished full refresh, as fauna-sync's own STATE carries it (a full refresh starts afresh).
OURS = {"snapshot_ts": 1658504456881000, "position": {"at": "done"}, "next_seq": 2, "rows": 3,
        "format": "airbyte"}

STATE_FORMS = {
    "pyairbyte-empty": [],
    "pyairbyte-with-null-keys": [{"type": "STREAM", "stream": {
        "stream_descriptor": {"name": "users", "namespace": None}, "stream_state": OURS},
        "global_": None, "data": None, "sourceStats": {"recordCount": 1.0, "rejectedRecordCount": None},
        "destinationStats": None}],
    "platform-stream-array": [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"},
                                                            "stream_state": OURS}}],
    "platform-global": [{"type": "GLOBAL", "global": {"shared_state": {}, "stream_states": [
        {"stream_descriptor": {"name": "users"}, "stream_state": OURS}]}}],
    "legacy-blob": LEGACY,
    "legacy-message": {"type": "LEGACY", "data": LEGACY},
    "empty-object": {},
}


@pytest.mark.parametrize("form", sorted(STATE_FORMS))
def test_every_input_state_form_is_accepted(airbyte, fauna_dev, seeded, form):
    config = fauna_dev.config(collection={"name": "users"})
    run = airbyte("read", "--config", config, "--catalog", configured(), "--state", STATE_FORMS[form])
    for err in errors(run):
        assert "--state" not in err["message"] and "--catalog" not in err["message"], err


def test_no_state_flag_is_accepted(airbyte, fauna_dev, seeded):
    run = airbyte("read", "--config", fauna_dev.config(collection={"name": "users"}), "--catalog", configured(), "--debug")
    for err in errors(run):
        assert "--state" not in err["message"] and "--catalog" not in err["message"], err


def test_a_stream_state_fauna_sync_did_not_write_is_a_clear_config_error(airbyte, fauna_dev, seeded):
    config = fauna_dev.config(collection={"name": "users"})
    foreign = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"},
                                             "stream_state": {"anything": 2}}}]
    run = airbyte("read", "--config", config, "--catalog", configured(), "--state", foreign)
    assert run.code == 2
    (err,) = errors(run)
    assert err["failure_type"] == "config_error"
    assert "the state of stream 'users' is not one fauna-sync wrote" in err["message"], err
    assert not run.of_type("RECORD")


def statuses_and_errors(run):
    """Every STREAM_STATUS as (stream, status) and every TRACE error, in order."""
    out = []
    for m in run.messages:
        if m["type"] != "TRACE":
            continue
        t = m["trace"]
        if t["type"] == "STREAM_STATUS":
            out.append((t["stream_status"]["stream_descriptor"]["name"], t["stream_status"]["status"]))
        elif t["type"] == "ERROR":
            out.append(t["error"])
    return out


def logs(run, level):
    return [m["log"]["message"] for m in run.messages if m["type"] == "LOG" and m["log"]["level"] == level]


def records_of(run, name):
    return [m["record"]["data"]["ref"] for m in run.messages
            if m["type"] == "RECORD" and m["record"]["stream"] == name]


def stream_message(name, blob):
    return {"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": blob}}


BOTH = {"collections": [{"name": "users"}, {"name": "orders"}]}


def both(mode="full_refresh"):
    return {"streams": configured("users", mode)["streams"] + configured("orders", mode)["streams"]}


def test_a_state_of_a_stream_not_in_the_catalog_is_ignored_with_a_log(airbyte, fauna_dev, seeded):
    config = fauna_dev.config(**BOTH)
    state = [stream_message("orders", OURS)]
    run = airbyte("read", "--config", config, "--catalog", configured("users"), "--state", state)
    assert run.code == 0, run.stderr
    assert logs(run, "INFO")[0] == (
        "The input state holds a state of stream 'orders', which is not in the configured catalog; "
        "it is ignored.")
    assert records_of(run, "users") == ["1", "2", "3"]


ORDERS_FIX = ("Pass each stream the state this connector emitted for it, or reset the stream to read it "
              "from the start")


def test_another_streams_state_is_refused_naming_both_and_the_others_are_read(airbyte, fauna_dev, seeded):
    """Before, users took orders' state as its own (a cursor of orders' ids, or a synced time
    that skips what users has not read) and exited 0."""
    config = fauna_dev.config(**BOTH)
    orders = airbyte("read", "--config", config, "--catalog", configured("orders"))
    assert orders.code == 0, orders.stderr
    orders_blob = [m["state"] for m in orders.messages if m["type"] == "STATE"][-1]["stream"]["stream_state"]
    # A state emitted before the blob named its stream: its cursor names orders' documents.
    mid_read = {"snapshot_ts": orders_blob["snapshot_ts"], "next_seq": 1, "rows": 0, "format": "airbyte",
                "position": {"at": "after", "cursor": '[{"@ref":{"id":"10","collection":{"@ref":{"id":"orders","collection":{"@ref":{"id":"collections"}}}}}}]'}}
    for blob, why in [(mid_read, "its cursor names a document of collection 'orders'"),
                      (orders_blob, 'its "stream" says so')]:
        run = airbyte("read", "--config", config, "--catalog", both(), "--state", [stream_message("users", blob)])
        assert run.code == 2, run.stderr
        assert statuses_and_errors(run) == [
            ("users", "STARTED"), ("users", "INCOMPLETE"),
            ("orders", "STARTED"), ("orders", "RUNNING"), ("orders", "COMPLETE"),
            {"message": f"invalid --state file {run_state_path(run)}: the state given for stream 'users' is "
                        f"the state of stream 'orders' ({why}). {ORDERS_FIX}",
             "failure_type": "config_error", "stream_descriptor": {"name": "users"}},
        ]
        assert records_of(run, "users") == [] and records_of(run, "orders") == ["10"]
    assert orders_blob["stream"] == "orders"


def run_state_path(run):
    """The --state path a run was given, as its messages name it."""
    (error,) = [m["trace"]["error"]["message"] for m in run.messages
                if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    return error.split("invalid --state file ", 1)[1].split(": ", 1)[0]


def test_a_bare_object_of_fauna_sync_stream_states_is_taken_and_said(airbyte, fauna_dev, seeded):
    """A STREAM array flattened to `{"users": <its stream_state>}` (no `type`): before, it was
    read as source-fauna's LEGACY state without cursors and users was read again in full."""
    config = fauna_dev.config(collection={"name": "users"})
    first = airbyte("read", "--config", config, "--catalog", configured(mode="incremental"))
    assert first.code == 0, first.stderr
    blob = [m["state"] for m in first.messages if m["type"] == "STATE"][-1]["stream"]["stream_state"]
    run = airbyte("read", "--config", config, "--catalog", configured(mode="incremental"), "--state", {"users": blob})
    assert run.code == 0, run.stderr
    assert records_of(run, "users") == []
    assert logs(run, "INFO")[0] == (
        "The input state is an object of stream states without \"type\" (Airbyte's LEGACY form); the states of "
        "stream(s) 'users' are fauna-sync's own per-stream states and are resumed from.")


def test_a_bare_object_of_unknown_stream_states_is_refused(airbyte, fauna_dev, seeded, tmp_path):
    config = fauna_dev.config(collection={"name": "users"})
    run = airbyte("read", "--config", config, "--catalog", configured(), "--state", {"users": {"cursor": 5}})
    assert run.code == 2
    (err,) = errors(run)
    assert err["failure_type"] == "config_error"
    assert err["message"].endswith(
        ": the state object has no \"type\", so each key should be a stream and its value that stream's state, "
        "but the state of stream 'users' is neither source-fauna's (keys full_sync_cursor, updates_cursor, "
        "remove_cursor) nor one fauna-sync wrote (missing field `snapshot_ts`). Pass the state Airbyte saved "
        "from this connector's last sync, or no --state to read from the start"), err
    assert [m["type"] for m in run.messages] == ["TRACE"]
