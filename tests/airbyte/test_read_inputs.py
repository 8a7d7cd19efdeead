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
