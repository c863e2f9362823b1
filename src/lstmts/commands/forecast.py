"""`lstmts forecast RUN_DIR --steps N`: forecast beyond the end of the data from a saved run."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from omegaconf import OmegaConf

from lstmts.errors import UserError
from lstmts.report import files, plots


def _future_labels(labels: pd.Index, steps: int) -> pd.Index:
    """Return the labels of the `steps` periods after `labels` (dates at the series' frequency, or positions)."""
    if isinstance(labels, pd.DatetimeIndex):
        frequency = pd.infer_freq(labels) if len(labels) >= 3 else None
        if frequency is None:
            raise UserError("cannot tell the series' date frequency (irregular dates), so cannot date the forecast;"
                            " use a series with regular dates")
        return pd.date_range(labels[-1], periods=steps + 1, freq=frequency)[1:]
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
    missing = [name for name in ("model.keras", "transforms.json") if not (run_dir / name).exists()]
    if config_path(run_dir) is None:
        missing.append("config.yaml")
    if missing:
        raise UserError(f"{run_dir} lacks {', '.join(missing)}; rerun the experiment with this version of lstmts")
    config = OmegaConf.create(yaml.safe_load(config_path(run_dir).read_text()))
    pipeline = Pipeline.from_json((run_dir / "transforms.json").read_text())
    return config, record.metrics, pipeline


def forecast_run(run_dir: Path, steps: int) -> pd.DataFrame:
    """Forecast `steps` values after the data of run_dir; write forecast-<steps>.csv/png there; return them."""
    from lstmts.backend import load
    from lstmts.config import airline_csv
    from lstmts.data.series import load_series
    from lstmts.models.forecaster import Forecaster

    if steps < 1:
        raise UserError(f"--steps {steps} is impossible; forecast at least 1 step")
    config, metrics, pipeline = load_run(run_dir)
    recorded_path = metrics.get("data", {}).get("path")
    if recorded_path:
        # The absolute path the run read: a relative data.path depends on where it was started.
        config.data.path = recorded_path
    series = load_series(config.data, airline_csv())
    recorded = metrics.get("data", {}).get("sha256")
    if recorded and recorded != series.sha256:
        raise UserError(f"the data file {series.path} changed since this run was made; rerun the experiment on the new data")
    keras, _ = load()
    # A run with training.repeats saved every model: forecast with their ensemble, as it was scored.
    model_files = sorted((run_dir / "models").glob("seed-*.keras")) or [run_dir / "model.keras"]
    first_test = _first_test_target(run_dir, series)
    paths = []
    for model_file in model_files:
        model = keras.saving.load_model(model_file, compile=False)
        forecaster = Forecaster(model, pipeline, config.framing.look_back, config.framing.lags_as,
                                bool(config.model.stateful), config.training.batch_size)
        paths.append(forecaster.beyond(series.values, steps, first_test))
    values = np.mean(paths, axis=0)
    labels = _future_labels(series.labels, steps)
    frame = pd.DataFrame({"date": labels, "step": np.arange(1, steps + 1), "forecast": values})
    files.write_csv(run_dir / f"forecast-{steps}.csv", frame)
    _plot(run_dir / f"forecast-{steps}.png", series, frame, config)
    return frame


def _first_test_target(run_dir: Path, series) -> int:
    predictions = pd.read_csv(run_dir / "predictions.csv")
    first = predictions.loc[predictions["split"] == "test", "date"].iloc[0]
    labels = series.labels.strftime("%Y-%m-%d") if series.has_dates else series.labels.astype(str)
    return int(np.flatnonzero(np.asarray(labels) == str(first))[0])


def _plot(path: Path, series, frame: pd.DataFrame, config) -> None:
    plt = plots.pyplot()
    figure, axis = plt.subplots(figsize=(10, 4.5))
    axis.plot(series.labels, series.values, color="0.25", linewidth=1.4, label="history")
    axis.plot(frame["date"], frame["forecast"], color="tab:red", linewidth=1.4, marker=".", label=f"forecast, {len(frame)} steps")
    axis.axvline(series.labels[-1], color="0.6", linestyle=":", linewidth=1)
    axis.set_ylabel(config.data.get("units") or series.name)
    axis.set_title(f"recursive forecast from {config.framing.name} look_back={config.framing.look_back}, {config.model.name}")
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", frameon=False)
    figure.autofmt_xdate()
    plots.save_figure(figure, path)


def main(argv: list[str]) -> int:
    """`lstmts forecast RUN_DIR --steps N`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="lstmts forecast",
        description="Forecast beyond the end of the data with a run's saved model and transforms "
                    "(recursively, one step at a time). Writes forecast-<steps>.csv and .png into the run folder.",
    )
    parser.add_argument("run_dir", type=Path, help="a run folder written by lstmts")
    parser.add_argument("--steps", type=int, default=12, help="how many periods to forecast (default 12)")
    args = parser.parse_args(argv)
    frame = forecast_run(args.run_dir, args.steps)
    from rich.console import Console

    console = Console()
    for date, value in zip(frame["date"], frame["forecast"]):
        label = date.strftime("%Y-%m") if hasattr(date, "strftime") else date
        console.print(f"{label}  {value:10.2f}", highlight=False)
    console.print(f"wrote {args.run_dir / f'forecast-{args.steps}.csv'} and forecast-{args.steps}.png",
                  highlight=False, soft_wrap=True)
    return 0
