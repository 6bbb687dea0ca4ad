"""`make profile`: where one benchmark workload's time goes, sampled by py-spy while `etl run` runs it.

    python scripts/profile.py csv->filter->csv            # bulk, 1M rows
    python scripts/profile.py csv->postgresql --strategy row --rows 200000

py-spy samples the thread holding the GIL (`--gil`), so the shares add up to the time the interpreter was busy;
each sample is charged to its innermost etl-core frame (or to the library frame when no etl-core frame is on
the stack: imports, the event loop). The raw samples stay in `.bench/profile-<workload>.txt` for a flame graph
(`py-spy record -f flamegraph` takes the same command line).
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from bench import BENCH, ETL, engine_env  # noqa: E402
from bench_jobs import WORKLOADS  # noqa: E402


def hot_spots(samples: Path, top: int) -> list[tuple[float, str]]:
    """(share of samples, frame) for the `top` frames samples were charged to."""
    charged: collections.Counter[str] = collections.Counter()
    total = 0
    for line in samples.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = stack.split(";")
        ours = [f for f in frames if "etl_core" in f]
        charged[ours[-1] if ours else frames[-1]] += n
    return [(n / total, frame) for frame, n in charged.most_common(top)] if total else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", help=f"one of: {', '.join(w.name for w in WORKLOADS)}")
    parser.add_argument("--strategy", default="bulk", choices=("bulk", "row"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        sys.exit("py-spy is not installed (it comes with the dev extra: make install)")
    workload = next((w for w in WORKLOADS if w.name == args.workload), None)
    if workload is None:
        sys.exit(f"no workload {args.workload!r}; one of: {', '.join(w.name for w in WORKLOADS)}")
    inputs = workload.prepare(args.rows)
    if inputs is None:
        sys.exit(f"cannot prepare {workload.name}: {workload.skip_reason}")
    slug = workload.name.replace("->", "-")
    job_path = BENCH / "jobs" / f"profile-{slug}-{args.strategy}-{args.rows}.json"
    job_path.parent.mkdir(parents=True, exist_ok=True)
    job_path.write_text(json.dumps(workload.job(args.strategy, inputs)), encoding="utf-8")
    samples = BENCH / f"profile-{slug}.txt"
    cmd = [spy, "record", "--gil", "--rate", "500", "--format", "raw", "--output", str(samples), "--"]
    subprocess.run(
        [*cmd, ETL, "run", str(job_path), "--no-progress"],
        env=engine_env(),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(f"{workload.name} ({args.strategy}, {args.rows:,} rows): share of GIL-holding samples by frame\n")
    for share, frame in hot_spots(samples, args.top):
        print(f"{share:7.1%}  {frame}")
    print(f"\nraw samples: {samples.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
