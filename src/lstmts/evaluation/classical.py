"""Classical baselines from statsmodels, one step ahead, each within a time and a size bound.

Every method is fitted on the training period only (at most its last `max_fit_values` values),
then run over the rest of the series, so that the forecast for period t uses data up to t-1 only.
Each takes in every new observation through its state (level, trend, season) with the fitted
parameters, and is fitted again every `refit_every` steps through the validation and test
periods, each time on the values before that point only (`auto`: every season, at most 20 times
in all; an integer k: every k steps; 0: never); a refit keeps the form chosen at the first fit
(automatic ETS's model, for one) and fits its parameters again. Without refits, a model fitted with a smoothing
weight near zero, or an STL season, would hold on to its fit window: after a level shift in the
test period, ETS and Holt-Winters stayed 40 below the data for the rest of it. Forms are chosen from
the fit window's values only (multiplicative seasons and logs when those are positive, additive
seasons and the values as they are when not), never from later ones; a refit keeps the first fit's
form unless a zero or a negative value in its own window rules it out. A zero or a negative value
that arrives after a fit whose form multiplies or takes logs switches it to the additive form fitted on
the same window, from the next forecast on (_segment). For a run's horizons beyond one step, each
method also forecasts several steps from given origins (classical_forecasts_and_paths): with the fit
in force at the origin and its state after the values before it, so that a path's first step is the
one-step forecast of its origin (exponential smoothing: statsmodels' simulation with every error
zero; SARIMA: the predicted state carried through the transition matrix; Theta: its forecast formula;
the STL and MSTL seasons carried forward over the path's targets). Which form a method takes depends on the season:

| method | season 1 (none) | season 2 .. long_season | longer seasons (52, 365, ...) |
| --- | --- | --- | --- |
| holt_winters | `holt`: Holt's damped trend | `holt_winters` as configured | `stl_holt`: damped Holt on the STL-adjusted series |
| sarima | `arima`: ARIMA(order) | `sarima`: SARIMA(order)(seasonal_order) | `stl_arima`: ARIMA(order) on the STL-adjusted series |
| theta | `theta` | `theta` on the classically deseasonalised series | `theta` on the STL-adjusted series |
| ets | `ets`: the smallest AIC of the additive-error models | the same, seasons included | `stl_ets` |
| mstl | | `mstl_ets`: automatic ETS (no season) on the MSTL-adjusted series, the season and the cycle above it | the same |

`mstl` runs only where the series has a cycle above its season (`second_season` in the settings: a
week of intraday values whose season is a day, 52 weeks of daily ones; lstmts.data.frequency.
second_season), which no other method models: its seasons (the season and the cycle) are estimated
by MSTL on the fit window and repeated, each with its own period, like the STL forms' season.

Long seasons go through STL (the season is estimated on the fit window and its last cycle
repeated), which takes seconds where a SARIMA with a 52-week season takes an hour. A season that
is a year its steps do not divide (`year` in the settings: 52.18 weeks for weekly values, 365.25
days for MSTL's cycle of 364 days) is carried forward instead as the harmonics of that year
fitted to the last five years of the fit window (yearly_pattern). Each uncached fit runs
in a child process of its own, in parallel across cores and stopped at `time_limit` seconds; a
method that fails or runs out of time is skipped with a note saying why. Results are cached as
plain NumPy arrays and JSON notes (never pickles) under the lstmts cache folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from lstmts.backend import cache_dir
from lstmts.config import BASELINE_METHODS
from lstmts.errors import raise_stop_if_swallowed, stop_received, warnings_to_log

DEFAULTS = {"methods": list(BASELINE_METHODS), "time_limit": 120, "max_fit_values": 2000, "long_season": 24,
            "refit_every": "auto", "second_season": None, "year": None,
            "holt_winters": {"trend": "add", "seasonal": "mul", "damped_trend": False},
            "sarima": {"order": [0, 1, 1], "seasonal_order": [0, 1, 1], "log": True}}  # as conf/config.yaml
_CACHE_VERSION = "9"

log = logging.getLogger(__name__)


def method_name(method: str, season_length: int, long_season: int) -> str:
    """Return the name a method's forecasts are reported under, which says which form of it ran."""
    if method == "mstl":
        return "mstl_ets"
    if season_length > long_season:
        return {"holt_winters": "stl_holt", "sarima": "stl_arima", "ets": "stl_ets"}.get(method, method)
    if season_length <= 1:
        return {"holt_winters": "holt", "sarima": "arima"}.get(method, method)
    return method


def _exponential_smoothing(values: np.ndarray, fit_end: int, trend, seasonal, season_length: int,
                           damped_trend: bool):
    """Holt-Winters fitted on values[:fit_end] and run over all of `values` (statsmodels' results: its
    fittedvalues are the one-step forecasts). Every fit starts from statsmodels' own start grid: from the
    previous fit's parameters, a refit after a level shift stayed with the small smoothing weight
    that held on to the old level (the level-shift test in test_classical.py)."""
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
    return ExponentialSmoothing(values, **options, **known).fit(optimized=False, **smoothing)


def _without_errors(results, origins: np.ndarray, steps: int, shift: int) -> np.ndarray:
    """Return [origins, steps] point forecasts of an exponential smoothing model's results from each origin,
    given the values before it: its own simulation with every error zero (ETSModel's forecast is the same
    simulation from the end; Holt-Winters' simulation is the textbook formula, checked by hand in the
    tests, where its forecast method overwrites the last seasonal update from h = season on). `shift`:
    where the results' simulate anchors the state of the values before an origin o (Holt-Winters'
    results at o, ETSModel's at o - 1)."""
    zeros = np.zeros((steps, 1))
    paths = [np.asarray(results.simulate(steps, anchor=int(o) - shift, random_errors=zeros)).ravel() for o in origins]
    return np.array(paths).reshape(len(origins), steps)


