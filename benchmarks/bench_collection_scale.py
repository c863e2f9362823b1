"""A panel the size of M4: many synthetic monthly series of mixed lengths, the global preset, one process.

    python benchmarks/bench_collection_scale.py --series 10000 100000

For each size, writes a long CSV (series, date, value) of synthetic monthly series (lengths 48 to
300, a level, a trend, a season and noise) into a temporary folder, then runs
`lstmts data=collection ... experiment=collection_monthly collection.baselines=[naive,seasonal_naive]
intervals.levels=[]` in a fresh process (the statistical baselines aside, as the target says) and
prints its wall time, peak memory (the process's maximum resident set, from the kernel) and where
the time went: reading the CSV, training, the rest. Sizes run one after another, so the growth
from one to the next is visible in one table.
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

LSTMTS = str(Path(sys.executable).with_name("lstmts"))


def write_panel(path: Path, series: int, seed: int = 0) -> int:
    """Write `series` monthly series (48-300 values each) as a long CSV; return the number of rows."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(48, 301, series)
    ids = np.repeat(np.arange(series), lengths)
    position = np.concatenate([np.arange(n) for n in lengths])
    start = np.repeat(rng.integers(0, 120, series), lengths)  # months after 1990-01
    level = np.repeat(rng.uniform(100, 10000, series), lengths)
    trend = np.repeat(rng.normal(0.002, 0.004, series), lengths)
    season = np.repeat(rng.uniform(0, 0.3, series), lengths)
    phase = np.repeat(rng.uniform(0, 2 * np.pi, series), lengths)
    values = level * np.exp(trend * position) * (1 + season * np.sin(2 * np.pi * position / 12 + phase))
    values *= np.exp(rng.normal(0, 0.05, len(values)))
    months = pd.Timestamp("1990-01-01").to_period("M") + (start + position)
    frame = pd.DataFrame({"series": np.char.add("s", ids.astype(str)), "date": months.astype(str) + "-01",
                          "value": values.round(3)})
    frame.to_csv(path, index=False)
    return len(frame)


def run(path: Path, folder: Path) -> tuple[float, float, dict]:
    """Run the global preset over the panel in a child process; return (wall s, peak MiB, metrics)."""
    args = [LSTMTS, "data=collection", f"data.path={path}", "experiment=collection_monthly",
            "collection.baselines=[naive,seasonal_naive]", "intervals.levels=[]", f"hydra.run.dir={folder}"]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as output:
        child = subprocess.Popen(args, stdout=output, stderr=output)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not any other's
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        peak = usage.ru_maxrss / 1024  # KiB -> MiB
        if child.returncode != 0:
            output.seek(0)
            raise SystemExit(f"{' '.join(args)} failed:\n{output.read().decode()[-3000:]}")
    return wall, peak, json.loads((folder / "metrics.json").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--write", nargs=2, metavar=("PATH", "SERIES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        print(write_panel(Path(args.write[0]), int(args.write[1])))
        return 0
    print("| series | rows | wall s | peak MiB | windows | updates | training s | other s | test sMAPE | seasonal naive |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as work:
        for count in sorted(args.series):
            path = Path(work) / f"panel-{count}.csv"
            # Written by a child: a child's peak memory counts the parent's pages it starts with,
            # so this process stays small.
            rows = int(subprocess.run([sys.executable, __file__, "--write", str(path), str(count)], check=True,
                                      capture_output=True, text=True).stdout)
            wall, peak, metrics = run(path, Path(work) / f"run-{count}")
            train = metrics.get("train_seconds", 0.0)
            naive = metrics["baselines"]["seasonal_naive"]["test_smape"]
            print(f"| {count:,} | {rows:,} | {wall:.0f} | {peak:,.0f} | {metrics.get('windows', 0):,} |"
                  f" {metrics.get('updates', 0):,} | {train:.0f} | {wall - train:.0f} | {metrics['test_smape']:.2f} |"
                  f" {naive:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
