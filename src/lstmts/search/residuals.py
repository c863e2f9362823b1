"""The automatic LSTM's baseline voices, and its optional second half.

The baseline that has the lowest validation RMSE (chosen exactly as the run's table chooses the
one to beat) gives a one-step forecast f[t] of every value from the values before t: fitted on the
training period, taking in each later value through its state and refitted every season, as the
table's baselines are. With auto.leaders = k, the mean of the k baselines best on validation (f
among them) is a voice that a single baseline's bad test period moves less.

The run's forecast (auto.combine) puts the voices together: the networks on the series, the second
half where there is one, f and the leaders' mean. `fitted` (the default): the voices weighted,
shrink's weights moved n / (n + auto.fit_half) of the way towards the weights with the least
squared error on the n validation targets; `shrink`: f moved auto.shrink (0.3) of the way towards
the mean of the others; `median`: the median of the voices; `mean`: their mean; `none`: the
networks alone (the mean of the halves).

The second half (auto.residuals, off by default) is ES-RNN's idea with the run's own baselines as
the statistical part: the residual series z[t] = y[t] - f[t] is what that baseline leaves;
networks searched on z as on any series (scaled, no differences: z has no trend to follow)
forecast it, and the half's forecast of y[t] is f[t] plus the median of theirs. A network that
finds nothing in z forecasts about 0, so this half is about the baseline itself.

With horizons above 1 the baselines forecast every step from each test origin too (their paths, made
as their one-step forecasts are), and the run's test paths combine every step as the first, which is
what `lstmts forecast` does with their forecasts of the future; so are the validation paths whose
errors calibrate the intervals. The second half's paths beyond one step come from its networks alone.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lstmts.data.series import Series
from lstmts.evaluation.naive import naive_paths
from lstmts.evaluation.scoring import baseline_scores, ranked_baselines
from lstmts.errors import UserError

log = logging.getLogger("lstmts")
# The transforms of the residual networks: the residuals are scaled, never differenced.
TRANSFORMS = (("standard",),)
FILE = "residuals.json"
# Every voice's one-step forecast of the validation and test targets, beside the run's.
VOICES = "voices.csv"


@dataclass(frozen=True)
class Base:
    """The baseline the second half's networks learn on top of."""

    name: str
    forecasts: np.ndarray  # its one-step forecast of every index of the series (NaN where it has none)
    validation_rmse: float


def naive_lag(name: str, season_length: int) -> int | None:
    """Return the lag of a naive baseline's forecast (persistence 1, seasonal naive the season), None for another."""
    return {"persistence": 1, "seasonal_naive": season_length}.get(name)


def one_step(name: str, values: np.ndarray, season_length: int, classical: dict) -> np.ndarray:
    """Return baseline `name`'s one-step forecast of every index of `values` (NaN where it has none)."""
    values = np.asarray(values, dtype="float64")
    lag = naive_lag(name, season_length)
    if lag is not None:
        return np.concatenate([np.full(lag, np.nan), values[:-lag]])
    forecasts = classical.get(name)
    if forecasts is None or isinstance(forecasts, str):
        raise KeyError(name)
    return np.asarray(forecasts, dtype="float64")


def voice_paths(names, values: np.ndarray, season_length: int, classical_paths: dict, origins: np.ndarray,
                steps: int) -> np.ndarray | None:
    """Return the mean of the baselines `names`' [origins, steps] forecasts from every origin (the naive
    ones' from the values, the classical ones' from `classical_paths`), or None where steps < 2 or one
    of them has none: then the voice is one step ahead only."""
    if steps < 2:
        return None
    paths = []
    for name in names:
        lag = naive_lag(name, season_length)
        made = naive_paths(values, origins, steps, lag) if lag is not None else classical_paths.get(name)
        if made is None or isinstance(made, str):
            log.info("%s has no forecasts beyond one step (%s): the run's are the networks' there", name,
                     made or "not fitted")
            return None
        paths.append(np.asarray(made, dtype="float64"))
    return np.mean(paths, axis=0)


