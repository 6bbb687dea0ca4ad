"""The installed `etl` entry point in a real process: exit codes and cancellation by signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ETL = Path(sys.executable).parent / "etl"
SCHEMA = {"fields": [{"name": "n", "data_type": "integer"}]}

pytestmark = pytest.mark.skipif(not ETL.exists(), reason="the etl entry point is not installed in this venv")


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETL_")}
    env.update({"ETL_LOG_DIR": str(tmp_path / "logs"), "ETL_ENV_FILE": str(tmp_path / "none.env"), **extra})
    return env


def write_job(tmp_path: Path, job: dict[str, Any]) -> Path:
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job))
    return path


def slow_job() -> dict[str, Any]:
    return {
        "name": "slow",
        "strategy_type": "row",
        "components": [
            {
                "name": "src",
                "comp_type": "test_source",
                "records": [{"n": i} for i in range(2000)],
                "batch_size": 1,
                "delay_s": 0.01,
                "out_port_schemas": {"out": SCHEMA},
                "routes": {"out": ["csv"]},
            },
            {"name": "csv", "comp_type": "write_csv", "filepath": "out/result.csv", "in_port_schemas": {"in": SCHEMA}},
        ],
    }


def test_the_entry_point_runs_a_job_and_exits_0(tmp_path: Path) -> None:
    job = slow_job()
    job["components"][0].update(records=[{"n": 1}, {"n": 2}], delay_s=0)
    data = tmp_path / "data"

    done = subprocess.run(
        [str(ETL), "run", str(write_job(tmp_path, job)), "--data-dir", str(data)],
        env=environment(tmp_path, ETL_COMPONENT_MODE="test"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert (data / "out" / "result.csv").read_text() == "n\n1\n2\n"


def test_an_interrupt_cancels_the_run_leaving_no_output_and_exits_1(tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = data / "out"
    proc = subprocess.Popen(
        [str(ETL), "run", str(write_job(tmp_path, slow_job())), "--data-dir", str(data), "--json"],
        env=environment(tmp_path, ETL_COMPONENT_MODE="test"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # the writer stages its output as soon as it starts: then the run is under way
        deadline = time.monotonic() + 30
        while not (out.exists() and any(out.iterdir())):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never started writing"
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode == 1, stderr
    state = json.loads(stdout)
    assert state["status"] == "CANCELLED"
    assert state["attempts"][0]["components"]["csv"]["status"] == "CANCELLED"
    assert list(out.iterdir()) == []
