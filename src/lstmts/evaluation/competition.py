"""Scoring a collection the way forecasting competitions do, and the competitions' classical baselines.

sMAPE is the M3 definition (0-200): the mean of 200 |y - f| / (|y| + |f|) over the horizon.
MASE divides the mean absolute error by the in-sample mean absolute error of the seasonal naive
forecast (lag = the series' season length; lag 1 when the training part is not longer than a
season). Both are computed per series, then averaged over the collection.

The baselines are forecast `h` steps from the end of each series' training part: naive, seasonal
naive, and with statsforecast (an optional extra) the Theta method, automatic ETS, automatic
ARIMA and the mean of those three (comb). statsforecast fits the series in parallel across
cores; its forecasts are cached as plain NumPy arrays, one per series, keyed by its values.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from lstmts.backend import cache_dir
from lstmts.config import COLLECTION_BASELINES
from lstmts.evaluation.classical import run_apart
from lstmts.evaluation.metrics import mae, rmse, seasonal_scale
from lstmts.evaluation.naive import naive_paths
from lstmts.errors import UserError, warnings_to_log

NAIVE_METHODS = ("naive", "seasonal_naive")
STATISTICAL_METHODS = ("theta", "ets", "arima")
COMBINATION = "comb"
METHODS = COLLECTION_BASELINES  # naive methods, statistical methods, then their combination
# statsforecast's model name for each method (the column of its forecast frame).
_MODEL_COLUMNS = {"theta": "Theta", "ets": "AutoETS", "arima": "AutoARIMA"}


def smape_steps(actual: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """Return each step's M3 sMAPE term in percent (0-200); a step where actual and forecast are both 0 gives 0."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    denominator = np.abs(actual) + np.abs(forecast)
    return 200.0 * np.divide(np.abs(actual - forecast), denominator, out=np.zeros_like(denominator),
                             where=denominator > 0)


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Return the M3 sMAPE in percent (0-200): the mean of smape_steps."""
    return float(smape_steps(actual, forecast).mean())


def mase_scale(insample: np.ndarray, season_length: int) -> float:
    """Return the mean absolute error of the seasonal naive forecast inside the training part (NaN: none)."""
    lag = season_length if len(insample) > season_length else 1
    scale = seasonal_scale(insample, len(insample), lag)
    return float("nan") if scale is None else scale


def mase(actual: np.ndarray, forecast: np.ndarray, insample: np.ndarray, season_length: int) -> float:
    """Return the MASE of a forecast: its mean absolute error over the in-sample seasonal naive one's."""
    scale = mase_scale(insample, season_length)
    return float("nan") if np.isnan(scale) else mae(actual, forecast) / scale


def scores(actual: np.ndarray, forecast: np.ndarray, insample: np.ndarray, season_length: int) -> dict:
    """Return sMAPE, MASE and RMSE of one series' forecast."""
    return {"smape": smape(actual, forecast), "mase": mase(actual, forecast, insample, season_length),
            "rmse": rmse(actual, forecast)}


def naive(train: np.ndarray, horizon: int) -> np.ndarray:
    """The last value, repeated."""
    return naive_paths(train, np.array([len(train)]), horizon, 1)[0]


def seasonal_naive(train: np.ndarray, horizon: int, season_length: int) -> np.ndarray:
    """The last season, repeated (the naive forecast when the series has no season or is shorter than one)."""
    lag = season_length if 1 < season_length <= len(train) else 1
    return naive_paths(train, np.array([len(train)]), horizon, lag)[0]


def _cache_files(method: str, trains: Sequence[np.ndarray], horizons: Sequence[int],
                 seasons: Sequence[int], levels: Sequence[int] = ()) -> list[Path] | None:
    """Return one cache file per series (its method, values, horizon, season and interval levels): any subset or shard reuses them."""
    folder = cache_dir("collection-baselines")
    if folder is None:
        return None
    import statsforecast

    files = []
    for train, horizon, season in zip(trains, horizons, seasons):
        bands = f"levels {','.join(map(str, levels))}|" if levels else ""
        digest = hashlib.sha256(f"{method}|statsforecast {statsforecast.__version__}|{horizon}|{season}|{bands}".encode())
        digest.update(np.ascontiguousarray(train, dtype=np.float64).tobytes())
        files.append(Path(folder) / method / f"{digest.hexdigest()}.npy")
    return files


