"""`make bench`: etl-core's speed and memory, each figure against its baseline measured in the same run.

For every workload the engine runs as a user runs it (`etl run job.json` in a subprocess) and so does a
hand-written baseline doing the same work (`scripts/bench_baselines.py`), alternating, several times; the
median rows/s, the peak RSS of each process (from wait4's rusage) and the ratio engine/baseline are printed
and written to `.bench/results.json`. Timings never live in unit tests: this is the only place they are judged.

    python scripts/bench.py                 # 1M rows, every workload, RSS at 1M and 10M for CSV -> CSV
    python scripts/bench.py --quick         # 100k rows, one repetition (what CI can afford)
    python scripts/bench.py --only csv      # workloads whose name contains "csv"
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
PY = sys.executable
ETL = str(Path(PY).with_name("etl"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_data import COLUMNS  # noqa: E402
from bench_jobs import WORKLOADS, Workload  # noqa: E402


@dataclass
class Measure:
    seconds: float
    peak_rss_mb: float
    returncode: int


@dataclass
class Result:
    workload: str
    strategy: str
    rows: int
    engine_rows_per_s: float
    baseline_rows_per_s: float
    ratio: float
    engine_peak_rss_mb: float
    baseline_peak_rss_mb: float
    runs: int
    target: str = ""
    met: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def measure(cmd: list[str], env: dict[str, str] | None = None) -> Measure:
    """Run a command; wall time and the peak RSS of that very process (wait4 rusage)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = stderr.decode(errors="replace").strip().splitlines()[-5:]
        print(f"    ! {' '.join(cmd[:3])} exited {proc.returncode}: {' | '.join(tail)}", file=sys.stderr)
    return Measure(seconds, usage.ru_maxrss / 1024, proc.returncode)


def engine_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ETL_DATA_DIR=str(BENCH),
        ETL_LOG_FORMAT="json",
        ETL_LOG_LEVEL="WARNING",
        ETL_ENV_FILE=str(BENCH / "no.env"),
        ETL_COMPONENT_MODE="production",
    )
    return env


def run_workload(w: Workload, strategy: str, rows: int, repeat: int) -> Result | None:
    inputs = w.prepare(rows)
    if inputs is None:
        return None
    job_path = BENCH / "jobs" / f"{w.name}-{strategy}-{rows}.json"
    job_path.parent.mkdir(parents=True, exist_ok=True)
    job_path.write_text(json.dumps(w.job(strategy, inputs)), encoding="utf-8")
    engine: list[Measure] = []
    base: list[Measure] = []
    env = engine_env()
    for _ in range(repeat):
        engine.append(measure([ETL, "run", str(job_path), "--no-progress"], env))
        base.append(measure([PY, str(ROOT / "scripts" / "bench_baselines.py"), w.baseline, *w.baseline_args(inputs)]))
    if any(m.returncode for m in engine + base):
        return None
    rows = int(inputs.get("rows", rows))  # a workload may cap its input (Excel)
    e = statistics.median(m.seconds for m in engine)
    b = statistics.median(m.seconds for m in base)
    ratio = round(e / b, 2)
    return Result(
        workload=w.name,
        strategy=strategy,
        rows=rows,
        engine_rows_per_s=round(rows / e),
        baseline_rows_per_s=round(rows / b),
        ratio=ratio,
        engine_peak_rss_mb=round(max(m.peak_rss_mb for m in engine), 1),
        baseline_peak_rss_mb=round(max(m.peak_rss_mb for m in base), 1),
        runs=repeat,
        target=w.target(strategy),
        met=w.met(strategy, ratio, rows / e),
    )


def rss_scaling(rows_small: int, rows_large: int, repeat: int) -> dict[str, Any]:
    """Peak RSS of bulk CSV -> CSV at two input sizes: it must not grow with the input.

    A run's peak depends on whether the edges happen to fill up (a writer held up by the kernel's dirty-page
    throttling lets the reader fill its edge; short runs often end before that happens, long ones always get
    there), so each size runs `repeat` times, alternating, and the highest peak of each size (its bound) is
    compared; every run's peak and the medians are kept in the results."""
    w = next(w for w in WORKLOADS if w.name == "csv->csv")
    jobs: dict[int, Path] = {}
    for rows in (rows_small, rows_large):
        inputs = w.prepare(rows)
        assert inputs is not None
        jobs[rows] = BENCH / "jobs" / f"rss-{rows}.json"
        jobs[rows].write_text(json.dumps(w.job("bulk", inputs)), encoding="utf-8")
    runs: dict[int, list[Measure]] = {rows: [] for rows in jobs}
    for _ in range(repeat):
        for rows, job_path in jobs.items():
            runs[rows].append(measure([ETL, "run", str(job_path), "--no-progress"], engine_env()))
    out: dict[str, Any] = {
        str(rows): {
            "peak_rss_mb": round(max(m.peak_rss_mb for m in ms), 1),
            "median_peak_rss_mb": round(statistics.median(m.peak_rss_mb for m in ms), 1),
            "peaks_mb": [round(m.peak_rss_mb, 1) for m in ms],
            "seconds": round(statistics.median(m.seconds for m in ms), 2),
        }
        for rows, ms in runs.items()
    }
    small, large = out[str(rows_small)]["peak_rss_mb"], out[str(rows_large)]["peak_rss_mb"]
    out["growth"] = round(large / small - 1, 3)
    return out


