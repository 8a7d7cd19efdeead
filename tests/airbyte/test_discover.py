"""`fauna-sync discover --config F`: the catalog (CAT's discovery checks reproduced) and
failures as TRACE errors with a non-zero exit, never an empty catalog."""

from jsonschema import Draft7Validator

TS_COLUMN = {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"}
# The deletion column holds source-fauna's zone-less `datetime.isoformat()`.
NAIVE_TS_COLUMN = {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_without_timezone"}
BASE = {"ref": {"type": "string"}, "ts": {"type": "integer"}, "data": {"type": ["null", "object"]}}


def catalog(run):
    assert run.code == 0, run.stderr
    assert [m["type"] for m in run.messages] == ["CATALOG"], run.stdout
    return {s["name"]: s for s in run.messages[0]["catalog"]["streams"]}


def stream(name, properties, incremental):
    return {
        "name": name,
        "json_schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                        "properties": properties},
        "supported_sync_modes": ["full_refresh", "incremental"] if incremental else ["full_refresh"],
        "source_defined_cursor": True,
        "default_cursor_field": ["ts"],
        "source_defined_primary_key": [["ref"]],
        "is_resumable": True,
    }


def error(run):
    assert run.code != 0
    assert [m["type"] for m in run.messages] == ["TRACE"], run.stdout
    trace = run.messages[0]["trace"]
    assert trace["type"] == "ERROR"
    return trace["error"]["failure_type"], trace["error"]["message"]


def test_every_readable_collection_is_a_stream(airbyte, fauna_dev, seeded):
    streams = catalog(airbyte("discover", "--config", fauna_dev.config()))
    assert streams == {
        # users has a [ts, ref] index; orders only a reversed one; empty none.
        "users": stream("users", BASE, True),
        "orders": stream("orders", BASE, False),
        "empty": stream("empty", BASE, False),
    }


def test_cat_discovery_checks(airbyte, fauna_dev, seeded):
    run = airbyte("discover", "--config", fauna_dev.config(), "--debug")
    streams = run.messages[0]["catalog"]["streams"]
    names = [s["name"] for s in streams]
    assert len(names) == len(set(names))
    for s in streams:
        Draft7Validator.check_schema(s["json_schema"])
        assert s["json_schema"]["type"] == "object"
        for path in [s["default_cursor_field"], *s["source_defined_primary_key"]]:
            assert path[0] in s["json_schema"]["properties"], (s["name"], path)
        text = str(s["json_schema"])
        assert "$ref" not in text and "allOf" not in text and "'not'" not in text
        assert s["supported_sync_modes"]


def test_source_fauna_config_with_columns_and_deletions(airbyte, fauna_dev, seeded):
    config = fauna_dev.config(collection={
        "name": "users", "index": "users_by_ts", "data_column": False, "page_size": 64,
        "additional_columns": [
            {"name": "email", "path": ["data", "email"], "type": "string", "required": True},
            {"name": "seen", "path": ["data", "seen"], "type": "string", "format": "date-time",
             "airbyte_type": "timestamp_with_timezone", "required": False},
            {"name": "ttl", "path": ["ttl"], "type": "integer", "required": False}],
        "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}})
    assert catalog(airbyte("discover", "--config", config)) == {"users": stream("users", {
        "ref": {"type": "string"},
        "ts": {"type": "integer"},
        "email": {"type": ["null", "string"]},
        "seen": {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
        "ttl": {"type": ["null", "integer"]},
        "deleted_at": NAIVE_TS_COLUMN,
        "_ab_cdc_updated_at": TS_COLUMN,
        "_ab_cdc_deleted_at": TS_COLUMN,
    }, True)}


def test_configured_collections_only(airbyte, fauna_dev, seeded):
    config = fauna_dev.config(collections=[{"name": "orders"}, {"name": "users", "index": "users_by_ts"}])
    assert list(catalog(airbyte("discover", "--config", config))) == ["orders", "users"]


def test_failures_are_trace_errors(airbyte, fauna_dev, seeded):
    assert error(airbyte("discover", "--config", fauna_dev.config(collection={"name": "nope"}))) == (
        "config_error", "Collection 'nope' does not exist")
    assert error(airbyte("discover", "--config", fauna_dev.config(collection={"name": "users", "index": "users_by_name"}))) == (
        "config_error",
        "Index 'users_by_name' should have values [ts, ref] (neither reversed), but it has values [data.name, ref]")
    run = airbyte("discover", "--config", fauna_dev.config(secret="fnWRONG-99"))
    assert error(run) == ("config_error",
                          "Fauna rejected the secret (HTTP 401 Unauthorized) while listing the collections. "
                          "Use a valid key for this endpoint's database.")
    assert "fnWRONG-99" not in run.stdout + run.stderr
    kind, message = error(airbyte("discover", "--config", {"domain": "127.0.0.1", "port": 1, "scheme": "http", "secret": "s"}))
    assert kind == "transient_error"
    assert message.startswith("Failed while listing the collections: could not reach Fauna at http://127.0.0.1:1"), message
    assert error(airbyte("discover", "--config", {"port": 1})) == (
        "config_error",
        "invalid configuration: `secret`: no Fauna secret was given. Set \"secret\" in the config file, "
        "the FAUNA_SECRET environment variable, or --secret.")


def test_a_discover_sample_types_data_and_records_validate_against_it(airbyte, fauna_dev, seeded):
    """`discover_sample`: one page of documents per collection gives `data` typed properties
    (export forms), open to others and labelled as a sample; the records `read` emits validate
    against the schema, and the messages against airbyte-protocol-models (the fixture)."""
    config = fauna_dev.config(discover_sample=2, collections=[{"name": "users"}, {"name": "orders"}])
    streams = catalog(airbyte("discover", "--config", config))
    users = streams["users"]["json_schema"]["properties"]["data"]
    assert users == {
        "type": ["null", "object"],
        "properties": {"email": {"type": "string"}, "name": {"type": "string"}},
        "additionalProperties": True,
        "description": "Typed from a sample of the first 2 of at most 2 documents read at discover; "
                       "other fields and types may occur.",
    }
    orders = streams["orders"]["json_schema"]["properties"]["data"]["properties"]
    assert orders["user"]["type"] == "object"
    assert set(orders["user"]["properties"]) == {"id", "collection", "type"}
    for s in streams.values():
        Draft7Validator.check_schema(s["json_schema"])
    catalog_in = {"streams": [{"stream": s, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}
                              for s in streams.values()]}
    run = airbyte("read", "--config", config, "--catalog", catalog_in)
    assert run.code == 0, run.stderr
    records = run.of_type("RECORD")
    assert len(records) == 4
    for m in records:
        Draft7Validator(streams[m["record"]["stream"]]["json_schema"]).validate(m["record"]["data"])