def _read_cached(file: Path) -> np.ndarray | None:
    try:
        return np.load(file, allow_pickle=False)
    except (OSError, ValueError):
        return None  # missing or damaged: fitted again (and rewritten)


def _store(file: Path, forecast: np.ndarray) -> None:
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
        with open(temporary, "wb") as stream:
            np.save(stream, np.asarray(forecast, dtype=np.float64), allow_pickle=False)
        os.replace(temporary, file)
    except OSError:
        pass  # a full or read-only disk only skips caching


def _statsforecast_model(method: str, season_length: int, approximate: bool):
    from statsforecast.models import AutoARIMA, AutoETS, Theta

    if method == "arima":
        # As R's auto.arima: the likelihood approximated for long or finely seasonal series (4-5x quicker).
        return AutoARIMA(season_length=season_length, approximation=approximate)
    return {"theta": Theta, "ets": AutoETS}[method](season_length=season_length)


def _approximate(length: int, season_length: int) -> bool:
    return length > 150 or season_length > 12


def _fit_statistical(method: str, trains: Sequence[np.ndarray], horizons: Sequence[int],
                     seasons: Sequence[int], levels: Sequence[int] = ()) -> list[np.ndarray]:
    """Forecast every series with one statsforecast method, in this process; series are grouped by (season, horizon).

    Without levels, one forecast per series; with them (percent, e.g. [80, 95]), one array per
    series of rows: the forecast, then the lower and upper bound of each level.
    """
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import Naive

    forecasts: list[np.ndarray | None] = [None] * len(trains)
    groups: dict[tuple[int, int, bool], list[int]] = {}
    for index, (horizon, season) in enumerate(zip(horizons, seasons)):
        key = (int(season), int(horizon), _approximate(len(trains[index]), int(season)))
        groups.setdefault(key, []).append(index)
    for (season, horizon, approximate), indices in groups.items():
        frame = pd.DataFrame({
            "unique_id": np.concatenate([np.full(len(trains[i]), i) for i in indices]),
            "ds": np.concatenate([np.arange(len(trains[i])) for i in indices]),
            "y": np.concatenate([np.asarray(trains[i], float) for i in indices]),
        })
        # A series a method cannot fit gets the naive forecast rather than stopping the collection.
        model = StatsForecast(models=[_statsforecast_model(method, season, approximate)], freq=1, n_jobs=1,
                              fallback_model=Naive())
        with warnings_to_log("statsforecast"):
            result = model.forecast(df=frame, h=horizon, level=list(levels) or None)
        column = _MODEL_COLUMNS[method]
        columns = [column] + [f"{column}-{side}-{level}" for level in levels for side in ("lo", "hi")]
        for series_id, rows in result.groupby("unique_id", sort=False):
            values = rows[columns].to_numpy(dtype=np.float64).T
            forecasts[int(series_id)] = values if levels else values[0]
    return [f if f is not None else _naive_rows(t, h, levels) for f, t, h in zip(forecasts, trains, horizons)]


def _naive_rows(train: np.ndarray, horizon: int, levels: Sequence[int]) -> np.ndarray:
    """The naive forecast where a method gave none; its bounds (with levels) are unknown: NaN."""
    path = naive(train, horizon)
    return np.vstack([path] + [np.full(horizon, np.nan)] * (2 * len(levels))) if levels else path


class OverTime(Exception):
    """A statistical baseline did not finish within its time budget."""


