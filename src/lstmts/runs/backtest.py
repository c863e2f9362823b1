"""Rolling-origin backtests: refit at origins through the test period, forecast h steps from each.

`lstmts experiment=airline_best evaluation=backtest` trains the configuration on the data before
each origin (an expanding window, or a sliding one of fixed length), forecasts `horizon` steps
from it, and does the same with the classical baselines refitted at every origin, so that every
method is scored on the same origins and targets. Between refits (`refit_every` > 1) the last
model forecasts from the new origin with the data up to it; `fine_tune_epochs` continues each
refit from the previous weights instead of starting afresh.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from lstmts.errors import UserError
from lstmts.evaluation.classical import forecast_from, run_apart_during
from lstmts.evaluation.significance import p_by_horizon
from lstmts.report import files, plots
from lstmts.runs import runner


def origins_of(cfg: DictConfig, first_test: int, length: int) -> np.ndarray:
    """Return the origins: every `every` steps from the first test target, or `folds` evenly spaced."""
    settings = cfg.evaluation
    if settings.get("folds"):
        return np.unique(np.linspace(first_test, length - 1, int(settings.folds)).round().astype(int))
    return np.arange(first_test, length, int(settings.every))


def _window(origin: int, first_origin: int, sliding: bool) -> slice:
    return slice(origin - first_origin, origin) if sliding else slice(0, origin)


def lstm_paths(cfg: DictConfig, series, origins: np.ndarray, horizon: int, console=None) -> tuple[np.ndarray, list]:
    """Return ([origins, horizon] LSTM forecasts, seconds of each refit); each uses data before its origin only."""
    settings = cfg.evaluation
    sliding = settings.window == "sliding"
    paths = np.full((len(origins), horizon), np.nan)
    refitted, seconds = None, []
    for row, origin in enumerate(origins):
        window = _window(origin, origins[0], sliding)
        history = series.window(window.start, window.stop)  # known-future covariates keep their later rows
        if row % int(settings.refit_every) == 0:
            start = time.perf_counter()
            fine_tune = settings.get("fine_tune_epochs")
            if refitted is not None and fine_tune:
                tuned = cfg.copy()
                tuned.training.epochs = int(fine_tune)
                refitted = runner.refit(tuned, history, console, start_weights=refitted.weights)
            else:
                refitted = runner.refit(cfg, history, console)
            seconds.append(time.perf_counter() - start)
        # Between refits the last model forecasts from this origin: with this history's covariates, on its scaling.
        covariates, _ = runner.scale_covariates(cfg, history, len(history.values), refitted.scaling)
        paths[row] = refitted.forecast(history.values, horizon, covariates)
    return paths, seconds


def _method_paths(method: str, histories: list[np.ndarray], horizon: int, season_length: int, settings: dict):
    """Return ([origins, horizon] forecasts of one method refitted on each history, seconds), or the first "skipped: why"."""
    started = time.perf_counter()
    paths = np.full((len(histories), horizon), np.nan)
    for row, history in enumerate(histories):
        result = forecast_from(method, history, horizon, season_length, settings)
        if isinstance(result, str):
            return result
        paths[row] = result
    return paths, time.perf_counter() - started


def baseline_paths(cfg: DictConfig, series, origins: np.ndarray, horizon: int, season_length: int,
                   meanwhile=None) -> tuple[dict, float, object]:
    """Return ({method: [origins, horizon] forecasts, or why it was skipped}, seconds, meanwhile()).

    Each classical baseline is refitted at every origin, in a child process of its own (the
    methods in parallel, within baselines.time_limit for all its origins); `meanwhile()` (the
    LSTM's refits) runs in this process while they work, on the cores they leave. seconds is the
    longest method's.
    """
    from omegaconf import OmegaConf

    from lstmts.runs.runner import for_series

    settings = for_series(OmegaConf.to_container(cfg.baselines, resolve=True), series.frequency, season_length)
    sliding = cfg.evaluation.window == "sliding"
    histories = [series.values[_window(origin, origins[0], sliding)] for origin in origins]
    jobs = {method: (_method_paths, (method, histories, horizon, season_length, settings))
            for method in cfg.evaluation.baselines}
    results, value = run_apart_during(jobs, float(cfg.baselines.time_limit), meanwhile)
    seconds = max((r[1] for r in results.values() if not isinstance(r, str)), default=0.0)
    return {m: r if isinstance(r, str) else r[0] for m, r in results.items()}, seconds, value


def _scores(paths: np.ndarray, origins: np.ndarray, values: np.ndarray) -> dict:
    """Return the RMSE at each horizon over the origins whose target exists, and over all of them."""
    by_horizon, errors = {}, []
    for step in range(paths.shape[1]):
        targets = origins + step
        inside = targets < len(values)
        error = values[targets[inside]] - paths[inside, step]
        error = error[np.isfinite(error)]
        if len(error):
            by_horizon[str(step + 1)] = float(np.sqrt(np.mean(error**2)))
            errors.append(error)
    overall = float(np.sqrt(np.mean(np.concatenate(errors) ** 2))) if errors else None
    return {"rmse_by_horizon": by_horizon, "rmse": overall}


def origins_by_horizon(origins: np.ndarray, horizon: int, length: int) -> dict[str, int]:
    """Return how many origins each horizon is scored on: those whose target h - 1 steps on is inside the series."""
    return {str(step + 1): int(np.sum(origins + step < length)) for step in range(horizon)}


def _backtest(cfg: DictConfig, out_dir: Path, console) -> dict:
    from lstmts.runs.runner import prepare

    settings = cfg.evaluation  # checked by config.validate before this runs
    prepared = prepare(cfg)
    series = prepared.series
    horizon = int(settings.horizon)
    origins = origins_of(cfg, int(prepared.windows["test"].target_index[0]), len(series.values))
    if not len(origins):
        raise UserError("the backtest has no origin; lower evaluation.every or set evaluation.folds")
    if console is not None:
        console.print(f"backtest: {len(origins)} origins from {series.label(int(origins[0]))}, refit every"
                      f" {settings.refit_every}, {settings.window} window, {horizon} steps ahead", highlight=False)
    # The baselines' children fork before this process loads TensorFlow, then fit while the LSTM refits.
    classical, baseline_seconds, (paths, refit_seconds) = baseline_paths(
        cfg, series, origins, horizon, prepared.season_length,
        meanwhile=lambda: lstm_paths(cfg, series, origins, horizon, console))
    values = series.values
    methods = {"lstm": paths, **{m: p for m, p in classical.items() if not isinstance(p, str)}}
    scores = {name: _scores(p, origins, values) for name, p in methods.items()}
    rows = []
    for row, origin in enumerate(origins):
        for step in range(horizon):
            target = origin + step
            if target >= len(values):
                break
            rows.append({"origin": series.labels[origin], "horizon": step + 1, "target": series.labels[target],
                         "actual": values[target], **{name: p[row, step] for name, p in methods.items()}})
    frame = pd.DataFrame(rows)
    files.write_csv(out_dir / "backtest.csv", frame)
    plots.plot_backtest(out_dir / "backtest.png", frame, list(methods))
    lstm = scores.pop("lstm")
    warnings = runner.warnings_of(prepared)
    return {
        **({"warnings": warnings} if warnings else {}),
        "test_rmse": lstm["rmse_by_horizon"].get("1"),
        "test_rmse_by_horizon": lstm["rmse_by_horizon"],
        "baselines": {
            **{name: {"test_rmse": s["rmse_by_horizon"].get("1"), "test_rmse_by_horizon": s["rmse_by_horizon"],
                      "backtest_rmse": s["rmse"], "p_by_horizon": p_by_horizon(paths, methods[name], origins, values)}
               for name, s in scores.items()},
            **{name: {"note": note} for name, note in classical.items() if isinstance(note, str)},
        },
        "backtest": {
            "origins": len(origins), "first_origin": series.label(int(origins[0])),
            "last_origin": series.label(int(origins[-1])), "horizon": horizon, "window": settings.window,
            "origins_by_horizon": origins_by_horizon(origins, horizon, len(values)),
            "refit_every": int(settings.refit_every), "refits": len(refit_seconds),
            "fine_tune_epochs": settings.get("fine_tune_epochs"), "rmse": lstm["rmse"],
            "seconds_per_refit": float(np.mean(refit_seconds)) if refit_seconds else None,
            "lstm_seconds": round(float(np.sum(refit_seconds)), 3), "baseline_seconds": round(baseline_seconds, 3),
        },
        "frequency": series.frequency.name,
        "season_length": prepared.season_length,
        "protocol": cfg.protocol.get("name"),
        "data": runner.data_record(series),
        **runner.covariates_record(series),
    }


def run_backtest(cfg: DictConfig, out_dir: Path, *, choices: dict | None = None, console=None) -> dict:
    """Run a backtest into out_dir with the run folder's usual guarantees (metrics.json status and all)."""
    return runner.run(cfg, out_dir, choices=choices, console=console, body=_backtest)
