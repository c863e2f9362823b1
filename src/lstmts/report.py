"""Writing run folders: atomic JSON/CSV files and the plots."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


_FILE_MODE = 0o666 & ~_umask()


def write_atomic(path: Path, text: str) -> None:
    """Write text to path via a temporary file and a rename, so readers never see half a file."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, _FILE_MODE)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: Path, data: dict) -> None:
    """Write data as indented JSON, atomically; NaN and infinities become null."""
    write_atomic(path, json.dumps(_plain(data), indent=2, sort_keys=False) + "\n")


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """Write a DataFrame as CSV, atomically."""
    write_atomic(path, frame.to_csv(index=False))


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
        os.chmod(temporary, _FILE_MODE)
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
    if len(test_rows):
        axis.axvline(test_rows["date"].iloc[0], color="0.6", linestyle=":", linewidth=1)
    axis.set_title(title)
    axis.set_ylabel(y_label)
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", frameon=False)
    figure.autofmt_xdate()
    save_figure(figure, path)


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
