"""fauna-sync through PyAirbyte against fauna-dev: check and discover now; a full refresh and
two incremental reads (an update and a delete in between) checked in PyAirbyte's DuckDB cache
once `read` is wired.

PyAirbyte lives in its own venv (it pins duckdb 1.4.3, the main venv 2.0.0): run
`scripts/venv-airbyte` first, or set PYAIRBYTE_PYTHON. Without it these tests skip.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest
from faunadb import query as q

from airbyte_support import ROOT, FaunaDev, _binary

SCENARIO = Path(__file__).with_name("pyairbyte_scenario.py")


def pyairbyte_python():
    explicit = os.environ.get("PYAIRBYTE_PYTHON")
    path = Path(explicit) if explicit else ROOT / ".venv-airbyte" / "bin" / "python"
    if not path.exists():
        if explicit or os.environ.get("CI"):
            pytest.fail(f"PyAirbyte venv missing ({path}): scripts/test creates it with scripts/venv-airbyte")
        pytest.skip(f"PyAirbyte venv missing ({path}); run scripts/venv-airbyte")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A fauna-dev of its own: `people` with a [ts, ref] index and deletions tracked."""
    binary = _binary("FAUNA_DEV_BIN", "fauna-dev", "fauna-dev")
    s = FaunaDev(binary, tmp_path_factory.mktemp("fauna-dev-pyairbyte") / "fauna-dev.log")
    c = s.client()
    c.query(q.create_collection({"name": "people"}))
    c.query(q.create_index({"name": "people_by_ts", "source": q.collection("people"),
                            "values": [{"field": "ts"}, {"field": "ref"}]}))
    for i, name in enumerate(["Ann", "Bob", "Cyd"], start=1):
        c.query(q.create(q.ref(q.collection("people"), str(i)), {"data": {"name": name}}))
    yield s
    s.stop()


def scenario(python, fauna_sync_bin, config, cache, step, tmp_path):
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    env = dict(os.environ, AIRBYTE_OFFLINE_MODE="1", DO_NOT_TRACK="1",
               AIRBYTE_LOGGING_ROOT=str(tmp_path / "logs"), HOME=str(tmp_path))
    proc = subprocess.run([str(python), str(SCENARIO), str(fauna_sync_bin), str(config_path), str(cache), step],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def people_config(server):
    return server.config(collection={"name": "people", "index": "people_by_ts", "data_column": True,
                                     "page_size": 64,
                                     "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}})


def test_check_and_discover_through_pyairbyte(server, fauna_sync_bin, tmp_path):
    python = pyairbyte_python()
    out = scenario(python, fauna_sync_bin, people_config(server), tmp_path / "c.duckdb", "check", tmp_path)
    assert out == {"streams": ["people"]}


def test_full_refresh_then_two_incremental_reads(server, fauna_sync_bin, tmp_path):
    python = pyairbyte_python()
    config, cache = people_config(server), tmp_path / "cache.duckdb"
    c = server.client()

    full = scenario(python, fauna_sync_bin, config, cache, "full-refresh", tmp_path)
    assert full["processed"] == 3
    rows = full["tables"]["people"]
    assert [(r["ref"], r["data"] and json.loads(r["data"]) if isinstance(r["data"], str) else r["data"])
            for r in rows] == [("1", {"name": "Ann"}), ("2", {"name": "Bob"}), ("3", {"name": "Cyd"})]
    assert all(r["_ab_cdc_deleted_at"] is None for r in rows)

    first = scenario(python, fauna_sync_bin, config, cache, "read", tmp_path)
    c.query(q.update(q.ref(q.collection("people"), "2"), {"data": {"name": "Bobby"}}))
    c.query(q.delete(q.ref(q.collection("people"), "3")))
    second = scenario(python, fauna_sync_bin, config, cache, "read", tmp_path)
    # The second incremental read brings exactly the update and the deletion.
    assert second["processed"] == 2, (first, second)
    by_ref = {r["ref"]: r for r in second["tables"]["people"]}
    data = by_ref["2"]["data"]
    assert (json.loads(data) if isinstance(data, str) else data) == {"name": "Bobby"}
    assert by_ref["3"]["_ab_cdc_deleted_at"] is not None
    assert by_ref["3"]["deleted_at"] is not None
    assert by_ref["1"]["_ab_cdc_deleted_at"] is None
