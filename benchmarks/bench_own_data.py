"""Benchmark: a user's long series end to end, with the classical baselines on and off.

    python benchmarks/bench_own_data.py                       # 1,000,000 hourly values and weekly data
    python benchmarks/bench_own_data.py --rows 100000         # a quicker look

Two tables, every number measured in this one invocation, each run a fresh `lstmts` process
with empty caches:
1. a synthetic hourly series (daily season) of --rows values: wall seconds and the peak memory
   of the whole process tree (lstmts and the baselines' child processes together, sampled from
   /proc every 50 ms), with baselines on and off, and their ratio;
2. a weekly series with a 52-week season (2,284 values, like the weekly CO2 record): how long the
   baselines' fit takes (the "fitting classical baselines" line to the first epoch) and each
   baseline's test RMSE.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LSTMTS = str(Path(sys.executable).parent / "lstmts")


def _tree_rss(pid: int) -> int:
    """Return the resident memory in bytes of a process and all its descendants (0 once gone)."""
    total, waiting = 0, [pid]
    while waiting:
        current = waiting.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    waiting += [int(c) for c in children.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def _run(args: list[str], env: dict) -> tuple[float, float, str]:
    """Return (wall seconds, peak process-tree RSS in MiB, stderr) of one lstmts command."""
    start = time.perf_counter()
    process = subprocess.Popen([LSTMTS, *args], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(0.05)
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"lstmts {' '.join(args)} failed:\n{stderr}")
    return seconds, peak / 2**20, stdout + stderr


def _hourly_csv(path: Path, rows: int) -> None:
    t = np.arange(rows)
    values = 100 + 1e-4 * t + 10 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(0).normal(0, 1, rows)
    dates = pd.date_range("1990-01-01", periods=rows, freq="h")
    pd.DataFrame({"time": dates, "load": values.round(3)}).to_csv(path, index=False)


def _weekly_csv(path: Path, rows: int = 2284) -> None:
    t = np.arange(rows)
    values = 316 + 0.03 * t + 3 * np.sin(2 * np.pi * t / 52.18) + np.random.default_rng(0).normal(0, 0.4, rows)
    dates = pd.date_range("1974-05-19", periods=rows, freq="W-SUN")
    pd.DataFrame({"week": dates, "ppm": values.round(2)}).to_csv(path, index=False)


def bench_long(rows: int, folder: Path, env: dict) -> None:
    data = folder / "hourly.csv"
    _hourly_csv(data, rows)
    common = ["data=csv", f"data.path={data}", "data.column=load", "data.date_column=time", "framing.look_back=24",
              "framing=timesteps", "training.batch_size=1024", "training.epochs=2"]
    print(f"\n### {rows:,} hourly values (season 24), training.batch_size=1024, 2 epochs\n")
    print("| baselines | wall s | peak memory of the process tree, MiB |")
    print("| --- | --- | --- |")
    measured = {}
    for name, switch in (("off", "false"), ("on", "true")):
        cache = tempfile.mkdtemp(dir=folder)
        seconds, peak, output = _run([*common, f"baselines.classical={switch}", f"hydra.run.dir={folder / name}"],
                                     {**env, "LSTMTS_CACHE": cache})
        measured[name] = (seconds, peak)
        print(f"| {name} | {seconds:.1f} | {peak:.0f} |", flush=True)
    (off_s, off_m), (on_s, on_m) = measured["off"], measured["on"]
    print(f"| ratio on / off | {on_s / off_s:.2f}x | {on_m / off_m:.2f}x |")
    metrics = json.loads((folder / "on" / "metrics.json").read_text())
    notes = {k: v.get("note") or round(v["test_rmse"], 3) for k, v in metrics["baselines"].items()}
    print(f"\nbaselines with them on (test RMSE or note): {notes}")


def bench_weekly(folder: Path, env: dict) -> None:
    data = folder / "weekly.csv"
    _weekly_csv(data)
    args = ["data=csv", f"data.path={data}", "data.column=ppm", "data.date_column=week", "experiment=plain",
            "training.epochs=2",
            f"hydra.run.dir={folder / 'weekly'}"]
    seconds, _, output = _run(args, {**env, "LSTMTS_CACHE": tempfile.mkdtemp(dir=folder)})
    metrics = json.loads((folder / "weekly" / "metrics.json").read_text())
    print(f"\n### 2,284 weekly values, season {metrics['season_length']} ({metrics['frequency']})\n")
    print(f"whole run {seconds:.1f} s (2 epochs of training); baselines' test RMSE:")
    for name, scores in metrics["baselines"].items():
        print(f"- {name}: {scores.get('note') or round(scores['test_rmse'], 3)}")
    start = time.perf_counter()
    from lstmts.evaluation.classical import classical_forecasts

    values = pd.read_csv(data)["ppm"].to_numpy(float)
    os.environ["LSTMTS_CACHE"] = "off"
    classical_forecasts(values, int(len(values) * 0.67), 52, {}, apart=True)
    print(f"\nthe four classical fits alone (in parallel child processes): {time.perf_counter() - start:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-long", action="store_true")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    with tempfile.TemporaryDirectory() as folder:
        if not args.skip_long:
            bench_long(args.rows, Path(folder), env)
        bench_weekly(Path(folder), env)


if __name__ == "__main__":
    main()