def ranked_bases(values: np.ndarray, validation_index: np.ndarray, season_length: int,
                 classical: dict) -> list[tuple[str, float]]:
    """Return (name, validation RMSE) of every baseline that scored on validation, best first (the run
    table's rule: scoring.ranked_baselines)."""
    scores = baseline_scores(values, {"validation": np.asarray(validation_index)}, season_length, None, classical)
    return ranked_baselines(scores, "validation_rmse")


def best_base(values: np.ndarray, validation_index: np.ndarray, season_length: int, classical: dict,
              ranked: list[tuple[str, float]] | None = None) -> Base | None:
    """Return the baseline with the lowest validation RMSE (the run table's rule), or None when none scored
    (`ranked`: ranked_bases' answer, when the caller has it)."""
    ranked = ranked_bases(values, validation_index, season_length, classical) if ranked is None else ranked
    if not ranked:
        return None
    name, score = ranked[0]
    return Base(name, one_step(name, values, season_length, classical), float(score))


@dataclass(frozen=True)
class Leaders:
    """The baselines best on validation whose mean is the combination's fourth voice (auto.leaders)."""

    names: tuple[str, ...]
    forecasts: np.ndarray  # the mean of their one-step forecasts (NaN where any has none)


def leaders(values: np.ndarray, validation_index: np.ndarray, season_length: int, classical: dict,
            count: int, ranked: list[tuple[str, float]] | None = None) -> Leaders | None:
    """Return the `count` baselines best on validation and the mean of their one-step forecasts, or None
    when count is 0 or fewer than 2 baselines scored (then there is no fourth voice; `ranked` as in
    best_base)."""
    ranked = (ranked_bases(values, validation_index, season_length, classical) if ranked is None else ranked)[:count]
    if count < 2 or len(ranked) < 2:
        return None
    names = tuple(name for name, _ in ranked)
    return Leaders(names, np.mean([one_step(name, values, season_length, classical) for name in names], axis=0))


def leader_count(cfg) -> int:
    """Return auto.leaders (3.0 read as 3), or say in one line what it may be. Without the key, 0: a
    config from before auto.leaders reproduces its run."""
    count = cfg.auto.get("leaders", 0)
    whole = not isinstance(count, bool) and isinstance(count, (int, float)) and float(count).is_integer()
    if not whole or count < 0 or count == 1:
        raise UserError(f"auto.leaders={count!r} is not a whole number of baselines to average;"
                        f" use 0 (none) or 2 or more")
    return int(count)


def leading(season_length: int) -> int:
    """Return how many first values' residuals are set to 0: a season and one more (at least 2), where
    a differenced or seasonal model's first forecasts are its start-up guesses, not forecasts."""
    return max(2, int(season_length) + 1)


def residuals(values: np.ndarray, base: np.ndarray, season_length: int) -> np.ndarray:
    """Return y - f, with 0 for the first `leading` values and wherever f has no forecast."""
    z = np.asarray(values, dtype="float64") - np.asarray(base, dtype="float64")
    z[:min(len(z), leading(season_length))] = 0.0
    z[~np.isfinite(z)] = 0.0
    return z


def residual_series(series: Series, base: np.ndarray, season_length: int) -> Series:
    """Return the series with its values replaced by what the baseline leaves (labels and source kept)."""
    return dataclasses.replace(series, values=residuals(series.values, base, season_length), covariates=None,
                               filled=0, trimmed=0)


# How the run's forecast is made from the halves (auto.combine).
COMBINATIONS = ("fitted", "shrink", "median", "mean", "none")
# The voices in the order combine takes them and their weights (those a run has, of these).
VOICES_IN_ORDER = ("baseline", "networks", "second_half", "leaders")


