"""`lstmts forecast RUN --steps H [--refit]` on a collection run: every series' future, with intervals.

Without --refit, the networks the run trained (models.npz) forecast from the end of each series'
data, test part included, on the scale and season fitted on its training part as in the run; past
the run's horizon the ensemble's forecast is fed back as input (recursively). With --refit, the
run's configuration is trained again on every series' whole history with the horizon set to H,
and its intervals are calibrated again on the last H values held back.

The intervals are the run's (intervals.json): each step's conformal quantile of scaled errors,
times the series' own scale (MASE's, over its whole history); past the calibrated steps, the last
width. The dates continue each series at its own frequency (positions for series without dates).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from omegaconf import DictConfig, OmegaConf

from lstmts.data.collection import Member, load_collection
from lstmts.data.frequency import infer_frequency
from lstmts.config import MIN_STEPS_LIMIT
from lstmts.errors import UserError
from lstmts.evaluation import competition
from lstmts.report import files, plots
from lstmts.runs import collection as runs_collection
from lstmts.runs import collection_covariates, collection_levels
from lstmts.runs.collection_intervals import Calibration, bands, calibrate


def load_collection_run(run_dir: Path) -> tuple[DictConfig, dict]:
    """Return (config, metrics) of a finished collection run folder; raise UserError naming what is wrong."""
    try:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        tree = yaml.safe_load((run_dir / "config.yaml").read_text())
        if not isinstance(tree, dict) or not isinstance(metrics, dict):
            raise ValueError("not a mapping")
        config = OmegaConf.create(tree)
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise UserError(f"{run_dir} lacks a readable metrics.json and config.yaml ({error}); rerun the experiment") from None
    if not isinstance(metrics.get("collection"), dict) or "sha256" not in metrics["collection"]:
        raise UserError(f"{run_dir / 'metrics.json'} does not record its collection's checksum; rerun the experiment")
    return config, metrics


def _members(config: DictConfig, metrics: dict) -> list[Member]:
    """Return the run's series, as it read them (sharded, limited); refuse data that changed since."""
    data = config.data
    recorded = metrics["collection"].get("path")
    if recorded:
        data = OmegaConf.merge(data, {"path": recorded})  # the absolute path the run read
    collection = load_collection(data)
    if collection.sha256 != metrics["collection"]["sha256"]:
        raise UserError(f"the collection {collection.name} changed since this run was made; rerun the experiment on"
                        f" the new data, or forecast with --refit after rerunning it")
    return list(collection.members)


def _whole(member: Member) -> np.ndarray:
    return np.concatenate([member.train, member.test])


def future_dates(member: Member, steps: int) -> pd.Index:
    """Return the `steps` labels after a series' last value: dates at its frequency, or positions."""
    count = len(member.train) + len(member.test)
    if member.dates is None or len(member.dates) != count:
        return pd.RangeIndex(count, count + steps)
    frequency = infer_frequency(member.dates)
    if not frequency.alias:
        return pd.RangeIndex(count, count + steps)
    return frequency.dates_after(member.dates[-1], steps)


