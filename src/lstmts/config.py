"""Where the configs live, and the checks of every user-facing value before any training."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf

from lstmts.errors import UserError, override

_SOURCE_ROOT = Path(__file__).resolve().parents[2]

# The classical baselines, by the name of their config key (lstmts.evaluation.classical fits them).
BASELINE_METHODS = ("holt_winters", "sarima", "theta", "ets", "mstl")

# The longest intervals.steps: calibration forecasts run that many steps from each of up to 5000
# origins (lstmts.runs.runner.MAX_CALIBRATION_ORIGINS), one step after another. 1000 covers a year of
# daily data or six weeks of hourly data; `lstmts forecast` reuses the last step's width further ahead.
MAX_INTERVAL_STEPS = 1000
# `lstmts forecast --steps` may always reach this many steps, however short the series (a yearly
# series of 30 values); longer series may reach as many steps as they have values.
MIN_STEPS_LIMIT = 100

# The metrics a sweep may optimise (`objective`): each split's RMSE, MAE and MASE.
OBJECTIVES = tuple(f"{split}_{metric}" for split in ("validation", "test", "train") for metric in ("rmse", "mae", "mase"))


def _packaged(name: str) -> Path | None:
    candidate = resources.files("lstmts") / name
    return Path(str(candidate)) if candidate.is_dir() or candidate.is_file() else None


def conf_dir() -> Path:
    """Return the config folder: inside the installed package, or `conf/` of a source checkout."""
    return _packaged("conf") or _SOURCE_ROOT / "conf"


def airline_csv() -> Path:
    """Return the path of the shipped airline-passengers.csv."""
    return _packaged("data/airline-passengers.csv") or _SOURCE_ROOT / "data" / "airline-passengers.csv"


def layer_units(model_cfg: DictConfig) -> list[int]:
    """Return the number of units of each LSTM layer, from `units` (one value or a list)."""
    layers = model_cfg.layers
    units = model_cfg.units
    if isinstance(units, (list, ListConfig)):
        units = list(units)
        if len(units) != layers:
            raise UserError(
                f"model.units lists {len(units)} values but model.layers is {layers}; "
                f"give one value per layer, e.g. model.units=[{','.join(['4'] * layers)}]"
            )
        return [int(u) for u in units]
    return [int(units)] * int(layers)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# What to give for a setting that a config group leaves to the command line (??? in its YAML: the data file).
_MISSING_EXAMPLES = {"data.path": "my.csv"}


def _check_given(cfg: DictConfig) -> None:
    """Raise UserError naming the first setting left without a value (??? in its group, not given on the command line)."""
    missing = sorted(OmegaConf.missing_keys(cfg), key=lambda key: (not key.endswith(".path"), key))  # the file first
    if missing:
        key = missing[0]
        raise UserError(f"{key} has no value; give it on the command line, e.g. {key}={_MISSING_EXAMPLES.get(key, 'VALUE')}")


def validate(cfg: DictConfig) -> None:
    """Raise UserError naming the first impossible config value and how to fix it."""
    _check_given(cfg)
    look_back = cfg.framing.look_back
    _check(_is_int(look_back) and look_back >= 1,
           f"framing.look_back={look_back!r} is impossible; use a whole number >= 1, e.g. framing.look_back=3")
    _check(cfg.framing.lags_as in ("features", "timesteps"),
           f"framing.lags_as={cfg.framing.lags_as!r} is unknown; use features or timesteps")
    _check(cfg.framing.get("strategy", "recursive") in ("recursive", "direct"),
           f"framing.strategy={cfg.framing.get('strategy')!r} is unknown; use recursive or direct")
    horizon = cfg.framing.get("horizon")
    _check(horizon is None or (_is_int(horizon) and horizon >= 1),
           f"framing.horizon={horizon!r} is impossible; use a whole number >= 1, or null for the longest of horizons")
    _check(_is_int(cfg.model.layers) and cfg.model.layers >= 1,
           f"model.layers={cfg.model.layers!r} is impossible; use a whole number >= 1")
    units = cfg.model.units
    for value in (list(units) if isinstance(units, (list, ListConfig)) else [units]):
        _check(_is_int(value) and value >= 1,
               f"model.units={units!r} is impossible; every layer needs a whole number of units >= 1, e.g. model.units=4")
    layer_units(cfg.model)
    _check_model_memory(cfg)
    transforms = cfg.protocol.get("transforms")
    _check(isinstance(transforms, (list, ListConfig)),
           f"protocol.transforms={transforms!r} is not a list; write it in brackets, e.g. 'protocol.transforms=[{transforms}]'")
    _check(isinstance(cfg.get("resume", False), bool),
           f"resume={cfg.get('resume')!r} is impossible; use true (skip the jobs that finished) or false")
    objective = cfg.get("objective")
    _check(objective is None or objective in OBJECTIVES,
           f"objective={objective!r} is not a metric of a run; use one of {', '.join(OBJECTIVES)}, or null")
    _check(objective is None or not str(objective).startswith("validation_") or cfg.split.get("validation_fraction", 0) > 0,
           f"objective={objective} needs a validation period; add split.validation_fraction=0.2, or use another objective")
    training = cfg.training
    for key in ("epochs", "batch_size", "repeats"):
        value = training[key]
        _check(_is_int(value) and value >= 1,
               f"training.{key}={value!r} is impossible; use a whole number >= 1")
    _check(isinstance(training.learning_rate, (int, float)) and training.learning_rate > 0,
           f"training.learning_rate={training.learning_rate!r} is impossible; use a number > 0, e.g. 0.001")
    _check(training.optimizer == "adam",
           f"training.optimizer={training.optimizer!r} is not supported; use adam")
    _check(training.loss == "mse", f"training.loss={training.loss!r} is not supported; use mse")
    patience = training.get("patience")
    _check(patience is None or (isinstance(patience, int) and not isinstance(patience, bool) and patience >= 1),
           f"training.patience={patience!r} is impossible; use a whole number >= 1 (epochs without improvement), or null")
    _check(training.engine in ("fast", "keras"),
           f"training.engine={training.engine!r} is unknown; use fast or keras")
    schedule = training.get("lr_schedule", "constant")
    _check(schedule in ("constant", "cosine"),
           f"training.lr_schedule={schedule!r} is unknown; use constant or cosine")
    _check(schedule == "constant" or training.engine == "fast",
           "training.lr_schedule=cosine trains with training.engine=fast; drop training.engine=keras")
    _check(isinstance(training.jit_compile, bool) or training.jit_compile == "auto",
           f"training.jit_compile={training.jit_compile!r} is unknown; use auto, true or false")
    fraction = cfg.split.train_fraction
    _check(isinstance(fraction, (int, float)) and 0 < fraction < 1,
           f"split.train_fraction={fraction!r} is impossible; use a number strictly between 0 and 1, e.g. 0.67")
    validation = cfg.split.get("validation_fraction", 0.0)
    _check(isinstance(validation, (int, float)) and 0 <= validation < 1,
           f"split.validation_fraction={validation!r} is impossible; use a number in [0, 1), e.g. 0.2")
    _check(_is_int(cfg.seed) and cfg.seed >= 0, f"seed={cfg.seed!r} is impossible; use a whole number >= 0, e.g. seed=7")
    horizons = cfg.get("horizons") or []
    _check(isinstance(horizons, (list, ListConfig)) and all(_is_int(h) and h >= 1 for h in horizons),
           f"horizons={horizons!r} is impossible; use a list of whole numbers >= 1, e.g. horizons=[1,3,6,12], or []")
    _check(cfg.season_length == "auto" or (_is_int(cfg.season_length) and cfg.season_length >= 1),
           f"season_length={cfg.season_length!r} is impossible; use auto (from the dates) or a whole number >= 1,"
           f" e.g. 12 for monthly data, 1 for none")
    if cfg.get("collection") is not None:
        _validate_collection(cfg)
        return
    _check(cfg.data.get("dayfirst") in (None, True, False),
           f"data.dayfirst={cfg.data.get('dayfirst')!r} is impossible; use true, false or null")
    date_format = cfg.data.get("date_format")
    _check(date_format is None or (isinstance(date_format, str) and "%" in date_format),
           f"data.date_format={date_format!r} is not a date format; use strptime codes, e.g. data.date_format='%d/%m/%Y'")
    _validate_reading(cfg.data)
    _validate_baselines(cfg.baselines)
    if cfg.get("evaluation") is not None:
        _validate_backtest(cfg.evaluation)
    intervals = cfg.get("intervals") or {}
    levels = intervals.get("levels") or []
    _check(isinstance(levels, (list, ListConfig)) and all(isinstance(x, float) and 0 < x < 1 for x in levels),
           f"intervals.levels={levels!r} is impossible; use coverage levels between 0 and 1, e.g. [0.8,0.95], or []")
    steps = intervals.get("steps")
    _check(not levels or (_is_int(steps) and 1 <= steps <= MAX_INTERVAL_STEPS),
           f"intervals.steps={steps!r} is impossible; use a whole number from 1 to {MAX_INTERVAL_STEPS}, e.g. 24"
           f" (a forecast further ahead reuses the last step's width)")
    _check(cfg.data.missing in ("error", "interpolate", "drop"),
           f"data.missing={cfg.data.missing!r} is unknown; use error, interpolate or drop")
    _validate_covariates(cfg)


def _validate_reading(data: DictConfig) -> None:
    sep, thousands, decimal = data.get("sep", ","), data.get("thousands"), data.get("decimal", ".")
    _check(isinstance(sep, str) and len(sep) >= 1,
           f"data.sep={sep!r} is impossible; use the field separator as text, e.g. {override('data.sep', ';')}")
    _check(thousands is None or (isinstance(thousands, str) and len(thousands) == 1),
           f"data.thousands={thousands!r} is impossible; use one sign, e.g. {override('data.thousands', ',')}, or null")
    _check(isinstance(decimal, str) and len(decimal) == 1,
           f"data.decimal={decimal!r} is impossible; use one sign, e.g. {override('data.decimal', ',')}")
    _check(thousands != decimal, f"data.thousands and data.decimal are both {decimal!r}; they must differ")


# Collections: where series come from, the competition sets' subsets, and the competition baselines.
COMPETITIONS = {"m1": "M1", "m3": "M3", "tourism": "Tourism"}
COMPETITION_SUBSETS = ("yearly", "quarterly", "monthly", "other")
SOURCES = ("csv", "folder", *COMPETITIONS)
# A collection ensemble's member losses: on the scaled series (mse, mae) or on the series' own values
# (smape, mase: models.engines.base.OWN_VALUE_LOSSES).
ENSEMBLE_LOSSES = ("mse", "mae", "smape", "mase")
COLLECTION_BASELINES = ("naive", "seasonal_naive", "theta", "ets", "arima", "comb")


def _validate_collection(cfg: DictConfig) -> None:
    settings, data = cfg.collection, cfg.data
    _check(data.get("source") in SOURCES,
           f"data.source={data.get('source')!r} is not a collection; use one of {', '.join(SOURCES)} (data=m1, data=tourism,"
           f" data=collection), or drop collection=... for a single series")
    _check(data.source not in COMPETITIONS or data.get("subset") in (None, *COMPETITION_SUBSETS),
           f"data.subset={data.get('subset')!r} is unknown; use one of {', '.join(COMPETITION_SUBSETS)}, or null for all")
    _check(settings.scope in ("global", "local"), f"collection.scope={settings.scope!r} is unknown; use global or local")
    _check(settings.normalise in ("series", "window"),
           f"collection.normalise={settings.normalise!r} is unknown; use series or window")
    _check(settings.get("scale", "std") in ("std", "steps", "seasonal_steps"),
           f"collection.scale={settings.get('scale')!r} is unknown; use std, steps or seasonal_steps")
    _check(settings.get("anchor", "last") in ("last", "level"),
           f"collection.anchor={settings.get('anchor')!r} is unknown; use last or level")
    _check(settings.get("anchor", "last") == "last" or (settings.normalise == "window" and settings.scope == "global"),
           "collection.anchor=level anchors the windows of a global model; use it with collection.normalise=window"
           " and collection.scope=global")
    _check(settings.log in (True, False, "auto"), f"collection.log={settings.log!r} is unknown; use auto, true or false")
    _check(isinstance(settings.validation, bool), f"collection.validation={settings.validation!r} is impossible; use true or false")
    methods = settings.baselines
    _check(isinstance(methods, (list, ListConfig)) and all(m in COLLECTION_BASELINES for m in methods),
           f"collection.baselines={methods!r} is impossible; use a list of {', '.join(COLLECTION_BASELINES)}, or []")
    _check(_is_int(settings.get("n_jobs", -1)) and (settings.get("n_jobs", -1) == -1 or settings.get("n_jobs", -1) >= 1),
           f"collection.n_jobs={settings.get('n_jobs')!r} is impossible; use -1 (one per core) or a whole number >= 1")
    for key in ("shard", "shards"):
        _check(_is_int(data.get(key)) and data.get(key) >= (1 if key == "shards" else 0),
               f"data.{key}={data.get(key)!r} is impossible; use a whole number, data.shard from 0 to data.shards - 1")
    _check(data.shard < data.shards, f"data.shard={data.shard} is impossible with data.shards={data.shards};"
           f" use 0 .. {data.shards - 1}")
    limit, horizon = data.get("limit"), data.get("horizon")
    _check(limit is None or (_is_int(limit) and limit >= 1), f"data.limit={limit!r} is impossible; use a whole number >= 1 or null")
    _check(horizon is None or (_is_int(horizon) and horizon >= 1),
           f"data.horizon={horizon!r} is impossible; use a whole number >= 1, or null for the frequency's own")
    _check(isinstance(settings.get("deseasonalise", False), bool),
           f"collection.deseasonalise={settings.get('deseasonalise')!r} is impossible; use true or false")
    window = settings.get("season_window")
    _check(window is None or (_is_int(window) and window >= 2),
           f"collection.season_window={window!r} is impossible; use a whole number of seasons >= 2, or null for"
           f" the whole training part")
    chosen = settings.get("ensemble")
    if chosen is not None:
        _check(settings.scope == "global", "collection.ensemble is for collection.scope=global; drop it for local models")
        factors, losses, seeds = chosen.get("look_backs"), chosen.get("losses"), chosen.get("seeds", 1)
        _check(factors is None or (len(factors) > 0 and all(isinstance(f, (int, float)) and f > 0 for f in factors)),
               f"collection.ensemble.look_backs={factors!r} is impossible; use multiples of the horizon above 0,"
               f" e.g. [1.5, 2, 3]")
        _check(losses is None or (len(losses) > 0 and all(loss in ENSEMBLE_LOSSES for loss in losses)),
               f"collection.ensemble.losses={losses!r} is impossible; use a list of mse, mae, smape and mase")
        _check(isinstance(seeds, int) and not isinstance(seeds, bool) and 1 <= seeds <= 100,
               f"collection.ensemble.seeds={seeds!r} is impossible; use a whole number from 1 to 100")
        skip = chosen.get("skip_padded", False)
        _check(isinstance(skip, bool), f"collection.ensemble.skip_padded={skip!r} is impossible; use true or false")
    _check(not cfg.model.stateful, "collections train stateless models; use model=vanilla or model=stacked")
    _check(cfg.training.engine == "fast", "collections train with training.engine=fast; drop training.engine=keras")
    _check(cfg.get("evaluation") is None, "evaluation=backtest is for one series; drop it for a collection"
                                          " (collection.cross_validation.origins=n scores a collection at n origins)")
    limit = settings.get("baseline_time_limit")
    _check(limit is None or (isinstance(limit, (int, float)) and not isinstance(limit, bool) and limit > 0),
           f"collection.baseline_time_limit={limit!r} is impossible; use seconds above 0, or null for no limit")
    budget = settings.get("max_updates")
    _check(budget is None or (isinstance(budget, int) and not isinstance(budget, bool) and budget >= 1),
           f"collection.max_updates={budget!r} is impossible; use a whole number of updates >= 1, or null for no limit")
    stopping = settings.get("early_stopping")
    patience = stopping.get("patience") if isinstance(stopping, DictConfig) else None
    _check(stopping is None or (isinstance(patience, int) and not isinstance(patience, bool) and patience >= 1),
           f"collection.early_stopping={stopping!r} is impossible; use {{patience: 3}} (epochs without improvement"
           f" on the validation windows), or null")
    _check(stopping is None or settings.scope == "global",
           "collection.early_stopping is for collection.scope=global; drop it for local models")
    quantiles = settings.get("quantile_intervals", False)
    _check(isinstance(quantiles, bool),
           f"collection.quantile_intervals={quantiles!r} is impossible; use true or false")
    _check(not quantiles or settings.scope == "global",
           "collection.quantile_intervals come from a global network; use collection=global or drop it")
    cv = settings.get("cross_validation") or {}
    for key, least in (("origins", 1), ("refit_every", 1), ("step", 1)):
        value = cv.get(key, None if key == "step" else least)  # an older config without them: one origin
        if key == "step" and value is None:
            continue
        _check(isinstance(value, int) and not isinstance(value, bool) and value >= least,
               f"collection.cross_validation.{key}={value!r} is impossible; use a whole number >= {least}"
               + (" (or null for each series' horizon)" if key == "step" else ""))
    presets = settings.get("presets")
    if presets:
        # Each frequency group runs with its preset merged in: check what it will run with, by name.
        for frequency, overrides in presets.items():
            merged = with_preset(cfg, overrides)
            merged.collection.presets = None
            try:
                validate(merged)
            except UserError as error:
                raise UserError(f"collection.presets.{frequency}: {error}") from None


def with_preset(cfg: DictConfig, overrides: DictConfig | None) -> DictConfig:
    """Return a resolved copy of cfg with a preset's `overrides` merged in (cfg's copy for None)."""
    from omegaconf import OmegaConf

    return OmegaConf.merge(OmegaConf.to_container(cfg, resolve=True),
                           OmegaConf.to_container(overrides, resolve=True) if overrides is not None else {})


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _check_model_memory(cfg: DictConfig) -> None:
    """Refuse a network whose weights alone, with their gradients and Adam's two moments, exceed half the memory."""
    inputs = cfg.framing.look_back if cfg.framing.lags_as == "features" else 1
    weights = 0
    for units in layer_units(cfg.model):
        weights += 4 * units * (units + inputs + 1)  # four gates, each with input, recurrent and bias weights
        inputs = units
    needed = weights * 4 * 4  # float32: weights, gradients, Adam's m and v
    memory = _memory_bytes()
    _check(memory is None or needed <= memory / 2,
           f"model.units={cfg.model.units} needs about {needed / 2**30:.0f} GiB for its weights and optimizer state,"
           f" more than half this machine's {(memory or 0) / 2**30:.0f} GiB; use fewer model.units")


