"""Fixtures for the Airbyte source-mode tests: one fauna-dev per session (free port, killed at
teardown) seeded with the official `faunadb` driver, and a runner for `fauna-sync <command>`
that validates every stdout line against the pinned `airbyte-protocol-models`.

Binaries: `FAUNA_DEV_BIN` and `FAUNA_SYNC_BIN`, else built with cargo into
`${CARGO_TARGET_DIR:-<repo>/target}/debug`.
"""

import json
import subprocess

import pytest
from faunadb import query as q

from airbyte_messages import validate_lines
from airbyte_support import FaunaDev, _binary


class Seeded:
    """What the seed created: names and a restricted key's secret."""

    def __init__(self, users_only_secret):
        self.users_only_secret = users_only_secret


def _seed(server):
    c = server.client()
    for name in ["users", "orders", "empty"]:
        c.query(q.create_collection({"name": name}))
    # A fitting [ts, ref] index on users; unfit ones to be named by check.
    c.query(q.create_index({"name": "users_by_ts", "source": q.collection("users"),
                            "values": [{"field": "ts"}, {"field": "ref"}]}))
    c.query(q.create_index({"name": "users_by_email", "source": q.collection("users"),
                            "terms": [{"field": ["data", "email"]}],
                            "values": [{"field": "ts"}, {"field": "ref"}]}))
    c.query(q.create_index({"name": "users_by_name", "source": q.collection("users"),
                            "values": [{"field": ["data", "name"]}, {"field": "ref"}]}))
    c.query(q.create_index({"name": "orders_newest", "source": q.collection("orders"),
                            "values": [{"field": "ts", "reverse": True}, {"field": "ref"}]}))
    for i, name in enumerate(["Ann", "Bob", "Cyd"], start=1):
        c.query(q.create(q.ref(q.collection("users"), str(i)),
                         {"data": {"name": name, "email": f"{name.lower()}@example.com"}}))
    c.query(q.create(q.ref(q.collection("orders"), "10"), {"data": {"user": q.ref(q.collection("users"), "1")}}))
    # A key that may read users' documents, but not Collections() or Indexes().
    c.query(q.create_role({
        "name": "users_only",
        "privileges": [{"resource": q.collection("users"), "actions": {"read": True}}],
    }))
    key = c.query(q.create_key({"role": q.role("users_only")}))
    return Seeded(key["secret"])


@pytest.fixture(scope="session")
def fauna_sync_bin():
    return _binary("FAUNA_SYNC_BIN", "fauna-sync", "fauna-sync")


@pytest.fixture(scope="session")
def fauna_dev(tmp_path_factory):
    binary = _binary("FAUNA_DEV_BIN", "fauna-dev", "fauna-dev")
    server = FaunaDev(binary, tmp_path_factory.mktemp("fauna-dev") / "fauna-dev.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def seeded(fauna_dev):
    return _seed(fauna_dev)


class Run:
    """One finished `fauna-sync` run: exit code, validated messages, raw output."""

    def __init__(self, proc):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.messages = validate_lines(proc.stdout)

    def of_type(self, kind):
        return [m for m in self.messages if m["type"] == kind]


@pytest.fixture
def airbyte(fauna_sync_bin, tmp_path):
    """Runs `fauna-sync <args…>`; dict arguments are written to JSON files first."""

    def run(*args, timeout=120):
        argv = [str(fauna_sync_bin)]
        for i, a in enumerate(args):
            if isinstance(a, (dict, list)):
                path = tmp_path / f"arg{i}.json"
                path.write_text(json.dumps(a))
                a = str(path)
            argv.append(str(a))
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        return Run(proc)

    return run