def _fit_apart(method: str, trains: Sequence[np.ndarray], horizons: Sequence[int], seasons: Sequence[int],
               workers: int, levels: Sequence[int] = (), limit: float | None = None) -> list[np.ndarray]:
    """Forecast every series with one statsforecast method, each of `workers` child processes fitting a share.

    Not statsforecast's own pool: stopped (Ctrl-C, SIGTERM), that waits for its busy children to
    finish their series, minutes on a large collection; these children are killed at once.
    """
    count = len(trains)
    if (workers <= 1 or count < 2) and limit is None:
        return _fit_statistical(method, trains, horizons, seasons, levels)
    workers = max(1, workers)
    # Every workers-th series: shares of equal size and mix of lengths.
    shares = [list(range(start, count, workers)) for start in range(min(workers, count))]
    jobs = {number: (_fit_statistical, (method, [trains[i] for i in share], [horizons[i] for i in share],
                                        [seasons[i] for i in share], levels))
            for number, share in enumerate(shares)}
    results = run_apart(jobs, float("inf") if limit is None else float(limit))
    forecasts: list[np.ndarray] = [np.empty(0)] * count
    for number, share in enumerate(shares):
        if isinstance(results[number], str) and "took longer than" in results[number]:
            raise OverTime(f"skipped: not finished within collection.baseline_time_limit={limit:g} s")
        if isinstance(results[number], str):  # "skipped: internal error ..." from the child
            raise UserError(f"the {method} baseline could not be fitted ({results[number].removeprefix('skipped: ')});"
                            f" leave it out of collection.baselines")
        for index, forecast in zip(share, results[number]):
            forecasts[index] = forecast
    return forecasts


# The statistical baselines whose intervals are scored beside the LSTM's (statsforecast's own).
INTERVAL_METHODS = ("ets", "arima")


class Baselines(NamedTuple):
    """The baselines of a collection: forecasts, seconds per method, and interval bounds where asked for."""

    forecasts: dict[str, list[np.ndarray]]  # {method: one forecast per series}
    seconds: dict[str, float]  # {method: seconds it took, fitting or reading its cache}
    # {method: {level (percent, "80"): (lower per series, upper per series)}}: ETS and ARIMA with levels
    bands: dict[str, dict[str, tuple[list[np.ndarray], list[np.ndarray]]]]
    # {method: why it is missing}: a statistical method over its time budget, and comb with it
    skipped: dict[str, str] = {}