def cycle_setting(setting, key: str):
    """Return a second_season setting (`key`: auto.second_season, baselines.second_season) as "auto",
    None (none) or a lag above 1; one line naming `key` for anything else."""
    if setting is None or setting == "auto":
        return setting
    if isinstance(setting, bool) or not isinstance(setting, (int, float)) or setting != int(setting) or setting < 2:
        raise UserError(f"{key}={setting!r} is not a cycle; use auto (a week of intraday values, 52 weeks of"
                        f" daily ones), a lag such as 168, or null for none")
    return int(setting)


def _validate_baselines(baselines: DictConfig) -> None:
    _check(isinstance(baselines.get("classical"), bool),
           f"baselines.classical={baselines.get('classical')!r} is impossible; use true or false")
    methods = baselines.get("methods")
    _check(isinstance(methods, (list, ListConfig)) and all(m in BASELINE_METHODS for m in methods),
           f"baselines.methods={methods!r} is impossible; list some of {', '.join(BASELINE_METHODS)}, e.g. baselines.methods=[theta,ets]")
    for key, low in (("time_limit", 0), ("max_fit_values", 10), ("long_season", 1)):
        value = baselines.get(key)
        _check(isinstance(value, (int, float)) and not isinstance(value, bool) and value > low,
               f"baselines.{key}={value!r} is impossible; use a number > {low}")
    cycle_setting(baselines.get("second_season", "auto"), "baselines.second_season")
    year = baselines.get("year", "auto")
    _check(year is None or year == "auto" or (isinstance(year, (int, float)) and not isinstance(year, bool) and year > 2),
           f"baselines.year={year!r} is impossible; use auto (the dates' year: 52.18 weeks, 365.25 days), a year's"
           f" length in steps such as 52.18, or null (a season's last cycle repeated)")
    every = baselines.get("refit_every", "auto")
    _check(every == "auto" or (isinstance(every, int) and not isinstance(every, bool) and every >= 0),
           f"baselines.refit_every={every!r} is impossible; use auto, 0 (never) or a whole number of steps")
    if "holt_winters" in methods:
        hw = baselines.get("holt_winters")
        _check(isinstance(hw, DictConfig) and hw.get("trend") in (None, "add", "mul") and hw.get("seasonal") in (None, "add", "mul"),
               f"baselines.holt_winters={hw!r} is impossible; give trend and seasonal as add, mul or null")
    if "sarima" in methods:
        sarima = baselines.get("sarima")
        ok = isinstance(sarima, DictConfig) and all(
            isinstance(sarima.get(k), (list, ListConfig)) and len(sarima.get(k)) == 3 and all(_is_int(x) and x >= 0 for x in sarima.get(k))
            for k in ("order", "seasonal_order"))
        _check(ok, f"baselines.sarima={sarima!r} is impossible; give order and seasonal_order as three whole numbers,"
                   f" e.g. order: [0, 1, 1]")


