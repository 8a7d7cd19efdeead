"""Shared by the Airbyte tests (a module of its own: `from conftest import` could pick up
another directory's conftest): the repository root, fauna-dev, the binaries."""

import os
import queue
import subprocess
import threading
import warnings
from pathlib import Path

from faunadb.client import FaunaClient

ROOT = Path(__file__).resolve().parents[2]
ROOT_SECRET = "fauna-sync-airbyte-root-3f9d"

# FaunaClient.__init__ asks pypi.org for a newer driver; the tests make no outside calls.
FaunaClient.check_new_version = lambda self: None
warnings.filterwarnings("ignore", message="Fauna is decommissioning FQL v4")


def _binary(env, package, binary):
    explicit = os.environ.get(env)
    if explicit:
        return Path(explicit)
    subprocess.run(
        ["cargo", "build", "--locked", "--quiet", "-p", package, "--bin", binary],
        cwd=ROOT,
        check=True,
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    return target / "debug" / binary


class FaunaDev:
    """A running fauna-dev on a free port."""

    def __init__(self, binary, log_path):
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [str(binary), "--port", "0", "--root-secret", ROOT_SECRET],
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=ROOT,
        )
        lines = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=60).decode().strip()
        except queue.Empty:
            line = ""
        prefix = "fauna-dev listening on "
        if not line.startswith(prefix):
            self.stop()
            raise RuntimeError(f"fauna-dev did not start ({line!r}):\n{Path(log_path).read_text()}")
        self.url = line[len(prefix):]
        self.host, port = self.url.split("://", 1)[1].rsplit(":", 1)
        self.port = int(port)

    def client(self, secret=ROOT_SECRET):
        return FaunaClient(secret=secret, domain=self.host, port=self.port, scheme="http")

    def config(self, secret=ROOT_SECRET, **extra):
        """A source-fauna style config for this server."""
        return {"domain": self.host, "port": self.port, "scheme": "http", "secret": secret, **extra}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
