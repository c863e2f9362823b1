"""The plots of a run folder and of a comparison, each saved atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from lstmts.report.files import FILE_MODE
from lstmts.report.tables import HEADERS


def pyplot():
    """Return matplotlib.pyplot on the file-only Agg backend, imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: Path) -> None:
    """Save a matplotlib figure to path (atomically) and close it."""
    path = Path(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(handle)
    temporary = Path(name)
    try:
        os.chmod(temporary, FILE_MODE)
        figure.savefig(temporary, dpi=110, bbox_inches="tight")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        pyplot().close(figure)


def plot_forecast(path: Path, labels, values, predictions: pd.DataFrame, *, title: str, y_label: str) -> None:
    """Plot the whole series and each split's predictions at the dates they forecast."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(10, 4.5))
    axis.plot(labels, values, color="0.25", linewidth=1.4, label="actual")
    colours = {"train": "tab:blue", "validation": "tab:purple", "test": "tab:orange"}
    for split, rows in predictions.groupby("split", sort=False):
        axis.plot(rows["date"], rows["prediction"], color=colours.get(split), linewidth=1.2,
                  label=f"{split} prediction")
    test_rows = predictions[predictions["split"] == "test"]
    draw_bands(axis, test_rows["date"], test_rows, "tab:orange")
    if len(test_rows):
        axis.axvline(test_rows["date"].iloc[0], color="0.6", linestyle=":", linewidth=1)
    axis.set_title(title)
    axis.set_ylabel(y_label)
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", frameon=False)
    figure.autofmt_xdate()
    save_figure(figure, path)


def draw_bands(axis, dates, frame: pd.DataFrame, colour: str) -> None:
    """Shade each prediction interval of `frame` (columns lower_<level>, upper_<level>), widest palest."""
    levels = sorted((c.removeprefix("lower_") for c in frame.columns if c.startswith("lower_")), key=float, reverse=True)
    for shade, level in zip((0.15, 0.3), levels):
        lower, upper = frame[f"lower_{level}"], frame[f"upper_{level}"]
        if lower.notna().any():
            axis.fill_between(dates, lower, upper, color=colour, alpha=shade, linewidth=0, label=f"{level} % interval")


def plot_losses(path: Path, losses_by_seed: dict[int, list[float]]) -> None:
    """Plot training loss per epoch, one line per seed, on a log scale."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 4))
    for seed, losses in losses_by_seed.items():
        axis.plot(np.arange(1, len(losses) + 1), losses, linewidth=1.2, label=f"seed {seed}")
    axis.set_xlabel("epoch")
    axis.set_ylabel("training loss (MSE, transformed scale)")
    if all(np.all(np.asarray(v) > 0) for v in losses_by_seed.values()):
        from matplotlib.ticker import LogFormatter

        axis.set_yscale("log")
        # Plain labels (0.01, 0.002): the default 10^x ones go through mathtext, whose first use
        # costs about 0.2 s, a tenth of a tutorial-sized run.
        axis.yaxis.set_major_formatter(LogFormatter())
        axis.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.4)))
    axis.grid(alpha=0.3)
    if len(losses_by_seed) > 1:
        axis.legend(frameon=False)
    save_figure(figure, path)


def _run_label(row: pd.Series, keys: list[str]) -> str:
    """Return "key=value ..." of a run's differing config values, or its folder name without them."""
    parts = [f"{key.split('.')[-1]}={row[key]}" for key in keys if key in row and pd.notna(row[key])]
    return " ".join(parts) or Path(str(row["run"])).name


def plot_comparison(path: Path, frame: pd.DataFrame, keys: list[str], best: list[tuple[pd.Series, pd.DataFrame]]) -> None:
    """Test RMSE per run with the baselines as reference lines, and the best runs' test predictions.

    `best` pairs the frame rows of the best runs with their predictions.csv, best first.
    """
    plt = pyplot()
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1, 1.4]})
    labels = [_run_label(row, keys) for _, row in ok.iterrows()]
    left.barh(range(len(ok)), ok["test_rmse"], color="tab:blue")
    left.set_yticks(range(len(ok)), labels, fontsize=7)
    left.invert_yaxis()
    left.set_xlabel("test RMSE (original units)")
    markers = ["|", "x", "+", "1", "2"]
    baseline_columns = [c for c in ok.columns if c.endswith("_test_rmse") and not c.startswith("test_")]
    for marker, column in zip(markers, baseline_columns):
        values = ok[column]
        name = HEADERS.get(column, column.removesuffix("_test_rmse").replace("_", " "))
        if values.nunique(dropna=True) == 1:
            left.axvline(values.iloc[0], color="0.3", linestyle=":", linewidth=1)
            left.text(values.iloc[0], -0.6, f" {name}", rotation=90, fontsize=7, va="bottom", ha="right", color="0.3")
        else:
            # Runs scored on different targets: each run against its own baseline.
            left.scatter(values, range(len(ok)), marker=marker, color="0.2", s=40, zorder=3,
                         label=f"{name}, on each run's targets")
    if left.get_legend_handles_labels()[0]:
        left.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    left.set_title("test RMSE per run (best first)")
    actual_drawn = False
    for row, predictions in best:
        if not actual_drawn:
            right.plot(predictions["date"], predictions["actual"], color="0.2", linewidth=1.4, label="actual")
            actual_drawn = True
        test = predictions[predictions["split"] == "test"]
        right.plot(test["date"], test["prediction"], linewidth=1.1, label=f"{_run_label(row, keys)} ({row['test_rmse']:.1f})")
    right.set_title(f"test predictions of the best {len(best)} run(s)")
    right.legend(fontsize=7, frameon=False, loc="upper left")
    right.grid(alpha=0.3)
    right.tick_params(axis="x", labelrotation=30)
    save_figure(figure, path)
