"""Rolling-origin cross-validation over a collection (`collection.cross_validation.origins` > 1).

Every series is scored at n origins: the last is the run's usual one (the end of its training
part), each earlier one `step` values before the next (default: the series' horizon). At each
origin a series is cut there: its values before the origin are all that the LSTM and the
baselines see, and the next `horizon` values are scored. The global model (or the local ones) is
trained again at every `refit_every`-th origin, earliest first; at the origins between, the
networks trained last forecast from the new origin's inputs, on the scales and seasons they were
trained with. The baselines are fitted again at every origin (their cache keeps each fit).

The run folder keeps `cross_validation.csv` (origin, series, step, actual and every method's
forecast); `metrics.json` has the mean scores over all series and origins (as test_smape, ...)
and `cross_validation` with the sMAPE per origin and per horizon step.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from lstmts.data.collection import Member, load_collection
from lstmts.errors import UserError
from lstmts.evaluation import competition
from lstmts.report import files
from lstmts.runs import collection as runs_collection

# A series needs this many values before an origin to be scored there (a MASE scale and an input).
MIN_VALUES = 3


def at_origin(member: Member, back: int) -> Member | None:
    """Return the series cut `back` values before the end of its training part: values before it train, the next horizon is scored.

    None when fewer than MIN_VALUES values come before that origin.
    """
    whole = np.concatenate([member.train, member.test])
    cut = len(member.train) - back
    if cut < MIN_VALUES:
        return None
    dates = None if member.dates is None else member.dates[:cut + member.horizon]
    return replace(member, train=whole[:cut], test=whole[cut:cut + member.horizon], dates=dates)


def settings_of(cfg: DictConfig) -> tuple[int, int | None, int]:
    """Return (origins, step or None for each series' horizon, refit_every), checked."""
    cv = cfg.collection.get("cross_validation") or {}
    origins = int(cv.get("origins") or 1)
    step = cv.get("step")
    every = int(cv.get("refit_every") or 1)
    if origins < 1 or every < 1 or (step is not None and int(step) < 1):
        raise UserError(f"collection.cross_validation={dict(cv)} is impossible; use origins >= 1, refit_every >= 1"
                        f" and step >= 1 (or null for each series' horizon)")
    return origins, None if step is None else int(step), every


def _lstm_between_refits(cfg: DictConfig, networks: list[dict], trained: dict[str, Member],
                         chosen: list[Member]) -> list[np.ndarray]:
    """Forecast each series from its new origin with the networks trained at an earlier one."""
    from lstmts.runs.collection_future import forecast_with

    about, arrays = runs_collection.as_saved(networks)
    histories = [replace(m, test=np.empty(0)) for m in chosen]
    views = [trained.get(m.id) or m for m in chosen]
    horizon = max(m.horizon for m in chosen)
    paths = forecast_with(cfg, about, arrays, histories, views, horizon)
    return [path[:m.horizon] for path, m in zip(paths, chosen)]


def cross_validate(cfg: DictConfig, out_dir: Path, console) -> dict:
    """Score every series of the collection at each origin; return the run's metrics."""
    origins, step, every = settings_of(cfg)
    settings = cfg.collection
    say = runs_collection._progress(console)
    collection = load_collection(cfg.data)
    members = list(collection.members)
    split = "validation" if settings.validation else "test"
    if settings.validation:
        members = [m.validation() for m in members if len(m.train) > 2 * m.horizon]
    rows, scored, started = [], {}, time.perf_counter()
    by_origin, trainings, train_seconds, updates, baseline_seconds = [], 0, 0.0, 0, 0.0
    networks: list[dict] = []
    trained: dict[str, Member] = {}
    for number, back in enumerate(reversed(range(origins)), start=1):
        cut = [at_origin(m, back * (step or m.horizon)) for m in members]
        chosen = [m for m in cut if m is not None and runs_collection.without_mase(m) is None]
        if not chosen:
            raise UserError(f"no series of {collection.name} has {MIN_VALUES} values and a MASE before origin {number}"
                            f" of {origins}; use fewer collection.cross_validation.origins or a smaller step")
        gap = f"{back} horizon{'s' if back != 1 else ''}" if step is None else f"{back * step} values"
        say(f"origin {number}/{origins}: {len(chosen)} series, cut {gap} before their {split} origin"
            if back else f"origin {number}/{origins}: {len(chosen)} series, at their {split} origin")
        fitting = time.perf_counter()
        baselines = competition.baseline_forecasts(
            [m.train for m in chosen], [m.horizon for m in chosen], [m.season_length for m in chosen],
            list(settings.baselines), n_jobs=settings.get("n_jobs", -1)).forecasts
        baseline_seconds += time.perf_counter() - fitting
        if (number - 1) % every == 0:
            networks = []
            lstm, info = runs_collection._forecast_by_frequency(cfg, chosen, say, keep=networks)
            trained = {m.id: m for m in chosen}
            trainings, train_seconds = trainings + 1, train_seconds + float(info.get("train_seconds", 0.0))
            updates += int(info.get("updates", 0))
        else:
            lstm = _lstm_between_refits(cfg, networks, trained, chosen)
        methods = {"lstm": lstm, **baselines}
        per_method = {name: [competition.scores(m.test, f, m.train, m.season_length) for m, f in zip(chosen, values)]
                      for name, values in methods.items()}
        for name, values in per_method.items():
            scored.setdefault(name, []).extend(values)
        by_origin.append({"origin": number, "values_back": back if step is not None else f"{back} horizons",
                          "series": len(chosen), "refitted": (number - 1) % every == 0,
                          **{name: float(np.mean([r["smape"] for r in values])) for name, values in per_method.items()}})
        for member, k in zip(chosen, range(len(chosen))):
            frame = {"origin": number, "series": member.id, "step": np.arange(1, member.horizon + 1),
                     "actual": member.test}
            frame.update({name: np.asarray(values[k], float) for name, values in methods.items()})
            rows.append(pd.DataFrame(frame))
    table = pd.concat(rows, ignore_index=True)
    files.write_csv(out_dir / "cross_validation.csv", table)
    summary = competition.summarise(scored)
    files.write_csv(out_dir / "series.csv", _per_series(table, list(scored)))
    files.write_csv(out_dir / "forecasts.csv", table)
    own = summary.pop("lstm")
    return {
        "kind": "collection",
        f"{split}_smape": own["smape"], f"{split}_mase": own["mase"], f"{split}_rmse": own["rmse"],
        "baselines": {name: {f"{split}_smape": s["smape"], f"{split}_mase": s["mase"], f"{split}_rmse": s["rmse"],
                             "share_beaten_by_lstm": s.get("share_beaten_by_lstm")} for name, s in summary.items()},
        "collection": {"name": collection.name, "sha256": collection.sha256, "scope": str(settings.scope),
                       "split": split, "series_total": collection.total, "series": len(members),
                       "scored": int(by_origin[-1]["series"]), "skipped": len(members) - int(by_origin[-1]["series"]),
                       "shard": int(cfg.data.shard), "shards": int(cfg.data.shards),
                       "baseline_seconds": round(baseline_seconds, 3),
                       "path": runs_collection.data_path(cfg)},
        "cross_validation": {"origins": origins, "step": step if step is not None else "a horizon",
                             "refit_every": every, "trainings": trainings, "by_origin": by_origin,
                             "by_horizon": _by_horizon(table, list(scored)),
                             "seconds": round(time.perf_counter() - started, 3)},
        "train_seconds": round(train_seconds, 3), "updates": updates,
    }


def _by_horizon(table: pd.DataFrame, methods: list[str]) -> dict[str, list[float]]:
    """Return {method: [mean sMAPE at step 1, 2, ...]} over every series and origin."""
    result = {}
    for name in methods:
        errors = competition.smape_steps(table["actual"].to_numpy(float), table[name].to_numpy(float))
        result[name] = [float(v) for v in pd.Series(errors).groupby(table["step"].to_numpy()).mean()]
    return result


def _per_series(table: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Return one row per series: its origins and each method's mean sMAPE over them."""
    frame = pd.DataFrame({"series": table["series"], "origin": table["origin"]})
    for name in methods:
        frame[f"{name}_smape"] = competition.smape_steps(table["actual"].to_numpy(float), table[name].to_numpy(float))
    grouped = frame.groupby("series", sort=False)
    result = grouped[[f"{name}_smape" for name in methods]].mean()
    result.insert(0, "origins", grouped["origin"].nunique())
    result.insert(0, "status", "scored")
    return result.reset_index()
