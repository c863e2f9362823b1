"""How long collection runs take, and where the time goes.

    .venv/bin/python benchmarks/bench_collection.py [--data tourism] [--limit N] [--skip-local]
    .venv/bin/python benchmarks/bench_collection.py --experiment collection --skip-local --set 'intervals.levels=[]'

Runs, as a user would (the `lstmts` command, each in a fresh process, into a temporary folder):
1. the shipped preset's global model over the collection, with the baselines' cache as it is
   (a first run fits them; run the script twice to see a cached run);
2. local models (one per series) for the same series, with the same architecture.

Prints each run's wall time split into baselines, LSTM training and the rest, and for local
models the ratio of the loop's time (training plus the per-series work around it) to the summed
training time: 1.20 would be 20 % spent outside training. Ratios are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LSTMTS = str(Path(sys.executable).with_name("lstmts"))


def run(args: list[str], folder: Path) -> tuple[float, dict]:
    start = time.perf_counter()
    result = subprocess.run([LSTMTS, *args, f"hydra.run.dir={folder}"], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return wall, json.loads((folder / "metrics.json").read_text())


def describe(name: str, wall: float, metrics: dict) -> None:
    about = metrics["collection"]
    baselines, train = about["baseline_seconds"], metrics["train_seconds"]
    split = about["split"]
    print(f"{name}: {wall:.1f} s wall = baselines {baselines:.1f} s + LSTM training {train:.1f} s"
          f" + the rest {wall - baselines - train:.1f} s (start-up, reading, scoring, plots);"
          f" {about['scored']} series, {metrics['updates']} updates; {split} sMAPE {metrics[f'{split}_smape']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="tourism", help="data option (default tourism: Tourism monthly)")
    parser.add_argument("--experiment", default="collection_monthly")
    parser.add_argument("--limit", type=int, default=None, help="only the first N series")
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--set", nargs="*", default=[], metavar="OVERRIDE", help="more overrides for every run")
    args = parser.parse_args()
    common = [f"data={args.data}", f"experiment={args.experiment}", *args.set]
    if args.limit:
        common.append(f"data.limit={args.limit}")
    work = Path(tempfile.mkdtemp(prefix="bench-collection-"))
    try:
        wall, metrics = run(common, work / "global")
        describe("global", wall, metrics)
        if not args.skip_local:
            wall, metrics = run([*common, "collection=local"], work / "local")
            describe("local", wall, metrics)
            print(f"local loop / summed training time: {metrics['loop_seconds'] / metrics['train_seconds']:.3f}"
                  f" ({metrics['models']} models, {metrics['loop_seconds']:.1f} s / {metrics['train_seconds']:.1f} s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
