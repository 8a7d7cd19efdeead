"""Runs fauna-sync through PyAirbyte (in the .venv-airbyte venv; see scripts/venv-airbyte) and
prints one JSON object on the last line of stdout. Offline: no registry, no telemetry.

    python pyairbyte_scenario.py <fauna-sync> <config.json> <cache.duckdb> check|read|full-refresh

`check`: source.check() and the available streams. `read`: an incremental read of every stream
into the DuckDB cache at <cache.duckdb> (PyAirbyte keeps the state there between runs);
`full-refresh`: the same with force_full_refresh. Both print the records processed and every
cached table's rows.
"""

import json
import os
import sys
import warnings
from pathlib import Path

os.environ["AIRBYTE_OFFLINE_MODE"] = "1"
os.environ["DO_NOT_TRACK"] = "1"
warnings.filterwarnings("ignore")

import airbyte as ab  # noqa: E402
from airbyte.caches import DuckDBCache  # noqa: E402


def main(exe, config_path, cache_path, step):
    config = json.loads(Path(config_path).read_text())
    source = ab.get_source("source-fauna-sync", config=config, local_executable=exe)
    if step == "check":
        source.check()
        print(json.dumps({"streams": sorted(source.get_available_streams())}))
        return
    cache = DuckDBCache(db_path=Path(cache_path), schema_name="main")
    source.select_all_streams()
    result = source.read(cache=cache, force_full_refresh=(step == "full-refresh"))
    tables = {}
    for name in source.get_selected_streams():
        frame = cache[name].to_pandas()
        rows = json.loads(frame.to_json(orient="records", date_format="iso"))
        tables[name] = sorted(rows, key=lambda r: r["ref"])
    print(json.dumps({"processed": result.processed_records, "tables": tables}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