def _validate_backtest(settings: DictConfig) -> None:
    for key in ("every", "refit_every", "horizon"):
        _check(_is_int(settings.get(key)) and settings.get(key) >= 1,
               f"evaluation.{key}={settings.get(key)!r} is impossible; use a whole number >= 1")
    for key in ("folds", "fine_tune_epochs"):
        value = settings.get(key)
        _check(value is None or (_is_int(value) and value >= 1),
               f"evaluation.{key}={value!r} is impossible; use a whole number >= 1, or null")
    _check(settings.get("window") in ("expanding", "sliding"),
           f"evaluation.window={settings.get('window')!r} is unknown; use expanding or sliding")
    methods = settings.get("baselines") or []
    _check(all(m in BASELINE_METHODS for m in methods),
           f"evaluation.baselines={list(methods)!r} is impossible; list some of {', '.join(BASELINE_METHODS)}, or []")


def check_stateful_batches(batch_size: int, train_samples: int) -> None:
    """Raise UserError when a stateful model cannot use batch_size with the training sample count."""
    if train_samples % batch_size:
        divisors = [d for d in range(1, min(train_samples, 64) + 1) if train_samples % d == 0]
        raise UserError(
            f"training.batch_size={batch_size} does not divide the {train_samples} training samples, "
            f"which a stateful model needs (fixed batch shape); use one of {divisors}"
        )


