"""`lstmts experiment=auto`: an LSTM configuration searched on validation, its best ones ensembled.

The search trains each candidate on the training period (the values before the validation
period), with early stopping on the validation period's one-step error, and scores it on the
validation period: recursive or direct forecasts from every validation origin, at the run's
horizons, from values before the test period only. It tries the candidates one dimension at a
time (transforms, look_back, strategy, lag layout, units, layers), keeping the best so far,
within `auto.budget_seconds` and `auto.max_trials`.

`auto.ensemble` candidates (the best, or with `auto.diverse` the best of each transform option
first) are then trained again on training + validation, for the epochs early stopping chose,
each from `auto.seeds` seeds: the median of theirs is the networks' forecast (the first half).
The run's forecast weights it, the baseline best on validation and the mean of the baselines best
on validation, with weights fitted on validation as far as its length allows (auto.combine,
auto.leaders, auto.fit_half; see residuals.py). With
`auto.residuals`, a second search runs on what that baseline leaves, one more voice.
Everything after that is an ordinary run: the same table, baselines chosen on the same
validation period, predictions.csv, intervals (calibrated on the search models' validation
errors), plots. The run folder also keeps `candidates.csv`, `voices.csv` (every voice's one-step
forecasts of the validation and test targets) and one folder per member
(`members/<rank>/`: config.yaml, model.keras, transforms.json) for `lstmts forecast`.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from lstmts.config import check_horizons, cycle_setting
from lstmts.data.frequency import cycle_for
from lstmts.data.transforms import Pipeline
from lstmts.errors import UserError, plain_override
from lstmts.evaluation.metrics import rmse
from lstmts.report import files
from lstmts.runs import runner
from lstmts.runs.phases import Phases
from lstmts.runs.progress import RunProgress
from lstmts.search import online, residuals
from lstmts.search.space import Candidate, base_look_back, neighbours, stages, transform_options

log = logging.getLogger("lstmts")
MEMBERS = "members"


@dataclass
class Tried:
    """A candidate after its search training: its validation scores, and its validation forecasts."""

    candidate: Candidate
    score: float  # the mean over horizons of the validation RMSE; inf when it could not be trained
    by_horizon: dict[int, float]
    best_epoch: int | None = None
    epochs_run: int = 0
    updates: int = 0
    seconds: float = 0.0
    paths: np.ndarray | None = None  # [validation origins, steps] forecasts from values before each origin
    note: str = ""


def validation_horizons(horizons, validation_length: int) -> list[int]:
    """Return the run's horizons (and 1) that fit inside the validation period."""
    wanted = sorted({int(h) for h in (horizons or [])} | {1})
    return [h for h in wanted if h <= validation_length]


def horizon_rmse(paths: np.ndarray, origins: np.ndarray, values: np.ndarray, stop: int,
                 horizons: list[int]) -> dict[int, float]:
    """Return {h: RMSE of the h-step forecasts} over the origins whose h-step target lies before `stop`."""
    scores = {}
    for horizon in horizons:
        targets = origins + horizon - 1
        inside = targets < stop
        if inside.any():
            errors = paths[inside, horizon - 1] - values[targets[inside]]
            scores[horizon] = float(np.sqrt(np.mean(errors ** 2)))
    return scores


def combined_score(by_horizon: dict[int, float], how: str = "mean") -> float:
    """Return one validation score from the RMSE at each horizon: their mean, or (`geometric`) their
    geometric mean, in which each horizon counts alike however large its errors (a 10 % better
    one-step RMSE weighs as much as a 10 % better 12-step one)."""
    values = np.array(list(by_horizon.values()), dtype=float)
    if how == "geometric":
        return float(np.exp(np.mean(np.log(np.maximum(values, np.finfo(float).tiny)))))
    if how != "mean":
        raise UserError(f"auto.score={how!r} is unknown; use mean or geometric")
    return float(np.mean(values))


def median_of(member_forecasts: list[np.ndarray]) -> np.ndarray:
    """Return the element-wise median of the members' forecasts (the ensemble's forecast)."""
    return np.median(np.stack(member_forecasts), axis=0)


