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


# A forecast plot shows three seasons or four times its forecast's steps of history, at least this many values.
MIN_HISTORY = 24


def history_start(first_forecast: int, steps: int, season_length: int) -> int:
    """Return the index of the first value of history a forecast plot shows, `first_forecast` being the
    index of its first forecast value: three seasons or four times the `steps` before it, whichever is
    longer, and at least MIN_HISTORY values (a 28-day forecast is no sliver beside two years of data)."""
    return max(0, first_forecast - max(3 * max(int(season_length), 1), 4 * steps, MIN_HISTORY))


def _history_label(name: str, start: int, count: int) -> str:
    return f"{name}, last {count - start} of {count} values" if start else name


def plot_forecast(path: Path, labels, values, predictions: pd.DataFrame, *, title: str, y_label: str,
                  season_length: int = 1) -> None:
    """Plot the series and each split's predictions at the dates they forecast, from a few seasons before the test period."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(10, 4.5))
    test_rows = predictions[predictions["split"] == "test"]
    labels = pd.Index(labels)
    start = 0
    if len(test_rows):
        start = history_start(int(labels.searchsorted(test_rows["date"].iloc[0])), len(test_rows), season_length)
        predictions = predictions[predictions["date"] >= labels[start]]
    axis.plot(labels[start:], np.asarray(values)[start:], color="0.25", linewidth=1.4,
              label=_history_label("actual", start, len(labels)))
    colours = {"train": "tab:blue", "validation": "tab:purple", "test": "tab:orange"}
    for split, rows in predictions.groupby("split", sort=False):
        axis.plot(rows["date"], rows["prediction"], color=colours.get(split), linewidth=1.2,
                  label=f"{split} prediction")
    draw_bands(axis, test_rows["date"], test_rows, "tab:orange")
    if len(test_rows):
        axis.axvline(test_rows["date"].iloc[0], color="0.6", linestyle=":", linewidth=1)
    _finish_dated(figure, axis, path, title, y_label)


def _finish_dated(figure, axis, path: Path, title: str, y_label: str) -> None:
    """Title, label, grid and legend a plot over dates, and save it."""
    axis.set_title(title)
    axis.set_ylabel(y_label)
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", frameon=False)
    figure.autofmt_xdate()
    save_figure(figure, path)


def plot_future(path: Path, labels, values, forecast: pd.DataFrame, *, title: str, y_label: str,
                season_length: int = 1) -> None:
    """Plot a forecast past the end of the series (columns date, forecast and its intervals) after its last few seasons."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(10, 4.5))
    labels = pd.Index(labels)
    start = history_start(len(labels), len(forecast), season_length)
    axis.plot(labels[start:], np.asarray(values)[start:], color="0.25", linewidth=1.4,
              label=_history_label("history", start, len(labels)))
    draw_bands(axis, forecast["date"], forecast, "tab:red")
    axis.plot(forecast["date"], forecast["forecast"], color="tab:red", linewidth=1.4, marker=".",
              label=f"forecast, {len(forecast)} steps")
    axis.axvline(labels[-1], color="0.6", linestyle=":", linewidth=1)
    _finish_dated(figure, axis, path, title, y_label)


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
    _plot_best_predictions(figure, right, best, keys)
    save_figure(figure, path, tight=False)


def _broken_at_gaps(rows: pd.DataFrame) -> pd.DataFrame:
    """Return rows (sorted by date) with an empty row in each gap of their dates, so that a line breaks there
    instead of crossing it (predictions.csv has no rows for the look_back values that start a period)."""
    step = rows["date"].diff()
    gaps = step > 1.5 * step.median()
    if not gaps.any():
        return rows
    holes = pd.DataFrame({"date": rows["date"][gaps] - step[gaps] / 2})
    return pd.concat([rows, holes]).sort_values("date", kind="stable")


