"""`fauna-sync spec`: one valid SPEC message, and the Connector Acceptance Test's spec checks
(airbyte-protocol.md §2, "Spec") reproduced, plus source-fauna configs accepted unchanged."""

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = {"not", "anyOf", "patternProperties", "prefixItems", "allOf", "if", "then", "else",
             "dependentSchemas", "dependentRequired", "$ref"}
SECRET_NAME = re.compile(
    r"(^|_)(secret|password|token|key|api_token|access_token|client_secret|credentials|"
    r"refresh_token|jwt|certificate)($|_)")

# The Python source-fauna's own example configurations (its spec.yaml's shape).
SOURCE_FAUNA_CONFIGS = [
    {"domain": "db.fauna.com", "port": 443, "scheme": "https", "secret": "fnAE-example",
     "collection": {"name": "foo", "index": "", "data_column": True, "page_size": 64,
                    "additional_columns": [],
                    "deletions": {"deletion_mode": "ignore"}}},
    {"domain": "localhost", "port": 8443, "scheme": "http", "secret": "secret",
     "collection": {"name": "foo", "index": "ts", "data_column": False, "page_size": 64,
                    "additional_columns": [
                        {"name": "my_zip", "path": ["data", "address", "zip"], "type": "string",
                         "format": "", "airbyte_type": "", "required": False},
                        {"name": "ttl", "path": ["ttl"], "type": "integer", "required": False}],
                    "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}}},
]

# source-fauna's spec properties and their types; a drop-in replacement keeps them all.
SOURCE_FAUNA_PROPERTIES = {
    ("domain",): "string", ("port",): "integer", ("scheme",): "string", ("secret",): "string",
    ("collection",): "object", ("collection", "name"): "string",
    ("collection", "index"): "string", ("collection", "data_column"): "boolean",
    ("collection", "additional_columns"): "array", ("collection", "page_size"): "integer",
    ("collection", "deletions"): "object",
}


@pytest.fixture(scope="module")
def spec_run(fauna_sync_bin):
    import subprocess

    from airbyte_messages import validate_lines
    proc = subprocess.run([str(fauna_sync_bin), "spec"], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    return proc, validate_lines(proc.stdout)


@pytest.fixture(scope="module")
def conn_spec(spec_run):
    return spec_run[1][0]["spec"]["connectionSpecification"]


def nodes(schema, path=()):
    """Every (path, dict) in the schema."""
    if isinstance(schema, dict):
        yield path, schema
        for k, v in schema.items():
            yield from nodes(v, path + (k,))
    elif isinstance(schema, list):
        for i, v in enumerate(schema):
            yield from nodes(v, path + (i,))


def test_one_spec_message_and_nothing_else(spec_run):
    proc, messages = spec_run
    assert proc.returncode == 0, proc.stderr
    assert [m["type"] for m in messages] == ["SPEC"]
    spec = messages[0]["spec"]
    assert spec["supportsIncremental"] is True
    assert spec["protocol_version"] == "0.2.0"
    assert spec["documentationUrl"].endswith("/docs/airbyte.md")


def test_extra_flags_are_tolerated(airbyte, spec_run):
    run = airbyte("spec", "--debug")
    assert run.code == 0, run.stderr
    assert run.stdout == spec_run[0].stdout


def test_spec_is_a_valid_draft7_schema(conn_spec):
    Draft7Validator.check_schema(conn_spec)
    assert conn_spec["type"] == "object"
    assert conn_spec["required"] == ["secret"]


def test_no_forbidden_keywords_or_refs(conn_spec):
    for path, node in nodes(conn_spec):
        if path and path[-1] == "properties":
            continue  # property names are not keywords
        bad = FORBIDDEN & set(node)
        assert not bad, f"{bad} at {path}"


def test_type_arrays_additional_properties_and_enums(conn_spec):
    for path, node in nodes(conn_spec):
        if path and path[-1] == "properties":
            continue
        t = node.get("type")
        if isinstance(t, list):
            assert len(t) == 1 or (len(t) == 2 and "null" in t), (path, t)
        if "additionalProperties" in node:
            assert node["additionalProperties"] is True, path
        if "enum" in node:
            assert len(node["enum"]) == len(set(node["enum"])), path
        if node.get("type") == "object":
            assert node.get("properties") or node.get("oneOf"), f"empty object at {path}"
        if node.get("type") == "array" and "items" in node:
            assert isinstance(node["items"], dict) and isinstance(node["items"].get("type"), str), path


def test_secrets_are_marked_and_nothing_else(conn_spec):
    for path, node in nodes(conn_spec):
        if len(path) < 2 or path[-2] != "properties":
            continue
        name = path[-1]
        secret = bool(SECRET_NAME.search(name))
        assert bool(node.get("airbyte_secret")) == secret, (path, node)
    assert conn_spec["properties"]["secret"]["airbyte_secret"] is True


def test_one_of_rules(conn_spec):
    found = 0
    for path, node in nodes(conn_spec):
        if path and path[-1] == "properties" or "oneOf" not in node:
            continue
        found += 1
        assert node.get("type") == "object", path
        variants = node["oneOf"]
        assert all("properties" in v for v in variants), path
        common = set.intersection(*(set(v["properties"]) for v in variants))
        const_props = [p for p in common if all("const" in v["properties"][p] for v in variants)]
        assert const_props == ["deletion_mode"], path
        for v in variants:
            p = v["properties"]["deletion_mode"]
            assert "default" not in p or p["default"] == p["const"]
    assert found == 3  # defaults.deletions, collection.deletions, collections[].deletions


@pytest.mark.parametrize("config", SOURCE_FAUNA_CONFIGS, ids=["ignore", "deleted_field"])
def test_source_fauna_configs_validate_unchanged(conn_spec, config):
    errors = [e.message for e in Draft7Validator(conn_spec).iter_errors(config)]
    assert errors == []


def test_multi_collection_config_validates_and_bad_configs_do_not(conn_spec):
    v = Draft7Validator(conn_spec)
    good = {"secret": "s", "collections": [{"name": "a", "index": "a_by_ts"}, {"name": "b"}],
            "defaults": {"page_size": 500, "deletions": {"deletion_mode": "deleted_field"}}}
    assert [e.message for e in v.iter_errors(good)] == []
    assert [e.message for e in v.iter_errors({"domain": "x"})] == ["'secret' is a required property"]
    bad_mode = {"secret": "s", "collection": {"name": "a", "deletions": {"deletion_mode": "hide"}}}
    assert list(v.iter_errors(bad_mode)) != []


def test_every_source_fauna_property_is_kept(conn_spec):
    for path, type_ in SOURCE_FAUNA_PROPERTIES.items():
        node = conn_spec
        for step in path:
            node = node["properties"][step]
        assert node["type"] == type_, path
    columns = conn_spec["properties"]["collection"]["properties"]["additional_columns"]["items"]
    assert set(columns["properties"]) == {"name", "path", "type", "format", "airbyte_type", "required"}


def test_spec_derives_from_the_config_schema(conn_spec):
    schema = json.loads((ROOT / "spec" / "config.schema.json").read_text())
    assert set(conn_spec["properties"]) == set(schema["properties"]) - {"output"}
    for name in ["domain", "port", "scheme", "secret", "query_timeout_ms", "max_retries"]:
        assert conn_spec["properties"][name] == schema["properties"][name]


def test_a_closed_stdout_ends_quietly(fauna_sync_bin, tmp_path):
    """PyAirbyte stops reading once it has what it wants: writing into a closed pipe is a
    quiet stop (exit 0, nothing on stderr), not a panic."""
    import os
    import subprocess

    config = tmp_path / "config.json"
    config.write_text(json.dumps({"domain": "127.0.0.1", "port": 1}))  # fails before any network
    for args in [["spec"], ["check", "--config", str(config)]]:
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            proc = subprocess.run([str(fauna_sync_bin), *args], stdout=write_end, stderr=subprocess.PIPE,
                                  text=True, timeout=60, stdin=subprocess.DEVNULL)
        finally:
            os.close(write_end)
        assert (proc.returncode, proc.stderr) == (0, ""), args