def combination(cfg) -> str:
    """Return auto.combine, or say in one line what it may be. Without the key, median: a config from
    before auto.combine=shrink reproduces its run."""
    how = cfg.auto.get("combine", "median")
    if how not in COMBINATIONS:
        raise UserError(f"auto.combine={how!r} is unknown; use {', '.join(COMBINATIONS[:-1])} or {COMBINATIONS[-1]}")
    return how


def shrinkage(cfg) -> float:
    """Return auto.shrink (how far `shrink` moves the baseline towards the other voices), or say in one
    line what it may be."""
    move = cfg.auto.get("shrink", 0.3)
    if isinstance(move, bool) or not isinstance(move, (int, float)) or not 0 < move <= 1:
        raise UserError(f"auto.shrink={move!r} is not a fraction of the way from the baseline to the other"
                        f" forecasts; use a number above 0 and at most 1 (0.3 is the default)")
    return float(move)


def fit_half(cfg) -> float:
    """Return auto.fit_half (the validation targets at which the weights fitted there count half), or say
    in one line what it may be."""
    half = cfg.auto.get("fit_half", 500)
    if isinstance(half, bool) or not isinstance(half, (int, float)) or not half > 0:
        raise UserError(f"auto.fit_half={half!r} is not a number of validation targets; use a number above 0"
                        f" (500 is the default: the weights fitted on validation count half at 500 targets)")
    return float(half)


def fixed_weights(count: int, move: float) -> np.ndarray:
    """Return shrink's weights of `count` voices, the baseline first: 1 - move on it, move shared
    equally by the others."""
    return np.array([1.0 - move] + [move / (count - 1)] * (count - 1))


def simplex_fit(voices: np.ndarray, actual: np.ndarray) -> np.ndarray | None:
    """Return the weights, at least 0 and summing to 1, of the `voices` ([voice, target]) whose weighted
    sum has the least squared error against `actual` (scipy's SLSQP; the values centred and scaled
    first, which leaves the weights as they are because they sum to 1), or None where the optimiser
    finds none."""
    from scipy.optimize import minimize

    count = len(voices)
    centre, scale = actual.mean(), actual.std() or 1.0
    x, y = ((voices - centre) / scale).T, (actual - centre) / scale
    gram, cross = x.T @ x / len(y), x.T @ y / len(y)
    found = minimize(lambda w: w @ gram @ w - 2 * cross @ w, np.full(count, 1.0 / count),
                     jac=lambda w: 2 * gram @ w - 2 * cross, method="SLSQP", bounds=[(0.0, 1.0)] * count,
                     constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(count)}],
                     options={"ftol": 1e-12, "maxiter": 500})
    weights = np.clip(found.x, 0.0, None)
    if not (found.success and np.isfinite(weights).all() and weights.sum() > 0):
        return None
    return weights / weights.sum()


def fitted_weights(voices: np.ndarray, actual: np.ndarray, move: float, half: float) -> tuple[np.ndarray, int]:
    """Return the weights of the `voices` ([voice, validation target], the baseline first) and how many
    validation targets they were fitted on: shrink's fixed weights (fixed_weights) moved n / (n + half)
    of the way towards the weights fitted on the n targets that every voice forecasts (simplex_fit).
    A short validation period keeps about the fixed weights; a long one, about its own."""
    voices, actual = np.asarray(voices, dtype="float64"), np.asarray(actual, dtype="float64")
    fixed = fixed_weights(len(voices), move)
    every = np.isfinite(voices).all(axis=0) & np.isfinite(actual)
    count = int(every.sum())
    if count <= len(voices):
        return fixed, count
    fitted = simplex_fit(voices[:, every], actual[every])
    if fitted is None:
        log.info("the voices' weights could not be fitted on validation; shrink's are kept")
        return fixed, count
    share = count / (count + half)
    return (1.0 - share) * fixed + share * fitted, count


