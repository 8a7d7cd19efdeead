"""The GitHub Actions workflows: examples/github-actions-sync.yml (the scheduled sync, with its
build-from-source fallback) and .github/workflows/release.yml (the release binary it downloads)
are valid against the GitHub workflow JSON schema (the one check-jsonschema vendors, pinned in
tests/object_store/requirements-moto.txt), agree on the binary's name, and run the commands
tests/it/object_store.rs runs against an S3 server."""

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "github-actions-sync.yml"
RELEASE = ROOT / ".github" / "workflows" / "release.yml"


def _check_jsonschema():
    moto = os.environ.get("MOTO_SERVER_BIN")
    venv_bin = Path(moto).parent if moto else ROOT / ".venv-moto" / "bin"
    tool = venv_bin / "check-jsonschema"
    if not tool.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"check-jsonschema not found at {tool} (CI=true): run scripts/venv-moto")
        pytest.skip(f"check-jsonschema not found at {tool}; run scripts/venv-moto")
    return tool


def _validate(path):
    return subprocess.run(
        [str(_check_jsonschema()), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True, text=True, timeout=120,
    )


def _between(text, start, end):
    """The lines after the line `start` and before the line `end` (comment markers)."""
    lines = text.splitlines(keepends=True)
    first = next(i for i, l in enumerate(lines) if l.strip() == start)
    last = next(i for i, l in enumerate(lines) if l.strip() == end)
    return "".join(lines[first + 1:last])


def _with_fallback(text):
    """The example with its commented build-from-source steps in place of the download."""
    install = _between(text, "# --- install: the release binary (seconds, nothing compiled) ---",
                       "# --- end install ---")
    fallback = _between(text, "# --- fallback: build from source, cached ---", "# --- end fallback ---")
    uncommented = re.sub(r"^(\s*)# ?", r"\1", fallback, flags=re.MULTILINE)
    return text.replace(install, uncommented)


@pytest.mark.parametrize("path", [WORKFLOW, RELEASE], ids=["example", "release"])
def test_the_workflow_is_valid_against_the_github_workflow_schema(path):
    r = _validate(path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "ok -- validation done"


def test_the_build_from_source_fallback_is_valid_in_place_of_the_download(tmp_path):
    fallback = tmp_path / "fallback.yml"
    fallback.write_text(_with_fallback(WORKFLOW.read_text()))
    text = fallback.read_text()
    assert "releases/download" not in text
    assert "uses: actions/cache@v4" in text
    assert "key: fauna-sync-${{ env.FAUNA_SYNC_VERSION }}-${{ runner.os }}-${{ runner.arch }}" in text
    assert "if: steps.cached-build.outputs.cache-hit != 'true'" in text
    assert ('run: cargo install --locked --no-default-features --features s3 --git "https://github.com/$FAUNA_SYNC_REPO"'
            ' --tag "v$FAUNA_SYNC_VERSION" fauna-sync') in text
    r = _validate(fallback)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_schema_check_can_fail(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest"))
    r = _validate(broken)
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


def test_max_duration_leaves_a_quarter_of_the_job_for_the_last_batch_and_verify():
    text = WORKFLOW.read_text()
    (timeout,) = re.findall(r"timeout-minutes: (\d+)", text)
    (duration,) = re.findall(r"--max-duration (\d+)m", text)
    assert int(duration) <= int(timeout) * 3 // 4, (duration, timeout)


def test_the_example_downloads_a_pinned_release_and_checks_its_sha256_instead_of_building():
    text = WORKFLOW.read_text()
    install = _between(text, "# --- install: the release binary (seconds, nothing compiled) ---",
                       "# --- end install ---")
    assert 'FAUNA_SYNC_VERSION: "0.1.0"' in text
    assert re.search(r"^      FAUNA_SYNC_SHA256: [0-9a-f]{64}$", text, re.MULTILINE)
    assert 'echo "$FAUNA_SYNC_SHA256  $RUNNER_TEMP/bin/fauna-sync" | sha256sum --check --strict' in install
    # No step compiles: the only cargo command is in the commented fallback.
    live = "\n".join(l for l in text.splitlines() if not l.strip().startswith("#"))
    assert "cargo" not in live
    # The file the example downloads is the one the release workflow attaches, for any version.
    example_name = re.search(r'name="(fauna-sync-[^"]+)"', install).group(1)
    release = RELEASE.read_text()
    release_name = re.search(r'name="(fauna-sync-[^"]+)"', release).group(1)
    (target,) = re.findall(r"^  TARGET: (\S+)$", release, re.MULTILINE)
    version = "9.8.7"
    assert (example_name.replace("$FAUNA_SYNC_VERSION", version)
            == release_name.replace("$GITHUB_REF_NAME", f"v{version}").replace("$TARGET", target)
            == f"fauna-sync-v{version}-x86_64-unknown-linux-gnu")
    assert "releases/download/v$FAUNA_SYNC_VERSION/$name" in install


def test_the_release_builds_the_production_binary_on_a_version_tag():
    release = RELEASE.read_text()
    assert 'tags: ["v*"]' in release
    assert ('run: cargo build --release --locked --no-default-features --features s3,gcs,azure -p fauna-sync --bin fauna-sync'
            ' --target "$TARGET"') in release
    assert 'sha256sum "$name" > "$name.sha256"' in release
    assert 'gh release create "$GITHUB_REF_NAME" dist/* --verify-tag' in release
    assert 'if [ "v$version" != "$GITHUB_REF_NAME" ]; then' in release
    # "stripped": the release profile strips, and the toolchain is the crate's rust-version.
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    assert cargo["profile"]["release"]["strip"] is True
    assert cargo["profile"]["release"].get("debug", False) is False
    rust_version = cargo["workspace"]["package"]["rust-version"]
    assert re.search(rf'^  RUST_TOOLCHAIN: "{re.escape(rust_version)}\.\d+"', release, re.MULTILINE)
