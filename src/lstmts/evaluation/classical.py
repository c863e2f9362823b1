"""Classical baselines from statsmodels: Holt-Winters and SARIMA on log, one step ahead.

Both are fitted on the training period only, then run over the whole series with those fitted
parameters (no refitting), so that the forecast for month t uses data up to t-1 only. Results
are cached on disk (joblib.Memory) by their inputs: a later run on the same data and split does
not import statsmodels at all.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import warnings

import numpy as np

from lstmts.backend import cache_dir


def _holt_winters(values: np.ndarray, fit_end: int, season_length: int, trend: str | None, seasonal: str | None,
                  damped_trend: bool) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    options = dict(trend=trend, seasonal=seasonal, seasonal_periods=season_length if seasonal else None,
                   damped_trend=damped_trend)
    fitted = ExponentialSmoothing(values[:fit_end], initialization_method="estimated", **options).fit()
    p = fitted.params
    known = dict(initialization_method="known", initial_level=p["initial_level"])
    if trend:
        known["initial_trend"] = p["initial_trend"]
    if seasonal:
        known["initial_seasonal"] = p["initial_seasons"]
    smoothing = {k: p[k] for k in ("smoothing_level", "smoothing_trend", "smoothing_seasonal", "damping_trend")
                 if p.get(k) is not None and not np.isnan(p[k])}
    whole = ExponentialSmoothing(values, **options, **known).fit(optimized=False, **smoothing)
    return np.asarray(whole.fittedvalues)


def _sarima(values: np.ndarray, fit_end: int, season_length: int, order, seasonal_order, log: bool) -> np.ndarray:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    series = np.log(values) if log else values
    fitted = SARIMAX(series[:fit_end], order=tuple(order), seasonal_order=(*seasonal_order, season_length)).fit(disp=False)
    predicted = np.asarray(fitted.apply(series).get_prediction(start=0).predicted_mean)
    return np.exp(predicted) if log else predicted


def _forecasts(values: np.ndarray, fit_end: int, season_length: int, settings: dict) -> dict:
    """Return {name: one-step forecasts for every index} or {name: "reason it was skipped"}."""
    results: dict = {}
    with warnings.catch_warnings():
        # Convergence chatter from the optimisers; the score says how good the fit is.
        warnings.simplefilter("ignore")
        hw = settings["holt_winters"]
        try:
            if hw.get("seasonal") == "mul" and np.min(values) <= 0:
                raise ValueError("a multiplicative season needs a strictly positive series")
            results["holt_winters"] = _holt_winters(values, fit_end, season_length, hw.get("trend"), hw.get("seasonal"),
                                                    bool(hw.get("damped_trend", False)))
        except (ValueError, np.linalg.LinAlgError, KeyError) as error:
            results["holt_winters"] = f"skipped: {error}"
        sarima = settings["sarima"]
        try:
            if sarima.get("log", True) and np.min(values) <= 0:
                raise ValueError("SARIMA on log needs a strictly positive series")
            results["sarima"] = _sarima(values, fit_end, season_length, sarima["order"], sarima["seasonal_order"],
                                        bool(sarima.get("log", True)))
        except (ValueError, np.linalg.LinAlgError, IndexError) as error:
            results["sarima"] = f"skipped: {error}"
    return results


def classical_forecasts(values: np.ndarray, fit_end: int, season_length: int, settings: dict, *,
                        apart: bool = False) -> dict:
    """Return one-step forecasts of every index by each classical model, or why it was skipped.

    Cached on disk under the lstmts cache folder (LSTMTS_CACHE=off disables the cache). With
    `apart`, a fit that is not cached runs in a forked child process, as long as TensorFlow is
    not loaded yet (forking it is unsafe): statsmodels then never sits beside TensorFlow, whose
    process would otherwise carry its 30 MiB for the rest of the run.
    """
    values = np.asarray(values, dtype="float64")
    folder = cache_dir("baselines")
    compute = _forecasts
    if folder is not None:
        from joblib import Memory

        compute = Memory(location=os.fspath(folder), verbose=0).cache(_forecasts)
        if compute.check_call_in_cache(values, fit_end, season_length, settings):
            return compute(values, fit_end, season_length, settings)
    if apart and "tensorflow" not in sys.modules and "fork" in multiprocessing.get_all_start_methods():
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
            return pool.submit(classical_forecasts, values, fit_end, season_length, settings).result()
    return compute(values, fit_end, season_length, settings)