def combine(first: np.ndarray | None, second: np.ndarray | None, base: np.ndarray | None = None,
            how: str = "median", leaders_mean: np.ndarray | None = None, move: float | None = None,
            weights: np.ndarray | None = None) -> np.ndarray | None:
    """Return the run's forecast where the halves' (the second may be None: no second half) and the
    baseline's forecasts all have one, from those and `leaders_mean` (the mean of the leading
    baselines) where it has one too: how="shrink", the baseline moved `move` of the way towards the
    mean of the other voices; "fitted", the voices weighted by `weights` (the baseline's, the
    halves', the leaders'; where the leaders' mean has no forecast, the others' renormalised);
    "median" or "mean", the median or mean of all the voices. Elsewhere, and without `base` or with
    how="none", the mean of the halves' where both have one, else the one that has. `move` is
    needed by shrink alone, `weights` by fitted alone.

    The median of three is the baseline moved towards the halves where both move it the same way, by
    the smaller of their moves (the second half is the baseline plus its networks' correction); the
    median of four is the mean of the middle two.
    """
    given = [half for half in (first, second) if half is not None]
    if not given or (len(given) == 1 and (base is None or how == "none")):
        return given[0] if given else None
    both = np.stack([np.asarray(half, dtype="float64") for half in given])
    present = np.isfinite(both)
    count = present.sum(axis=0)
    total = np.where(present, both, 0.0).sum(axis=0)
    halves = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    if base is None or how == "none":
        return halves
    base = np.asarray(base, dtype="float64")
    if how == "shrink" and move is None:
        raise ValueError("combine(how='shrink') needs the move towards the other voices")
    if how == "fitted" and (weights is None or len(weights) != 1 + len(given) + (leaders_mean is not None)):
        raise ValueError("combine(how='fitted') needs one weight for each voice")

    def reduce(voices: np.ndarray) -> np.ndarray:  # voices: the baseline first, then the others
        if how in ("shrink", "fitted"):  # shrink: the fixed weights of the voices there are
            kept = (fixed_weights(len(voices), move) if how == "shrink"
                    else np.asarray(weights[:len(voices)], dtype="float64"))
            return np.tensordot(kept / kept.sum(), voices, axes=1)
        return (np.median if how == "median" else np.mean)(voices, axis=0)

    three = np.concatenate([base[None], both])
    every = np.isfinite(three).all(axis=0)
    combined = np.where(every, reduce(np.where(every, three, 0.0)), halves)
    if leaders_mean is None:
        return combined
    four = np.concatenate([three, np.asarray(leaders_mean, dtype="float64")[None]])
    all_four = np.isfinite(four).all(axis=0)
    return np.where(all_four, reduce(np.where(all_four, four, 0.0)), combined)


def voices_frame(series: Series, targets: dict[str, np.ndarray], forecast: dict[str, np.ndarray],
                 halves: list[dict[str, np.ndarray]], ranked: list[str], season_length: int,
                 classical: dict) -> pd.DataFrame:
    """Return voices.csv: for every validation and test target (`targets`, split to indices), the run's
    one-step forecast, each half's (`networks`, then `second_half`; the validation ones the search
    models', as in the run) and every baseline that scored on validation (`ranked`, best first), so
    that another combination of them can be scored from the run folder alone."""
    baselines = {name: one_step(name, series.values, season_length, classical) for name in ranked}
    frames = []
    for split, index in targets.items():
        columns = {"date": series.labels[index], "actual": series.values[index], "split": split,
                   "forecast": forecast[split]}
        for name, half in zip(("networks", "second_half"), halves):
            columns[name] = half[split]
        for name, forecasts in baselines.items():
            columns[name] = forecasts[index]
        frames.append(pd.DataFrame(columns))
    return pd.concat(frames, ignore_index=True)


def voice_names(second_half: bool, leaders: bool) -> list[str]:
    """Return the names of a run's voices, in the order combine takes them."""
    present = {"baseline": True, "networks": True, "second_half": second_half, "leaders": leaders}
    return [name for name in VOICES_IN_ORDER if present[name]]