def baseline_forecasts(trains: Sequence[np.ndarray], horizons: Sequence[int], seasons: Sequence[int],
                       methods: Sequence[str], *, n_jobs: int = -1, levels: Sequence[int] = (),
                       on_fit: Callable[[str, int], None] | None = None,
                       time_limit: float | None = None) -> Baselines:
    """Return the forecasts of `methods` for every series, their seconds, and ETS's and ARIMA's intervals.

    comb is the mean of the Theta, ETS and ARIMA forecasts (fitted for it when not asked for).
    levels (percent, e.g. [80, 95]): ETS and ARIMA are fitted once with statsforecast's intervals
    at those levels (cached apart from the forecasts alone). `on_fit(method, count)` is called
    before a method is fitted on the `count` series not cached yet. time_limit: seconds a
    statistical method may take to fit the series not cached; one that takes longer is left out
    (its reason in `skipped`), and comb with it.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise UserError(f"collection.baselines has unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    forecasts: dict[str, list[np.ndarray]] = {}
    seconds: dict[str, float] = {}
    bands: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    if "naive" in methods:
        forecasts["naive"] = [naive(t, h) for t, h in zip(trains, horizons)]
    if "seasonal_naive" in methods:
        forecasts["seasonal_naive"] = [seasonal_naive(t, h, s) for t, h, s in zip(trains, horizons, seasons)]
    statistical = [m for m in STATISTICAL_METHODS if m in methods or COMBINATION in methods]
    if statistical:
        try:
            import statsforecast  # noqa: F401
        except ImportError:
            raise UserError("the Theta, ETS and ARIMA baselines need statsforecast; install it with"
                            " pip install -e '.[collections]' or set collection.baselines=[naive,seasonal_naive]") from None
    workers = (os.cpu_count() or 1) if n_jobs in (-1, None) else int(n_jobs)
    for method in statistical:
        start = time.perf_counter()
        own_levels = tuple(int(level) for level in levels) if method in INTERVAL_METHODS and method in methods else ()
        files = _cache_files(method, trains, horizons, seasons, own_levels)
        results = [_read_cached(f) for f in files] if files is not None else [None] * len(trains)
        missing = [i for i, result in enumerate(results) if result is None or (result.ndim == 2) != bool(own_levels)]
        if missing:
            if on_fit:
                on_fit(method, len(missing))
            try:
                fitted = _fit_apart(method, [trains[i] for i in missing], [horizons[i] for i in missing],
                                    [seasons[i] for i in missing], workers, own_levels, time_limit)
            except OverTime as reason:
                skipped[method] = str(reason)
                seconds[method] = time.perf_counter() - start
                continue
            for i, forecast in zip(missing, fitted):
                results[i] = forecast
                if files is not None:
                    _store(files[i], forecast)
        seconds[method] = time.perf_counter() - start
        if own_levels:
            forecasts[method] = [rows[0] for rows in results]
            bands[method] = {str(level): ([rows[1 + 2 * k] for rows in results], [rows[2 + 2 * k] for rows in results])
                             for k, level in enumerate(own_levels)}
        else:
            forecasts[method] = results
    if COMBINATION in methods:
        missing_parts = [m for m in STATISTICAL_METHODS if m in skipped]
        if missing_parts:
            skipped[COMBINATION] = f"skipped: it needs {', '.join(missing_parts)}, which did not finish in time"
        else:
            forecasts[COMBINATION] = [np.mean([forecasts[m][i] for m in STATISTICAL_METHODS], axis=0)
                                      for i in range(len(trains))]
    return Baselines({m: forecasts[m] for m in methods if m in forecasts}, seconds,
                     {m: b for m, b in bands.items() if m not in skipped},
                     {m: reason for m, reason in skipped.items() if m in methods})


def msis(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, insample: np.ndarray, season_length: int,
         level: float) -> float:
    """Return the mean scaled interval score of one series' interval at `level` (0-1), as the M4 competition scored it.

    Per step: the width, plus 2 / (1 - level) times how far the actual value falls outside the
    interval; the mean over the horizon is divided by MASE's scale (the in-sample seasonal naive error).
    """
    actual, lower, upper = (np.asarray(a, float) for a in (actual, lower, upper))
    alpha = 1.0 - level
    penalty = (2.0 / alpha) * (np.maximum(lower - actual, 0.0) + np.maximum(actual - upper, 0.0))
    scale = mase_scale(insample, season_length)
    return float(np.mean(upper - lower + penalty) / scale) if np.isfinite(scale) else float("nan")


def summarise(per_series: dict[str, list[dict]], own: str = "lstm") -> dict:
    """Return each method's mean sMAPE, MASE and RMSE over the series, and the share of series where `own` wins.

    `per_series[method]` holds one scores() dict per series, in the same order for every method.
    Every mean is over all the series: one without a MASE (NaN) makes the mean MASE NaN rather than
    leaving the series out of it alone, so the caller leaves such series out of every metric.
    The share counts series where own's sMAPE is strictly lower than the baseline's (ties are not wins).
    """
    summary: dict = {}
    for method, rows in per_series.items():
        summary[method] = {metric: float(np.mean([row[metric] for row in rows])) if rows else float("nan")
                           for metric in ("smape", "mase", "rmse")}
    if own in per_series:
        mine = np.array([row["smape"] for row in per_series[own]])
        for method, rows in per_series.items():
            if method != own and len(rows):
                theirs = np.array([row["smape"] for row in rows])
                summary[method]["share_beaten_by_" + own] = float(np.mean(mine < theirs))
    return summary
