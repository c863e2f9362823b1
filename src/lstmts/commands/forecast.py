"""`lstmts forecast RUN_DIR --steps N`: forecast beyond the end of the data from a saved run."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from omegaconf import OmegaConf

from lstmts.config import MIN_STEPS_LIMIT
from lstmts.errors import UserError
from lstmts.evaluation.intervals import needed, path_bounds
from lstmts.report import files, plots


def _future_labels(series, steps: int) -> pd.Index:
    """Return the labels of the `steps` periods after the series (dates at its frequency, or positions)."""
    labels = series.labels
    if series.frequency.alias:
        return series.frequency.dates_after(labels[-1], steps)
    return pd.RangeIndex(labels[-1] + 1, labels[-1] + 1 + steps, name=labels.name)


def load_run(run_dir: Path):
    """Return (config, metrics, pipeline) of a finished run folder; raise UserError if it is not one."""
    from lstmts.data.transforms import Pipeline
    from lstmts.runs.records import config_path, read_run

    record = read_run(run_dir)
    if record.problem:
        raise UserError(f"{run_dir} is not a run folder ({record.problem}); give a folder that `lstmts` wrote")
    if record.status != "ok":
        raise UserError(f"{run_dir} did not finish (status {record.status}); forecast from a run with status ok")
    if "backtest" in record.metrics:
        raise UserError(f"{run_dir} is a backtest run: it refitted the LSTM at each of its origins and keeps no single"
                        f" model to forecast with; run the experiment without evaluation=backtest, then forecast from"
                        f" that run's folder: {rerun_without_backtest(run_dir)}")
    missing = [name for name in ("model.keras", "transforms.json") if not (run_dir / name).exists()]
    if config_path(run_dir) is None:
        missing.append("config.yaml")
    if missing:
        raise UserError(f"{run_dir} lacks {', '.join(missing)}; rerun the experiment with this version of lstmts")
    data = record.metrics.get("data")
    if not (isinstance(data, dict) and isinstance(data.get("path"), str)
            and re.fullmatch(r"[0-9a-f]{64}", str(data.get("sha256")))):
        raise UserError(f"{run_dir / 'metrics.json'} does not record the data file and its SHA-256 checksum, so a"
                        f" changed data file could not be told; rerun the experiment with this version of lstmts")
    try:
        tree = yaml.safe_load(config_path(run_dir).read_text())
        if not isinstance(tree, dict):
            raise ValueError("not a YAML mapping")
        config = OmegaConf.create(tree)
        for key in ("seed", "framing.look_back", "framing.lags_as", "model.stateful", "training.repeats",
                    "training.batch_size", "protocol.transforms", "data"):
            if OmegaConf.select(config, key) is None:
                raise ValueError(f"no {key}")
        pipeline = Pipeline.from_json((run_dir / "transforms.json").read_text())
    except (OSError, ValueError, TypeError, KeyError, yaml.YAMLError) as error:
        raise UserError(f"{run_dir} holds a config.yaml or transforms.json that lstmts cannot use ({_short(error)});"
                        f" rerun the experiment") from None
    return config, record.metrics, pipeline


def rerun_without_backtest(run_dir: Path) -> str:
    """Return the command that reruns a backtest run's experiment as a plain run: its overrides less evaluation's."""
    import shlex

    try:
        overrides = yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text())
    except (OSError, yaml.YAMLError):
        overrides = None
    if not isinstance(overrides, list):
        return "lstmts with the same overrides, less evaluation=backtest and the evaluation.* ones"
    kept = [str(o) for o in overrides if not str(o).lstrip("+~").split("=", 1)[0].split(".")[0] == "evaluation"]
    return " ".join(["lstmts", *map(shlex.quote, kept)])


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:120]


def future_covariates(series, labels: pd.Index, future: Path | None, date_column: str | None,
                      date_format: str | None = None, step_column: str | None = None):
    """Return the series' covariates followed by the known-future values of the forecast's steps (`labels`).

    The CSV columns come from `future` (a CSV with the date column and those columns, one row
    per forecast date), its dates read as the run read its data (data.date_format, or day first
    where the series' dates were); calendar features are computed. Raises UserError naming what
    is missing.
    """
    from lstmts.data.covariates import with_future_values
    from lstmts.data.series import covariate_column, parse_dates

    covariates = series.covariates
    columns = list(covariates.future_names[:len(covariates.future_names) - len(covariates.calendar)])
    if not columns:
        return with_future_values(covariates, series.labels, series.frequency, np.zeros((len(labels), 0)))
    first, last = series.frequency.format(labels[0]), series.frequency.format(labels[-1])
    wanted = f"{date_column or 'a row per step'} and {', '.join(columns)} for {first} .. {last}"
    if step_column:
        raise UserError(f"this run read its times from {date_column} and data.step_column={step_column}, and its"
                        f" known-future covariates ({', '.join(columns)}) cannot be read that way; write the"
                        f" series' times in one column (e.g. 2024-01-31 00:30) and run it again")
    if future is None:
        raise UserError(f"this run uses known-future covariates ({', '.join(columns)}): give their values with"
                        f" --future FILE.csv ({wanted})")
    frame = _read_future(future)
    missing = [c for c in columns + ([date_column] if date_column else []) if c not in frame.columns]
    if missing:
        raise UserError(f"--future {future} lacks the column(s) {', '.join(missing)}; give {wanted}")
    if date_column:
        dates, given = parse_dates(frame[date_column], date_column, future, date_format, series.dayfirst)
        if given != series.offset:
            raise UserError(f"--future {future} writes its dates with the time-zone offset {given or 'none'}, the"
                            f" series with {series.offset or 'none'}; write them in the series' zone, as it does")
        if dates.duplicated().any():
            raise UserError(f"--future {future} repeats the date {dates[dates.duplicated()][0].date()}; keep one row per date")
        absent = labels.difference(dates)
        if len(absent):
            shown = ", ".join(series.frequency.format(d) for d in absent[:5]) + (" ..." if len(absent) > 5 else "")
            raise UserError(f"--future {future} has no row for {len(absent)} forecast date(s): {shown}; give {wanted}")
        frame = frame.iloc[dates.get_indexer(labels)]  # the file's own row numbers stay, for error messages
    elif len(frame) < len(labels):
        raise UserError(f"--future {future} has {len(frame)} row(s), fewer than the {len(labels)} steps; give {wanted}")
    values = np.column_stack([covariate_column(frame.iloc[:len(labels)], c, future, " for the forecast dates")
                              for c in columns])
    return with_future_values(covariates, series.labels, series.frequency, values)


def _read_future(path: Path) -> pd.DataFrame:
    from lstmts.data.series import check_unique_columns

    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise UserError(f"--future {path} does not exist; give the CSV of the known-future covariates") from None
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise UserError(f"--future {path} is not a readable CSV ({_short(error)}); save it as comma-separated text") from None
    check_unique_columns(path, "--future")
    return frame


def forecast_run(run_dir: Path, steps: int, *, refit: bool = False, future: Path | None = None,
                 console=None) -> pd.DataFrame:
    """Forecast `steps` values after the data of run_dir, with intervals where the run has them.

    With `refit`, the run's configuration is first trained again on every value of the series
    (no test period), as one does once a configuration is chosen. With known-future covariates,
    `future` is the CSV of their values at the forecast dates. Writes forecast-<steps>.csv/png
    (forecast-<steps>-refit.* with refit) into the run folder and returns the table.
    """
    from lstmts.backend import load
    from lstmts.config import airline_csv
    from lstmts.data.series import load_series
    from lstmts.data.covariates import Scaled, covariate_warnings
    from lstmts.models.forecaster import Forecaster

    if steps < 1:
        raise UserError(f"--steps {steps} is impossible; forecast at least 1 step")
    config, metrics, pipeline = load_run(run_dir)
    # The absolute path the run read: a relative data.path depends on where it was started.
    config.data.path = metrics["data"]["path"]
    series = load_series(config.data, airline_csv())
    if metrics["data"]["sha256"] != series.sha256:
        raise UserError(f"the data file {series.path} changed since this run was made; rerun the experiment on the new data")
    limit = max(len(series.values), MIN_STEPS_LIMIT)
    if steps > limit:
        raise UserError(f"--steps {steps} is more than this series can support: a recursive forecast further ahead"
                        f" than the {len(series.values)} values of history is guesswork; use --steps {limit} or fewer")
    labels = _future_labels(series, steps)
    covariates, warnings = None, []
    if series.covariates is not None:
        if series.covariates.past_names and steps > _outputs(config):
            raise UserError(f"--steps {steps} is beyond what this run can forecast: its past-only covariates"
                            f" ({', '.join(series.covariates.past_names)}) are unknown after the data's end; use"
                            f" --steps {_outputs(config)} or fewer")
        covariates = future_covariates(series, labels, future, config.data.get("date_column"),
                                       config.data.get("date_format"), config.data.get("step_column"))
        warnings = covariate_warnings(series.values, covariates, series.labels.append(labels),
                                      len(series.values) if refit else _training_stop(metrics, series))
    keras, _ = load()
    if metrics.get("kind") == "auto":
        from lstmts.search.auto import forecast_members

        values = forecast_members(run_dir, series, steps, refit, console)
    elif refit:
        from lstmts.data.covariates import Scaled, Scaling
        from lstmts.runs.runner import refit as refit_models

        refitted = refit_models(config, series, console)
        values = refitted.forecast(series.values, steps, Scaled.of(covariates, refitted.scaling))
    else:
        # A run with training.repeats saved every model: forecast with their ensemble, as it was scored.
        seeds = [config.seed + k for k in range(config.training.repeats)] if config.training.repeats > 1 else []
        model_files = [run_dir / "models" / f"seed-{seed}.keras" for seed in seeds] or [run_dir / "model.keras"]
        first_target = _first_test_target(run_dir, series)
        scaled = Scaled.of(covariates, _scaling(run_dir)) if covariates is not None else None
        paths = []
        for model_file in model_files:
            forecaster = Forecaster(_load_model(keras, model_file), pipeline, config.framing.look_back,
                                    config.framing.lags_as, bool(config.model.stateful), config.training.batch_size,
                                    scaled)
            paths.append(forecaster.beyond(series.values, steps, first_target))
        values = np.mean(paths, axis=0)
    frame = pd.DataFrame({"date": labels, "step": np.arange(1, steps + 1), "forecast": values})
    widths = _interval_widths(run_dir)
    if widths:
        for level, level_widths in widths["widths"].items():
            frame[f"lower_{level}"], frame[f"upper_{level}"] = path_bounds(values, level_widths, widths["errors"] == "relative")
    frame.attrs["frequency"] = series.frequency
    frame.attrs["warnings"] = warnings
    name = f"forecast-{steps}-refit" if refit else f"forecast-{steps}"
    files.write_csv(run_dir / f"{name}.csv", frame)
    _plot(run_dir / f"{name}.png", series, frame, config, metrics.get("season_length") or series.frequency.season_length,
          refit)
    return frame


def _training_stop(metrics: dict, series) -> int:
    """Return the end of the run's training part: after its last training target (metrics["scored"])."""
    try:
        last = metrics["scored"]["train"]["last"]
        return int(series.labels.get_loc(pd.Timestamp(last) if series.has_dates else int(last))) + 1
    except (KeyError, ValueError, TypeError):
        return len(series.values)


def _outputs(config) -> int:
    """Return how many steps the run's network forecasts at once (1, or the direct strategy's horizon)."""
    if config.framing.get("strategy", "recursive") != "direct":
        return 1
    return int(config.framing.get("horizon") or max(config.get("horizons") or [1]))


def _scaling(run_dir: Path):
    """Return the covariates' scaling saved with the run (covariates.json)."""
    from lstmts.data.covariates import Scaling

    try:
        return Scaling.from_state(json.loads((run_dir / "covariates.json").read_text())["scaling"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserError(f"{run_dir / 'covariates.json'} is missing or unreadable ({_short(error)}); rerun the"
                        f" experiment") from None


def _load_model(keras, model_file: Path):
    if not model_file.exists():
        raise UserError(f"{model_file} is missing; rerun the experiment to save its models again")
    try:
        return keras.saving.load_model(model_file, compile=False)
    except Exception as error:  # truncated, not a zip, another format: whatever Keras says, the file is unusable
        raise UserError(f"{model_file} cannot be read ({_short(error)}); rerun the experiment") from None


def _interval_widths(run_dir: Path) -> dict | None:
    """Return the run's intervals.json (widths per level and horizon), or None when it has none or it is unreadable."""
    path = run_dir / "intervals.json"
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    widths = saved.get("widths") if isinstance(saved, dict) else None
    ok = isinstance(widths, dict) and all(isinstance(w, list) and all(x is None or isinstance(x, (int, float)) for x in w)
                                          for w in widths.values())
    return saved if ok and saved.get("errors") in ("relative", "absolute") else None


def _first_test_target(run_dir: Path, series) -> int:
    """Return the series position of the run's first test target (where a stateful warm-up starts)."""
    try:
        predictions = pd.read_csv(run_dir / "predictions.csv")
        first = predictions.loc[predictions["split"] == "test", "date"].iloc[0]
    except (OSError, ValueError, KeyError, IndexError) as error:
        raise UserError(f"{run_dir / 'predictions.csv'} is missing or not one lstmts wrote ({_short(error)});"
                        f" rerun the experiment") from None
    try:
        return int(series.labels.get_loc(pd.Timestamp(first) if series.has_dates else int(first)))
    except (KeyError, ValueError, TypeError):
        raise UserError(f"{run_dir / 'predictions.csv'} does not match the run's data (no {first}); rerun the experiment") from None


def _plot(path: Path, series, frame: pd.DataFrame, config, season_length: int, refit: bool) -> None:
    how = "refitted on all data" if refit else "as trained"
    plots.plot_future(path, series.labels, series.values, frame, y_label=config.data.get("units") or series.name,
                      title=f"recursive forecast from {config.framing.name} look_back={config.framing.look_back},"
                            f" {config.model.name} ({how})", season_length=season_length)


def empty_interval_notes(frame: pd.DataFrame) -> list[str]:
    """Return one line per interval level left empty at some steps, saying from which step and why.

    A level needs at least level / (1 - level) calibration errors at a horizon (19 for 95 %); with
    fewer, its bounds are left empty rather than guessed (lstmts.evaluation.intervals).
    """
    notes = []
    for column in (c for c in frame.columns if c.startswith("lower_")):
        level = column.removeprefix("lower_")
        empty = frame[column].isna().to_numpy()
        if not empty.any():
            continue
        first = int(frame["step"].to_numpy()[np.argmax(empty)])
        notes.append(f"the {level} % interval is left empty from step {first} on: its calibration period has fewer"
                     f" than {needed(float(level) / 100)} forecast errors that far ahead; a longer validation period"
                     f" (split.validation_fraction) gives it more")
    return notes


def main(argv: list[str]) -> int:
    """`lstmts forecast RUN_DIR --steps N`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="lstmts forecast",
        description="Forecast beyond the end of the data with a run's saved model and transforms "
                    "(recursively, one step at a time); on a collection run, every series from its own end, with "
                    "the run's intervals. Writes forecast-<steps>.csv and .png into the run folder.",
    )
    parser.add_argument("run_dir", type=Path, help="a run folder written by lstmts")
    parser.add_argument("--steps", type=int, default=12, help="how many periods to forecast (default 12)")
    parser.add_argument("--refit", action="store_true",
                        help="first train the run's configuration again on all the data (no test period), then forecast")
    parser.add_argument("--future", type=Path, default=None, metavar="FILE.csv",
                        help="the known-future covariates' values at the forecast dates (the date column and those"
                             " columns; a collection's: the id column too), for a run with data.covariates.future")
    args = parser.parse_args(argv)
    from rich.console import Console

    console = Console(markup=False)
    if _is_collection(args.run_dir):
        return _collection_main(args, console)
    frame = forecast_run(args.run_dir, args.steps, refit=args.refit, future=args.future,
                         console=Console(stderr=True, markup=False))
    frequency = frame.attrs["frequency"]
    levels = [c.removeprefix("lower_") for c in frame.columns if c.startswith("lower_")]
    for _, row in frame.iterrows():
        bands = "".join(f"  {level} %: {row[f'lower_{level}']:10.2f} .. {row[f'upper_{level}']:10.2f}" for level in levels)
        console.print(f"{frequency.format(row['date'])}  {row['forecast']:10.2f}{bands}", highlight=False, soft_wrap=True)
    for line in frame.attrs["warnings"]:
        console.print(f"warning: {line}", highlight=False, soft_wrap=True)
    for line in empty_interval_notes(frame):
        console.print(f"note: {line}", highlight=False, soft_wrap=True)
    name = f"forecast-{args.steps}-refit" if args.refit else f"forecast-{args.steps}"
    console.print(f"wrote {args.run_dir / f'{name}.csv'} and {name}.png", highlight=False, soft_wrap=True)
    return 0


def _is_collection(run_dir: Path) -> bool:
    try:
        return json.loads((run_dir / "metrics.json").read_text()).get("kind") == "collection"
    except (OSError, ValueError, AttributeError):
        return False  # load_run says what is wrong with the folder


def _collection_main(args, console) -> int:
    """Forecast every series of a collection run; print a few of them and where the rest are."""
    from lstmts.runs.records import read_run
    from rich.console import Console

    from lstmts.runs.collection_future import forecast_collection

    record = read_run(args.run_dir)
    if record.status != "ok":
        raise UserError(f"{args.run_dir} did not finish (status {record.status}); forecast from a run with status ok")
    table = forecast_collection(args.run_dir, args.steps, refit=args.refit, future=args.future,
                                console=Console(stderr=True, markup=False))
    series = table["series"].unique()
    levels = [c.removeprefix("lower_") for c in table.columns if c.startswith("lower_")]
    for name in series[:3]:
        rows = table[table["series"] == name]
        first, last = rows.iloc[0], rows.iloc[-1]
        bands = "".join(f", {level} %: {last[f'lower_{level}']:.2f} .. {last[f'upper_{level}']:.2f}" for level in levels)
        console.print(f"series {name}: {_label(first['date'])} {first['forecast']:.2f} ... {_label(last['date'])}"
                      f" {last['forecast']:.2f}"
                      f"{bands}", highlight=False, soft_wrap=True)
    name = f"forecast-{args.steps}-refit" if args.refit else f"forecast-{args.steps}"
    console.print(f"{len(series)} series, {args.steps} steps each: wrote {args.run_dir / f'{name}.csv'} and {name}.png",
                  highlight=False, soft_wrap=True)
    return 0


def _label(date) -> str:
    """A forecast date as text: 2013-05-01, 2013-05-01 06:00, or a position."""
    if isinstance(date, pd.Timestamp):
        from lstmts.data.frequency import when

        return when(date)
    return f"position {date}"