def _saved_networks(run_dir: Path) -> tuple[list[dict], dict]:
    try:
        about = json.loads((run_dir / "models.json").read_text())
        arrays = np.load(run_dir / "models.npz", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise UserError(f"{run_dir} has no readable models.npz and models.json ({error}); forecast with --refit,"
                        f" or rerun the experiment with this version of lstmts") from None
    return about, arrays


def _network(cfg: DictConfig, about: dict, arrays, number: int):
    """Rebuild one saved network of the run (its group's architecture) with its trained weights."""
    from lstmts.models.network import build_model

    model = build_model(runs_collection._spec(cfg, int(about["look_back"]), int(about["outputs"]),
                                              str(about.get("loss", "mse")), int(about.get("extra", 0))))
    model.set_weights([arrays[f"{number}/{w}"] for w in range(int(about["weights"]))])
    return model


def _recursive(cfg: DictConfig, models: list, adjusted: list[np.ndarray], steps: int, covariates=None,
               members: list[Member] | None = None, alphas: np.ndarray | None = None) -> np.ndarray:
    """Return [series, steps] ensemble forecasts (network scale), feeding each block back as input past its length.

    alphas: each series' smoothing (collection.anchor=level), fitted on its training part as in the run.
    """
    from lstmts.models.network import forward

    paths = [np.empty(0) for _ in adjusted]
    histories = [np.asarray(z, float) for z in adjusted]
    # The members padded at the origin stay out of a series' median (skip_padded) for the whole path.
    lengths = [len(z) for z in adjusted]
    while len(paths[0]) < steps:
        outputs = []
        for model, look_back, horizon in models:
            origins, anchors = runs_collection.origin_inputs(cfg, histories, look_back, covariates, members, horizon,
                                                             alphas)
            outputs.append(np.asarray(forward(model)(origins.astype(np.float32))).reshape(len(histories), -1)
                           + anchors[:, None])
        block = runs_collection.combine(cfg, outputs, [look_back for _, look_back, _ in models], lengths)
        paths = [np.concatenate([p, b]) for p, b in zip(paths, block)]
        histories = [np.concatenate([h, b]) for h, b in zip(histories, block)]
    return np.stack([p[:steps] for p in paths])


def _from_saved(run_dir: Path, config: DictConfig, members: list[Member], trained: list[Member],
                steps: int) -> list[np.ndarray]:
    """Forecast `steps` past each series' end with the run's own networks."""
    about, arrays = _saved_networks(run_dir)
    return forecast_with(config, about, arrays, members, trained, steps, where=run_dir / "models.json")


def forecast_with(config: DictConfig, about: list[dict], arrays, members: list[Member], trained: list[Member],
                  steps: int, where: Path | str = "the run") -> list[np.ndarray]:
    """Forecast `steps` past the end of each member's values (train, then test) with trained networks.

    about[k] describes network k (frequency or series, look_back, loss, outputs, weights) and
    arrays[f"{k}/{w}"] holds its weights; `trained` are the series as the networks were trained
    (their training parts give the scales and seasons).
    """
    forecasts: list[np.ndarray | None] = [None] * len(members)
    groups = runs_collection.preset_groups(config, members)
    for frequency, positions in groups.items():
        cfg = runs_collection.preset_for(config, frequency) if frequency != "all" else config
        views = [trained[i] for i in positions]
        scales = [runs_collection.series_scale(cfg, m) for m in views]
        seasons = runs_collection.seasons_of(cfg, views, scales)
        adjusted = [runs_collection.adjusted_values(_whole(members[i]), scale, season)
                    for i, scale, season in zip(positions, scales, seasons)]
        if cfg.collection.scope == "global":
            saved = [(k, a) for k, a in enumerate(about) if a.get("frequency") == frequency]
            if not saved:
                raise UserError(f"{where} holds no network of the {frequency} series; forecast with"
                                f" --refit, or rerun the experiment")
            models = [(_network(cfg, a, arrays, k), int(a["look_back"]), int(a["outputs"])) for k, a in saved]
            # Scaled as in the run (the training parts), with the rows of the whole histories and beyond.
            covariates = collection_covariates.fit(views)
            alphas = collection_levels.alphas_for(cfg, [runs_collection.adjusted_values(m.train, scale, season)
                                                        for m, scale, season in zip(views, scales, seasons)])
            paths = _recursive(cfg, models, adjusted, steps, covariates, [members[i] for i in positions], alphas)
        else:
            paths = []
            for i, z in zip(positions, adjusted):
                own = [(k, a) for k, a in enumerate(about) if a.get("series") == members[i].id]
                if not own:  # the run's seasonal naive fallback: no network of its own
                    paths.append(None)
                    continue
                models = [(_network(cfg, a, arrays, k), int(a["look_back"]), int(a["outputs"])) for k, a in own]
                paths.append(np.mean([_recursive(cfg, [m], [z], steps)[0] for m in models], axis=0))
        for row, i, scale, season in zip(range(len(positions)), positions, scales, seasons):
            path = paths[row]
            if path is None:
                forecasts[i] = competition.seasonal_naive(_whole(members[i]), steps, members[i].season_length)
                continue
            start = len(_whole(members[i]))
            forecasts[i] = scale.inverse(path + (season.at(start, steps) if season is not None else 0.0))
    return forecasts


def _refitted(config: DictConfig, members: list[Member], steps: int, console) -> tuple[list[np.ndarray], Calibration | None]:
    """Train the run's configuration again on every series' whole history, forecasting `steps`; calibrate again."""
    future = [replace(m, train=_whole(m), test=np.full(steps, np.nan)) for m in members]

    def say(text: str) -> None:
        if console is not None:
            console.print(text, highlight=False, soft_wrap=True)

    forecasts, _ = runs_collection._forecast_by_frequency(config, future, say)
    levels = runs_collection.interval_levels(config)
    calibration = None
    if levels:
        say("intervals: training again without each series' last steps, to calibrate them")
        calibration = calibrate(future, lambda held: runs_collection._forecast_by_frequency(
            config, held, lambda text: None, calibrating=True)[0], levels)
    return forecasts, calibration


def _longest_outputs(run_dir: Path) -> int:
    """Return the most steps one of the run's networks forecasts at once (1 when it saved none)."""
    try:
        return max(int(a["outputs"]) for a in json.loads((run_dir / "models.json").read_text())) or 1
    except (OSError, ValueError, KeyError, TypeError):
        return 1  # _saved_networks says what is wrong


def _calibration(run_dir: Path) -> Calibration | None:
    try:
        return Calibration.from_json(json.loads((run_dir / "intervals.json").read_text()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # a run without intervals (intervals.levels=[]): forecasts alone


def _with_future_covariates(members: list[Member], steps: int, future: Path | None, data_cfg,
                            rows_needed: int) -> list[Member]:
    """Return the members with covariate rows for the `steps` after their data: calendar from the dates, the
    known-future columns from the --future CSV (data.id_column, data.date_column and those columns).

    A network forecasting more steps at once than asked for still reads covariates at all of them
    (rows_needed): past the asked steps, each column takes its mean over the training parts (the
    middle of what the network saw), which only the unused outputs depend on most.
    """
    from lstmts.data.covariates import extend_calendar, with_future_values

    if not any(m.covariates is not None and len(m.covariates.future_names) for m in members):
        return members
    first = next(m.covariates for m in members if m.covariates is not None)
    user = [name for name in first.future_names if name not in first.calendar]
    table = None
    if user:
        if future is None:
            raise UserError(f"this run's known-future covariates ({', '.join(user)}) are needed at the forecast dates;"
                            f" give them with --future FILE.csv (columns {data_cfg.id_column}, {data_cfg.date_column},"
                            f" {', '.join(user)})")
        table = _read_future(future, data_cfg, user)
    means = np.concatenate([m.covariates.future[:len(m.train), :len(user)] for m in members]).mean(axis=0)
    rows_needed = max(rows_needed, steps)
    extended = []
    for member in members:
        dates = pd.DatetimeIndex(member.dates)
        frequency = infer_frequency(dates)
        if table is None:
            covariates = extend_calendar(member.covariates, dates, frequency, rows_needed)
        else:
            wanted = future_dates(member, steps)
            rows = table[table[data_cfg.id_column] == member.id].set_index(data_cfg.date_column).reindex(wanted)[user]
            if rows.isna().any().any():
                missing = rows.index[rows.isna().any(axis=1)][0]
                raise UserError(f"{future} has no {', '.join(user)} for series {member.id} at {missing.date()};"
                                f" give every series a row for each of the {steps} forecast dates")
            values = np.vstack([rows.to_numpy(float), np.tile(means, (rows_needed - steps, 1))])
            covariates = with_future_values(member.covariates, dates, frequency, values)
        extended.append(replace(member, covariates=covariates))
    return extended


def _read_future(path: Path, data_cfg, user: list[str]) -> pd.DataFrame:
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise UserError(f"--future {path} cannot be read ({str(error).splitlines()[0]}); give a CSV file") from None
    for column in [data_cfg.id_column, data_cfg.date_column, *user]:
        if column not in table.columns:
            raise UserError(f"--future {path} has no column {column!r}; give {data_cfg.id_column},"
                            f" {data_cfg.date_column} and {', '.join(user)}")
    table[data_cfg.id_column] = table[data_cfg.id_column].astype(str)
    table[data_cfg.date_column] = pd.to_datetime(table[data_cfg.date_column], format="ISO8601")
    return table


def forecast_collection(run_dir: Path, steps: int, *, refit: bool = False, future: Path | None = None,
                        console=None) -> pd.DataFrame:
    """Forecast `steps` values past the end of every series of a collection run; write forecast-<steps>[-refit].csv/png."""
    from lstmts.backend import load

    config, metrics = load_collection_run(run_dir)
    members = _members(config, metrics)
    longest = max(len(_whole(m)) for m in members)
    limit = max(longest, MIN_STEPS_LIMIT)
    if steps < 1 or steps > limit:
        raise UserError(f"--steps {steps} is impossible here; forecast between 1 and {limit} steps (the longest"
                        f" series' history, at least {MIN_STEPS_LIMIT})")
    load()
    validation = metrics["collection"].get("split") == "validation"
    trained = [m.validation() if validation else m for m in members]
    outputs = steps if refit else _longest_outputs(run_dir)
    members = _with_future_covariates(members, steps, future, config.data, -(-steps // outputs) * outputs)
    if refit:
        forecasts, calibration = _refitted(config, members, steps, console)
    else:
        forecasts = _from_saved(run_dir, config, members, trained, steps)
        calibration = _calibration(run_dir)
    frames = []
    for member, forecast in zip(members, forecasts):
        frame = pd.DataFrame({"series": member.id, "date": future_dates(member, steps),
                              "step": np.arange(1, steps + 1), "forecast": forecast})
        if calibration is not None:
            scale = competition.mase_scale(_whole(member), member.season_length)
            for level, (lower, upper) in bands(calibration, member, forecast, scale).items():
                frame[f"lower_{level}"], frame[f"upper_{level}"] = lower, upper
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    name = f"forecast-{steps}-refit" if refit else f"forecast-{steps}"
    files.write_csv(run_dir / f"{name}.csv", table)
    plots.plot_collection_future(run_dir / f"{name}.png", members, table,
                                 title=f"{metrics['collection']['name']}: {steps} steps past the data"
                                       f" ({'refitted on all data' if refit else 'as trained'})")
    return table
