"""Shared by the Airbyte tests (a module of its own: `from conftest import` could pick up
another directory's conftest): the repository root, fauna-dev with this suite's secret, the
binaries (tests/fauna_dev_process.py)."""

import fauna_dev_process
from fauna_dev_process import ROOT, binary as _binary  # noqa: F401 (re-exported)

ROOT_SECRET = "fauna-sync-airbyte-root-3f9d"


class FaunaDev(fauna_dev_process.FaunaDev):
    """fauna-dev with the Airbyte suite's root secret."""

    def __init__(self, binary, log_path):
        super().__init__(binary, log_path, ROOT_SECRET)
