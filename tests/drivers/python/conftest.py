"""Fixtures for the Python-driver suite: fauna-dev instances and FaunaDB clients.

fauna-dev is built once (``cargo build -p fauna-dev --bin fauna-dev``, honouring
``CARGO_TARGET_DIR``) unless ``FAUNA_DEV_BIN`` names a binary. Every instance listens on a
free port (``--port 0``); the address is read from the first line of its stdout.
"""

import os
import queue
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
from faunadb.client import FaunaClient

ROOT = Path(__file__).resolve().parents[3]
DATASET = ROOT / "fixtures" / "fauna-dev-test"
ROOT_SECRET = "secret"

# Fixed secrets of the keys in the seed dataset (fixtures/fauna-dev-test/schema.json).
SERVER_SECRET = "fauna-dev-test-server"
READONLY_SECRET = "fauna-dev-test-server-readonly"
CLIENT_SECRET = "fauna-dev-test-client"
CONNECT_SECRET = "fauna-dev-test-connect-readonly"

# FaunaClient.__init__ asks pypi.org for a newer driver; the tests make no outside calls.
FaunaClient.check_new_version = lambda self: None


def _binary():
    explicit = os.environ.get("FAUNA_DEV_BIN")
    if explicit:
        return Path(explicit)
    subprocess.run(
        ["cargo", "build", "--quiet", "-p", "fauna-dev", "--bin", "fauna-dev"],
        cwd=ROOT,
        check=True,
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    return target / "debug" / "fauna-dev"


class Instance:
    """A running fauna-dev process."""

    def __init__(self, binary, args, log_dir, name):
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(binary), "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=ROOT,
        )
        lines = queue.Queue()
        threading.Thread(
            target=lambda: lines.put(self.proc.stdout.readline()), daemon=True
        ).start()
        try:
            line = lines.get(timeout=120).decode().strip()
        except queue.Empty:
            line = ""
        prefix = "fauna-dev listening on "
        if not line.startswith(prefix):
            self.stop()
            raise RuntimeError(
                f"fauna-dev {args} did not start (stdout {line!r}); log:\n"
                + self.log_path.read_text()
            )
        self.url = line[len(prefix):]
        host_port = self.url.split("://", 1)[1]
        self.host, port = host_port.rsplit(":", 1)
        self.port = int(port)

    def client(self, secret=ROOT_SECRET, **kwargs):
        return FaunaClient(
            secret=secret, domain=self.host, port=self.port, scheme="http", **kwargs
        )

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@pytest.fixture(scope="session")
def fauna_dev_bin():
    return _binary()


@pytest.fixture(scope="session")
def start_instance(fauna_dev_bin, tmp_path_factory):
    """Starts fauna-dev with extra flags; all are stopped at the end of the session."""
    started = []
    log_dir = tmp_path_factory.mktemp("fauna-dev-logs")

    def start(*args, name="fauna-dev"):
        inst = Instance(fauna_dev_bin, list(args), log_dir, f"{name}-{len(started)}")
        started.append(inst)
        return inst

    yield start
    for inst in started:
        inst.stop()


@pytest.fixture(scope="session")
def fauna(start_instance):
    """The main instance, seeded with fixtures/fauna-dev-test."""
    return start_instance("--dataset", str(DATASET), name="main")


@pytest.fixture(scope="session")
def short_history(start_instance):
    """An instance whose minimum valid time trails `now` by two seconds."""
    return start_instance("--mvt-offset-secs", "2", "--day-secs", "1", name="short-history")


@pytest.fixture
def client(fauna):
    """An admin client on the main instance."""
    return fauna.client()


@pytest.fixture
def uid():
    """A short unique suffix for names of collections, indexes and roles."""
    return uuid.uuid4().hex[:10]