def channel_hop_cost() -> dict[str, float]:
    """Nanoseconds per record for one hop through an edge (OutPort -> InPort), by batch size."""
    import anyio

    from etl_core.observability.metrics import ComponentMetrics
    from etl_core.runtime.edges import InPort, OutPort, new_stream

    async def hop(batch_size: int, total: int) -> float:
        send, recv = new_stream(4)
        m = ComponentMetrics("b", "bench")
        out, inbox = OutPort("out", [send], m), InPort("in", recv, m)
        batch = [{"i": i} for i in range(batch_size)]

        async def producer() -> None:
            async with out:
                for _ in range(total // batch_size):
                    await out.send(batch)

        t0 = time.perf_counter()
        async with anyio.create_task_group() as tg:
            tg.start_soon(producer)
            async for _ in inbox:
                pass
        return (time.perf_counter() - t0) / total * 1e9

    return {str(size): round(anyio.run(hop, size, 200_000), 1) for size in (1, 100, 1_000, 10_000)}


def print_table(results: list[Result]) -> None:
    head = (
        f"{'workload':<22}{'strategy':<9}{'rows':>10}{'engine r/s':>13}{'baseline r/s':>14}"
        f"{'ratio':>8}{'RSS MB':>9}{'base MB':>9}  target (met?)"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        print_table_row(r)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100k rows, one repetition")
    parser.add_argument("--rows", type=int, default=None, help="rows per workload (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=None, help="alternating repetitions (default 3)")
    parser.add_argument("--only", default="", help="run workloads whose name contains one of these (comma-separated)")
    parser.add_argument("--strategies", default="bulk,row", help="comma-separated strategies")
    parser.add_argument("--rss-large", type=int, default=None, help="rows for the RSS scaling check (default 10M)")
    parser.add_argument("--no-server", action="store_true", help="skip the server figures (bench_server.py)")
    args = parser.parse_args()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    repeat = args.repeat or (1 if args.quick else 3)
    BENCH.mkdir(exist_ok=True)
    # what `make install` does: the engine's start-up must not include compiling its sources
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "src")], check=True, stdout=subprocess.DEVNULL)
    print(f"etl-core bench: {rows:,} rows, {repeat} run(s) each, columns {', '.join(COLUMNS)}\n")
    results: list[Result] = []
    for w in WORKLOADS:
        if args.only and not any(o in w.name for o in args.only.split(",")):
            continue
        for strategy in args.strategies.split(","):
            r = run_workload(w, strategy.strip(), rows, repeat)
            if r is None:
                print(f"  (skipped {w.name} {strategy}: {w.skip_reason or 'a run failed'})")
                continue
            results.append(r)
            if len(results) == 1:
                print_table([r])
            else:
                print_table_row(r)
    extra: dict[str, Any] = {}
    if not args.only or "rss" in args.only:
        large = args.rss_large or (1_000_000 if args.quick else 10_000_000)
        small = rows if args.quick else 1_000_000
        if large > small:
            extra["rss_scaling_csv_bulk"] = rss_scaling(small, large, repeat)
            print(f"\npeak RSS, bulk CSV -> CSV: {json.dumps(extra['rss_scaling_csv_bulk'])}")
    extra["channel_hop_ns_per_record"] = channel_hop_cost()
    if not args.no_server and (not args.only or "server" in args.only):
        from bench_server import run as run_server

        extra["server"] = run_server(20_000 if args.quick else 100_000, 20, 50)
        print(f"server (idle RSS, job start, API latency under 20 executions): {json.dumps(extra['server'])}")
    print(f"channel hop cost, ns/record by batch size: {json.dumps(extra['channel_hop_ns_per_record'])}")
    verdicts = targets(results, extra)
    if verdicts:
        print("\nengine.md §6 targets measured in this run:")
        for v in verdicts:
            print(f"  [{'met' if v['met'] else 'NOT MET':>7}] {v['target']}: {v['measured']}")
    out = BENCH / "results.json"
    out.write_text(
        json.dumps({"rows": rows, "results": [asdict(r) for r in results], "targets": verdicts, **extra}, indent=2)
    )
    print(f"\nresults written to {out.relative_to(ROOT)}")


def _verdict(met: bool | None) -> str:
    return "" if met is None else (" met" if met else " NOT MET")


def targets(results: list[Result], extra: dict[str, Any]) -> list[dict[str, Any]]:
    """Every engine.md §6 target this run measured: what, the figure, and whether it is met."""
    out = [
        {
            "target": f"{r.workload} {r.strategy}: {r.target}",
            "measured": f"{r.ratio}x, {r.engine_rows_per_s:,} rows/s",
            "met": r.met,
        }
        for r in results
        if r.met is not None
    ]
    rss = extra.get("rss_scaling_csv_bulk")
    if rss:
        out.append(
            {
                "target": "peak RSS independent of input size (within 10 %)",
                "measured": f"{rss['growth']:+.1%}",
                "met": abs(rss["growth"]) <= 0.10,
            }
        )
    server = extra.get("server")
    if server:
        out.append(
            {
                "target": "idle server under 150 MB RSS",
                "measured": f"{server['idle_rss_mb']} MB",
                "met": server["idle_rss_mb"] < 150,
            }
        )
        out.append(
            {
                "target": "job start (API call to first record read) under 50 ms",
                "measured": f"{server['job_start_ms_median']} ms",
                "met": server["job_start_ms_median"] < 50,
            }
        )
    return out


def print_table_row(r: Result) -> None:
    print(
        f"{r.workload:<22}{r.strategy:<9}{r.rows:>10,}{r.engine_rows_per_s:>13,}{r.baseline_rows_per_s:>14,}"
        f"{r.ratio:>8.2f}{r.engine_peak_rss_mb:>9.1f}{r.baseline_peak_rss_mb:>9.1f}  {r.target}{_verdict(r.met)}"
    )


if __name__ == "__main__":
    main()