def _arima_paths(series: np.ndarray, params: np.ndarray, order, seasonal_order, origins: np.ndarray,
                 steps: int) -> np.ndarray:
    """Return [origins, steps] SARIMA forecasts from each origin, given the values before it, with the
    fitted parameters: the state space model with the differences in its state (the form statsmodels
    forecasts with) filtered once, then each origin's predicted state carried `steps` times through the
    transition matrix and read by the design matrix, as statsmodels' own forecast from the end does."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    model = SARIMAX(series, order=tuple(order), seasonal_order=tuple(seasonal_order))
    filtered = model.filter(params)
    design, transition = model.ssm["design"], model.ssm["transition"]
    intercept, drift = model.ssm["obs_intercept"], model.ssm["state_intercept"]
    state = np.asarray(filtered.filter_results.predicted_state)[:, np.asarray(origins, dtype=int)]
    paths = np.empty((len(origins), steps))
    for step in range(steps):
        paths[:, step] = (design @ state)[0] + intercept[0]
        state = transition @ state + drift[:, None]
    return paths


# Up to this many values the one-step forecasts come from the exact Kalman filter; past it the
# filter runs over the fitting window only and the model continues from its state as a linear
# filter (scipy's lfilter), hundreds of times faster on a long series.
KALMAN_MAX_VALUES = 5_000


def _arima(values: np.ndarray, fit_end: int, order, seasonal_order, chosen: dict | None = None) -> np.ndarray:
    """SARIMA one step ahead; a refit (chosen holds the earlier fit's parameters) starts from them.

    The model is estimated and filtered on the differenced series (statsmodels' simple_differencing:
    the differences leave the state, which on an hourly season halves its size), and y_t's forecast
    is y_t less the innovation of its difference. With the same parameters that is the exact
    filter's forecast to 1e-9 past the first seasons; the parameters maximise the likelihood of the
    differences (given the first d + D * s values, which have no forecast: NaN). On 5,000 hourly
    values (python benchmarks/bench_baselines.py) the fits took 11.5 s against 55.4 s, with an RMSE
    over validation and test of 1.0267 against 1.0284; the airline's test RMSE moved by 0.001.
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    def differenced(part: np.ndarray):
        return SARIMAX(part, order=tuple(order), seasonal_order=tuple(seasonal_order), simple_differencing=True)

    model = differenced(values[:fit_end])
    chosen = {} if chosen is None else chosen
    params = model.fit(disp=False, return_params=True, start_params=chosen.get("sarima_params"))
    chosen["sarima_params"] = params
    if len(values) <= KALMAN_MAX_VALUES:
        return _less_innovations(values, differenced(values).filter(params))
    kalman = _less_innovations(values[:fit_end], model.filter(params))
    return _continue_by_filter(values, fit_end, kalman, model.param_names, params, order, seasonal_order)


def _less_innovations(values: np.ndarray, filtered) -> np.ndarray:
    """Return y_t less the one-step innovations of a simple-differenced model's filter (NaN where no difference)."""
    innovations = np.asarray(filtered.forecasts_error[0])
    forecasts = np.full(len(values), np.nan)
    forecasts[len(values) - len(innovations):] = values[len(values) - len(innovations):] - innovations
    return forecasts


def _continue_by_filter(values: np.ndarray, fit_end: int, kalman: np.ndarray, names: list[str], params: np.ndarray,
                        order, seasonal_order) -> np.ndarray:
    """Return SARIMA one-step forecasts: the Kalman filter's up to fit_end, then y_t minus the innovations.

    With w the differenced series, ar(B) sar(B^s) w_t = ma(B) sma(B^s) e_t, so the innovations
    are the ARMA filter of w, started from the Kalman filter's last innovations (lfiltic), and the
    one-step forecast of y_t is y_t - e_t.
    """
    from scipy.signal import lfilter, lfiltic

    polynomials = {"ar": [1.0], "ar.S": [1.0], "ma": [1.0], "ma.S": [1.0]}
    for name, value in zip(names, params):
        kind, _, lag = name.rpartition(".L")
        if kind in polynomials:
            poly = polynomials[kind]
            poly.extend([0.0] * (int(lag) + 1 - len(poly)))
            poly[int(lag)] = -value if kind.startswith("ar") else value  # statsmodels' AR signs
    ar = np.convolve(polynomials["ar"], polynomials["ar.S"])
    ma = np.convolve(polynomials["ma"], polynomials["ma.S"])
    differences, seasonal_differences, season = order[1], seasonal_order[1], seasonal_order[3]
    w = np.asarray(values, dtype="float64")
    for _ in range(seasonal_differences):
        w = w[season:] - w[:-season]
    for _ in range(differences):
        w = np.diff(w)
    start = differences + seasonal_differences * season  # w[j] belongs to values[j + start]
    split = fit_end - start
    innovations = values[start:fit_end] - kalman[start:fit_end]
    state = lfiltic(ar, ma, innovations[::-1][:len(ma) - 1], w[:split][::-1][:len(ar) - 1])
    later, _ = lfilter(ar, ma, w[split:], zi=state)
    return np.concatenate([kalman[:fit_end], values[fit_end:] - later])


def _stl_season(values: np.ndarray, fit_end: int, season_length: int, year: float | None = None) -> np.ndarray:
    """Return the STL season of the training period, carried forward over the rest of the series.

    Carried forward: its last cycle, repeated; or, for a season that is a year (`year`: the year's
    length in steps, 365.25 / 7 for weekly values, whose season is 52), the yearly pattern of the
    last YEARS_FITTED years of the fit window (yearly_pattern). Nothing after fit_end is read.
    """
    from statsmodels.tsa.seasonal import STL

    fit = STL(values[:fit_end], period=season_length, robust=True).fit()
    detrended = values[:fit_end] - np.asarray(fit.trend)
    return _carried_forward(np.asarray(fit.seasonal), detrended, season_length, year, len(values))


def _carried_forward(season: np.ndarray, detrended: np.ndarray, period: int, year: float | None,
                     length: int) -> np.ndarray:
    """Return a season estimated on a fit window (`season`, one value per step of it) and carried on to
    `length` steps: its last cycle repeated, or for a season that is the year its yearly pattern
    (yearly_pattern on `detrended`, the window's values less their trend)."""
    fit_end = len(season)
    later = np.arange(fit_end, length)
    if is_year(period, year):
        return np.concatenate([season, yearly_pattern(detrended, year, min(period // 2 - 1, MOST_HARMONICS), later)[0]])
    return np.concatenate([season, season[fit_end - period:][(later - fit_end) % period]])


def is_year(period: int, year: float | None) -> bool:
    """Return whether a season of `period` steps is the year of `year` steps (52 of 52.18 weeks, 364 of 365.25 days)."""
    return bool(year) and abs(period - year) < 1.5


# How many of the last years of the fit window the yearly pattern is fitted on: a season that
# changes slowly, as CO2's does, is better described by its recent years than by all of them.
YEARS_FITTED = 5
# The most harmonics it may have: a weekly year's 25 (of 52 weeks), and as many for a daily year
# (a feature about two weeks wide), where a few years of values could not pin down more.
MOST_HARMONICS = 25


def harmonics(steps: np.ndarray, period: float, count: int) -> np.ndarray:
    """Return the columns 1, then sin(2 pi k t / period) and cos(2 pi k t / period) for k = 1 .. count, at steps t."""
    angles = 2 * np.pi * np.outer(steps, np.arange(1, count + 1)) / period
    paired = np.stack([np.sin(angles), np.cos(angles)], axis=2).reshape(len(steps), -1)  # sin 1, cos 1, sin 2, ...
    return np.column_stack([np.ones(len(steps)), paired])


def yearly_pattern(detrended: np.ndarray, year: float, most: int, steps: np.ndarray) -> tuple[np.ndarray, int]:
    """Return (a yearly pattern at `steps`, its number of harmonics) from the last YEARS_FITTED years of `detrended`.

    The pattern is the least-squares regression of those values on the harmonics of the year (of
    any length: a year of weeks is 52.18 of them), with as many harmonics (1 .. `most`) as the
    smallest AICc chooses, the way Fourier terms model a weekly series' year. STL's last cycle,
    which the other seasons repeat, is estimated from one side, with that year's noise in it: on
    CO2's validation period (weekly; the README's Your own data) STL + ETS's RMSE went from 0.486
    to 0.347 with this pattern. The regressions are nested, so one QR decomposition gives them all.
    """
    fitted_on = np.arange(max(0, len(detrended) - int(round(YEARS_FITTED * year))), len(detrended))
    target = detrended[fitted_on]
    q, r = np.linalg.qr(harmonics(fitted_on, year, max(most, 1)))
    projected = q.T @ target
    counts = np.arange(1, max(most, 1) + 1)
    # The least RSS with 2 count + 1 columns: the full regression's, plus what the columns after them explain.
    beyond = np.concatenate([np.cumsum((projected ** 2)[::-1])[::-1][1:], [0.0]])
    residual = np.sum((target - q @ projected) ** 2) + beyond[2 * counts]
    n, k = len(target), 2 * counts + 2  # parameters: the constant, the sines and cosines, the variance
    aicc = n * np.log(np.maximum(residual, 1e-300) / n) + 2 * k + 2 * k * (k + 1) / np.maximum(n - k - 1, 1)
    count = int(counts[np.argmin(aicc)])
    columns = 2 * count + 1
    coefficients = np.linalg.solve(r[:columns, :columns], projected[:columns])
    return harmonics(steps, year, count) @ coefficients, count


def _mstl_season(values: np.ndarray, fit_end: int, periods: list[int], year: float | None = None) -> np.ndarray:
    """Return the sum of the MSTL seasons of values[:fit_end] (one per period), each carried forward after it:
    repeated with its own period, or for a cycle that is a year (364 days of 365.25) as its yearly pattern
    (yearly_pattern, on the values less the trend), as the STL forms carry a weekly year."""
    from statsmodels.tsa.seasonal import MSTL

    fit = MSTL(values[:fit_end], periods=periods).fit()
    seasons = np.asarray(fit.seasonal).reshape(fit_end, -1)
    # The values less the trend: the shorter season in them is (nearly) orthogonal to the year's harmonics.
    detrended = values[:fit_end] - np.asarray(fit.trend)
    return sum(_carried_forward(column, detrended, period, year, len(values)) for column, period in zip(seasons.T, periods))


def _has_cycles(settings: dict, fit_end: int) -> bool:
    """Return whether `mstl` runs: the series has a cycle above its season, and its fit window two of them
    (else it is left out, and the log says why: most daily series hold fewer than two years)."""
    cycle = settings.get("second_season")
    if not cycle:
        return False
    window = min(fit_end, int(settings["max_fit_values"]))
    if window < 2 * int(cycle):
        log.info("MSTL + ETS left out: its fit window of %d values holds fewer than two cycles of %d", window, int(cycle))
        return False
    return True


def mstl_periods(season_length: int, settings: dict, available: int) -> list[int]:
    """Return MSTL's periods: the season (when there is one) and the cycle above it (settings' second_season);
    raise ValueError when there is no cycle, or when the `available` values to fit on hold fewer than two."""
    if not settings.get("second_season"):
        raise ValueError("the series has no cycle above its season (baselines.second_season)")
    cycle = int(settings["second_season"])
    if available < 2 * cycle:
        raise ValueError(f"a cycle of {cycle} needs at least two cycles to fit on ({2 * cycle} values;"
                         f" baselines.max_fit_values={settings['max_fit_values']})")
    return sorted({period for period in (season_length, cycle) if period > 1})


def _theta(values: np.ndarray, fit_end: int, season_length: int, long_season: int,
           year: float | None = None, origins: np.ndarray | None = None, steps: int = 0):
    """Return (Theta's one-step forecasts, [origins, steps] forecasts from each origin or None): SES with
    half the drift of the linear trend, on the deseasonalised series.

    statsmodels' ThetaModel estimates alpha and the drift b0 on the training period; its h-step
    forecast from an origin is then the SES level there plus b0 (h - 1 + 1/alpha - (1-alpha)^n / alpha) / 2,
    with n the observations seen, as in ThetaModelResults.forecast, times or plus the season at the target.
    """
    from statsmodels.tsa.forecasting.theta import ThetaModel
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    padded = np.concatenate([values, np.zeros(steps)])  # the season at every path's targets too
    season, multiplicative = _deseasonalise(padded, fit_end, season_length, long_season, year)
    season, ahead = season[:len(values)], season
    adjusted = values / season if multiplicative else values - season
    params = ThetaModel(adjusted[:fit_end], deseasonalize=False).fit().params
    alpha, b0 = float(params["alpha"]), float(params["b0"])
    levels = ExponentialSmoothing(adjusted, initial_level=adjusted[0], initialization_method="known").fit(
        smoothing_level=alpha, optimized=False).fittedvalues
    levels = np.asarray(levels)

    def drift(seen: np.ndarray, later: np.ndarray) -> np.ndarray:  # values seen, steps beyond the first
        return b0 * (later + 1 / alpha - (1 - alpha) ** seen / alpha) / 2 if alpha > 0 else 0.0 * seen

    seen = np.arange(len(values), dtype="float64")
    forecasts = levels + drift(seen, 0.0)
    forecasts = forecasts * season if multiplicative else forecasts + season
    if origins is None:
        return forecasts, None
    origins = np.asarray(origins, dtype=int)
    targets = origins[:, None] + np.arange(steps)
    paths = levels[origins][:, None] + drift(origins[:, None].astype("float64"), np.arange(steps, dtype="float64"))
    return forecasts, (paths * ahead[targets] if multiplicative else paths + ahead[targets])


def _deseasonalise(values: np.ndarray, fit_end: int, season_length: int, long_season: int,
                   year: float | None = None):
    """Return (season for every index, whether it is multiplicative) estimated on the training period."""
    if season_length <= 1 or fit_end < 2 * season_length:
        return np.zeros(len(values)), False
    if season_length > long_season:
        return _stl_season(values, fit_end, season_length, year), False
    from statsmodels.tsa.seasonal import seasonal_decompose

    multiplicative = bool(np.min(values[:fit_end]) > 0)
    pattern = np.asarray(seasonal_decompose(values[:fit_end], model="multiplicative" if multiplicative else "additive",
                                            period=season_length).seasonal[:season_length])
    return pattern[np.arange(len(values)) % season_length], multiplicative


def _best_ets(values: np.ndarray, fit_end: int, season_length: int, only: dict | None = None,
              start: np.ndarray | None = None) -> tuple[dict, np.ndarray]:
    """Return (spec, parameters) of the additive-error ETS model with the smallest AIC on values[:fit_end].

    With `only` (a spec chosen at an earlier fit), that model's parameters are fitted again and no
    other, from `start` (the earlier fit's parameters) when given.
    """
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    if only is not None:
        params = ETSModel(values[:fit_end], **only).fit(disp=False, return_params=True, start_params=start)
        return only, params
    seasonal_forms = [None]
    if 1 < season_length and fit_end >= 2 * season_length + 2:
        seasonal_forms += ["add"] + (["mul"] if np.min(values[:fit_end]) > 0 else [])
    best = None
    for trend, damped in ((None, False), ("add", False), ("add", True)):
        for seasonal in seasonal_forms:
            spec = dict(error="add", trend=trend, damped_trend=damped, seasonal=seasonal,
                        seasonal_periods=season_length if seasonal else None)
            model = ETSModel(values[:fit_end], **spec)
            try:
                # Parameters only: a full results object also approximates their covariance,
                # which costs more than the fit.
                params = model.fit(disp=False, return_params=True)
                aic = -2 * model.loglike(params) + 2 * (len(params) + 1)
            except (ValueError, np.linalg.LinAlgError):
                continue
            if np.isfinite(aic) and (best is None or aic < best[0]):
                best = (aic, spec, params)
    if best is None:
        raise ValueError("no ETS model could be fitted")
    return best[1], best[2]


def _ets(values: np.ndarray, fit_end: int, season_length: int, chosen: dict | None = None,
         origins: np.ndarray | None = None, steps: int = 0):
    """Automatic ETS: the additive-error model with the smallest AIC. Return (its one-step forecasts,
    [origins, steps] forecasts from each origin or None).

    `chosen` carries the form between refits: the first fit chooses it (and stores it there), later
    refits fit its parameters again, so a refit costs one fit instead of the nine of a choice.
    """
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    chosen = {} if chosen is None else chosen
    spec, params = _best_ets(values, fit_end, season_length, chosen.get("ets"), chosen.get("ets_params"))
    chosen["ets"], chosen["ets_params"] = spec, params
    if origins is None:
        one_step, _ = ETSModel(values, **spec).smooth(params, return_raw=True)
        return np.asarray(one_step), None
    smoothed = ETSModel(values, **spec).smooth(params)
    return np.asarray(smoothed.fittedvalues), _without_errors(smoothed, origins, steps, shift=1)


def _holt_winters_form(settings: dict, season_length: int, positive: bool) -> tuple:
    """Return (trend, seasonal, damped) of Holt-Winters as configured, or damped Holt without a season."""
    hw = settings.get("holt_winters") or {}
    if season_length <= 1:
        return "add", None, True
    # A season multiplies only positive values: with a zero or a negative value in the fit window, an additive one.
    seasonal = "add" if hw.get("seasonal") == "mul" and not positive else hw.get("seasonal")
    return hw.get("trend"), seasonal, bool(hw.get("damped_trend", False))


def _sarima_form(settings: dict, season_length: int, positive: bool, long: bool) -> tuple:
    """Return (order, seasonal_order, on log) of SARIMA as configured, or ARIMA(order) without a season."""
    sarima = settings.get("sarima") or {}
    # Logs of positive values only: with a zero or a negative value in the fit window, the values as they are.
    log = bool(sarima.get("log", True)) and not long and positive
    seasonal_order = (*sarima.get("seasonal_order", (0, 1, 1)), season_length) if season_length > 1 else (0, 0, 0, 0)
    return tuple(sarima.get("order", (0, 1, 1))), seasonal_order, log


def _fit_start(fit_end: int, season_length: int, settings: dict) -> int:
    """Return where a fit ending at fit_end starts: at most max_fit_values before it, on a whole number of seasons."""
    fit_start = max(0, fit_end - int(settings["max_fit_values"]))
    if season_length > 1:
        # Start on a whole number of seasons before the split, so season positions keep their phase.
        fit_start -= fit_start % season_length
    return fit_start


def _forecast_one(method: str, values: np.ndarray, fit_end: int, season_length: int, settings: dict,
                  chosen: dict | None = None, at: tuple[np.ndarray, int] | None = None):
    """Return (one method's one-step forecasts of every index from values[fit_start:] (earlier ones NaN),
    None); with `at` = (origins, steps), origins being indices of `values` from fit_end on, the second
    is [origins, steps]: the forecasts of the `steps` values from each origin on, made with the same
    fit and the state after the values before that origin."""
    long_season = int(settings["long_season"])
    fit_start = _fit_start(fit_end, season_length, settings)
    part, end = values[fit_start:], fit_end - fit_start
    origins, steps = (np.asarray(at[0], dtype=int) - fit_start, int(at[1])) if at is not None else (None, 0)
    long = season_length > long_season
    if long and end < 2 * season_length:
        raise ValueError(f"a season of {season_length} needs at least two seasons of training data")
    if method == "theta":
        forecasts, paths = _theta(part, end, season_length, long_season, settings.get("year"), origins, steps)
    else:
        positive = bool(np.min(part[:end]) > 0)
        if chosen is not None:  # a refit keeps the first fit's form, unless its window no longer allows it
            positive = bool(chosen.setdefault("positive", positive)) and positive
        seasonal_m = season_length if 1 < season_length <= long_season else 1
        padded = np.concatenate([part, np.zeros(steps)])  # the seasons at every path's targets too
        if method == "mstl":  # automatic ETS, without a season of its own, on the series less its MSTL seasons
            periods = mstl_periods(season_length, settings, end)
            season, method, seasonal_m = _mstl_season(padded, end, periods, settings.get("year")), "ets", 1
        else:
            season = _stl_season(padded, end, season_length, settings.get("year")) if long else np.zeros(len(padded))
        season, ahead = season[:len(part)], (season[origins[:, None] + np.arange(steps)] if at is not None else 0.0)
        adjusted = part - season
        paths = None
        if method == "holt_winters":
            trend, seasonal, damped = _holt_winters_form(settings, seasonal_m, positive)
            fitted = _exponential_smoothing(adjusted, end, trend, seasonal, seasonal_m, damped)
            forecasts = np.asarray(fitted.fittedvalues) + season
            if at is not None:
                paths = _without_errors(fitted, origins, steps, shift=0) + ahead
        elif method == "sarima":
            order, seasonal_order, log = _sarima_form(settings, seasonal_m, positive, long)
            series = np.log(adjusted) if log else adjusted
            kept = {} if chosen is None else chosen  # where the fit's parameters are left
            forecasts = _arima(series, end, order, seasonal_order, kept)
            forecasts = (np.exp(forecasts) if log else forecasts) + season
            if at is not None:
                paths = _arima_paths(series, kept["sarima_params"], order, seasonal_order, origins, steps)
                paths = (np.exp(paths) if log else paths) + ahead
        elif method == "ets":
            forecasts, paths = _ets(adjusted, end, seasonal_m, chosen, origins, steps)
            forecasts = forecasts + season
            paths = None if paths is None else paths + ahead
        else:
            raise ValueError(f"unknown baseline method {method!r}")
    return np.concatenate([np.full(fit_start, np.nan), forecasts]), paths


# The most refits `refit_every: auto` makes through the validation and test periods.
MAX_AUTO_REFITS = 20


def refit_points(method: str, fit_end: int, length: int, season_length: int, settings: dict) -> list[int]:
    """Return the positions at which `method` is fitted (on the values before each): fit_end, then every refit_every."""
    every = settings.get("refit_every", "auto")
    remaining = length - fit_end
    if every in (None, "auto"):
        every = max(season_length, 1, -(-remaining // MAX_AUTO_REFITS))
    every = int(every)
    if every <= 0:
        return [fit_end]
    return list(range(fit_end, length, every)) or [fit_end]


def _forecast_refitted(method: str, values: np.ndarray, fit_end: int, season_length: int, settings: dict,
                       at: tuple[np.ndarray, int] | None = None):
    """Return (one method's one-step forecasts, fitted again at each refit point on the values before it,
    and with `at` = (origins from fit_end on, steps) the [origins, steps] forecasts from each origin,
    made by the fit in force there, else None)."""
    points = refit_points(method, fit_end, len(values), season_length, settings)
    stops = [*points[1:], len(values)]
    origins, steps = (np.asarray(at[0], dtype=int), int(at[1])) if at is not None else (np.zeros(0, dtype=int), 0)
    paths = np.full((len(origins), steps), np.nan)
    chosen: dict = {}  # the form chosen at the first fit, on the fit window's values
    forecasts = np.full(len(values), np.nan)
    for start, stop in zip(points, stops):
        mine = (origins >= start) & (origins < stop)
        own = (origins[mine], steps) if at is not None else None
        segment, segment_paths = _segment(method, values[:stop], start, season_length, settings, chosen, own)
        kept_from = 0 if start == points[0] else start  # the first fit's also covers the values before it
        forecasts[kept_from:stop] = segment[kept_from:stop]
        if segment_paths is not None:
            paths[mine] = segment_paths
    return forecasts, (paths if at is not None else None)


def _multiplies(method: str, season_length: int, settings: dict) -> bool:
    """Return whether `method` multiplies (Holt-Winters' season) or takes logs (SARIMA) on a positive fit
    window, as configured: its state cannot take in a zero or a negative value. Long seasons go through
    STL and the additive forms, which can."""
    if season_length > int(settings["long_season"]):
        return False
    if method == "holt_winters":
        return season_length > 1 and (settings.get("holt_winters") or {}).get("seasonal") == "mul"
    return method == "sarima" and bool((settings.get("sarima") or {}).get("log", True))


def _segment(method: str, values: np.ndarray, fit_end: int, season_length: int, settings: dict,
             chosen: dict, at: tuple[np.ndarray, int] | None = None):
    """Return _forecast_one(values, fit_end, at): one-step forecasts of every index of `values` from a fit
    on the values before fit_end (and the paths from `at`'s origins). Where a value <= 0 arrives after
    fit_end and the fitted form multiplies or takes logs, the forecasts up to that value (made before it
    is seen) are that form's, and the later ones the additive form's, fitted on the same window (so are
    the paths from origins up to it and after it); the refits after it keep the additive form. A value
    after the fit window so never decides whether a baseline exists, only how it goes on."""
    later = np.flatnonzero(values[fit_end:] <= 0)
    window = values[_fit_start(fit_end, season_length, settings):fit_end]
    if not (later.size and _multiplies(method, season_length, settings) and chosen.get("positive", True)
            and np.min(window) > 0):
        return _forecast_one(method, values, fit_end, season_length, settings, chosen, at)
    first = fit_end + int(later[0])
    early = None if at is None else (at[0][at[0] <= first], at[1])
    late = None if at is None else (at[0][at[0] > first], at[1])
    # The forecast of values[first] does not read it: a stand-in (the value before) lets the form run to it.
    before, before_paths = _forecast_one(method, np.concatenate([values[:first], values[first - 1:first]]), fit_end,
                                         season_length, settings, chosen, early)
    additive: dict = {"positive": False}
    after, after_paths = _forecast_one(method, values, fit_end, season_length, settings, additive, late)
    chosen.clear()
    chosen.update(additive)
    paths = None if at is None else np.concatenate([before_paths, after_paths])
    return np.concatenate([before, after[first + 1:]]), paths


def _guarded(method: str, values: np.ndarray, fit_end: int, season_length: int, settings: dict,
             at: tuple[np.ndarray, int] | None = None):
    """Return the forecasts, or "skipped: why" for a fit that cannot be made on this series; with `at`
    (origins, steps), (the forecasts, their paths from those origins or "skipped: why") or "skipped: why"."""
    # statsmodels turns its own warnings to "always" when first imported: import it before the
    # filter below, or its warnings would jump ahead of it.
    import statsmodels.tools.sm_exceptions  # noqa: F401

    with warnings_to_log(f"statsmodels ({method})"):  # convergence notes: the score says how good the fit is
        try:
            forecasts, paths = _forecast_refitted(method, values, fit_end, season_length, settings, at)
        except (ValueError, np.linalg.LinAlgError, IndexError, KeyError, ZeroDivisionError) as error:
            return f"skipped: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
    if not np.all(np.isfinite(forecasts[fit_end:])):
        return "skipped: the fitted model's forecasts are not finite"
    if at is None:
        return forecasts
    return forecasts, (paths if np.all(np.isfinite(paths)) else "skipped: the fitted model's multi-step forecasts"
                                                                  " are not finite")


def _cache_key(method: str, values: np.ndarray, fit_end: int, season_length: int, settings: dict) -> str:
    own = {k: settings.get(k) for k in ("max_fit_values", "long_season", "refit_every", "year", method)}
    if method == "mstl":
        own["second_season"] = settings.get("second_season")
    text = json.dumps([_CACHE_VERSION, method, fit_end, season_length, own], sort_keys=True, default=str)
    return hashlib.sha256(values.tobytes() + text.encode()).hexdigest()


def _read_cache(folder: Path, key: str):
    array, note = folder / f"{key}.npy", folder / f"{key}.json"
    try:
        if array.exists():
            return np.load(array, allow_pickle=False)
        if note.exists():
            return str(json.loads(note.read_text())["note"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable or foreign: fit again and overwrite
    return None


def _child(connection, function, args) -> None:
    # A forked child inherits the run's SIGTERM handler: here the default (end at once) is right,
    # and the parent kills what is left when the signal reaches it. The signals were blocked while
    # the child started (see _start).
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)
    import scipy.linalg  # noqa: F401  (loads scipy's own BLAS, which the limit below then covers too)
    from threadpoolctl import threadpool_limits

    try:
        # One BLAS thread: the children already run one per core, and OpenBLAS's own threads on top
        # of them only contended (CO2's four fits, two at a time: 14.6-16.3 s with them, 12.3-12.6 s without).
        with threadpool_limits(limits=1):
            connection.send(function(*args))
    except BaseException as error:  # an internal error: reported to the parent with its type
        connection.send(f"skipped: internal error {type(error).__name__}: {error}")
    finally:
        connection.close()


_STOPS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def _start(process) -> None:
    """Start a child process with the stop signals blocked meanwhile.

    A signal handled during fork() runs inside its at-fork hooks, where Python ignores the
    exception that stops the run: blocked, the signal waits and stops the run right after.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
    try:
        process.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def run_apart(jobs: dict, limit: float) -> dict:
    """Return {key: function(*args)} for jobs {key: (function, args)}, each run in a child process.

    As many children run at once as there are cores; one still running after `limit` seconds is
    stopped and gets "skipped: ..." as its result. An interrupted parent stops every child.
    """
    return run_apart_during(jobs, limit, None)[0]


def run_apart_during(jobs: dict, limit: float, meanwhile) -> tuple[dict, object]:
    """Return (run_apart's results, meanwhile()): with `meanwhile`, it runs in this process while the children work.

    Then every child starts at once, before `meanwhile` (which may load TensorFlow: no fork
    after that), and a thread of this process collects their results and stops late ones.
    """
    # Forking a process that has loaded TensorFlow is unsafe: then the children start afresh.
    method_of_start = "fork" if "tensorflow" not in sys.modules and "fork" in multiprocessing.get_all_start_methods() \
        else "spawn"
    context = multiprocessing.get_context(method_of_start)
    waiting, running, results = list(jobs), {}, {}
    workers = len(jobs) if meanwhile else max(1, min(len(jobs), os.cpu_count() or 1))

    def start_waiting() -> None:
        while waiting and len(running) < workers:
            method = waiting.pop(0)
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(send, *jobs[method]), daemon=True)
            _start(process)
            send.close()
            running[receive] = (method, process, time.monotonic())

    in_main_thread = meanwhile is None and threading.current_thread() is threading.main_thread()

    def collect() -> None:
        while waiting or running:
            if stop_received():
                # A stop whose exception a finalizer swallowed (statsforecast's pipes are closed in
                # __del__ here): stop waiting, raise it in the main thread, and kill every child below.
                if in_main_thread:
                    raise_stop_if_swallowed()
                return
            start_waiting()
            ready = multiprocessing.connection.wait(list(running), timeout=0.1)
            now = time.monotonic()
            for receive in list(running):
                method, process, started = running[receive]
                if now - started > limit:  # late, whether or not its result has just come
                    process.kill()
                    results[method] = (f"skipped: the fit took longer than {limit:g} s; raise baselines.time_limit"
                                       f" or lower baselines.max_fit_values")
                elif receive in ready:
                    try:
                        results[method] = receive.recv()
                    except EOFError:
                        results[method] = f"skipped: the fit's process ended without a result (exit code {process.exitcode})"
                else:
                    continue
                running.pop(receive)
                process.join()
                receive.close()

    value = None
    try:
        start_waiting()
        if meanwhile is None:
            collect()
        else:
            collector = threading.Thread(target=collect, name="lstmts-baselines", daemon=True)
            collector.start()
            value = meanwhile()
            collector.join()
            raise_stop_if_swallowed()
    finally:
        for _, process, _ in list(running.values()):  # interrupted: no fit outlives the run
            process.kill()
            process.join()
    return results, value


def classical_forecasts(values: np.ndarray, fit_end: int, season_length: int, settings: dict, *,
                        apart: bool = False, on_fit=None) -> dict:
    """Return {name: one-step forecasts of every index} or {name: "skipped: why"} for each method.

    Cached on disk under the lstmts cache folder (LSTMTS_CACHE=off disables the cache). With
    `apart`, fits run in child processes, in parallel and within `time_limit` seconds each;
    `on_fit(methods)` is called before any fit that is not cached.
    """
    return classical_forecasts_during(values, fit_end, season_length, settings, apart=apart, on_fit=on_fit)[0]


def classical_forecasts_during(values: np.ndarray, fit_end: int, season_length: int, settings: dict, *,
                               apart: bool = False, on_fit=None, meanwhile=None) -> tuple[dict, object]:
    """Return (classical_forecasts' result, meanwhile()): the fits not cached yet run in child processes
    while `meanwhile` runs in this one (`apart` is then implied); without it, (result, None)."""
    results, _, value = classical_forecasts_and_paths(values, fit_end, season_length, settings, None, apart=apart,
                                                      on_fit=on_fit, meanwhile=meanwhile)
    return results, value


def classical_forecasts_and_paths(values: np.ndarray, fit_end: int, season_length: int, settings: dict,
                                  at: tuple[np.ndarray, int] | None, *, apart: bool = False, on_fit=None,
                                  meanwhile=None) -> tuple[dict, dict, object]:
    """Return (classical_forecasts_during's result, paths, meanwhile()). With `at` = (origins, steps),
    origins being indices of `values` from fit_end on, paths is {name: [origins, steps] forecasts from
    each origin, or "skipped: why"}: each method's forecasts of the `steps` values from that origin on,
    made with the fit in force there and its state after the values before the origin, the way its
    one-step forecast of the origin is made (which is the path's first step). Without `at`, {}."""
    settings = {**DEFAULTS, **{k: v for k, v in settings.items() if v is not None}}
    values = np.asarray(values, dtype="float64")
    if at is not None:
        at = (np.asarray(at[0], dtype=int), int(at[1]))
        if at[0].size and (at[0].min() < fit_end or at[0].max() >= len(values)):  # the caller's mistake
            raise RuntimeError(f"forecast paths start from fit_end ({fit_end}) on, inside the series ({len(values)})")
    methods = [m for m in settings["methods"] if m != "mstl" or _has_cycles(settings, fit_end)]
    folder = cache_dir("baselines")
    keys = {m: _cache_key(m, values, fit_end, season_length, settings) for m in methods}
    path_keys = {m: _paths_key(keys[m], at) for m in methods} if at is not None else {}
    results = {}
    if folder is not None:
        for method in methods:
            cached = _read_cache(Path(folder), keys[method])
            if at is not None and cached is not None and not isinstance(cached, str):
                paths = _read_cache(Path(folder), path_keys[method])
                cached = None if paths is None else (cached, paths)
            if cached is not None:
                results[method] = cached
    missing = [m for m in methods if m not in results]
    value = None
    if missing:
        if on_fit:
            on_fit(missing)
        if apart or meanwhile is not None:
            jobs = {m: (_guarded, (m, values, fit_end, season_length, settings, at)) for m in missing}
            fitted, value = run_apart_during(jobs, float(settings["time_limit"]), meanwhile)
        else:
            fitted = {m: _guarded(m, values, fit_end, season_length, settings, at) for m in missing}
        for method, result in fitted.items():
            results[method] = result
            timed_out = isinstance(result, str) and "longer than" in result
            if folder is not None and not timed_out:  # a time-out depends on the machine: try again next run
                if isinstance(result, tuple):
                    _store(Path(folder), path_keys[method], result[1])
                _store(Path(folder), keys[method], result[0] if isinstance(result, tuple) else result)
    elif meanwhile is not None:
        value = meanwhile()
    long_season = int(settings["long_season"])
    names = {m: method_name(m, season_length, long_season) for m in methods}
    forecasts = {names[m]: results[m][0] if isinstance(results[m], tuple) else results[m] for m in methods}
    paths = {} if at is None else {names[m]: results[m][1] if isinstance(results[m], tuple) else results[m]
                                   for m in methods}
    return forecasts, paths, value


def _paths_key(key: str, at: tuple[np.ndarray, int]) -> str:
    """Return the cache key of a method's paths: its one-step key, the origins and the steps."""
    origins, steps = at
    return hashlib.sha256(key.encode() + np.asarray(origins, dtype="int64").tobytes() + str(steps).encode()).hexdigest()


def _store(folder: Path, key: str, result) -> None:
    """Write one cached result atomically (a temporary name, then a rename); a full disk only skips caching."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (f"{key}.json" if isinstance(result, str) else f"{key}.npy")
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        if isinstance(result, str):
            temporary.write_text(json.dumps({"note": result}))
        else:
            with open(temporary, "wb") as stream:
                np.save(stream, np.asarray(result, dtype="float64"), allow_pickle=False)
        os.replace(temporary, target)
    except OSError:
        pass


def forecast_from(method: str, history: np.ndarray, steps: int, season_length: int, settings: dict):
    """Return a method's `steps`-step forecast after `history`, fitted on history alone, or "skipped: why".

    The refit-per-origin form that backtests use, with the same season handling as above.
    """
    settings = {**DEFAULTS, **{k: v for k, v in settings.items() if v is not None}}
    history = np.asarray(history, dtype="float64")[-int(settings["max_fit_values"]):]
    long_season = int(settings["long_season"])
    import statsmodels.tools.sm_exceptions  # noqa: F401  (before the filter: see _guarded)

    with warnings_to_log(f"statsmodels ({method})"):
        try:
            return _forecast_from(method, history, steps, season_length, long_season, settings)
        except (ValueError, np.linalg.LinAlgError, IndexError, KeyError, ZeroDivisionError) as error:
            return f"skipped: {str(error).splitlines()[0] if str(error) else type(error).__name__}"


def _forecast_from(method, history, steps, season_length, long_season, settings) -> np.ndarray:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    long = season_length > long_season
    if long and method != "mstl":  # the STL season, over the history and the steps after it
        season = _stl_season(np.concatenate([history, np.zeros(steps)]), len(history), season_length,
                             settings.get("year"))
    if method == "theta" and long:  # on the STL-adjusted series, as its one-step form (_theta) is
        model = ThetaModel(history - season[:len(history)], deseasonalize=False)
        return np.asarray(model.fit().forecast(steps)) + season[len(history):]
    if method == "theta":
        seasonal = 1 < season_length and len(history) >= 2 * season_length
        model = ThetaModel(history, period=season_length if seasonal else None, deseasonalize=seasonal,
                           use_test=False, method="multiplicative" if np.min(history) > 0 else "additive")
        return np.asarray(model.fit().forecast(steps))
    if method == "mstl":  # automatic ETS, without a season of its own, on the series less its MSTL seasons
        periods = mstl_periods(season_length, settings, len(history))
        both = _mstl_season(np.concatenate([history, np.zeros(steps)]), len(history), periods, settings.get("year"))
        future, adjusted, m, method = both[len(history):], history - both[:len(history)], 1, "ets"
    elif long:
        future, adjusted, m = season[len(history):], history - season[:len(history)], 1
    else:
        future, adjusted, m = np.zeros(steps), history, season_length
    positive = bool(np.min(adjusted) > 0)
    if method == "holt_winters":
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        trend, seasonal, damped = _holt_winters_form(settings, m, positive)
        model = ExponentialSmoothing(adjusted, trend=trend, seasonal=seasonal, seasonal_periods=m if seasonal else None,
                                     damped_trend=damped, initialization_method="estimated")
        # Its simulation without errors from the end, as the run's paths: statsmodels' forecast method
        # replaces the last season's update by the season before it from the season's step on.
        return _without_errors(model.fit(), np.array([len(adjusted)]), steps, shift=0)[0] + future
    if method == "sarima":
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        order, seasonal_order, log = _sarima_form(settings, m, positive, long)
        series = np.log(adjusted) if log else adjusted
        # Estimated on the differences as the one-step form is (_arima), then filtered with the
        # differences in the state, which forecasts the series itself.
        params = SARIMAX(series, order=order, seasonal_order=seasonal_order,
                         simple_differencing=True).fit(disp=False, return_params=True)
        forecast = np.asarray(SARIMAX(series, order=order, seasonal_order=seasonal_order).filter(params).forecast(steps))
        return (np.exp(forecast) if log else forecast) + future
    if method == "ets":
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        spec, params = _best_ets(adjusted, len(adjusted), m)
        fitted = ETSModel(adjusted, **spec).smooth(params)
        return np.asarray(fitted.forecast(steps)) + future
    raise ValueError(f"unknown baseline method {method!r}")
