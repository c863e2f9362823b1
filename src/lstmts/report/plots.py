"""The plots of a run folder and of a comparison, each saved atomically."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd

from lstmts.report.files import replace_with
from lstmts.report.ranking import baseline_label


_PREFETCH: threading.Thread | None = None


def _import_matplotlib() -> None:
    try:
        _load_matplotlib()
    except Exception:  # noqa: BLE001 - the plot's own import raises it again, with its traceback, in the run
        pass


def _load_matplotlib() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import matplotlib.ticker  # noqa: F401
    from matplotlib import font_manager

    font_manager.findfont("DejaVu Sans")  # loads the font list that the first title needs


def prefetch() -> None:
    """Start importing matplotlib on a background thread, for the plots a run writes at its end.

    Called once TensorFlow trains: its kernels release the interpreter's lock, so the import
    (about 0.3 s) runs on the second core instead of after the training. `pyplot()` waits for it.
    """
    global _PREFETCH
    if _PREFETCH is None:
        _PREFETCH = threading.Thread(target=_import_matplotlib, name="lstmts-matplotlib-import", daemon=True)
        _PREFETCH.start()


def pyplot():
    """Return matplotlib.pyplot on the file-only Agg backend, imported on first use."""
    if _PREFETCH is not None:
        _PREFETCH.join()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: Path, tight: bool = True) -> None:
    """Save a matplotlib figure to path (atomically) and close it; tight=False keeps the figure's size."""
    path = Path(path)
    try:
        replace_with(path, lambda temporary: figure.savefig(temporary, dpi=110, bbox_inches="tight" if tight else None),
                     suffix=path.suffix)
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


