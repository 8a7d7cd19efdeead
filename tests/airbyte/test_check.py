"""`fauna-sync check --config F`: always exactly one CONNECTION_STATUS and exit 0 (CAT's
connection tests), with precise messages, and the secret never echoed."""

import pytest

WRONG_SECRET = "fnWRONG-secret-7731"


def status(run):
    assert run.code == 0, run.stderr
    assert [m["type"] for m in run.messages] == ["CONNECTION_STATUS"], run.stdout
    s = run.messages[0]["connectionStatus"]
    return s["status"], s.get("message")


def users(**extra):
    return {"name": "users", "data_column": True, "page_size": 64,
            "deletions": {"deletion_mode": "ignore"}, **extra}


def test_valid_configs_succeed(airbyte, fauna_dev, seeded):
    assert status(airbyte("check", "--config", fauna_dev.config(collection=users(index="users_by_ts")))) == ("SUCCEEDED", None)
    assert status(airbyte("check", "--config", fauna_dev.config())) == ("SUCCEEDED", None)
    multi = fauna_dev.config(collections=[{"name": "users", "index": "users_by_ts"}, {"name": "orders"}])
    assert status(airbyte("check", "--config", multi, "--debug")) == ("SUCCEEDED", None)
    # The CDK's flags, anywhere.
    assert status(airbyte("check", "--debug", "--config", multi)) == ("SUCCEEDED", None)
    assert status(airbyte("check", "--config", multi, "--manifest-path", "m.yaml", "--components-path", "c.py")) == ("SUCCEEDED", None)


@pytest.mark.parametrize("collection, message", [
    (users(name="nope"), "Collection 'nope' does not exist"),
    (users(index="nope"), "Index 'nope' does not exist"),
    (users(index="users_by_email"),
     "Index 'users_by_email' should have no terms, but it has terms [data.email]"),
    (users(index="users_by_name"),
     "Index 'users_by_name' should have values [ts, ref] (neither reversed), but it has values [data.name, ref]"),
    (users(name="orders", index="orders_newest"),
     "Index 'orders_newest' should have values [ts, ref] (neither reversed), but it has values [ts (reverse), ref]"),
    (users(name="orders", index="users_by_ts"),
     "Index 'users_by_ts' should have source 'orders', but it has source 'users'"),
])
def test_collection_and_index_problems_are_named(airbyte, fauna_dev, seeded, collection, message):
    assert status(airbyte("check", "--config", fauna_dev.config(collection=collection))) == ("FAILED", message)


def test_a_rejected_secret_is_said_plainly_and_never_echoed(airbyte, fauna_dev, seeded):
    run = airbyte("check", "--config", fauna_dev.config(secret=WRONG_SECRET, collection=users()))
    assert status(run) == ("FAILED",
                           f"Fauna rejected the secret (HTTP 401 Unauthorized) while connecting to {fauna_dev.url}. "
                           "Use a valid key for this endpoint's database.")
    assert WRONG_SECRET not in run.stdout + run.stderr


def test_a_key_with_few_privileges(airbyte, fauna_dev, seeded):
    """The key may read users' documents only: Exists(Collection("users")) is false for it, so
    check asks through the documents; the index and the collection list it may not read."""
    secret = seeded.users_only_secret
    denied = ("(Fauna answered HTTP 403: permission denied: Insufficient privileges to perform the action.{})."
              " Grant it read access or use another key.")
    assert status(airbyte("check", "--config", fauna_dev.config(secret=secret, collection=users()))) == ("SUCCEEDED", None)
    run = airbyte("check", "--config", fauna_dev.config(secret=secret, collection=users(index="users_by_ts")))
    assert status(run) == ("FAILED", "The key lacks a privilege needed for reading index 'users_by_ts' " + denied.format(""))
    run = airbyte("check", "--config", fauna_dev.config(secret=secret))
    assert status(run) == ("FAILED", "The key lacks a privilege needed for listing the collections " + denied.format(" (at paginate)"))
    assert secret not in run.stdout + run.stderr


def test_invalid_configs_fail_without_contacting_fauna(airbyte, tmp_path):
    assert status(airbyte("check", "--config", {"domain": "127.0.0.1", "port": 1})) == (
        "FAILED",
        "invalid configuration: `secret`: no Fauna secret was given. Set \"secret\" in the config file, "
        "the FAUNA_SECRET environment variable, or --secret.")
    assert status(airbyte("check", "--config", {"secret": "s", "port": "443"})) == (
        "FAILED",
        "invalid configuration: `port`: invalid type: string \"443\", expected u16 at line 1 column 29. "
        "See spec/config.schema.json for the expected shape.")
    broken = tmp_path / "broken.json"
    broken.write_text("{\"secret\": ")
    state, message = status(airbyte("check", "--config", broken))
    assert state == "FAILED" and message.startswith("invalid configuration: "), message
    missing = tmp_path / "missing.json"
    state, message = status(airbyte("check", "--config", missing))
    assert state == "FAILED"
    assert message.startswith(f"invalid configuration: `--config`: cannot read {missing}: "), message


def test_an_unreachable_endpoint_fails_with_exit_0(airbyte):
    run = airbyte("check", "--config", {"domain": "127.0.0.1", "port": 1, "scheme": "http", "secret": "s3cr3t-x"})
    state, message = status(run)
    assert state == "FAILED"
    assert message.startswith(
        "Failed while connecting to http://127.0.0.1:1: could not reach Fauna at http://127.0.0.1:1: connection refused"), message
    assert "s3cr3t-x" not in run.stdout + run.stderr
