"""Benchmark: each classical baseline's fits, as a run makes them, on a long hourly series.

    python benchmarks/bench_baselines.py                  # 5,000 hourly values (bench_auto --speed's series)
    python benchmarks/bench_baselines.py --length 20000

Every method runs in this one process, one after the other, with the run's settings (refits
every season, at most 20 through validation and test, each on at most max_fit_values values), on
the synthetic hourly series of `bench_auto.py --speed` with the run's split (validation 0.2).
Beside SARIMA it times the reference measured in the same invocation: the same fits with the
differences inside the state (statsmodels' default, what lstmts did before), and prints the ratio,
the largest difference between the two forecasts over validation and test and each one's RMSE there;
then the same for one backtest origin (forecast_from, 24 steps ahead).
"""

from __future__ import annotations

import argparse
import time
from unittest import mock

import numpy as np

from lstmts.evaluation import classical


def hourly(length: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    steps = np.arange(length)
    return 100 + 0.01 * steps + 10 * np.sin(2 * np.pi * steps / 24) + rng.normal(0, 1, length)


def _state_differenced(values, fit_end, order, seasonal_order, chosen=None):
    """The reference: SARIMA with its differences in the state, filtered exactly."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    model = SARIMAX(values[:fit_end], order=tuple(order), seasonal_order=tuple(seasonal_order))
    chosen = {} if chosen is None else chosen
    params = model.fit(disp=False, return_params=True, start_params=chosen.get("sarima_params"))
    chosen["sarima_params"] = params
    whole = SARIMAX(values, order=tuple(order), seasonal_order=tuple(seasonal_order)).filter(params)
    return np.asarray(whole.forecasts[0])


def _rmse(values: np.ndarray, forecasts: np.ndarray, fit_end: int) -> float:
    return float(np.sqrt(np.mean((values[fit_end:] - forecasts[fit_end:]) ** 2)))


def timed(method: str, values: np.ndarray, fit_end: int, settings: dict) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    forecasts = classical._guarded(method, values, fit_end, 24, settings)
    return time.perf_counter() - started, forecasts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=5000)
    args = parser.parse_args()
    values = hourly(args.length)
    # The run's split: training 0.67 less validation 0.2 of the whole.
    fit_end = int(len(values) * 0.67) - int(len(values) * 0.2)
    settings = dict(classical.DEFAULTS)
    refits = len(classical.refit_points("sarima", fit_end, len(values), 24, settings))
    print(f"{args.length} hourly values, fitted first on {fit_end}, {refits} fits per method")
    for method in settings["methods"]:
        seconds, forecasts = timed(method, values, fit_end, settings)
        print(f"{method:>13}: {seconds:6.1f} s")
        if method == "sarima":
            with mock.patch.object(classical, "_arima", _state_differenced):
                reference_seconds, reference = timed(method, values, fit_end, settings)
            difference = np.max(np.abs(forecasts[fit_end:] - reference[fit_end:]))
            print(f"{'reference':>13}: {reference_seconds:6.1f} s (differences in the state);"
                  f" ratio {reference_seconds / seconds:.1f}; largest forecast difference {difference:.2g};"
                  f" RMSE over validation and test {_rmse(values, forecasts, fit_end):.4f} against"
                  f" {_rmse(values, reference, fit_end):.4f}")


    # One backtest origin: SARIMA's multi-step form (forecast_from) against the reference estimation.
    history = values[:fit_end]
    started = time.perf_counter()
    ahead = classical.forecast_from("sarima", history, 24, 24, settings)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    reference = _state_differenced_ahead(history[-int(settings["max_fit_values"]):], 24)
    reference_seconds = time.perf_counter() - started
    print(f"one backtest origin, sarima 24 steps: {seconds:.2f} s against {reference_seconds:.2f} s"
          f" (differences in the state); ratio {reference_seconds / seconds:.1f};"
          f" largest forecast difference {np.max(np.abs(ahead - reference)):.2g}")


def _state_differenced_ahead(history: np.ndarray, steps: int) -> np.ndarray:
    """The reference multi-step form: SARIMA(0,1,1)(0,1,1,24) on the log, estimated with the differences in the state."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    model = SARIMAX(np.log(history), order=(0, 1, 1), seasonal_order=(0, 1, 1, 24))
    return np.exp(np.asarray(model.fit(disp=False).forecast(steps)))


if __name__ == "__main__":
    main()
