"""Server figures for `make bench`: idle RSS, job start latency, API latency while jobs run.

Starts `etl serve` on a free local port with a throw-away data directory and store, then:
- idle RSS of the server process after start-up (target: under 150 MB);
- job start: POST /execution/{id} to the moment the source component started reading, for a one-row job
  (median of several; target: under 50 ms);
- load: N concurrent executions of a job over the benchmark CSV while a client sends R API requests per
  second; p50/p99 of those requests (target: p99 under 100 ms, the event loop never blocked by job work).
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
ETL = str(Path(sys.executable).with_name("etl"))
SECRET = "Bench-" + secrets.token_hex(16) + "!Q9"
KEY = "Key-" + secrets.token_hex(16) + "#Z7"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    def __init__(self, port: int) -> None:
        self.port = port
        self.token = ""

    def call(self, method: str, path: str, body: Any = None, form: str | None = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        data: bytes | None = None
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            data = form.encode()
        elif body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        return resp.status, json.loads(raw) if raw else None

    def login(self) -> None:
        form = f"grant_type=client_credentials&client_id=etl-core-client&client_secret={SECRET}"
        status, body = self.call("POST", "/auth/token", form=form)
        assert status == 200, body
        self.token = body["access_token"]


def _job(name: str, path: str, rows_schema: dict[str, Any], strategy: str = "bulk") -> dict[str, Any]:
    return {
        "name": name,
        "strategy_type": strategy,
        "components": [
            {
                "name": "read",
                "comp_type": "read_csv",
                "filepath": path,
                "routes": {"out": ["write"]},
                "out_port_schemas": {"out": rows_schema},
            },
            {
                "name": "write",
                "comp_type": "write_csv",
                "filepath": f"out/{name}.csv",
                "in_port_schemas": {"in": rows_schema},
            },
        ],
    }


def _wait(client: Client, execution_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, body = client.call("GET", f"/execution/executions/{execution_id}")
        if status == 200 and body["execution"]["status"] in ("SUCCESS", "FAILED", "CANCELLED"):
            return dict(body)
        time.sleep(0.05)
    raise TimeoutError(execution_id)


def run(rows: int, concurrent: int, rate: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_data import ensure_csv, schema

    src = ensure_csv(rows)
    tmp = Path(tempfile.mkdtemp(prefix="etl-bench-server-"))
    (tmp / "data").mkdir()
    (tmp / "data" / "one.csv").write_text("id,name,city,amount,created_at,active,note\n1,a,b,1.0,x,true,y\n")
    port = _free_port()
    env = dict(os.environ)
    env.update(
        ETL_ENV_FILE=str(tmp / "none.env"),
        ETL_DATA_DIR=str(tmp / "data"),
        ETL_ALLOWED_PATHS=str(src.parent),
        ETL_DB_URL=f"sqlite:///{tmp / 'etl.db'}",
        ETL_PORT=str(port),
        ETL_LOG_LEVEL="WARNING",
        ETL_LOG_FORMAT="json",
        ETL_AUTH_CLIENT_SECRET=SECRET,
        ETL_AUTH_SIGNING_KEY=KEY,
        ETL_SCHEDULES_SYNC_SECONDS="off",
    )
    server = subprocess.Popen([ETL, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = Client(port)
    out: dict[str, Any] = {}
    try:
        for _ in range(200):
            try:
                client.login()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.5)
        out["idle_rss_mb"] = round(psutil.Process(server.pid).memory_info().rss / 2**20, 1)

        # job start latency: request sent -> the source component started reading
        _, created = client.call("POST", "/jobs/", _job("start-probe", "one.csv", schema(), "row"))
        starts = []
        for _ in range(7):
            t0 = time.time()
            status, started = client.call("POST", f"/execution/{created['id']}", {"environment": "DEV"})
            assert status == 202, started
            detail = _wait(client, started["execution_id"])
            comp = detail["attempts"][-1]["components"]
            read = comp["read"] if isinstance(comp, dict) else next(c for c in comp if c["component"] == "read")
            started_at = read["started_at"]
            if isinstance(started_at, str):
                started_at = datetime.fromisoformat(started_at).timestamp()
            starts.append((started_at - t0) * 1000)
        out["job_start_ms_median"] = round(statistics.median(starts), 1)

        # API latency while jobs run
        ids = []
        for i in range(concurrent):
            _, job = client.call("POST", "/jobs/", _job(f"load-{i}", str(src), schema()))
            ids.append(job["id"])
        latencies: list[float] = []
        stop = threading.Event()

        def prober() -> None:
            interval = 1.0 / rate
            while not stop.is_set():
                t = time.perf_counter()
                client.call("GET", "/jobs/")
                latencies.append((time.perf_counter() - t) * 1000)
                time.sleep(max(0.0, interval - (time.perf_counter() - t)))

        t0 = time.perf_counter()
        executions = [client.call("POST", f"/execution/{job_id}", {})[1]["execution_id"] for job_id in ids]
        probe = threading.Thread(target=prober)
        probe.start()
        finals = [_wait(client, e, timeout=900) for e in executions]
        stop.set()
        probe.join()
        elapsed = time.perf_counter() - t0
        ok = sum(1 for f in finals if f["execution"]["status"] == "SUCCESS")
        latencies.sort()
        out["load"] = {
            "executions": concurrent,
            "rows_each": rows,
            "succeeded": ok,
            "seconds": round(elapsed, 1),
            "rows_per_second_total": round(concurrent * rows / elapsed),
            "api_requests": len(latencies),
            "api_p50_ms": round(latencies[len(latencies) // 2], 1) if latencies else None,
            "api_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1) if latencies else None,
            "server_peak_rss_mb": round(psutil.Process(server.pid).memory_info().rss / 2**20, 1),
            "api_max_ms": round(latencies[-1], 1) if latencies else None,
        }
    finally:
        server.terminate()
        server.wait(timeout=60)
    return out


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000, 20, 50), indent=2))