def check_horizons(horizons, test_targets: int) -> None:
    """Raise UserError when a horizon reaches past the test period, where no test target could score it."""
    horizons = [int(h) for h in horizons]
    longest = max(horizons, default=0)
    if longest > test_targets:
        fitting = [h for h in horizons if h <= test_targets]
        instead = f"e.g. horizons=[{','.join(map(str, fitting))}]" if fitting else "or horizons=[] for none"
        raise UserError(f"horizons={horizons} reach {longest} steps ahead, but the test period has {test_targets}"
                        f" targets; use horizons of at most {test_targets}, {instead}, or a longer test period"
                        f" (a smaller split.train_fraction)")


def _validate_covariates(cfg: DictConfig) -> None:
    covariates = cfg.data.get("covariates") or {}
    _check(isinstance(covariates, DictConfig) and set(covariates) <= {"past", "future"},
           f"data.covariates={covariates!r} is impossible; give past and future column lists,"
           f" e.g. 'data.covariates.future=[promo]'")
    names = {}
    for kind in ("past", "future"):
        columns = covariates.get(kind) or []
        # A number, true or null may be a column named 1949: reading the file says so, with the quoting to use.
        _check(isinstance(columns, (list, ListConfig)) and all(c is None or isinstance(c, (str, int, float)) and c != ""
                                                               for c in columns),
               f"data.covariates.{kind}={columns!r} is impossible; list column names in brackets,"
               f" e.g. 'data.covariates.{kind}=[promo]', or []")
        for column in columns:
            _check(column not in names, f"column {column!r} is listed twice in data.covariates; list it once,"
                                        f" as past (known up to the origin) or future (known ahead)")
            names[column] = kind
    _check(cfg.data.column not in names,
           f"data.covariates lists {cfg.data.column!r}, the target column itself; remove it")
    calendar = cfg.data.get("calendar", False)
    _check(isinstance(calendar, bool), f"data.calendar={calendar!r} is impossible; use true or false")
    _check(not calendar or cfg.data.get("date_column"),
           "data.calendar=true needs dates; set data.date_column to the CSV's date column")
    if "past" in names.values():
        steps = [*(cfg.get("horizons") or []), *([cfg.intervals.steps] if cfg.intervals.get("levels") else [])]
        if cfg.get("evaluation") is not None:
            steps.append(cfg.evaluation.horizon)
        longest = max(steps or [1])
        direct = cfg.framing.get("strategy", "recursive") == "direct"
        outputs = (cfg.framing.get("horizon") or max(cfg.get("horizons") or [1])) if direct else 1
        _check(longest <= outputs,
               f"data.covariates.past are known up to the origin only, so forecasts reach {outputs} step(s) (what the"
               f" network outputs at once) but horizons, intervals.steps or evaluation.horizon ask for {longest};"
               f" use framing.strategy=direct framing.horizon={longest}, or horizons=[1] intervals.steps=1")