def ordered_weights(weights: dict[str, float] | None) -> list[float] | None:
    """Return the voices' weights by name (metrics.json, residuals.json) as the list combine takes."""
    return None if weights is None else [weights[name] for name in VOICES_IN_ORDER if name in weights]


def write_record(run_dir: Path, base: Base, training_end: int, season_length: int, settings: dict,
                 how: str, chosen: Leaders | None = None, move: float | None = None,
                 weights: dict[str, float] | None = None) -> None:
    """Write what `lstmts forecast` needs to rebuild the baseline's forecasts and the residuals, how
    the halves are combined (auto.combine, with shrink or fitted its move, with fitted the voices'
    weights by name) and the baselines whose mean is the fourth voice ([]: none)."""
    from lstmts.report import files

    files.write_json(Path(run_dir) / FILE, {"baseline": base.name, "validation_rmse": base.validation_rmse,
                                            "training_end": int(training_end), "season_length": int(season_length),
                                            "baselines": settings, "combine": how, "shrink": move,
                                            "leaders": list(chosen.names) if chosen else [],
                                            "weights": weights})


def read_record(run_dir: Path) -> dict | None:
    """Return the run's residuals.json, or None for a run without the second half."""
    path = Path(run_dir) / FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UserError(f"{path} cannot be read ({error}); rerun the experiment") from None


def base_for(record: dict, values: np.ndarray) -> np.ndarray:
    """Return the recorded baseline's one-step forecasts of every index of `values` (fitted as in the run)."""
    name, season = record["baseline"], int(record["season_length"])
    classical = {}
    if name not in ("persistence", "seasonal_naive"):
        from lstmts.evaluation.classical import classical_forecasts

        settings = {**record["baselines"], "methods": [method_of(name)]}
        classical = classical_forecasts(values, int(record["training_end"]), season, settings)
    try:
        return one_step(name, values, season, classical)
    except KeyError:
        raise UserError(f"the baseline {name!r} under the second half of this run cannot be fitted on this series"
                        f" ({classical.get(name, 'not fitted')}); forecast with a series like the run's") from None


def future(record: dict, values: np.ndarray, steps: int, name: str | None = None) -> np.ndarray:
    """Return the recorded baseline's (or the baseline `name`'s, fitted as the run fitted its baselines)
    forecast of the `steps` values after `values`."""
    name, season = name or record["baseline"], int(record["season_length"])
    values = np.asarray(values, dtype="float64")
    lag = naive_lag(name, season)
    if lag is not None:
        return naive_paths(values, np.array([len(values)]), steps, lag)[0]
    from lstmts.evaluation.classical import forecast_from

    result = forecast_from(method_of(name), values, steps, season, record["baselines"])
    if isinstance(result, str):
        raise UserError(f"the baseline {name!r} under the second half of this run cannot forecast this series"
                        f" ({result}); forecast with a series like the run's")
    return np.asarray(result, dtype="float64")


def future_leading(record: dict, values: np.ndarray, steps: int, known: dict | None = None) -> np.ndarray | None:
    """Return the mean of the recorded leading baselines' forecasts of the `steps` values after `values`
    (those in `known`, name to forecast, taken from it rather than fitted again), or None for a run
    without them (auto.leaders=0, or from before it)."""
    names, known = record.get("leaders") or [], known or {}
    if not names:
        return None
    return np.mean([known[name] if name in known else future(record, values, steps, name) for name in names], axis=0)


def method_of(name: str) -> str:
    """Return the baseline method (holt_winters, sarima, theta, ets) that a table name (holt, stl_ets, ...)
    reports: the one whose classical.method_name is `name` without a season, with one, or with a long one."""
    from lstmts.config import BASELINE_METHODS
    from lstmts.evaluation.classical import method_name

    forms = ((1, 1), (2, 2), (2, 1))  # (season, long_season): none, an ordinary season, a long one
    return next((m for m in BASELINE_METHODS if name in {method_name(m, *form) for form in forms}), name)