def _plot_best_predictions(figure, area, best: list[tuple[pd.Series, pd.DataFrame]], keys: list[str]) -> None:
    """Replace the axis `area` by one panel per best run: its test predictions over the actual values of
    the test period and a short lead-in, so that runs whose lines would cover each other are told apart."""
    spec = area.get_subplotspec()
    area.remove()
    if not best:
        axis = figure.add_subplot(spec)
        axis.set_title("no test predictions to plot", fontsize=10)
        axis.set_axis_off()
        return
    tests = [predictions[predictions["split"] == "test"] for _, predictions in best]
    same_dates = all(len(t) == len(tests[0]) and (t["date"].to_numpy() == tests[0]["date"].to_numpy()).all()
                     for t in tests)
    panels = spec.subgridspec(len(best), 1)
    first = None
    for index, ((row, predictions), test) in enumerate(zip(best, tests)):
        axis = figure.add_subplot(panels[index], sharex=first if same_dates else None)
        first = first or axis
        dates = predictions["date"].drop_duplicates().sort_values().reset_index(drop=True)
        first_test = int(dates.searchsorted(test["date"].min())) if len(test) else 0
        lead_in = max(len(test) // 4, 3)
        shown = predictions[predictions["date"] >= dates[max(0, first_test - lead_in)]]
        shown = _broken_at_gaps(shown.drop_duplicates("date").sort_values("date"))
        axis.plot(shown["date"], shown["actual"], color="0.2", linewidth=1.3, label="actual")
        axis.plot(test["date"], test["prediction"], color="tab:orange", linewidth=1.2, label="test prediction")
        label = _run_label(row, keys).replace("\n", " ")
        score = f", test RMSE {row['test_rmse']:.2f}" if pd.notna(row.get("test_rmse")) else ""
        axis.set_title(f"{'best' if index == 0 else f'no. {index + 1}'}: {label}{score}", fontsize=9, loc="left")
        axis.grid(alpha=0.3)
        axis.tick_params(labelsize=7)
        if index == 0:
            axis.legend(fontsize=7, loc="best", framealpha=0.8)
        if same_dates and index < len(best) - 1:
            axis.tick_params(labelbottom=False)
        else:
            axis.tick_params(axis="x", labelrotation=30)


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


def plot_collection_series(path: Path, members, forecasts: dict[str, list[np.ndarray]], lstm_smape: list[float]) -> None:
    """Plot the series where the LSTM's sMAPE is lowest, median and highest, with every method's forecast.

    `members` have id, train, test, season_length and dates (None: positions); each panel shows a
    few seasons of history before the forecast, and one legend beside the panels names the lines.
    """
    plt = pyplot()
    order = np.argsort(np.nan_to_num(np.asarray(lstm_smape, float), nan=np.inf), kind="stable")
    picks = {}  # index -> which; one series is one panel however it ranks
    for which, index in (("best", order[0]), ("median", order[len(order) // 2]), ("worst", order[-1])):
        picks.setdefault(int(index), which)
    if len(order) == 1:
        picks = {int(order[0]): "only"}
    figure, axes = plt.subplots(len(picks), 1, figsize=(10, 1.2 + 2.6 * len(picks)), layout="constrained",
                                squeeze=False)
    for axis, (index, which) in zip(axes[:, 0], picks.items()):
        member = members[index]
        train, test = np.asarray(member.train), np.asarray(member.test)
        count = len(train) + len(test)
        x = member.dates if member.dates is not None and len(member.dates) == count else np.arange(count)
        start = history_start(len(train), len(test), member.season_length)
        axis.plot(x[start:len(train)], train[start:], color="black", linewidth=1.0, label="training")
        future = x[len(train):]
        axis.plot(future, test, color="black", linestyle="--", linewidth=1.0, label="actual")
        for method, values in forecasts.items():
            axis.plot(future, values[index], linewidth=2.2 if method == "lstm" else 1.0,
                      label="LSTM" if method == "lstm" else baseline_label(method))
        which = "" if which == "only" else f"{which} "
        axis.set_title(f"{which}LSTM sMAPE: series {member.id} ({lstm_smape[index]:.1f})", fontsize=10, loc="left")
        axis.grid(alpha=0.3)
        if x is not member.dates:
            axis.set_xlabel("position (the data has no dates)", fontsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)
    save_figure(figure, path)


def plot_collection_future(path: Path, members, table: pd.DataFrame, *, title: str, panels: int = 4) -> None:
    """Plot a few series of a collection (spread over its order) with their forecasts past the data and bands.

    `table` has the columns of forecast-H.csv: series, date, step, forecast, lower_<level>, upper_<level>.
    """
    plt = pyplot()
    picks = sorted({int(round(k)) for k in np.linspace(0, len(members) - 1, min(panels, len(members)))})
    figure, axes = plt.subplots(len(picks), 1, figsize=(10, 1.2 + 2.4 * len(picks)), layout="constrained",
                                squeeze=False)
    for axis, index in zip(axes[:, 0], picks):
        member = members[index]
        values = np.concatenate([member.train, member.test])
        rows = table[table["series"] == member.id]
        dated = member.dates is not None and len(member.dates) == len(values)
        x = member.dates if dated else np.arange(len(values))
        start = history_start(len(values), len(rows), member.season_length)
        axis.plot(x[start:], values[start:], color="black", linewidth=1.0, label="history")
        future = pd.DatetimeIndex(rows["date"]) if dated else rows["date"].to_numpy()
        draw_bands(axis, future, rows, "tab:red")
        axis.plot(future, rows["forecast"], color="tab:red", linewidth=1.6, label="LSTM forecast")
        axis.set_title(f"series {member.id}", fontsize=10, loc="left")
        axis.grid(alpha=0.3)
        if not dated:
            axis.set_xlabel("position (the data has no dates)", fontsize=8)
    figure.suptitle(title, fontsize=11)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)
    save_figure(figure, path)
