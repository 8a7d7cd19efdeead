"""examples/github-actions-sync.yml: valid against the GitHub workflow JSON schema (the one
check-jsonschema vendors, pinned in tests/object_store/requirements-moto.txt), and running the
commands tests/it/object_store.rs runs against an S3 server."""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "github-actions-sync.yml"


def _check_jsonschema():
    moto = os.environ.get("MOTO_SERVER_BIN")
    venv_bin = Path(moto).parent if moto else ROOT / ".venv-moto" / "bin"
    tool = venv_bin / "check-jsonschema"
    if not tool.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"check-jsonschema not found at {tool} (CI=true): run scripts/venv-moto")
        pytest.skip(f"check-jsonschema not found at {tool}; run scripts/venv-moto")
    return tool


def test_the_workflow_is_valid_against_the_github_workflow_schema():
    r = subprocess.run(
        [str(_check_jsonschema()), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "ok -- validation done"


def test_the_schema_check_can_fail(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest"))
    r = subprocess.run(
        [str(_check_jsonschema()), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 1, r.stdout + r.stderr


def test_the_workflow_runs_the_tested_commands_on_a_schedule_one_at_a_time():
    text = WORKFLOW.read_text()
    for expected in [
        'cron: "17 * * * *"',
        "workflow_dispatch: {}",
        "group: fauna-sync-${{ vars.FAUNA_SYNC_OUT }}",
        "cancel-in-progress: false",
        "FAUNA_SECRET: ${{ secrets.FAUNA_SECRET }}",
        "AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}",
        'fauna-sync sync --config fauna.json --out "$OUT" --max-duration 45m',
        'fauna-sync verify --out "$OUT"',
        "$GITHUB_STEP_SUMMARY",
        "timeout-minutes: 60",
    ]:
        assert expected in text, expected
    tests = (ROOT / "tests" / "it" / "object_store.rs").read_text()
    for tested in [r'"sync",\s*"--endpoint"', r'"--config"', r'"verify",\s*"--out"']:
        assert re.search(tested, tests), tested
    # fauna-sync writes the job summary itself (tested in tests/it/sync.rs).
    assert "GITHUB_STEP_SUMMARY" in (ROOT / "tests" / "it" / "sync.rs").read_text()
