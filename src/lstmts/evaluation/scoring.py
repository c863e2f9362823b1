"""Scoring a run: the baselines on exactly the LSTM's targets, the repeats, and the horizons."""

from __future__ import annotations

import math

import numpy as np

from lstmts.evaluation.horizons import horizon_scores
from lstmts.evaluation.metrics import rmse, score
from lstmts.evaluation.naive import naive_baselines, naive_paths
from lstmts.evaluation.significance import diebold_mariano, p_by_horizon


def baseline_scores(values: np.ndarray, targets: dict[str, np.ndarray], season_length: int, scale,
                    classical: dict) -> dict:
    """Score every baseline on exactly the validation and test targets of the LSTM.

    `targets` maps a split to its target indices; `classical` maps a model's name to its
    one-step forecasts of every index, or to the reason it was skipped.
    """
    baselines: dict = {}
    for split in ("validation", "test"):
        if split not in targets:
            continue
        index = targets[split]
        split_forecasts = dict(naive_baselines(values, index, season_length))
        split_forecasts.update({name: f[index] for name, f in classical.items() if not isinstance(f, str)})
        for name, forecast in split_forecasts.items():
            scores = score(values[index], forecast, scale)
            baselines.setdefault(name, {}).update({f"{split}_{k}": v for k, v in scores.items()})
    for name, forecast in classical.items():
        if isinstance(forecast, str):
            baselines[name] = {"note": forecast}
    return baselines


def against_best(values: np.ndarray, index: np.ndarray, season_length: int, classical: dict, name: str,
                 forecasts: np.ndarray) -> dict | None:
    """Return the Diebold-Mariano test of `forecasts` of values[index] against the one-step forecasts of
    the baseline `name` (a naive one or one of `classical`) of the same targets, or None (see
    diebold_mariano)."""
    theirs = classical.get(name)
    if theirs is None:
        theirs = naive_baselines(values, index, season_length).get(name)
    elif isinstance(theirs, str):
        return None
    else:
        theirs = theirs[index]
    if theirs is None:
        return None
    return diebold_mariano(values[index], forecasts, theirs)


def finite_number(value) -> float | None:
    """Return value as a float when it is a finite number (not a bool), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def ranked_baselines(baselines: dict | None, metric: str) -> list[tuple[str, float]]:
    """Return (name, score) of every baseline that has `metric` (e.g. validation_rmse), lowest first, ties
    by name. Any entry of metrics["baselines"] that has the metric counts; skipped ones (with a note) do not.
    """
    scored = [(score, name) for name, scores in (baselines or {}).items()
              if isinstance(scores, dict) and (score := finite_number(scores.get(metric))) is not None]
    return [(name, score) for score, name in sorted(scored)]


def best_baseline(baselines: dict | None, metric: str) -> tuple[str, float] | None:
    """Return (name, score) of the baseline with the lowest `metric` (ranked_baselines' first), or None."""
    ranked = ranked_baselines(baselines, metric)
    return ranked[0] if ranked else None


def choose_best_baseline(metrics: dict) -> dict | None:
    """Return the baseline a run has to beat, and the run's ratio to it, or None when no baseline scored.

    The one rule every table follows, run by run: the baseline is chosen on the run's validation
    period when the run has one (as its LSTM would be), else on test (`chosen_on` then says so). It
    is compared on test when both have a test score (a collection scored on validation has none).
    Returns {"name", "chosen_on", "compared_on", "metric" (rmse, or smape for a collection),
    "score" (the baseline's, on compared_on), "ratio" (the LSTM's score ÷ it; None for a perfect baseline)}.
    """
    metric = "smape" if metrics.get("kind") == "collection" else "rmse"
    baselines = metrics.get("baselines")
    chosen_on = "test"
    if finite_number(metrics.get(f"validation_{metric}")) is not None and \
            best_baseline(baselines, f"validation_{metric}") is not None:
        chosen_on = "validation"
    best = best_baseline(baselines, f"{chosen_on}_{metric}")
    if best is None:
        return None
    name = best[0]
    test = finite_number(baselines[name].get(f"test_{metric}"))
    compared_on = "test" if test is not None and finite_number(metrics.get(f"test_{metric}")) is not None else chosen_on
    score = finite_number(baselines[name].get(f"{compared_on}_{metric}"))
    own = finite_number(metrics.get(f"{compared_on}_{metric}"))
    ratio = own / score if own is not None and score else None
    return {"name": name, "chosen_on": chosen_on, "compared_on": compared_on, "metric": metric, "score": score,
            "ratio": ratio}


def repeat_scores(values: np.ndarray, targets: dict[str, np.ndarray], per_seed: list[tuple[int, dict]]) -> dict:
    """Return each model's RMSE per split, their mean and std, and the RMSE of their mean prediction."""
    scores: dict = {"seeds": [seed for seed, _ in per_seed]}
    for split, index in targets.items():
        each = [rmse(values[index], predictions[split]) for _, predictions in per_seed]
        scores[f"{split}_rmse"] = each
        scores[f"{split}_rmse_mean"] = float(np.mean(each))
        scores[f"{split}_rmse_std"] = float(np.std(each, ddof=1))
        ensemble = np.mean([predictions[split] for _, predictions in per_seed], axis=0)
        scores[f"ensemble_{split}_rmse"] = rmse(values[index], ensemble)
    return scores


def naive_horizon_scores(values: np.ndarray, test_index: np.ndarray, season_length: int, horizons,
                         lstm_paths: np.ndarray | None = None) -> dict:
    """Return {baseline: {"test_rmse_by_horizon": ..., "p_by_horizon": ...}} of persistence and seasonal
    naive, from the LSTM's origins (p_by_horizon, against `lstm_paths`, where given)."""
    lags = {"persistence": 1, **({"seasonal_naive": season_length} if season_length > 1 else {})}
    paths = {name: naive_paths(values, test_index, max(horizons), lag) for name, lag in lags.items()
             if len(test_index) and test_index.min() - lag >= 0}
    return classical_horizon_scores(paths, values, test_index, horizons, lstm_paths)


def classical_horizon_scores(paths: dict, values: np.ndarray, test_index: np.ndarray, horizons,
                             lstm_paths: np.ndarray | None = None) -> dict:
    """Return {baseline: {"test_rmse_by_horizon": ..., "p_by_horizon": ...}} of the baselines whose paths
    (from every test origin, the test targets themselves, in order) were made; a "skipped: why" is left
    out. p_by_horizon: the Diebold-Mariano p-value of `lstm_paths` (the same origins) against each at
    each horizon (absent without them)."""
    scores = {}
    for name, made in paths.items():
        if isinstance(made, str):
            continue
        scores[name] = {"test_rmse_by_horizon": horizon_metrics(made, test_index, values, horizons)["test_rmse_by_horizon"]}
        if lstm_paths is not None:
            scores[name]["p_by_horizon"] = p_by_horizon(lstm_paths, np.asarray(made)[:, :lstm_paths.shape[1]],
                                                        test_index, values, horizons)
    return scores


def horizon_metrics(paths: np.ndarray, test_index: np.ndarray, values: np.ndarray, horizons) -> dict:
    """Return the test RMSE and target count by horizon of forecast paths from every test origin."""
    by_horizon = horizon_scores(paths, test_index, values, test_index, horizons=tuple(horizons))
    return {
        "test_rmse_by_horizon": {h: v["rmse"] for h, v in by_horizon.items()},
        "test_count_by_horizon": {h: v["count"] for h, v in by_horizon.items()},
    }