def plot_losses(path: Path, losses_by_seed: dict[int, list[float]],
                validation_by_seed: dict[int, list[float]] | None = None, *, title: str = "") -> None:
    """Plot training loss per epoch (and validation loss, dashed, when given), one colour per seed, log scale."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(8, 4.5))
    validation_by_seed = validation_by_seed or {}
    curves = []
    for index, (seed, losses) in enumerate(losses_by_seed.items()):
        colour = f"C{index % 10}"
        name = f"seed {seed}, " if len(losses_by_seed) > 1 else ""
        axis.plot(np.arange(1, len(losses) + 1), losses, color=colour, linewidth=1.2, label=f"{name}training")
        curves.append(losses)
        held_out = validation_by_seed.get(seed) or []
        if len(held_out):
            axis.plot(np.arange(1, len(held_out) + 1), held_out, color=colour, linewidth=1.2, linestyle="--",
                      label=f"{name}validation")
            curves.append(held_out)
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss (MSE, transformed scale)")
    values = np.concatenate([np.asarray(c, dtype=float) for c in curves]) if curves else np.array([1.0])
    values = values[np.isfinite(values)]
    if len(values) and np.all(values > 0):
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        axis.set_yscale("log")
        # Whole decades around the curves: the lowest and highest labels lie below and above them
        # (the default limits left the curve of a long run below the lowest label).
        axis.set_ylim(10 ** np.floor(np.log10(values.min())), 10 ** np.ceil(np.log10(values.max())))
        axis.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        # Plain labels (0.01, 0.002): the default 10^x ones go through mathtext, whose first use
        # costs about 0.2 s, a tenth of a tutorial-sized run.
        axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.yaxis.set_minor_formatter(NullFormatter())
    from matplotlib.ticker import MaxNLocator

    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.grid(alpha=0.3)
    axis.set_title(title, fontsize=9)
    axis.legend(frameon=False, fontsize=8, loc="upper right")
    save_figure(figure, path)


def _run_label(row: pd.Series, keys: list[str], limit: int = 44) -> str:
    """Return "key=value ..." of a run's differing config values (whole pairs, at most two lines of
    `limit` characters), or its folder name without them."""
    parts = [f"{key.split('.')[-1]}={row[key]}" for key in keys if key in row and pd.notna(row[key])]
    if not parts:
        return Path(str(row.get("run", row.name))).name[-limit:]
    lines, line = [], ""
    for part in parts:
        if line and len(line) + 1 + len(part) > limit:
            lines.append(line)
            line = ""
        line = f"{line} {part}".strip()
    lines.append(line)
    if len(lines) > 2:
        lines = lines[:2]
        lines[1] += " …"  # whole key=value pairs are left out, never part of a value
    return "\n".join(lines)


MAX_BARS = 30


def plot_comparison(path: Path, frame: pd.DataFrame, keys: list[str], best: list[tuple[pd.Series, pd.DataFrame]]) -> None:
    """The ranking metric per run (the best 30) with the baselines as reference lines, and the best runs' test predictions.

    The figure has one size for 2 or 200 runs; `best` pairs the frame rows of the best runs with
    their predictions.csv, best first.
    """
    plt = pyplot()
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    family = "smape" if "test_smape" in ok or "validation_smape" in ok else "rmse"
    metric = f"validation_{family}" if f"validation_{family}" in ok and ok[f"validation_{family}"].notna().all() else f"test_{family}"
    ok = ok.sort_values(metric, kind="stable")
    shown = ok.head(MAX_BARS)
    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 7), gridspec_kw={"width_ratios": [1, 1.3]},
                                         layout="constrained")
    rows = np.arange(len(shown))
    left.barh(rows, shown[metric], color="tab:blue", height=0.7)
    left.set_yticks(rows, [_run_label(row, keys) for _, row in shown.iterrows()],
                    fontsize=8 if len(shown) <= 15 else 6)
    left.set_ylim(len(shown) - 0.5, -0.5)
    metric_name = metric.rpartition("_")[0].replace("_", " ")
    unit = "sMAPE (%, mean over series)" if family == "smape" else "RMSE (original units)"
    left.set_xlabel(f"{metric_name} {unit}")
    suffix = f"_{metric}"
    baseline_columns = [c for c in ok.columns if c.endswith(suffix) and c != metric]
    for index, column in enumerate(baseline_columns):
        values = shown[column]
        name = baseline_label(column.removesuffix(suffix))
        style = dict(color=f"C{(index + 1) % 10}", linestyle=("--", ":", "-.")[index % 3], linewidth=1.4)
        if values.nunique(dropna=True) == 1:
            left.axvline(values.iloc[0], label=f"{name} {values.iloc[0]:.2f}", **style)
        else:
            # Runs scored on different targets: each bar gets its own baseline's line across it.
            left.vlines(values, rows - 0.45, rows + 0.45, label=f"{name}, on each run's targets", **style)
    left.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3)
    counted = f"best {len(shown)} of {len(ok)}" if len(ok) > len(shown) else f"{len(ok)}"
    left.set_title(f"{metric_name} {'sMAPE' if family == 'smape' else 'RMSE'} per run, {counted} run(s), best first",
                   fontsize=10)
    left.grid(axis="x", alpha=0.3)
    actual_drawn = False
    for row, predictions in best:
        if not actual_drawn:
            right.plot(predictions["date"], predictions["actual"], color="0.2", linewidth=1.4, label="actual")
            actual_drawn = True
        test = predictions[predictions["split"] == "test"]
        label = _run_label(row, keys).replace("\n", " ")
        right.plot(test["date"], test["prediction"], linewidth=1.1, label=f"{label} (test {row['test_rmse']:.1f})")
    right.set_title(f"test predictions of the best {len(best)} run(s)", fontsize=10)
    if best:
        right.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=1)
    right.grid(alpha=0.3)
    right.tick_params(axis="x", labelrotation=30)
    save_figure(figure, path, tight=False)


def plot_backtest(path: Path, frame: pd.DataFrame, methods: list[str]) -> None:
    """Absolute error of the LSTM by origin and horizon (left), and every method's RMSE by horizon (right)."""
    plt = pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1.5, 1]})
    errors = frame.assign(error=(frame["actual"] - frame["lstm"]).abs()).pivot(index="horizon", columns="origin",
                                                                                 values="error")
    image = left.imshow(errors.to_numpy(), aspect="auto", origin="lower", cmap="viridis",
                        extent=(-0.5, errors.shape[1] - 0.5, 0.5, errors.shape[0] + 0.5))
    figure.colorbar(image, ax=left, label="LSTM absolute error (original units)")
    ticks = np.linspace(0, errors.shape[1] - 1, min(8, errors.shape[1])).round().astype(int)
    left.set_xticks(ticks, [pd.Timestamp(errors.columns[t]).strftime("%Y-%m-%d") if isinstance(errors.columns[t], pd.Timestamp)
                            else str(errors.columns[t]) for t in ticks], rotation=30, fontsize=7)
    left.set_xlabel("origin")
    left.set_ylabel("horizon (steps ahead)")
    left.set_title("LSTM error by origin and horizon")
    for method in methods:
        rmse = frame.assign(squared=(frame["actual"] - frame[method]) ** 2).groupby("horizon")["squared"].mean() ** 0.5
        right.plot(rmse.index, rmse.to_numpy(), marker=".", linewidth=1.3,
                   label="LSTM" if method == "lstm" else baseline_label(method))
    right.set_xlabel("horizon (steps ahead)")
    right.set_ylabel("RMSE over origins")
    right.set_title("RMSE by horizon, same origins and targets")
    right.grid(alpha=0.3)
    right.legend(frameon=False, fontsize=8)
    save_figure(figure, path)


