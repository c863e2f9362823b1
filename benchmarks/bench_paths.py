"""Benchmark: what the classical baselines' multi-step paths add to their fits.

    python benchmarks/bench_paths.py                   # the airline, and 5,000 hourly values
    python benchmarks/bench_paths.py --length 20000

A run whose horizons go beyond one step (a plain run's default [1, 3, 6, 12]; experiment=auto with
'horizons=[1,12]') has every classical baseline forecast that many steps from each test origin
(classical_forecasts_and_paths). Each method runs in this one process, as a run's child process
would, with the run's settings (a refit every season, at most 20), the cache off: first the
one-step forecasts alone (the reference, measured in the same invocation), then with the paths from
every test target, 12 steps each. It prints both times and their ratio per method.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from lstmts.config import airline_csv
from lstmts.evaluation import classical

from bench_baselines import hourly

STEPS = 12


def timed(method: str, values: np.ndarray, fit_end: int, season: int, test_start: int, paths: bool) -> float:
    settings = {**classical.DEFAULTS, "methods": [method]}
    at = (np.arange(test_start, len(values)), STEPS) if paths else None
    started = time.perf_counter()
    forecasts, made, _ = classical.classical_forecasts_and_paths(values, fit_end, season, settings, at)
    seconds = time.perf_counter() - started
    for name, result in {**forecasts, **made}.items():
        if isinstance(result, str):
            raise SystemExit(f"{name}: {result}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=5000)
    args = parser.parse_args()
    os.environ["LSTMTS_CACHE"] = "off"
    airline = pd.read_csv(airline_csv()).iloc[:, 1].to_numpy(float)
    long = hourly(args.length)
    # The airline as `lstmts` splits it (training 0.67); the hourly series with a validation period of 0.2.
    series = {"airline (144 monthly)": (airline, 96, 12, 96),
              f"hourly ({args.length:,})": (long, int(len(long) * 0.47), 24, int(len(long) * 0.67))}
    for method in ("holt_winters", "sarima", "ets"):  # statsmodels' imports, outside the times
        timed(method, airline, 96, 12, 96, True)
    print(f"{'series':<22} {'method':<13} {'one step s':>10} {'with paths s':>12} {'ratio':>6} {'origins':>8}")
    for label, (values, fit_end, season, test_start) in series.items():
        for method in classical.DEFAULTS["methods"]:
            if method == "mstl":
                continue
            alone = timed(method, values, fit_end, season, test_start, False)
            both = timed(method, values, fit_end, season, test_start, True)
            print(f"{label:<22} {method:<13} {alone:>10.2f} {both:>12.2f} {both / alone:>6.2f}"
                  f" {len(values) - test_start:>8}", flush=True)


if __name__ == "__main__":
    main()
