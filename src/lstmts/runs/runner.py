"""One experiment from config to run folder: `run(cfg, out_dir) -> metrics`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from lstmts.backend import load as load_backend, load_seconds
from lstmts.config import airline_csv, check_horizons, check_stateful_batches, layer_units, validate
from lstmts.data.covariates import Scaled, Scaling, covariate_warnings, extend_calendar
from lstmts.data.framing import Periods, Windows, make_windows, plan_periods
from lstmts.data.frequency import season_for, suggested_season
from lstmts.data.collection import load_collection
from lstmts.data.series import Series, columns_of, file_sha256, load_series, missing_note, reversed_note
from lstmts.data.transforms import Pipeline
from lstmts.errors import UserError, overrides_text, stop_reason
from lstmts.evaluation import intervals
from lstmts.evaluation.metrics import score, seasonal_scale
from lstmts.evaluation.scoring import (against_best, baseline_scores, choose_best_baseline, classical_horizon_scores,
                                      horizon_metrics, naive_horizon_scores, repeat_scores)
from lstmts.report import files, plots, tensorboard
from lstmts.report.titles import run_title, score_title
from lstmts.runs.phases import Phases
from lstmts.runs.progress import RunProgress
from lstmts.runs.records import flatten

SPLITS = ("train", "validation", "test")
log = logging.getLogger("lstmts")


@dataclass
class Prepared:
    """The checked series, its fitted transforms, the periods and the model-ready windows."""

    series: Series
    pipeline: Pipeline
    periods: Periods
    windows: dict[str, Windows]
    season_length: int
    covariates: Scaled | None = None  # scaled covariates by series position (rows past the end: future ones)
    scaling: Scaling | None = None


def scale_covariates(cfg: DictConfig, series: Series, stop: int,
                     scaling: Scaling | None = None) -> tuple[Scaled | None, Scaling | None]:
    """Return the series' covariates scaled on positions before `stop`, calendar rows reaching past the end, and the scaling.

    With `scaling` (one fitted earlier, as a refit's at a later backtest origin), it is used as it is.
    """
    if series.covariates is None:
        return None, None
    reach = max([*(cfg.get("horizons") or []), cfg.intervals.steps, model_outputs(cfg),
                 *([cfg.evaluation.horizon] if cfg.get("evaluation") is not None else [])])
    covariates = extend_calendar(series.covariates, series.labels, series.frequency, reach)
    scaling = scaling or Scaling.fit(covariates, stop)
    return Scaled.of(covariates, scaling), scaling


def prepare(cfg: DictConfig, history_only: bool = False, series: Series | None = None) -> Prepared:
    """Load and check the data, fit the transforms and frame every period (no Keras involved).

    `history_only`: transform and frame only the values before the test period (no test windows),
    so that nothing about the test values (a log's positivity included) can change what is built.
    `series`: this series instead of cfg.data's (the automatic LSTM's residuals).
    """
    series = load_series(cfg.data, airline_csv()) if series is None else series
    if series.filled or series.trimmed:
        log.info("%s", missing_note(series.filled, series.trimmed))
    if series.newest_first:
        log.info("%s", reversed_note())
    protocol = cfg.protocol
    pipeline = Pipeline(list(protocol.transforms))
    periods = plan_periods(
        len(series.values),
        cfg.framing.look_back,
        cfg.split.train_fraction,
        validation_fraction=cfg.split.get("validation_fraction", 0.0),
        drop_last=protocol.drop_last_sample,
        test_windows_inside_split=protocol.test_windows_inside_split,
        warmup=pipeline.warmup,
    )
    fit_stop = len(series.values) if protocol.scaler_sees_test and not history_only else _training_end(periods)
    pipeline.fit(series.values[:fit_stop])
    transformed = pipeline.transform(series.values[:periods.split] if history_only else series.values)
    # Covariates are scaled on the training part, whatever the protocol lets the target's scaler see.
    covariates, scaling = scale_covariates(cfg, series, _training_end(periods))
    windows = {
        split: make_windows(transformed, getattr(periods, split), cfg.framing.look_back, cfg.framing.lags_as,
                            covariates=covariates)
        for split in SPLITS
        if len(getattr(periods, split)) and not (history_only and split == "test")
    }
    outputs = model_outputs(cfg)
    if outputs > 1:
        # The direct strategy trains on targets t .. t+H-1, all inside the training period.
        train = periods.train[periods.train + outputs - 1 < _training_end(periods)]
        if not len(train):
            raise UserError(f"framing.strategy=direct with a horizon of {outputs} leaves no training sample;"
                            f" use fewer horizons or a smaller framing.look_back")
        windows["train"] = make_windows(transformed, train, cfg.framing.look_back, cfg.framing.lags_as, outputs,
                                        covariates=covariates)
    return Prepared(series=series, pipeline=pipeline, periods=periods, windows=windows,
                    season_length=season_for(cfg.season_length, series.frequency), covariates=covariates,
                    scaling=scaling)


def data_record(series: Series) -> dict:
    """Return metrics.json's `data`: the file, its SHA-256, the values used, the missing ones filled in or left
    out, and whether the file listed its dates newest first."""
    return {"path": str(series.path), "sha256": series.sha256, "values": len(series.values), "filled": series.filled,
            "trimmed": series.trimmed, "newest_first": series.newest_first}


def covariates_record(series: Series) -> dict:
    """Return metrics.json's `covariates`: the CSV columns and calendar features the LSTM took in ({} for none).

    The baselines never take them: the run's table says so.
    """
    covariates = series.covariates
    if covariates is None:
        return {}
    calendar = list(covariates.calendar)
    return {"covariates": {"past": list(covariates.past_names),
                           "future": [name for name in covariates.future_names if name not in calendar],
                           "calendar": calendar}}


def model_outputs(cfg: DictConfig) -> int:
    """Return how many values the network outputs: 1 (recursive) or the horizon H (direct)."""
    if cfg.framing.get("strategy", "recursive") != "direct":
        return 1
    return int(cfg.framing.get("horizon") or max(cfg.horizons or [1]))


def _training_end(periods: Periods) -> int:
    return int(periods.validation[0]) if len(periods.validation) else periods.split


def season_hint(cfg: DictConfig, series: Series, prepared: Prepared) -> dict | None:
    """Return {"lag", "autocorrelation"} where a series without dates, left at season 1, has training values
    whose changes repeat (frequency.suggested_season: read before validation and test), else None."""
    if series.has_dates or cfg.get("season_length") not in (None, "auto") or prepared.season_length != 1:
        return None
    found = suggested_season(series.values[:_training_end(prepared.periods)])
    return None if found is None else {"lag": found[0], "autocorrelation": round(found[1], 3)}


def warnings_of(prepared: Prepared) -> list[str]:
    """Return one line per covariate that looks like a leak or leaves its training range (see covariate_warnings)."""
    series = prepared.series
    if series.covariates is None:
        return []
    lines = covariate_warnings(series.values, series.covariates, series.labels, _training_end(prepared.periods))
    for line in lines:
        log.warning("%s", line)
    return lines


def _versions() -> dict:
    from lstmts.backend import load

    keras, tf = load()
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def _train_repeats(cfg: DictConfig, prepared: Prepared, progress: RunProgress, *, score: bool = True,
                   start_weights: list | None = None, phases: Phases | None = None):
    from lstmts.models.network import ModelSpec
    from lstmts.models.training import train, updates_per_epoch, uses_xla

    train_windows = prepared.windows["train"]
    stateful = bool(cfg.model.stateful)
    if stateful:
        check_stateful_batches(cfg.training.batch_size, len(train_windows))
    _, time_steps, features = train_windows.inputs.shape
    spec = ModelSpec(
        units=tuple(layer_units(cfg.model)),
        time_steps=time_steps,
        features=features,
        stateful=stateful,
        batch_size=cfg.training.batch_size,
        outputs=model_outputs(cfg),
    )
    seeds = [cfg.seed + k for k in range(cfg.training.repeats)]
    held_out = prepared.windows.get("validation")
    validation = (held_out.inputs, held_out.targets) if held_out is not None else None
    updates = cfg.training.epochs * updates_per_epoch(len(train_windows), spec.batch_size)
    compiling = cfg.training.engine == "fast" and uses_xla(cfg.training.jit_compile, updates, spec)
    phases = phases or Phases()
    for number, seed in enumerate(seeds):
        on_epoch = progress.training(f"seed {seed}" if len(seeds) > 1 else "training", cfg.training.epochs,
                                     compiling)
        first_epoch: list[float] = []

        def timed(epoch: int, loss: float, on_epoch=on_epoch, first_epoch=first_epoch) -> None:
            if not first_epoch:
                first_epoch.append(time.perf_counter())
            if on_epoch:
                on_epoch(epoch, loss)

        started, loaded = time.perf_counter(), load_seconds()
        with phases.phase("train"):
            trained = train(
                spec,
                train_windows.inputs,
                train_windows.targets,
                epochs=cfg.training.epochs,
                shuffle=cfg.training.shuffle,
                seed=seed,
                learning_rate=cfg.training.learning_rate,
                engine=cfg.training.engine,
                jit_compile=cfg.training.jit_compile,
                on_epoch=timed,
                validation=validation,
                start_weights=start_weights[number] if start_weights else None,
                patience=cfg.training.get("patience") if validation is not None else None,
                lr_schedule=cfg.training.get("lr_schedule", "constant"),
            )
        if first_epoch:  # building the graph and the first epoch: XLA's compile, or the fused kernels' trace
            phases.move("train", "compile", first_epoch[0] - started - (load_seconds() - loaded))
        if not score:
            yield seed, trained, {}
            continue
        with phases.phase("score"):
            predictions = {
                split: prepared.pipeline.inverse(trained.predict(w.inputs), w.target_index, prepared.series.values)
                for split, w in prepared.windows.items()
            }
            _check_finite(predictions, seed)
            forecaster = _forecaster(cfg, prepared.pipeline, trained.model, prepared.covariates)
            horizons = list(cfg.horizons or [])
            test_origins = prepared.windows["test"].target_index
            predictions["paths"] = (forecaster.paths(prepared.series.values, test_origins, max(horizons))
                                    if horizons else None)
            if cfg.intervals.levels:
                origins = _calibration_origins(prepared)
                predictions["calibration_paths"] = forecaster.paths(prepared.series.values, origins,
                                                                    cfg.intervals.steps)
        yield seed, trained, predictions


def _check_finite(predictions: dict[str, np.ndarray], seed: int) -> None:
    """Raise UserError when a model's predictions, in original units, are not all finite numbers."""
    for split, values in predictions.items():
        bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
        if bad:
            raise UserError(f"the model of seed {seed} made {bad} {split} prediction(s) that are not finite numbers"
                            f" (they overflow when the transforms are undone); check the data's scale and"
                            f" protocol.transforms")


@dataclass
class Refitted:
    """A configuration trained on every value of a series: each seed's weights and the transforms."""

    cfg: DictConfig
    model: object  # a model of the architecture; each seed's weights are set on it in turn
    weights: list[list[np.ndarray]]
    pipeline: Pipeline
    first_target: int  # where a stateful model's warm-up starts
    covariates: Scaled | None = None
    scaling: Scaling | None = None
    updates: int = 0  # the optimizer updates of its training, every seed's

    def forecast(self, values: np.ndarray, steps: int, covariates: Scaled | None = None) -> np.ndarray:
        """Return the ensemble's forecast of the `steps` values after `values` (history up to an origin).

        `covariates` replaces the ones it was trained with (the same scaling, future rows added).
        """
        paths = []
        for weights in self.weights:
            self.model.set_weights(weights)
            forecaster = _forecaster(self.cfg, self.pipeline, self.model, covariates or self.covariates)
            paths.append(forecaster.beyond(values, steps, self.first_target))
        return np.mean(paths, axis=0)


def refit(cfg: DictConfig, series: Series, console=None, start_weights: list | None = None) -> Refitted:
    """Train a run's configuration on every value of `series` (no test period).

    A stateful model drops the oldest samples that do not fill a whole batch. With
    `start_weights` (one list per seed), training continues from them instead of a fresh start.
    """
    pipeline = Pipeline(list(cfg.protocol.transforms)).fit(series.values)
    first = cfg.framing.look_back + pipeline.warmup
    if cfg.model.stateful:
        first += (len(series.values) - first) % cfg.training.batch_size
    index = np.arange(first, len(series.values))
    if len(index) < 2:
        raise UserError(f"the series has {len(series.values)} values, too few to refit framing.look_back="
                        f"{cfg.framing.look_back} on all of them")
    outputs = model_outputs(cfg)
    index = index[index + outputs - 1 < len(series.values)]
    covariates, scaling = scale_covariates(cfg, series, len(series.values))
    windows = {"train": make_windows(pipeline.transform(series.values), index, cfg.framing.look_back, cfg.framing.lags_as,
                                     outputs, covariates=covariates)}
    empty = np.array([], dtype=np.int64)
    prepared = Prepared(series=series, pipeline=pipeline, periods=Periods(index, empty, empty, len(series.values)),
                        windows=windows, season_length=season_for(cfg.season_length, series.frequency),
                        covariates=covariates, scaling=scaling)
    weights, model, updates = [], None, 0
    with RunProgress(console) as progress:
        # The fast engines train one shared model per architecture: keep each seed's weights at once.
        for _, trained, _ in _train_repeats(cfg, prepared, progress, score=False, start_weights=start_weights):
            weights.append(trained.model.get_weights())
            model = trained.model
            updates += trained.updates
    return Refitted(cfg=cfg, model=model, weights=weights, pipeline=pipeline, first_target=first, covariates=covariates,
                    scaling=scaling, updates=updates)


def _forecaster(cfg: DictConfig, pipeline: Pipeline, model, covariates: Scaled | None = None):
    from lstmts.models.forecaster import Forecaster

    return Forecaster(model, pipeline, cfg.framing.look_back, cfg.framing.lags_as,
                      bool(cfg.model.stateful), cfg.training.batch_size, covariates)


# Enough errors for a 95 % quantile to settle; a long series' older errors add time, not accuracy.
MAX_CALIBRATION_ORIGINS = 5000


def _calibration_origins(prepared: Prepared) -> np.ndarray:
    """Return the origins whose errors calibrate the intervals: the (latest) validation targets, else training targets."""
    windows = prepared.windows["validation"] if "validation" in prepared.windows else prepared.windows["train"]
    return windows.target_index[-MAX_CALIBRATION_ORIGINS:]


def _intervals(cfg: DictConfig, prepared: Prepared, ensemble: dict, per_seed: list) -> tuple[dict, dict]:
    """Return (intervals.json content, metrics) of split-conformal intervals, and add bounds to `ensemble`."""
    values = prepared.series.values
    relative = "log" in list(cfg.protocol.transforms)
    calibration_paths = np.mean([p["calibration_paths"] for _, _, p in per_seed], axis=0)
    on = "validation" if "validation" in prepared.windows else "train"
    stop = int(prepared.windows[on].target_index[-1]) + 1
    errors = intervals.calibration_errors(calibration_paths, _calibration_origins(prepared), values, stop, relative)
    widths = intervals.conformal_quantiles(errors, list(cfg.intervals.levels))
    saved = {"calibrated_on": on, "errors": "relative" if relative else "absolute", "widths": widths,
             "calibration_targets": int(len(errors[0]))}
    scored = {}
    test_index = prepared.windows["test"].target_index
    for level, level_widths in widths.items():
        # The test period's one-step predictions get the horizon-1 interval (none with too few errors).
        one_step = level_widths[0] if level_widths[0] is not None else np.nan
        lower, upper = intervals.bounds(ensemble["test"], one_step, relative)
        ensemble[f"test_lower_{level}"], ensemble[f"test_upper_{level}"] = lower, upper
        scored.setdefault("test_coverage", {})[level] = intervals.coverage(values[test_index], lower, upper)
        if ensemble.get("paths") is not None:
            by_horizon = {}
            for horizon in cfg.horizons:
                if horizon > len(level_widths) or level_widths[horizon - 1] is None:
                    continue
                targets = test_index + horizon - 1
                inside = targets < len(values)
                lower, upper = intervals.bounds(ensemble["paths"][inside, horizon - 1], level_widths[horizon - 1], relative)
                by_horizon[str(horizon)] = intervals.coverage(values[targets[inside]], lower, upper)
            scored.setdefault("test_coverage_by_horizon", {})[level] = by_horizon
    return saved, {**{k: v for k, v in saved.items() if k != "widths"}, **scored}


def _predictions_frame(prepared: Prepared, predictions: dict[str, np.ndarray]) -> pd.DataFrame:
    """Return date, actual, split, prediction and, where there are intervals, lower_80, upper_80, ..."""
    frames = []
    for split, windows in prepared.windows.items():
        columns = {
            "date": prepared.series.labels[windows.target_index],
            "actual": prepared.series.values[windows.target_index],
            "split": split,
            "prediction": predictions[split],
        }
        for key, bound in predictions.items():
            if key.startswith(f"{split}_lower_") or key.startswith(f"{split}_upper_"):
                columns[key.removeprefix(f"{split}_")] = bound
        frames.append(pd.DataFrame(columns))
    return pd.concat(frames, ignore_index=True)


def _score_split(prepared: Prepared, split: str, predictions: np.ndarray, scale) -> dict:
    index = prepared.windows[split].target_index
    return score(prepared.series.values[index], predictions, scale)


def _classical(cfg: DictConfig, prepared: Prepared) -> tuple[dict, dict]:
    """Return the classical models' forecasts and their paths from the test origins (_classical_during's);
    ({}, {}) when switched off.

    Called before training: a fit that is not cached yet runs in a child process while this one
    has not loaded TensorFlow (see classical_forecasts).
    """
    classical, paths, _ = _classical_during(cfg, prepared)
    return classical, paths


def path_origins(cfg: DictConfig, prepared: Prepared) -> tuple[np.ndarray, int] | None:
    """Return (the test origins, steps) from which the classical baselines forecast `steps` ahead for
    test_rmse_by_horizon: every test target, the longest of the run's horizons; None when the run asks
    for one step ahead only."""
    steps = max(cfg.get("horizons") or [1])
    if steps <= 1:
        return None
    return np.asarray(prepared.windows["test"].target_index, dtype=int), int(steps)


def classical_settings(cfg: DictConfig, prepared: Prepared) -> dict:
    """Return the run's classical baseline settings (cfg.baselines) as classical_forecasts takes them,
    with what the series' dates say (for_series)."""
    settings = OmegaConf.to_container(cfg.baselines, resolve=True)
    settings.pop("classical", None)
    return for_series(settings, prepared.series.frequency, prepared.season_length)


def for_series(settings: dict, frequency, season_length: int) -> dict:
    """Return baseline settings with what the series' dates say: second_season resolved (the cycle above
    the season, or None) and `year` (baselines.year): with auto the length of a year in steps where the
    steps do not divide it (weekly, daily and business-daily values), a number as given, or None. A
    season or cycle that is a year (52 weeks, 364 days) is carried forward as a yearly pattern."""
    from lstmts.data.frequency import year_length

    year = settings.get("year", "auto")
    return {**settings, "second_season": baseline_cycle(settings.get("second_season", "auto"), frequency, season_length),
            "year": year_length(frequency) if year == "auto" else (None if year is None else float(year))}


def baseline_cycle(setting, frequency, season_length: int) -> int | None:
    """Return the cycle above the season that `mstl` models: baselines.second_season as a lag, or with
    auto the series' own (a week of intraday values whose season is a day, 52 weeks of daily ones;
    none for a season the user set), or None; only a cycle longer than the season."""
    from lstmts.data.frequency import cycle_for

    cycle = cycle_for(setting, frequency, season_length)
    return cycle if cycle is not None and cycle > season_length else None


def _classical_during(cfg: DictConfig, prepared: Prepared, meanwhile=None, at="test") -> tuple[dict, dict, object]:
    """Return (the classical models' one-step forecasts, their paths from `at` = (origins, steps), by
    default the test origins (path_origins; {} for one step ahead), meanwhile()): fits not cached yet run
    in child processes while `meanwhile` (training, a search) runs in this one, on the other cores."""
    if not cfg.baselines.classical:
        return {}, {}, (meanwhile() if meanwhile is not None else None)
    from lstmts.evaluation.classical import classical_forecasts_and_paths

    settings = classical_settings(cfg, prepared)

    def on_fit(methods: list[str]) -> None:
        # On a terminal the progress display shows this phase; the log keeps it for pipes and batch jobs.
        log.info("fitting classical baselines (%s; at most %s s each, cached for later runs)", ", ".join(methods),
                 settings["time_limit"])

    return classical_forecasts_and_paths(prepared.series.values, _training_end(prepared.periods), prepared.season_length,
                                         settings, path_origins(cfg, prepared) if at == "test" else at,
                                         on_fit=on_fit, apart=True, meanwhile=meanwhile)


def _choices(cfg: DictConfig, choices: dict | None) -> dict:
    if choices:
        return {k: v for k, v in choices.items() if not k.startswith("hydra") and k != "hydra"}
    return {group: cfg[group].get("name") for group in ("data", "framing", "model", "protocol")}


def _resolved_yaml(cfg: DictConfig) -> str:
    """Return the config with every interpolation resolved; a broken one is the user's to fix."""
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_yaml(cfg, resolve=True)
    except OmegaConfBaseException as error:
        key = f" in {error.full_key}" if getattr(error, "full_key", None) else ""
        reason = str(error.msg).splitlines()[0]
        raise UserError(f"the config cannot be resolved{key}: {reason}; fix that value or override") from None


# What a run writes into its folder, and `lstmts forecast` beside it: a reused folder loses them
# all before a new run starts, so that no file in it comes from another run.
RUN_OUTPUTS = ("metrics.json", "config.yaml", "predictions.csv", "transforms.json", "covariates.json", "intervals.json",
               "model.keras",
               "forecast.png", "loss.png", "forecast-*.csv", "forecast-*.png", "events.out.tfevents.*",
               "backtest.csv", "backtest.png", "series.csv", "forecasts.csv", "errors.png", "series.png",
               "models.npz", "models.json",
               "models/seed-*.keras", "candidates.csv", "residuals.json", "voices.csv",
               "members/*/config.yaml", "members/*/model.keras",
               "members/*/transforms.json", "members/*/member.json")
# Folders of those outputs, removed once a clean slate leaves them empty (deepest first).
RUN_FOLDERS = ("members/*", "members", "models")


def clear_earlier_outputs(out_dir: Path) -> list[str]:
    """Remove an earlier run's outputs (and temporary files a killed run left) from out_dir; return their names.

    Only files that lstmts recorded writing (report.files.MANIFEST) are removed. A file with an
    output's name that lstmts did not record (the user's own series.csv, say) refuses the folder
    with one line, before anything in it is touched. Hydra's own `.hydra/` and log stay.
    """
    found: list[Path] = []
    for pattern in RUN_OUTPUTS:
        found += [path for path in out_dir.glob(pattern) if path.is_file() or path.is_symlink()]
    recorded = {folder: files.recorded(folder) for folder in {path.parent for path in found}}
    foreign = [path for path in found if path.name not in recorded[path.parent]]
    if foreign:
        names = ", ".join(sorted(str(path.relative_to(out_dir)) for path in foreign)[:6])
        raise UserError(f"{out_dir} holds files that no lstmts run wrote there ({names}); move them away, or choose"
                        f" another run folder with hydra.run.dir=PATH")
    removed = []
    for path in found:
        path.unlink()
        removed.append(str(path.relative_to(out_dir)))
    for pattern in RUN_OUTPUTS:  # temporary files of the atomic writers, left by a killed run
        folder, _, name = pattern.rpartition("/")
        for path in out_dir.glob(f"{folder}/.{name}.*" if folder else f".{name}.*"):
            if path.is_file():
                path.unlink()
    for folder in {path.parent for path in found}:
        files.forget_recorded(folder, {path.name for path in found if path.parent == folder})
    for pattern in RUN_FOLDERS:
        for folder in out_dir.glob(pattern):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    if removed:
        _truncate_own_log(out_dir)
    return removed


# What a run that failed before writing any output leaves in its folder: Hydra's, the log, the record of the failure.
FAILED_RUN_LEFTOVERS = {".hydra", "lstmts.log", "config.yaml", "metrics.json", files.MANIFEST, files.LOCK_FILE}


def remove_failed_run(out_dir: Path) -> bool:
    """Remove a run folder whose run failed before writing any output, and its parent if that is left empty.

    For the folders lstmts names by date and time: the error was on the console, and a folder
    with nothing but the failure in it would only turn up in later globs (lstmts compare
    outputs/*/*). A folder holding anything else stays. Returns whether it was removed.
    """
    import shutil

    out_dir = Path(out_dir)
    try:
        if json.loads((out_dir / "metrics.json").read_text()).get("status") != "failed":
            return False
        if not {path.name for path in out_dir.iterdir()} <= FAILED_RUN_LEFTOVERS:
            return False
        shutil.rmtree(out_dir)
    except (OSError, ValueError, AttributeError):
        return False
    try:
        out_dir.parent.rmdir()  # only when empty: outputs/DATE of this one failed run
    except OSError:
        pass
    return True


def _truncate_own_log(out_dir: Path) -> None:
    """Empty Hydra's log file in out_dir, which an earlier run of the folder appended to."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename).parent == out_dir.resolve():
            handler.flush()
            if handler.stream is not None:
                handler.stream.truncate(0)


def config_fingerprint(cfg: DictConfig) -> str:
    """Return the SHA-256 of the resolved config, without the `resume` switch: equal for the same experiment."""
    tree = OmegaConf.to_container(cfg, resolve=True)
    tree.pop("resume", None)
    return hashlib.sha256(json.dumps(tree, sort_keys=True, default=str).encode()).hexdigest()


def finished_run(cfg: DictConfig, out_dir: Path) -> dict | None:
    """Return the metrics of out_dir when it holds a finished run of this very config with all its files, else None."""
    out_dir = Path(out_dir)
    try:
        metrics = json.loads((out_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(metrics, dict) or metrics.get("status") != "ok":
        return None
    if metrics.get("config_sha256") != config_fingerprint(cfg):
        return None
    if not all(path.is_file() and path.stat().st_size > 0 for path in _finished_files(cfg, out_dir)):
        return None
    # The config names the data file, not its values: a CSV edited in place is other data.
    recorded = metrics.get("collection") if metrics.get("kind") == "collection" else metrics.get("data")
    if not isinstance(recorded, dict) or recorded.get("sha256") != data_sha256(cfg):
        return None
    return metrics


def _finished_files(cfg: DictConfig, out_dir: Path) -> list[Path]:
    """Return the files a finished run of cfg leaves in out_dir (collection and backtest runs save no model)."""
    if cfg.get("collection") is not None:
        return [out_dir / name for name in ("config.yaml", "series.csv", "forecasts.csv")]
    if cfg.get("evaluation") is not None:  # a backtest keeps its forecasts per origin, no single model
        return [out_dir / name for name in ("config.yaml", "backtest.csv")]
    models = [out_dir / "model.keras"]
    if cfg.training.repeats > 1:
        models += [out_dir / "models" / f"seed-{cfg.seed + k}.keras" for k in range(cfg.training.repeats)]
    return [*models, out_dir / "predictions.csv", out_dir / "config.yaml", out_dir / "transforms.json"]


def data_sha256(cfg: DictConfig) -> str | None:
    """Return the sha256 a run of cfg records for its data as it is now (a collection's: of its series), or None.

    None when the data cannot be read: the run then says why.
    """
    try:
        if cfg.get("collection") is not None:
            return load_collection(cfg.data).sha256
        return file_sha256(Path(cfg.data.path) if cfg.data.path else airline_csv())
    except (UserError, OSError, ValueError):
        return None


def _out_of_memory(error: BaseException) -> bool:
    return isinstance(error, MemoryError) or type(error).__name__ == "ResourceExhaustedError"


def run(cfg: DictConfig, out_dir: Path, *, choices: dict | None = None, console=None, body=None) -> dict:
    """Run one experiment into out_dir and return its metrics (also written to metrics.json).

    The run holds out_dir's lock while it runs (another live run there raises FolderInUse) and
    starts by removing an earlier run's outputs. `body(cfg, out_dir, console) -> metrics` does
    the work (a plain run by default; a backtest). Whatever happens, metrics.json ends with status
    ok, failed (with the error) or interrupted (with the signal).
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise files.cannot_write(out_dir, error) from None
    files.hold_folder(out_dir)
    try:
        return _run_held(cfg, out_dir, choices, console, body)
    finally:
        files.release_folder(out_dir)


def _run_held(cfg: DictConfig, out_dir: Path, choices: dict | None, console, body) -> dict:
    try:
        removed = clear_earlier_outputs(out_dir)
    except OSError as error:
        raise files.cannot_write(out_dir, error) from None
    metrics: dict = {
        "status": "running",
        # Who is running it: `compare` tells a live run from one that was killed.
        "process": {"host": platform.node(), "pid": os.getpid()},
        "started_at": dt.datetime.now().isoformat(timespec="seconds"),
    }
    files.write_json(out_dir / "metrics.json", metrics)
    try:
        if removed:
            log.info("run folder %s held an earlier run; removed %s", out_dir, ", ".join(removed))
        resolved = _resolved_yaml(cfg)
        metrics.update(choices=_choices(cfg, choices), seed=cfg.seed, config_sha256=config_fingerprint(cfg))
        files.write_atomic(out_dir / "config.yaml", resolved)
        log.info("run folder %s; config:\n%s", out_dir, resolved)
        validate(cfg)
        found = _settle_columns(cfg, out_dir)
        if found:
            metrics["found_in_file"] = found
        metrics.update((body or _run)(cfg, out_dir, console))
        metrics["status"] = "ok"
        log.info("outcome: %s", {k: metrics.get(k) for k in ("train_rmse", "test_rmse", "updates", "train_seconds")})
    except KeyboardInterrupt as stop:
        name, _ = stop_reason(stop)
        how = "by the user (Ctrl-C)" if name == "SIGINT" else f"by {name}"
        metrics.update(status="interrupted", signal=name, error=f"interrupted {how}")
        log.warning("interrupted by %s", name)
        raise
    except UserError as error:
        metrics.update(status="failed", error=str(error))
        log.error("failed: %s", error)
        raise
    except Exception as error:
        if _out_of_memory(error):
            reason = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
            message = (f"out of memory ({reason}); use fewer model.units or model.layers, a smaller"
                       f" training.batch_size or framing.look_back")
            metrics.update(status="failed", error=message)
            log.error("failed: %s", message)
            raise UserError(message) from None
        metrics.update(status="failed", error=f"internal error: {type(error).__name__}: {error}")
        log.exception("internal error")
        raise
    finally:
        metrics["finished_at"] = dt.datetime.now().isoformat(timespec="seconds")
        _write_final_metrics(out_dir, metrics)
    return metrics


def _settle_columns(cfg: DictConfig, out_dir: Path) -> dict:
    """Set the columns a CSV run left to the file (data.column null, data.date_column auto) to the ones
    found there, and write config.yaml again with them: the run folder, its rerun and `lstmts forecast`
    read those columns, whatever the file gets later. Return them as {"data.column": name, ...}."""
    if cfg.get("collection") is not None or "column" not in cfg.data:
        return {}
    found = columns_of(cfg.data, airline_csv())
    for key, name in found.items():
        cfg.data[key] = name
    settled = {f"data.{key}": name for key, name in found.items()}
    if settled:
        log.info("columns found in %s: %s", cfg.data.path, overrides_text(settled))
        files.write_atomic(out_dir / "config.yaml", _resolved_yaml(cfg))
    return settled


def _write_final_metrics(out_dir: Path, metrics: dict) -> None:
    """Write the final metrics.json; when even that fails (a full disk), leave the run's own error on its way.

    The file then still says `running`, with a process that is gone: `compare` shows it as interrupted.
    """
    try:
        files.write_json(out_dir / "metrics.json", metrics)
    except files.CannotWrite as error:
        log.error("%s", error)
        if metrics["status"] == "ok":
            raise


def _run(cfg: DictConfig, out_dir: Path, console) -> dict:
    phases = Phases()
    with phases.phase("data"):
        prepared = prepare(cfg)
    # Only now is the test period's length known; a backtest scores evaluation.horizon instead.
    check_horizons(cfg.horizons or [], len(prepared.windows["test"]))
    series = prepared.series
    log.info("data %s: %d values; samples %s", series.path, len(series.values),
             {split: len(w) for split, w in prepared.windows.items()})
    per_seed = []
    with RunProgress(console) as progress:
        with phases.phase("baselines"), progress.phase("fitting the baselines"):
            classical, classical_paths = _classical(cfg, prepared)
        with phases.phase("import"):
            load_backend()
        plots.prefetch()  # matplotlib loads on the second core while TensorFlow trains
        for seed, trained, predictions in _train_repeats(cfg, prepared, progress, phases=phases):
            per_seed.append((seed, trained, predictions))
            with phases.phase("write"):
                _save_model(cfg, out_dir, seed, trained.model)
    with phases.phase("score"):
        metrics = _score_run(cfg, prepared, per_seed, classical, classical_paths)
    with phases.phase("write"):
        _write_outputs(cfg, out_dir, prepared, metrics.pop("_ensemble"), {seed: t.losses for seed, t, _ in per_seed},
                       {seed: t.validation_losses for seed, t, _ in per_seed}, metrics, metrics.pop("_interval_file"))
    metrics["phases"] = phases.rounded()
    log.info("%s", phases.line())
    return metrics


def _score_run(cfg: DictConfig, prepared: Prepared, per_seed: list, classical,
               classical_paths: dict | None = None) -> dict:
    """Return the run's metrics from each seed's predictions (and, under private keys, what the writer needs);
    `classical_paths` ({name: [test origins, steps] or "skipped: why"}, from the test targets on) give the
    classical baselines' test_rmse_by_horizon."""
    series = prepared.series
    # With repeats, the run is scored on the ensemble: the mean of the models' predictions.
    ensemble = {split: np.mean([p[split] for _, _, p in per_seed], axis=0) for split in prepared.windows}
    paths = [p["paths"] for _, _, p in per_seed if p["paths"] is not None]
    ensemble["paths"] = np.mean(paths, axis=0) if paths else None
    interval_file = None
    if cfg.intervals.levels:
        interval_file, interval_metrics = _intervals(cfg, prepared, ensemble, per_seed)
    scale = seasonal_scale(series.values, _training_end(prepared.periods), prepared.season_length)

    metrics: dict = {}
    for split in prepared.windows:
        for key, value in _score_split(prepared, split, ensemble[split], scale).items():
            metrics[f"{split}_{key}"] = value
    for key in ("train_rmse", "test_rmse", "validation_rmse"):
        value = metrics.get(key)
        if key in metrics and (value is None or not np.isfinite(value)):
            raise UserError(f"{key} is not a finite number (the errors overflow when squared); rescale the data"
                            f" so that its values are nearer 1")
    targets = {split: w.target_index for split, w in prepared.windows.items()}
    baselines = baseline_scores(series.values, targets, prepared.season_length, scale, classical)
    persistence = baselines.get("persistence", {}).get("test_rmse")
    metrics["test_rmse_ratio_to_persistence"] = metrics["test_rmse"] / persistence if persistence else None
    metrics["baselines"] = baselines
    best = choose_best_baseline(metrics)  # on validation when the run has it, as the LSTM is chosen
    if best:
        metrics["best_baseline"] = {"name": best["name"], "chosen_on": best["chosen_on"],
                                    "test_rmse": baselines[best["name"]].get("test_rmse")}
        metrics["test_rmse_ratio_to_best_baseline"] = best["ratio"] if best["compared_on"] == "test" else None
        if best["compared_on"] == "test":
            test = against_best(series.values, targets["test"], prepared.season_length, classical, best["name"],
                                ensemble["test"])
            if test:
                metrics["best_baseline"]["diebold_mariano"] = test
    metrics["frequency"] = series.frequency.name
    metrics["season_length"] = prepared.season_length
    hint = season_hint(cfg, series, prepared)
    if hint:
        metrics["season_hint"] = hint
    metrics["seen"] = seen(cfg, series.values, _training_end(prepared.periods), targets["test"])
    metrics["protocol"] = cfg.protocol.get("name")
    warnings = warnings_of(prepared)
    if warnings:
        metrics["warnings"] = warnings
    if cfg.training.repeats > 1:
        metrics["repeats"] = repeat_scores(series.values, targets, [(seed, p) for seed, _, p in per_seed])
    if ensemble["paths"] is not None:
        metrics.update(horizon_metrics(ensemble["paths"], targets["test"], series.values, cfg.horizons))
        for name, scores in naive_horizon_scores(series.values, targets["test"], prepared.season_length, cfg.horizons,
                                                 ensemble["paths"]).items():
            baselines.setdefault(name, {}).update(scores)
        for name, scores in classical_horizon_scores(classical_paths or {}, series.values, targets["test"],
                                                     cfg.horizons, ensemble["paths"]).items():
            if name in baselines:
                baselines[name].update(scores)
    if interval_file:
        metrics["intervals"] = interval_metrics
    metrics["samples"] = {split: len(w) for split, w in prepared.windows.items()}
    metrics["scored"] = {
        split: {"first": series.label(int(w.target_index[0])), "last": series.label(int(w.target_index[-1]))}
        for split, w in prepared.windows.items()
    }
    metrics["updates"] = sum(t.updates for _, t, _ in per_seed)
    metrics["train_seconds"] = round(sum(t.seconds for _, t, _ in per_seed), 4)
    metrics["final_loss"] = {seed: t.losses[-1] for seed, t, _ in per_seed}
    metrics["versions"] = _versions()
    metrics["data"] = data_record(series)
    metrics.update(covariates_record(series))
    metrics["_ensemble"], metrics["_interval_file"] = ensemble, interval_file
    return metrics


def seen(cfg: DictConfig, values: np.ndarray, training_end: int, test_index: np.ndarray) -> dict:
    """Return metrics.json's `seen`: the training and test ranges, the look_back and transforms (for what_to_try)."""
    training, test = values[:training_end], values[test_index]
    return {"training_range": [float(np.nanmin(training)), float(np.nanmax(training))],
            "test_range": [float(np.nanmin(test)), float(np.nanmax(test))],
            "look_back": int(cfg.framing.look_back), "transforms": [str(t) for t in cfg.protocol.transforms]}


def _save_model(cfg: DictConfig, out_dir: Path, seed: int, model) -> None:
    if seed == cfg.seed:
        files.save_model(model, out_dir / "model.keras")
    if cfg.training.repeats > 1:
        try:
            (out_dir / "models").mkdir(exist_ok=True)
        except OSError as error:
            raise files.cannot_write(out_dir / "models", error) from None
        files.save_model(model, out_dir / "models" / f"seed-{seed}.keras")


def _write_outputs(cfg: DictConfig, out_dir: Path, prepared: Prepared, ensemble: dict, losses: dict,
                   validation_losses: dict, metrics: dict, interval_file: dict | None) -> None:
    series = prepared.series
    frame = _predictions_frame(prepared, ensemble)
    files.write_csv(out_dir / "predictions.csv", frame)
    files.write_atomic(out_dir / "transforms.json", prepared.pipeline.to_json())
    if prepared.scaling is not None:
        covariates = prepared.series.covariates
        files.write_json(out_dir / "covariates.json", {"past": list(covariates.past_names),
                                                       "future": list(covariates.future_names),
                                                       "calendar": list(covariates.calendar),
                                                       "scaling": prepared.scaling.state()})
    if interval_file:
        files.write_json(out_dir / "intervals.json", interval_file)
    else:
        (out_dir / "intervals.json").unlink(missing_ok=True)
    plots.plot_forecast(out_dir / "forecast.png", series.labels, series.values, frame, title=_title(cfg, metrics),
                        y_label=cfg.data.get("units") or series.name, season_length=prepared.season_length)
    plots.plot_losses(out_dir / "loss.png", losses, validation_losses, title=run_title(cfg))
    if cfg.get("report", {}).get("tensorboard", True):
        hparams = tensorboard.hparam_values(flatten(OmegaConf.to_container(cfg, resolve=True)))
        tensorboard.write_run(out_dir, losses, validation_losses, metrics, hparams)


def _title(cfg: DictConfig, metrics: dict) -> str:
    return f"{run_title(cfg)}\n{score_title(metrics)}"