def plot_collection_errors(path: Path, errors: dict[str, list[float]], *, title: str) -> None:
    """Box plots of each method's per-series sMAPE, best median first, with the mean marked."""
    plt = pyplot()
    order = sorted(errors, key=lambda name: float(np.nanmedian(errors[name])))
    figure, axis = plt.subplots(figsize=(max(6.0, 1.1 * len(order) + 2), 4.5))
    data = [np.asarray(errors[name], float)[np.isfinite(errors[name])] for name in order]
    axis.boxplot(data, showmeans=True, showfliers=False)
    axis.set_xticks(range(1, len(order) + 1), ["LSTM" if n == "lstm" else baseline_label(n) for n in order],
                    rotation=20, ha="right")
    axis.set_ylabel("sMAPE (%)")
    axis.set_title(title)
    axis.grid(axis="y", alpha=0.3)
    save_figure(figure, path)


def plot_collection_series(path: Path, series: list[tuple[str, np.ndarray, np.ndarray]],
                           forecasts: dict[str, list[np.ndarray]], lstm_smape: list[float]) -> None:
    """Plot the series where the LSTM's sMAPE is lowest, median and highest, with every method's forecast."""
    plt = pyplot()
    order = np.argsort(np.nan_to_num(np.asarray(lstm_smape, float), nan=np.inf), kind="stable")
    picks = [("best", order[0]), ("median", order[len(order) // 2]), ("worst", order[-1])]
    figure, axes = plt.subplots(len(picks), 1, figsize=(9, 3.0 * len(picks)))
    for axis, (which, index) in zip(np.atleast_1d(axes), picks):
        name, train, test = series[index]
        shown = train[-min(len(train), 4 * len(test)):]
        start = len(train) - len(shown)
        axis.plot(np.arange(start, len(train)), shown, color="black", label="training")
        future = np.arange(len(train), len(train) + len(test))
        axis.plot(future, test, color="black", linestyle="--", label="actual")
        for method, values in forecasts.items():
            axis.plot(future, values[index], linewidth=2.2 if method == "lstm" else 1.0,
                      label="LSTM" if method == "lstm" else baseline_label(method))
        axis.set_title(f"{which} LSTM sMAPE: series {name} ({lstm_smape[index]:.1f})")
        axis.legend(fontsize=7, ncol=4, loc="upper left")
    save_figure(figure, path)