def search_epochs(cfg: DictConfig, train_windows: int) -> int:
    """Return the most epochs a candidate trains: training.epochs, fewer on a long series.

    `auto.max_updates` bounds a candidate's updates (a long series has many per epoch), but never
    below patience + 1 epochs, so that early stopping can still choose.
    """
    epochs = int(cfg.training.epochs)
    most = cfg.auto.get("max_updates")
    if not most:
        return epochs
    per_epoch = -(-int(train_windows) // int(cfg.training.batch_size))
    patience = int(cfg.training.patience or 20)
    return max(1, min(epochs, max(patience + 1, int(most) // max(1, per_epoch))))


def _search_settings(cfg: DictConfig, train_windows: int) -> dict:
    """Return the candidate's training settings for the search (early stopping on validation)."""
    return {"training.epochs": search_epochs(cfg, train_windows), "training.patience": int(cfg.training.patience or 20),
            "training.repeats": 1, "training.shuffle": True}


def engine_settings(cfg: DictConfig, candidate: Candidate) -> dict:
    """Return {"training.jit_compile": False} for a candidate whose windows have a length XLA unrolls
    (training.XLA_UNROLLED_STEPS: 13-64 time steps, where its compile takes 3-14 s and some shapes
    update several times slower than the fused kernels), under training.jit_compile=auto; else {}.
    The search and the members train the candidate alike, so its rerun command says so too."""
    from lstmts.models.training import XLA_UNROLLED_STEPS

    steps = candidate.look_back if candidate.lags_as == "timesteps" else 1
    if cfg.training.get("jit_compile", "auto") == "auto" and steps in XLA_UNROLLED_STEPS:
        return {"training.jit_compile": False}
    return {}


def try_candidate(cfg: DictConfig, candidate: Candidate, progress: RunProgress, horizons: list[int],
                  steps: int, train_windows: int | None = None, series=None) -> Tried:
    """Train `candidate` on the training period and score it on the validation period, reading no test value
    (on `series` instead of cfg.data's when given)."""
    started = time.perf_counter()
    candidate_cfg = candidate.apply(cfg, **_search_settings(cfg, train_windows or 0), **engine_settings(cfg, candidate))
    try:
        # No test value is transformed: a candidate's score cannot depend on one, nor can its failing.
        prepared = runner.prepare(candidate_cfg, history_only=True, series=series)
        _, trained, _ = next(runner._train_repeats(candidate_cfg, prepared, progress, score=False))
    except UserError as error:
        return Tried(candidate, float("inf"), {}, seconds=time.perf_counter() - started, note=str(error))
    test_start = int(prepared.periods.split)
    history = prepared.series.values[:test_start]  # the test period is never handed over
    origins = prepared.windows["validation"].target_index
    forecaster = runner._forecaster(candidate_cfg, prepared.pipeline, trained.model, prepared.covariates)
    paths = forecaster.paths(history, origins, steps)
    by_horizon = horizon_rmse(paths, origins, history, test_start, horizons)
    finite = bool(by_horizon) and all(np.isfinite(v) for v in by_horizon.values()) and np.isfinite(paths).all()
    score = combined_score(by_horizon, cfg.auto.get("score", "mean")) if finite else float("inf")
    return Tried(candidate, score, by_horizon, best_epoch=trained.best_epoch, epochs_run=len(trained.losses),
                 updates=trained.updates, seconds=time.perf_counter() - started, paths=paths,
                 note="" if finite else "its validation forecasts are not finite numbers")


# The share of auto.budget_seconds the search may start candidates in; the rest is for the members'
# training on training + validation, which costs about as much as their search runs.
SEARCH_SHARE = 0.6


# auto.budget_seconds=auto: BUDGET_BASE seconds for a series of up to BUDGET_FROM values, then
# BUDGET_PER_VALUE more for each value beyond, at most BUDGET_MOST (180 s at 10,000 values, 360 s
# from 20,000): a long series' candidates take longer each, and its search would otherwise try few.
BUDGET_BASE, BUDGET_FROM, BUDGET_PER_VALUE, BUDGET_MOST = 90.0, 5000, 0.018, 360.0


def length_budget(length: int) -> float:
    """Return auto.budget_seconds=auto's seconds for a series of `length` values."""
    return min(BUDGET_MOST, BUDGET_BASE + BUDGET_PER_VALUE * max(0, length - BUDGET_FROM))


def budget_setting(cfg: DictConfig):
    """Return auto.budget_seconds as given: "auto", None or a number of seconds > 0; one line for anything else."""
    seconds = cfg.auto.get("budget_seconds")
    if seconds is None or seconds == "auto":
        return seconds
    try:
        seconds = float("nan") if isinstance(seconds, bool) else float(seconds)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not seconds > 0:
        raise UserError(f"auto.budget_seconds={cfg.auto.budget_seconds!r} is impossible; use a number of seconds > 0,"
                        f" auto (from the series' length), or null for no time limit (auto.max_trials alone)")
    return seconds


def with_budget(cfg: DictConfig, length: int) -> DictConfig:
    """Return cfg with auto.budget_seconds=auto replaced by its seconds for a series of `length` values."""
    if budget_setting(cfg) != "auto":
        return cfg
    resolved = copy.deepcopy(cfg)
    resolved.auto.budget_seconds = length_budget(length)
    return resolved


def budget(cfg: DictConfig) -> float | None:
    """Return the seconds of one half of the automatic LSTM: auto.budget_seconds, shared equally by the
    two halves with auto.residuals; or None without one (null: max_trials alone bounds the search).
    An `auto` budget must have been resolved from the series' length first (with_budget)."""
    seconds = budget_setting(cfg)
    if seconds is None:
        return None
    if seconds == "auto":
        raise RuntimeError("auto.budget_seconds=auto is resolved from the series' length (with_budget) before use")
    return seconds / 2 if cfg.auto.get("residuals", False) else seconds


def search_seconds(cfg: DictConfig) -> float | None:
    """Return the seconds in which the search may start new candidates (None: no time limit)."""
    seconds = budget(cfg)
    return None if seconds is None else SEARCH_SHARE * seconds


def planned_members(cfg: DictConfig) -> int:
    """Return how many networks the ensemble trains after the search (candidates times seeds)."""
    return max(1, int(cfg.auto.ensemble)) * max(1, int(cfg.auto.get("seeds") or 1))


def member_seconds(tried: Tried) -> float:
    """Return about how long a member made from `tried` trains on the training period's share: its
    search time for the epochs early stopping chose (a member trains for those, not for the patience
    after them), from its time per epoch run."""
    if tried.epochs_run and tried.best_epoch:
        return tried.seconds * tried.best_epoch / tried.epochs_run
    return tried.seconds


def room_for_another(cfg: DictConfig, elapsed: float, seconds: list[float], per_member: float = 1.0) -> bool:
    """Return whether the search may start another candidate `elapsed` seconds into the budget.

    Not after its share of the budget, nor when the members still to train (each about as long as
    the median of `seconds`, a quarter more for the validation values they add, times `per_member`
    for their refits through the test period) would run past it. `seconds` are member_seconds of the
    candidates in the order they ran. The first carries the process's one-off costs (TensorFlow's
    first trace and compilation: 8 of the 9 s of the airline series' first candidate, 0.4 s for the
    next), which no member pays again, so the members' time is judged from the candidates after it.
    """
    limit = budget(cfg)
    if limit is None:
        return True
    later = seconds[1:]
    members = planned_members(cfg) * 1.25 * per_member * (float(np.median(later)) if later else 0.0)
    return elapsed <= search_seconds(cfg) and elapsed + members <= limit


def refit_cost(cfg: DictConfig, prepared: runner.Prepared) -> float:
    """Return a member's training time with its refits through the test period, in trainings: 1 + refits x refit_epochs."""
    return 1.0 + len(online.test_points(cfg, prepared)) * float(cfg.auto.refit_epochs)


def _extra_transforms(settings) -> dict[str, bool]:
    """Return which of the newer transform options (`auto.level`, `auto.hybrid`) the search tries."""
    return {"level": bool(settings.get("level", False)), "hybrid": bool(settings.get("hybrid", False))}


def chosen_transforms(cfg: DictConfig) -> list[tuple[str, ...]] | None:
    """Return the transform options the user gave in auto.transforms (a list of lists), or None for the
    season-aware ones; one line for a value that is not such a list or names an unknown transform."""
    given = cfg.auto.get("transforms")
    if given is None:
        return None
    example = "'auto.transforms=[[log,diff1,standard],[diff12,standard]]'"
    if isinstance(given, str) or not OmegaConf.is_list(given) or not len(given) or not all(
            OmegaConf.is_list(option) and len(option) and all(isinstance(spec, str) for spec in option)
            for option in given):
        raise UserError(f"auto.transforms={given!r} is not a list of transform lists; give one such as {example},"
                        f" or null for the season-aware options")
    options = [tuple(str(spec) for spec in option) for option in given]
    for option in options:
        try:
            Pipeline(list(option))
        except UserError:
            raise UserError(f"auto.transforms has an unknown transform in {list(option)}; use log, diff<lag>,"
                            f" level<lag>, ar<lags>, minmax or standard, as in {example}") from None
    return list(dict.fromkeys(options))


def transform_choices(cfg: DictConfig, positive: bool, season: int,
                      second: int | None = None) -> list[tuple[str, ...]]:
    """Return the transform options the search tries: auto.transforms when given, else the season-aware
    ones (with a difference at `second`, the cycle above the season, when there is one)."""
    return chosen_transforms(cfg) or transform_options(positive, season, **_extra_transforms(cfg.auto),
                                                       second=second)


# How many cycles above the season the values before the validation period must hold before the
# search tries a difference at that lag: one is used up by the difference, one is left to learn from.
SECOND_SEASON_CYCLES = 2


def second_season_setting(cfg: DictConfig):
    """Return auto.second_season: "auto", None (none) or a lag above 1; one line for anything else."""
    return cycle_setting(cfg.auto.get("second_season"), "auto.second_season")  # a config from before it: none


def second_cycle(cfg: DictConfig, prepared) -> int | None:
    """Return the cycle above the season at which the search also tries a difference, or None.

    auto.second_season auto: the series' own (frequency.second_season); a number: that lag; null:
    none. Only when the values before the validation period hold SECOND_SEASON_CYCLES of them (the
    log says when they do not). None when auto.transforms gives the options.
    """
    if chosen_transforms(cfg) is not None:
        return None
    cycle = cycle_for(second_season_setting(cfg), prepared.series.frequency, prepared.season_length)
    if cycle is None:
        return None
    if int(prepared.periods.validation[0]) < SECOND_SEASON_CYCLES * cycle:
        log.info("no difference at the cycle of %d values: the %d values before validation hold fewer than %d",
                 cycle, int(prepared.periods.validation[0]), SECOND_SEASON_CYCLES)
        return None
    return cycle


def candidate_label(cfg: DictConfig, label: str, number: int, candidate: Candidate, elapsed: float) -> str:
    """Return what the progress display shows while a candidate trains: its number, with a time budget
    how far into it the search is, and its configuration (`candidate 5 (62/180 s): log,diff1,...`;
    the seconds first, where a narrow terminal does not cut them off)."""
    limit = budget(cfg)
    spent = f" ({elapsed:.0f}/{limit:g} s)" if limit is not None else ""
    return f"{label} {number}{spent}: {candidate.describe()}"


@dataclass(frozen=True)
class Start:
    """Where a search starts: the transform options it tries and its first candidate."""

    options: list[tuple[str, ...]]
    first: Candidate
    season: int
    horizon: int
    positive: bool  # every training value is positive: log is among the transforms


def search_start(cfg: DictConfig, prepared: runner.Prepared, horizons: list[int],
                 options: list[tuple[str, ...]] | None = None, second: int | None = None) -> Start:
    """Return a search's start on prepared.series: `options` when given, else transform_choices' (with
    a difference at `second`, the cycle above the season)."""
    validation_start = int(prepared.periods.validation[0])
    # The form (log or not) is chosen from the training period's values only.
    positive = bool(np.all(prepared.series.values[:validation_start] > 0))
    season, horizon = prepared.season_length, max(horizons)
    options = list(options) if options is not None else transform_choices(cfg, positive, season, second)
    return Start(options, Candidate(transforms=options[0], look_back=base_look_back(season, horizon)), season, horizon,
                 positive)


def search(cfg: DictConfig, prepared: runner.Prepared, progress: RunProgress, horizons: list[int],
           steps: int, options: list[tuple[str, ...]] | None = None, label: str = "candidate",
           second: int | None = None) -> tuple[list[Tried], bool]:
    """Return every candidate tried, in the order tried (one dimension at a time, from the best so
    far), and whether auto.budget_seconds ended the search before its space or max_trials did.

    On prepared.series (the residuals for the second half), with `options` as its transform
    options when given; `label` names its candidates in the progress display and the log."""
    settings = cfg.auto
    series = prepared.series
    begin = search_start(cfg, prepared, horizons, options, second)
    first = begin.first
    started = time.perf_counter()
    tried: dict[Candidate, Tried] = {}
    windows = len(prepared.windows["train"])
    per_member = refit_cost(cfg, prepared)

    def attempt(candidate: Candidate) -> None:
        number = len(tried) + 1
        with progress.phase(candidate_label(cfg, label, number, candidate, time.perf_counter() - started)):
            tried[candidate] = try_candidate(cfg, candidate, progress, horizons, steps, windows, series)
        outcome = tried[candidate]
        log.info("%s %d %s: validation score %.6g, %d epochs (best %s), %.2f s%s", label, number,
                 candidate.describe(), outcome.score, outcome.epochs_run, outcome.best_epoch, outcome.seconds,
                 f"; {outcome.note}" if outcome.note else "")

    attempt(first)
    best = first
    for dimension, values in stages(first, begin.season, begin.horizon, begin.positive, options=begin.options):
        for candidate in neighbours(best, dimension, values):
            if len(tried) >= int(settings.max_trials):
                log.info("search ended at auto.max_trials, %d candidates", len(tried))
                return list(tried.values()), False
            if not room_for_another(cfg, time.perf_counter() - started, [member_seconds(t) for t in tried.values()],
                                    per_member):
                log.info("search budget reached after %d candidates", len(tried))
                return list(tried.values()), True
            if candidate not in tried:
                attempt(candidate)
        best = min(tried.values(), key=lambda t: t.score).candidate
    return list(tried.values()), False


def search_optuna(cfg: DictConfig, prepared: runner.Prepared, progress: RunProgress, horizons: list[int],
                  steps: int, second: int | None = None) -> tuple[list[Tried], bool]:
    """Return the candidates an Optuna TPE study tried over the same space, within the same budget
    (room_for_another, as the staged search), and whether the budget ended it before max_trials did."""
    try:
        import optuna
    except ImportError:
        raise UserError("auto.search=optuna needs the optuna package; install it with pip install -e '.[optuna]',"
                        " or use auto.search=staged") from None
    settings = cfg.auto
    begin = search_start(cfg, prepared, horizons, second=second)
    options, first = begin.options, begin.first
    space = dict(stages(first, begin.season, begin.horizon, begin.positive, options=options))
    choices = {"transforms": options,
               "look_back": sorted({first.look_back, *space["look_back"]}),
               "strategy": ["recursive", *space["strategy"]], "lags_as": ["timesteps", "features"],
               "units": [16, 32, 64], "layers": [1, 2]}
    tried: dict[Candidate, Tried] = {}
    started = time.perf_counter()
    per_member = refit_cost(cfg, prepared)
    cut = []

    def objective(trial) -> float:
        picked = {name: options[trial.suggest_categorical(name, list(range(len(options))))]
                  for name, options in choices.items()}
        candidate = Candidate(**picked)
        if candidate not in tried:
            with progress.phase(candidate_label(cfg, "candidate", len(tried) + 1, candidate,
                                                time.perf_counter() - started)):
                tried[candidate] = try_candidate(cfg, candidate, progress, horizons, steps,
                                                 len(prepared.windows["train"]))
        return tried[candidate].score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=int(cfg.seed)))
    # The staged search's first candidate first, so both searches start from the same point.
    study.enqueue_trial({name: choices[name].index(getattr(first, name)) for name in choices})
    def keep_room(study, trial) -> None:
        # The staged search's rule: no new candidate past the search's share of the budget, nor when
        # the members still to train (and their refits through the test period) would not fit.
        if not room_for_another(cfg, time.perf_counter() - started, [member_seconds(t) for t in tried.values()],
                                per_member):
            cut.append(True)
            log.info("search budget reached after %d candidates", len(tried))
            study.stop()

    study.optimize(objective, n_trials=int(settings.max_trials), callbacks=[keep_room], catch=())
    return list(tried.values()), bool(cut) and len(study.trials) < int(settings.max_trials)


def forecastable(values: np.ndarray, split: int, ranked: list[Tried]) -> tuple[list[Tried], dict[Candidate, str]]:
    """Return the candidates among `ranked` whose transforms take every value of the series, and why
    each of the others cannot.

    The search never transforms a test value, so a candidate can win it with a transform that a
    later value rules out (a log, and a 0 in the test period). Such a candidate cannot forecast the
    test period from its values; it is left out of the ensemble, by name, and the next ones take
    its place. Their scores and ranks are the search's, whatever the test values. Each candidate's
    transforms are fitted as its member's are, on the values before the test period (`split`).
    """
    usable, left_out = [], {}
    for tried in ranked:
        try:
            Pipeline(list(tried.candidate.transforms)).fit(values[:split]).transform(values)
        except UserError as error:
            left_out[tried.candidate] = str(error)
            log.info("left out of the ensemble: %s: %s", tried.candidate.describe(), error)
            continue
        usable.append(tried)
    return usable, left_out


def member_config(cfg: DictConfig, tried: Tried, seed_offset: int = 0) -> DictConfig:
    """Return the config that trains a member on training + validation, for the epochs early stopping chose.

    `seed_offset` k trains it from seed + k (`auto.seeds` members of one candidate differ by it).
    """
    epochs = int(tried.best_epoch or tried.epochs_run or cfg.training.epochs)
    return tried.candidate.apply(cfg, **{"split.validation_fraction": 0.0, "training.epochs": max(1, epochs),
                                         "training.patience": None, "training.repeats": 1,
                                         "seed": int(cfg.seed) + int(seed_offset)},
                                 **engine_settings(cfg, tried.candidate))


def choose_members(ranked: list[Tried], ensemble: int, diverse: bool = False,
                   tolerance: float | None = None) -> list[Tried]:
    """Return the members among `ranked` (best first): the `ensemble` best or, `diverse`, the best of
    each transform option first (in their ranks), then the next best, so that the median combines
    networks that see the series differently. With a `tolerance`, only transform options whose best
    scores within (1 + tolerance) times the best score are taken first."""
    count = max(1, int(ensemble))
    if not diverse:
        return ranked[:count]
    firsts, seen = [], set()
    limit = ranked[0].score * (1 + tolerance) if tolerance is not None and ranked else float("inf")
    for position, tried in enumerate(ranked):  # positions, not Tried values: those hold arrays
        if tried.candidate.transforms not in seen and tried.score <= limit:
            seen.add(tried.candidate.transforms)
            firsts.append(position)
    picked = firsts[:count]
    picked += [p for p in range(len(ranked)) if p not in picked][:count - len(picked)]
    return [ranked[p] for p in sorted(picked)]


def ensemble_plan(members: list[Tried], seeds: int) -> list[tuple[Tried, int]]:
    """Return the networks to train, in order: every chosen candidate from the first seed (best
    first), then every one from the second, and so on (seed offsets 0, 1, ...), so that a budget
    that runs out keeps the candidates and drops seeds."""
    return [(tried, k) for k in range(max(1, int(seeds))) for tried in members]


# The user's overrides that the rerun command sets itself (the configuration, the split, the seed) or
# that a plain run has no key for (auto.*: the search's own settings; a plain run's `auto` is null).
# Of training.*, the keys the command sets and those a member overrides (patience: none; repeats: 1);
# the others (lr_schedule, shuffle, ...) trained the member as the user set them, and stay.
_SET_BY_RERUN = ("experiment=", "framing", "model", "protocol", "split.validation_fraction", "training.epochs=",
                 "training.batch_size=", "training.learning_rate=", "training.jit_compile=", "training.patience=",
                 "training.repeats=", "seed=", "auto.", "auto=")


def rerun_overrides(task: list[str]) -> list[str]:
    """Return the user's overrides that the rerun command keeps (data, horizons, baselines, ...)."""
    return [o for o in task if not o.lstrip("+~").startswith(_SET_BY_RERUN)]


def found_columns(task: list[str], cfg: DictConfig) -> list[str]:
    """Return data.column and data.date_column as the run found them in the file, for those the user's
    overrides (`task`) left out: the rerun reads the same columns whatever the file gets later."""
    if cfg.get("collection") is not None or cfg.data.get("name") != "csv":
        return []
    given = {o.lstrip("+~").split("=", 1)[0] for o in task}
    return [plain_override(f"data.{key}", cfg.data[key]) for key in ("column", "date_column")
            if f"data.{key}" not in given and cfg.data.get(key) != "auto"
            and (key == "date_column" or cfg.data.get(key) is not None)]


def _rerun_command(member_cfg: DictConfig, candidate: Candidate) -> str:
    """Return a plain `lstmts ...` command that trains this member alone (the user's own overrides kept)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        task = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    except ValueError:
        task = []
    kept = rerun_overrides(task) + found_columns(task, member_cfg)
    training = member_cfg.training
    engine = [f"training.jit_compile={str(training.jit_compile).lower()}"] if training.get(
        "jit_compile", "auto") != "auto" else []
    return " ".join(["lstmts", *kept, "protocol=honest", *candidate.overrides(), "split.validation_fraction=0",
                     f"training.epochs={training.epochs}", f"training.batch_size={training.batch_size}",
                     f"training.learning_rate={training.learning_rate}", *engine, f"seed={member_cfg.seed}"])


def _candidates_frame(tried: list[Tried], horizons: list[int], chosen: list[Candidate],
                      left_out: dict[Candidate, str] | None = None) -> pd.DataFrame:
    rows = []
    left_out = left_out or {}
    for number, outcome in enumerate(tried, start=1):
        candidate = outcome.candidate
        row = {"candidate": number, "transforms": ",".join(candidate.transforms), "look_back": candidate.look_back,
               "lags_as": candidate.lags_as, "units": candidate.units, "layers": candidate.layers,
               "strategy": candidate.strategy, "validation_score": outcome.score,
               **{f"validation_rmse_h{h}": outcome.by_horizon.get(h) for h in horizons},
               "epochs_run": outcome.epochs_run, "best_epoch": outcome.best_epoch,
               "seconds": round(outcome.seconds, 3),
               "member": chosen.index(candidate) + 1 if candidate in chosen else None,
               "note": f"left out of the ensemble: {left_out[candidate]}" if candidate in left_out else outcome.note}
        rows.append(row)
    return pd.DataFrame(rows)


def _check_supported(cfg: DictConfig) -> None:
    budget_setting(cfg)  # an impossible budget is one line before anything runs
    residuals.combination(cfg)  # and so is an unknown way to combine the halves
    residuals.shrinkage(cfg)  # and an impossible move towards them
    residuals.fit_half(cfg)  # and an impossible count for the fitted weights
    residuals.leader_count(cfg)  # and an impossible count of leading baselines
    chosen_transforms(cfg)  # and so are transform options that cannot be built
    second_season_setting(cfg)  # and an impossible cycle above the season
    online.check(cfg)  # and so are impossible refits through the test period
    if not cfg.split.get("validation_fraction"):
        raise UserError("experiment=auto chooses its configuration on a validation period; set"
                        " split.validation_fraction to a fraction such as 0.2")
    data = cfg.data
    covariates = data.get("covariates") or {}
    if list(covariates.get("past") or []) or list(covariates.get("future") or []) or data.get("calendar"):
        raise UserError("experiment=auto does not search with covariates yet; drop data.covariates and data.calendar,"
                        " or run a configuration of your own with them")
    if cfg.training.engine != "fast":
        raise UserError("experiment=auto trains with training.engine=fast; drop training.engine=keras")
    if cfg.protocol.get("scaler_sees_test"):
        raise UserError("experiment=auto chooses on validation, so its transforms may not be fitted on the test period;"
                        " drop protocol.scaler_sees_test (protocol=tutorial)")


@dataclass
class Half:
    """One half of the ensemble: its search, its members and their forecasts (median over members)."""

    tried: list[Tried]
    members: list[Tried]
    plan: list[tuple[Tried, int]]
    left_out: dict
    cut: bool
    series: object = None  # what its networks learn: the series, or the residuals of a baseline
    base: object = None  # the second half's residuals.Base (None for the first)
    outputs: list = None
    losses: dict = None
    updates: int = 0
    seconds: float = 0.0


def _ranked(tried: list[Tried], values: np.ndarray, split: int) -> tuple[list[Tried], dict]:
    ranked = sorted((t for t in tried if np.isfinite(t.score)), key=lambda t: t.score)
    if not ranked:
        raise UserError(f"no candidate of the automatic LSTM could be trained on this series"
                        f" ({tried[0].note}); give a longer series or a larger split.validation_fraction, or train"
                        f" the plain LSTM with a window that fits: experiment=plain framing.look_back=...")
    ranked, left_out = forecastable(values, split, ranked)
    if not ranked:
        raise UserError(f"no candidate of the automatic LSTM can forecast the test period"
                        f" ({next(iter(left_out.values()))});"
                        f" remove the values it names or set a later split")
    return ranked, left_out


def _half(cfg: DictConfig, tried: list[Tried], cut: bool, series, split: int, diverse: bool, base=None) -> Half:
    ranked, left_out = _ranked(tried, series.values, split)
    tolerance = cfg.auto.get("diverse_within")
    members = choose_members(ranked, int(cfg.auto.ensemble), diverse, None if tolerance is None else float(tolerance))
    return Half(tried, members, ensemble_plan(members, int(cfg.auto.get("seeds") or 1)), left_out, cut, series, base)


def _train_half(cfg: DictConfig, half: Half, report, progress, phases: Phases, out_dir: Path, first_rank: int,
                started: float, refits: list, console) -> None:
    """Train the half's members on training + validation and keep their one-step (and path) forecasts.

    For the second half the networks forecast the residuals; the baseline's one-step forecast is
    added back, and its multi-step paths are left empty (NaN past the first step).
    """
    series, base = half.series, half.base
    test_targets = report.windows["test"].target_index
    horizon = max(cfg.horizons) if cfg.horizons else 0
    limit = budget(cfg)
    half.outputs, half.losses, seconds_each = [], {}, []
    for number, (member, seed_offset) in enumerate(half.plan, start=1):
        if number > len(half.members) and limit is not None and \
                time.perf_counter() - started + max(seconds_each) > limit:
            log.info("budget reached after %d of %d networks of the ensemble", number - 1, len(half.plan))
            break
        member_started = time.perf_counter()
        member_cfg = member_config(cfg, member, seed_offset)
        with phases.phase("train"):
            prepared = runner.prepare(member_cfg, series=series)
            _, trained, _ = next(runner._train_repeats(member_cfg, prepared, progress, score=False))
        half.updates, half.seconds = half.updates + trained.updates, half.seconds + trained.seconds
        half.losses[first_rank + number - 1] = trained.losses
        with phases.phase("score"):
            forecaster = runner._forecaster(member_cfg, prepared.pipeline, trained.model)
            outputs = {split: forecaster.paths(series.values, report.windows[split].target_index, 1)[:, 0]
                       for split in ("train", "test")}
            outputs["validation"] = member.paths[:, 0]  # the search model's: it never saw the validation period
            outputs["paths"] = forecaster.paths(series.values, test_targets, horizon) if horizon else None
        if refits:
            # Like the baselines, the member takes in the test period's values as they come.
            weights = trained.model.get_weights()
            with phases.phase("train"):
                outputs["test"], outputs["paths"], more = online.online_forecasts(
                    member_cfg, series, weights, test_targets, outputs["test"], outputs["paths"], refits,
                    online.refit_epochs(cfg, member_cfg), console)
            trained.model.set_weights(weights)  # the member's folder keeps the training + validation weights
            half.updates += more
        with phases.phase("score"):
            outputs["calibration_paths"] = (member.paths[-runner.MAX_CALIBRATION_ORIGINS:, :int(cfg.intervals.steps)]
                                            if cfg.intervals.levels else None)
        if base is not None:
            outputs = _on_base(outputs, base.forecasts, report, test_targets)
        half.outputs.append(outputs)
        with phases.phase("write"):
            _write_member(out_dir / MEMBERS / str(first_rank + number - 1), member_cfg, prepared, trained.model, member,
                          series, None if base is None else base.name)
        seconds_each.append(time.perf_counter() - member_started)


def _on_base(outputs: dict, base: np.ndarray, report, test_targets: np.ndarray) -> dict:
    """Return a residual member's forecasts of the series: the baseline's one-step forecast plus the
    member's; its paths keep only the first step (the baseline part is one step ahead)."""
    targets = {split: report.windows[split].target_index for split in ("train", "validation")}
    added = {split: outputs[split] + base[targets[split]] for split in ("train", "validation")}
    added["test"] = outputs["test"] + base[test_targets]

    def first_step(paths, origins):
        if paths is None:
            return None
        kept = np.full(paths.shape, np.nan)
        kept[:, 0] = paths[:, 0] + base[origins]
        return kept

    added["paths"] = first_step(outputs["paths"], test_targets)
    calibration = outputs["calibration_paths"]
    added["calibration_paths"] = (None if calibration is None else
                                  first_step(calibration, targets["validation"][-len(calibration):]))
    return added


def _base_outputs(half: Half, report, forecasts: np.ndarray, paths: np.ndarray | None = None,
                  calibration: np.ndarray | None = None) -> dict:
    """Return baseline one-step `forecasts` (the baseline's, or the leaders' mean) in the shape of the
    half's members' outputs: their test paths `paths` and calibration paths `calibration` where given
    (from the members' origins, as many steps), else NaN past the first step."""
    zero = {key: None if value is None else np.zeros_like(value) for key, value in half.outputs[0].items()}
    outputs = _on_base(zero, forecasts, report, report.windows["test"].target_index)
    for key, given in (("paths", paths), ("calibration_paths", calibration)):
        if given is not None and outputs[key] is not None:
            outputs[key] = np.asarray(given, dtype="float64")[:, :outputs[key].shape[1]]
    return outputs


def baseline_origins(prepared, horizon: int, calibration_steps: int) -> tuple[np.ndarray, int] | None:
    """Return (origins, steps) from which the baselines forecast several steps for the run's combination:
    the intervals' calibration origins (runner._calibration_origins) for `calibration_steps`, and every
    test target for the run's longest `horizon`; None where neither goes beyond one step."""
    parts = []
    if calibration_steps > 1:
        parts.append(runner._calibration_origins(prepared))
    if horizon > 1:
        parts.append(prepared.windows["test"].target_index)
    if not parts:
        return None
    return np.concatenate(parts).astype(int), max(horizon, calibration_steps)


def paths_at(paths: dict, origins: np.ndarray, wanted: np.ndarray, steps: int) -> dict:
    """Return {name: the rows of its [origins, steps] paths that start at `wanted`, their first `steps`
    steps, or its "skipped: why"} ({} where steps < 2: one step ahead needs no paths)."""
    if steps < 2:
        return {}
    row = {int(origin): number for number, origin in enumerate(origins)}
    index = [row[int(origin)] for origin in wanted]
    return {name: made if isinstance(made, str) else np.asarray(made)[index, :steps] for name, made in paths.items()}


def _median_outputs(half: Half) -> dict:
    predictions = {}
    for key in ("train", "validation", "test", "paths", "calibration_paths"):
        present = [o[key] for o in half.outputs if o[key] is not None]
        predictions[key] = median_of(present) if present else None
    return predictions


def _baseline_voices(cfg: DictConfig, base_prepared, classical: dict, how: str):
    """Return the baseline best on validation (residuals.Base), the leaders (residuals.Leaders), each
    None where there is none (no baseline scored on validation, auto.leaders=0, or how="none" with no
    second half to learn a baseline's residuals), and the names of the baselines that scored on
    validation, best first."""
    values, validation = base_prepared.series.values, base_prepared.periods.validation
    season = base_prepared.season_length
    ranked = residuals.ranked_bases(values, validation, season, classical)  # scored once, for all three
    names = [name for name, _ in ranked]
    if how == "none" and not cfg.auto.get("residuals", False):
        return None, None, names
    base = residuals.best_base(values, validation, season, classical, ranked)
    if base is None:
        log.info("no baseline scored on validation: the automatic LSTM is its networks alone")
        return None, None, names
    leading = (None if how == "none" else
               residuals.leaders(values, validation, season, classical, residuals.leader_count(cfg), ranked))
    if leading is not None:
        log.info("the leaders: %s", ", ".join(leading.names))
    return base, leading, names


def _voice_weights(cfg: DictConfig, how: str, medians: list[dict], based: dict, led: dict, values: np.ndarray,
                   validation_targets: np.ndarray, move: float | None) -> tuple[dict[str, float] | None, int | None]:
    """Return each voice's weight by name (the baseline, the networks, the second half, the leaders: the
    order combine takes them in) and the validation targets they were fitted on; (None, None) unless
    auto.combine=fitted with a baseline. The voices' validation forecasts are the search models' and
    the baselines' from before each target, as in the run table."""
    if how != "fitted" or not based:
        return None, None
    names = residuals.voice_names(len(medians) > 1, bool(led))
    voices = [based["validation"], *(m["validation"] for m in medians)] + ([led["validation"]] if led else [])
    weights, count = residuals.fitted_weights(np.stack(voices), values[validation_targets], move,
                                              residuals.fit_half(cfg))
    chosen = dict(zip(names, (float(w) for w in weights)))
    log.info("the voices' weights, fitted on %d validation targets: %s", count,
             ", ".join(f"{name} {weight:.3f}" for name, weight in chosen.items()))
    return chosen, count


def _second_half(cfg: DictConfig, base_prepared, base, progress, horizons: list[int], steps: int,
                 phases: Phases) -> Half | None:
    """Search the networks that learn what the baseline best on validation (`base`) leaves, or None
    (auto.residuals off, or no baseline scored on validation)."""
    if not cfg.auto.get("residuals", False) or base is None:
        return None
    series, season = base_prepared.series, base_prepared.season_length
    log.info("second half: networks on what %s leaves (its validation RMSE %.6g)", base.name, base.validation_rmse)
    on_residuals = residuals.residual_series(series, base.forecasts, season)
    with phases.phase("data"):
        prepared = runner.prepare(cfg, series=on_residuals)
    with phases.phase("train"):
        tried, cut = search(cfg, prepared, progress, horizons, steps, options=list(residuals.TRANSFORMS),
                            label=f"on {base.name} residuals")
    return _half(cfg, tried, cut, on_residuals, int(base_prepared.periods.split), diverse=False, base=base)


def _auto(cfg: DictConfig, out_dir: Path, console) -> dict:
    _check_supported(cfg)
    combining = residuals.combination(cfg)
    run_started = time.perf_counter()
    phases = Phases()
    with phases.phase("data"):
        base = runner.prepare(cfg)
    series = base.series
    cfg = with_budget(cfg, len(series.values))
    check_horizons(cfg.horizons or [], len(base.windows["test"]))
    horizons = validation_horizons(cfg.horizons, len(base.periods.validation))
    steps = max(max(horizons), int(cfg.intervals.steps) if cfg.intervals.levels else 1)
    split = int(base.periods.split)
    with RunProgress(console) as progress:
        how = cfg.auto.get("search", "staged")
        if how not in ("staged", "optuna"):
            raise UserError(f"auto.search={how!r} is unknown; use staged or optuna")
        searching = search_optuna if how == "optuna" else search
        cycle = second_cycle(cfg, base)
        # The baselines' fits (child processes) run on the other core while the search trains here.
        # Their periods are the search's: the training end and the season do not depend on a candidate.
        horizon = max(cfg.horizons) if cfg.horizons else 0
        calibrating = int(cfg.intervals.steps) if cfg.intervals.levels else 0
        at = baseline_origins(base, horizon, calibrating)
        with phases.phase("train"):
            classical, made_paths, (tried, search_cut) = runner._classical_during(
                cfg, base, lambda: searching(cfg, base, progress, horizons, steps, second=cycle), at=at)
        first = _half(cfg, tried, search_cut, series, split, bool(cfg.auto.get("diverse", False)))
        best, leading, scored = _baseline_voices(cfg, base, classical, combining)
        move = residuals.shrinkage(cfg) if combining in ("shrink", "fitted") else None
        second_started = time.perf_counter()
        second = _second_half(cfg, base, best, progress, horizons, steps, phases)
        # The first half's clock leaves out the second half's search (its members train after it).
        first_started = run_started + (time.perf_counter() - second_started)
        halves = [h for h in (first, second) if h is not None]
        # The report frames the periods as the member with the longest history does, so every member can score each target.
        widest = max((m for h in halves for m in h.members), key=lambda t: t.candidate.look_back + t.candidate.warmup)
        report_cfg = widest.candidate.apply(cfg)
        with phases.phase("data"):
            report = runner.prepare(report_cfg)
        if not np.array_equal(report.windows["validation"].target_index, base.periods.validation):
            raise RuntimeError("the members' validation origins differ")
        if runner._training_end(report.periods) != runner._training_end(base.periods):
            raise RuntimeError("the members' training period differs from the search's")
        test_targets = report.windows["test"].target_index
        if not np.array_equal(test_targets, base.windows["test"].target_index):
            raise RuntimeError("the members' test origins differ from the baselines' paths'")
        refits = online.test_points(cfg, report)
        _train_half(cfg, first, report, progress, phases, out_dir, 1, first_started, refits, console)
        if second is not None:
            _train_half(cfg, second, report, progress, phases, out_dir, len(first.outputs) + 1, second_started,
                        refits, console)
        medians = [_median_outputs(h) for h in halves]
        # The baselines' paths from the test origins (the run's horizons) and the calibration ones (the intervals').
        calibration_origins = runner._calibration_origins(report)
        classical_paths = paths_at(made_paths, at[0], test_targets, horizon) if at else {}
        calibration_paths = paths_at(made_paths, at[0], calibration_origins, calibrating) if at else {}

        def voice(names: tuple[str, ...], forecasts: np.ndarray) -> dict:
            return _base_outputs(first, report, forecasts, residuals.voice_paths(
                names, series.values, base.season_length, classical_paths, test_targets, horizon),
                residuals.voice_paths(names, series.values, base.season_length, calibration_paths,
                                      calibration_origins, calibrating))

        based = {} if best is None else voice((best.name,), best.forecasts)
        led = {} if leading is None else voice(leading.names, leading.forecasts)
        weights, fitted_on = _voice_weights(cfg, combining, medians, based, led, series.values,
                                            report.windows["validation"].target_index, move)
        predictions = {key: residuals.combine(medians[0][key], medians[1][key] if second is not None else None,
                                              based.get(key), combining, led.get(key), move,
                                              residuals.ordered_weights(weights))
                       for key in medians[0]}
        if best is not None:
            with phases.phase("write"):
                residuals.write_record(out_dir, best, runner._training_end(base.periods), base.season_length,
                                       runner.classical_settings(cfg, base), combining, leading, move, weights)
    tried_all = [t for h in halves for t in h.tried]
    updates = sum(t.updates for t in tried_all) + sum(h.updates for h in halves)
    seconds = sum(t.seconds for t in tried_all) + sum(h.seconds for h in halves)
    losses = {rank: values for h in halves for rank, values in h.losses.items()}
    pseudo = SimpleNamespace(updates=updates, seconds=seconds, losses=losses[1], validation_losses=[])
    with phases.phase("score"):
        metrics = runner._score_run(report_cfg, report, [(cfg.seed, pseudo, predictions)], classical, classical_paths)
    members = first.members
    chosen = [m.candidate for m in members]
    first_member = member_config(cfg, members[0])
    metrics["kind"] = "auto"
    metrics["auto"] = {
        "candidates": len(first.tried),
        "ensemble": [m.candidate.describe() for m in members],
        "seeds": int(cfg.auto.get("seeds") or 1),
        "networks": len(first.outputs),
        "validation_scores": [m.score for m in members],
        "horizons": horizons,
        "search": cfg.auto.get("search", "staged"),
        # The cycle above the season at which the search also tried a difference (null: none).
        "second_season": cycle,
        "test_refits": len(refits),
        "search_seconds": round(sum(t.seconds for t in first.tried), 3),
        # Whether auto.budget_seconds ended the search or dropped seeds: then the same config and
        # seed can give other numbers on a busier or faster machine (null: max_trials alone).
        "budget_reached": any(h.cut or len(h.outputs) < len(h.plan) for h in halves),
        "budget_seconds": budget_setting(cfg),  # auto's, from the series' length
        "rerun_best": _rerun_command(first_member, members[0].candidate),
        "left_out": [f"{candidate.describe()}: {why}" for candidate, why in first.left_out.items()],
        # How the forecast is made from the networks and the baselines (null: the networks alone).
        "combination": None if best is None else {
            "baseline": best.name, "combine": combining, "shrink": move,
            "leaders": list(leading.names) if leading is not None else [],
            # With fitted: each voice's weight, and how many validation targets they were fitted on.
            "weights": weights, "fitted_on": fitted_on,
            "fit_half": residuals.fit_half(cfg) if combining == "fitted" else None,
        },
        "residuals": None if second is None else {
            "baseline": second.base.name,
            "combine": combining,
            "shrink": move,
            "leaders": list(leading.names) if leading is not None else [],
            "candidates": len(second.tried),
            "ensemble": [m.candidate.describe() for m in second.members],
            "networks": len(second.outputs),
            "validation_scores": [m.score for m in second.members],
            "search_seconds": round(sum(t.seconds for t in second.tried), 3),
            # Each half's validation RMSE one step ahead (the run's own is the combination's).
            "validation_rmse_halves": [rmse(series.values[report.windows["validation"].target_index],
                                            m["validation"]) for m in medians],
            "test_rmse_halves": [rmse(series.values[report.windows["test"].target_index], m["test"])
                                 for m in medians],
        },
    }
    metrics["final_loss"] = {rank: values[-1] for rank, values in losses.items()}
    with phases.phase("write"):
        frame = _candidates_frame(first.tried, horizons, chosen, first.left_out)
        if second is not None:
            frame.insert(1, "learns", "series")
            extra = _candidates_frame(second.tried, horizons, [m.candidate for m in second.members])
            extra.insert(1, "learns", f"{second.base.name} residuals")
            extra["candidate"] += len(frame)
            extra["member"] = extra["member"].map(lambda rank: rank + len(first.outputs) if pd.notna(rank) else None)
            frame = pd.concat([frame, extra], ignore_index=True)
        files.write_csv(out_dir / "candidates.csv", frame)
        targets = {split: report.windows[split].target_index for split in ("validation", "test")}
        files.write_csv(out_dir / residuals.VOICES, residuals.voices_frame(
            series, targets, predictions, medians, scored, base.season_length, classical))
        runner._write_outputs(report_cfg, out_dir, report, metrics.pop("_ensemble"), losses, {}, metrics,
                              metrics.pop("_interval_file"))
        # The folder's own model and transforms are the best member's, trained on training + validation.
        best = out_dir / MEMBERS / "1"
        for name in ("model.keras", "transforms.json"):
            files.replace_with(out_dir / name, lambda temporary, name=name: temporary.write_bytes(
                (best / name).read_bytes()), suffix=Path(name).suffix)
    metrics["phases"] = phases.rounded()
    log.info("%s", phases.line())
    return metrics


def _write_member(folder: Path, member_cfg: DictConfig, prepared, model, member: Tried, series,
                  residuals_of: str | None = None) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise files.cannot_write(folder, error) from None
    files.write_atomic(folder / "config.yaml", OmegaConf.to_yaml(member_cfg, resolve=True))
    files.write_atomic(folder / "transforms.json", prepared.pipeline.to_json())
    files.save_model(model, folder / "model.keras")
    files.write_json(folder / "member.json", {"candidate": member.candidate.describe(),
                                              "validation_score": member.score, "best_epoch": member.best_epoch,
                                              "learns": f"{residuals_of} residuals" if residuals_of else "series",
                                              "data": {"path": str(series.path), "sha256": series.sha256}})


def forecast_members(run_dir: Path, series, steps: int, refit: bool, console=None) -> np.ndarray:
    """Return the run's forecast of `steps` values after the series (members refitted on all of it with
    `refit`): the median of the members on the series and, with a second half (the baseline's forecast
    plus the median of the residual members', their residuals rebuilt on this series), the two, the
    baseline's forecast and its leaders' mean combined as the run did (residuals.json)."""
    folders = sorted((p for p in (Path(run_dir) / MEMBERS).glob("*") if p.is_dir()), key=lambda p: int(p.name))
    if not folders:
        raise UserError(f"{run_dir} holds no {MEMBERS}/ folders of its ensemble; rerun the experiment")
    record = residuals.read_record(run_dir)
    on_series, on_residuals = [], []
    for folder in folders:
        (on_residuals if record is not None and _learns_residuals(folder) else on_series).append(folder)
    first = median_of([_member_forecast(f, series, steps, refit, console) for f in on_series])
    if record is None:  # the networks alone
        return first
    future, second = residuals.future(record, series.values, steps), None
    if on_residuals:
        base = residuals.base_for(record, series.values)
        residual = residuals.residual_series(series, base, int(record["season_length"]))
        second = future + median_of([_member_forecast(f, residual, steps, refit, console) for f in on_residuals])
    if "combine" not in record:  # a run from before auto.combine: the mean of the halves
        return residuals.combine(first, second)
    leaders_mean = residuals.future_leading(record, series.values, steps, {record["baseline"]: future})
    weights = record.get("weights")
    if record["combine"] == "fitted":
        present = residuals.voice_names(second is not None, leaders_mean is not None)
        if not weights or set(weights) != set(present):
            raise UserError(f"{Path(run_dir) / residuals.FILE} has no weight for each of the run's voices"
                            f" ({', '.join(sorted(present))}); rerun the experiment")
    return residuals.combine(first, second, future, record["combine"], leaders_mean, record.get("shrink"),
                             residuals.ordered_weights(weights))


def _learns_residuals(folder: Path) -> bool:
    try:
        return json.loads((folder / "member.json").read_text()).get("learns", "series") != "series"
    except (OSError, ValueError) as error:
        raise UserError(f"{folder / 'member.json'} cannot be read ({error}); rerun the experiment") from None


def _member_forecast(folder: Path, series, steps: int, refit: bool, console) -> np.ndarray:
    """Return one member's forecast of `steps` values after `series` (refitted on all of it with `refit`)."""
    import yaml

    from lstmts.backend import load
    from lstmts.models.forecaster import Forecaster

    try:
        config = OmegaConf.create(yaml.safe_load((folder / "config.yaml").read_text()))
        pipeline = Pipeline.from_json((folder / "transforms.json").read_text())
    except (OSError, ValueError, TypeError, KeyError, yaml.YAMLError) as error:
        raise UserError(f"{folder} holds a config.yaml or transforms.json that lstmts cannot use ({error});"
                        f" rerun the experiment") from None
    if refit:
        return runner.refit(config, series, console).forecast(series.values, steps)
    keras, _ = load()
    try:
        model = keras.saving.load_model(folder / "model.keras", compile=False)
    except Exception as error:  # whatever Keras says, the file is unusable
        raise UserError(f"{folder / 'model.keras'} cannot be read ({error}); rerun the experiment") from None
    forecaster = Forecaster(model, pipeline, config.framing.look_back, config.framing.lags_as, False,
                            config.training.batch_size)
    return forecaster.beyond(series.values, steps, 0)


def run_auto(cfg: DictConfig, out_dir: Path, *, choices: dict | None = None, console=None) -> dict:
    """Run the automatic LSTM into out_dir with the run folder's usual guarantees."""
    return runner.run(cfg, out_dir, choices=choices, console=console, body=_auto)
