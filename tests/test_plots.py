"""Tests of lstmts.report.plots: loss with validation, and a comparison plot of one size for 2 or 200 runs."""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest

from lstmts.report import plots


def _png_size(path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


def _frame(count: int, long_labels: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "run": [f"/s/{i}_x" for i in range(count)],
        "status": "ok",
        "framing.look_back": np.arange(count) % 12 + 1,
        "model.units": 4 * (np.arange(count) // 12 + 1),
        "validation_rmse": rng.uniform(0.5, 1.5, count),
        "test_rmse": rng.uniform(14, 60, count),
        "holt_winters_validation_rmse": 0.41,
        "sarima_validation_rmse": rng.uniform(0.4, 0.5, count),  # different targets per run
        "holt_winters_test_rmse": 21.06,
    })
    if long_labels:
        frame["protocol.transforms"] = "[log, diff12, standard, minmax, log, diff1, diff12, standard]"
        frame["experiment"] = "a_preset_with_a_rather_long_descriptive_name"
    return frame


def _captured(monkeypatch) -> list:
    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda figure, path, tight=True: figures.append(figure))
    return figures


def test_comparison_png_has_one_size_for_2_and_200_runs_with_long_labels(tmp_path):
    sizes = set()
    for count, long_labels in ((2, False), (42, True), (200, True)):
        frame = _frame(count, long_labels)
        keys = [c for c in ("experiment", "protocol.transforms", "framing.look_back", "model.units") if c in frame]
        plots.plot_comparison(tmp_path / f"c{count}.png", frame, keys, [])
        sizes.add(_png_size(tmp_path / f"c{count}.png"))
    assert sizes == {(14 * 110, 7 * 110)}


def test_comparison_bars_the_ranking_metric_best_first_with_baselines_as_lines(monkeypatch, tmp_path):
    figures = _captured(monkeypatch)
    frame = _frame(200)
    plots.plot_comparison(tmp_path / "c.png", frame, ["framing.look_back", "model.units"], [])
    left = figures[0].axes[0]
    widths = [bar.get_width() for bar in left.patches]
    assert len(widths) == plots.MAX_BARS
    assert widths == sorted(frame["validation_rmse"])[:plots.MAX_BARS]
    legend = [text.get_text() for text in left.get_legend().get_texts()]
    assert "Holt-Winters 0.41" in legend
    assert "SARIMA, on each run's targets" in legend
    assert "best 30 of 200" in left.get_title()
    labels = [label.get_text() for label in left.get_yticklabels()]
    assert all(label.count("\n") <= 1 for label in labels)


def test_run_labels_keep_whole_values_on_at_most_two_lines():
    row = pd.Series({"a.first": "x" * 30, "b.second": 123456, "c.third": "y" * 30, "d.fourth": "z" * 20})
    label = plots._run_label(row, list(row.index), limit=52)
    lines = label.split("\n")
    assert len(lines) == 2
    assert lines[0] == f"first={'x' * 30} second=123456"
    assert lines[1] == f"third={'y' * 30} …"  # fourth=zzz... left out whole


def test_loss_plot_has_validation_a_title_and_a_label_below_the_lowest_loss(monkeypatch, tmp_path):
    figures = _captured(monkeypatch)
    losses = {7: list(np.geomspace(0.9, 0.0013, 200))}
    validation = {7: list(np.geomspace(0.5, 0.004, 200))}
    plots.plot_losses(tmp_path / "loss.png", losses, validation, title="timesteps look_back=2")
    axis = figures[0].axes[0]
    assert [line.get_label() for line in axis.get_lines()] == ["training", "validation"]
    assert axis.get_lines()[1].get_linestyle() == "--"
    assert axis.get_title() == "timesteps look_back=2"
    bottom, top = axis.get_ylim()
    assert bottom <= 0.0013 and top >= 0.9
    figures[0].canvas.draw()
    labelled = [tick.get_loc() for tick in axis.yaxis.get_major_ticks() if tick.label1.get_text()
                and bottom <= tick.get_loc() <= top]
    assert min(labelled) <= 0.0013 and max(labelled) >= 0.9


def test_matplotlib_imported_ahead_is_the_agg_pyplot_the_plots_get(monkeypatch):
    monkeypatch.setattr(plots, "_PREFETCH", None)
    plots.prefetch()
    thread = plots._PREFETCH
    plt = plots.pyplot()
    assert not thread.is_alive()  # pyplot() waited for it
    assert plt.get_backend().lower() == "agg"
    plots.prefetch()
    assert plots._PREFETCH is thread  # once per process


def test_a_failing_import_ahead_is_silent_and_the_plot_itself_raises(monkeypatch, capsys):
    def broken():
        raise ImportError("no matplotlib")

    monkeypatch.setattr(plots, "_PREFETCH", None)
    monkeypatch.setattr(plots, "_load_matplotlib", broken)
    plots.prefetch()
    plots._PREFETCH.join()
    assert capsys.readouterr().err == ""


# --- rendered at the sizes used: titles and legends apart, history limited ----------------------

def _dates(kind: str, count: int) -> pd.DatetimeIndex:
    return pd.date_range("2022-01-01" if kind == "daily" else "1949-01-01", periods=count,
                         freq="D" if kind == "daily" else "MS")


SEASON = {"daily": 7, "monthly": 12}
LENGTH = {"daily": 730, "monthly": 144}


def _values(kind: str, count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(count)
    return 100 + 0.05 * t + 10 * np.sin(2 * np.pi * t / SEASON[kind]) + rng.normal(0, 2, count)


def _run_predictions(kind: str, seed: int = 0, test: int | None = None) -> pd.DataFrame:
    """A run's predictions.csv: train then test rows (the last third, or `test` values) of a daily or monthly series."""
    count = LENGTH[kind]
    test = test or count // 3
    dates, values = _dates(kind, count), _values(kind, count)
    noise = np.random.default_rng(seed + 1).normal(0, 3, count)
    frame = pd.DataFrame({"date": dates[1:], "actual": values[1:], "prediction": values[1:] + noise[1:],
                          "split": ["train"] * (count - 1 - test) + ["test"] * test})
    test_rows = frame["split"] == "test"
    frame.loc[test_rows, "lower_80"] = frame.loc[test_rows, "prediction"] - 5
    frame.loc[test_rows, "upper_80"] = frame.loc[test_rows, "prediction"] + 5
    return frame


def _layout_problems(figure) -> list[str]:
    """Return the title, legend and tick-label boxes that overlap each other or leave the figure, as rendered."""
    from matplotlib.text import Text

    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    titles = [(f"title {child.get_text()!r}", child.get_window_extent(renderer)) for axis in figure.axes
              for child in axis.get_children() if isinstance(child, Text) and child.get_text() and child.get_visible()]
    if figure._suptitle is not None:
        titles.append(("suptitle", figure._suptitle.get_window_extent(renderer)))
    legends = [(f"legend of {axis.get_title(loc='left') or axis.get_title()!r}", axis.get_legend().get_window_extent(renderer))
               for axis in figure.axes if axis.get_legend() is not None]
    legends += [("figure legend", legend.get_window_extent(renderer)) for legend in figure.legends]
    ticks = [(f"tick labels of {axis.get_title(loc='left') or axis.get_title()!r}", label.get_window_extent(renderer))
             for axis in figure.axes for label in axis.get_xticklabels() + axis.get_yticklabels()
             if label.get_visible() and label.get_text()]
    problems = []
    boxes = titles + legends
    for i, (name, box) in enumerate(boxes):
        for other, other_box in boxes[i + 1:] + (ticks if i < len(titles) else []):
            if box.overlaps(other_box) and box.width and other_box.width:
                problems.append(f"{name} overlaps {other}")
        inside = figure.bbox.padded(1)
        if not (inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1):
            problems.append(f"{name} leaves the figure")
    return problems


def _line(axis, label: str):
    return next(line for line in axis.get_lines() if line.get_label().startswith(label))


@pytest.mark.parametrize("kind", ["daily", "monthly"])
def test_a_runs_forecast_plot_shows_a_few_seasons_before_the_test_period(monkeypatch, tmp_path, kind):
    figures = _captured(monkeypatch)
    count, test = LENGTH[kind], 28 if kind == "daily" else 24
    predictions = _run_predictions(kind, test=test)
    plots.plot_forecast(tmp_path / "forecast.png", _dates(kind, count), _values(kind, count), predictions,
                        title="window look_back=3, vanilla (4 units)\ntest RMSE 3.21", y_label="sales",
                        season_length=SEASON[kind])
    axis = figures[0].axes[0]
    history = max(3 * SEASON[kind], 4 * test, plots.MIN_HISTORY)  # 112 days, 96 months
    assert len(_line(axis, "actual").get_xdata()) == history + test
    assert _line(axis, "actual").get_label() == f"actual, last {history + test} of {count} values"
    assert len(_line(axis, "train prediction").get_xdata()) == history
    assert len(_line(axis, "test prediction").get_xdata()) == test
    assert _layout_problems(figures[0]) == []


def test_a_short_series_is_shown_whole():
    assert plots.history_start(30, 10, 12) == 0
    assert plots.history_start(100, 10, 12) == 100 - 40
    assert plots.history_start(100, 2, 12) == 100 - 36  # three seasons
    assert plots.history_start(100, 2, 1) == 100 - plots.MIN_HISTORY


@pytest.mark.parametrize("kind", ["daily", "monthly"])
def test_a_forecast_past_the_data_shows_a_few_seasons_of_history(monkeypatch, tmp_path, kind):
    figures = _captured(monkeypatch)
    count, steps = LENGTH[kind], 28 if kind == "daily" else 12
    dates = _dates(kind, count + steps)
    forecast = pd.DataFrame({"date": dates[count:], "step": np.arange(1, steps + 1),
                             "forecast": _values(kind, count + steps)[count:]})
    forecast["lower_80"], forecast["upper_80"] = forecast["forecast"] - 5, forecast["forecast"] + 5
    plots.plot_future(tmp_path / "forecast-28-refit.png", dates[:count], _values(kind, count), forecast,
                      title="recursive forecast from window look_back=3, vanilla (refitted on all data)",
                      y_label="sales", season_length=SEASON[kind])
    axis = figures[0].axes[0]
    history = max(3 * SEASON[kind], 4 * steps, plots.MIN_HISTORY)  # 112 days, 48 months
    assert len(_line(axis, "history").get_xdata()) == history
    assert _line(axis, "history").get_xdata()[-1] == dates[count - 1]
    assert len(_line(axis, "forecast").get_xdata()) == steps
    assert _layout_problems(figures[0]) == []


def _best(kind: str, keys: list[str], count: int = 3) -> list[tuple[pd.Series, pd.DataFrame]]:
    return [(pd.Series({"run": f"/s/{i}_look_back={i + 1}", "framing.look_back": i + 1, "model.units": 8,
                        "test_rmse": 3.0 + i}), _run_predictions(kind, seed=i)) for i in range(count)]


@pytest.mark.parametrize("kind", ["daily", "monthly"])
@pytest.mark.parametrize("runs", [2, 200])
def test_comparison_gives_each_best_run_its_own_panel_of_its_test_period(monkeypatch, tmp_path, kind, runs):
    figures = _captured(monkeypatch)
    keys = ["framing.look_back", "model.units"]
    best = _best(kind, keys, min(runs, 3))
    plots.plot_comparison(tmp_path / "comparison.png", _frame(runs), keys, best)
    figure = figures[0]
    panels = figure.axes[1:]
    assert len(panels) == len(best)
    test = (best[0][1]["split"] == "test").sum()
    for index, (panel, (row, predictions)) in enumerate(zip(panels, best)):
        # One run's prediction per panel, named in its title.
        assert [line.get_label() for line in panel.get_lines()] == ["actual", "test prediction"]
        assert f"look_back={row['framing.look_back']}" in panel.get_title(loc="left")
        assert len(_line(panel, "test prediction").get_xdata()) == test
        # The test period and a short lead-in, not the whole series.
        assert len(_line(panel, "actual").get_xdata()) == test + max(test // 4, 3)
        assert np.isfinite(_line(panel, "actual").get_ydata()).all()
    assert _layout_problems(figure) == []


@pytest.mark.parametrize("kind", ["daily", "monthly"])
@pytest.mark.parametrize("count", [1, 20])
def test_collection_series_plot_has_dates_and_a_few_seasons_of_history(monkeypatch, tmp_path, kind, count):
    from lstmts.data.collection import Member

    figures = _captured(monkeypatch)
    horizon = 14 if kind == "daily" else 18
    members, forecasts = [], {name: [] for name in ("lstm", "naive", "seasonal_naive", "theta", "ets", "arima", "comb")}
    for i in range(count):
        length = LENGTH[kind] - i
        values = _values(kind, length, seed=i)
        members.append(Member(f"T{i:03d}", values[:-horizon], values[-horizon:], SEASON[kind], kind,
                              dates=_dates(kind, length)))
        for number, name in enumerate(forecasts):
            forecasts[name].append(values[-horizon:] + number)
    smape = list(np.linspace(1.0, 20.0, count))
    plots.plot_collection_series(tmp_path / "series.png", members, forecasts, smape)
    figure = figures[0]
    assert len(figure.axes) == min(count, 3)  # best, median and worst; one series is one panel
    history = max(3 * SEASON[kind], 4 * horizon, plots.MIN_HISTORY)
    for axis in figure.axes:
        member = next(m for m in members if f"series {m.id} " in axis.get_title(loc="left"))
        training = _line(axis, "training").get_xdata()
        assert len(training) == history
        assert pd.Timestamp(training[-1]) == member.dates[len(member.train) - 1]
        assert pd.Timestamp(_line(axis, "LSTM").get_xdata()[0]) == member.dates[len(member.train)]
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert labels[:3] == ["training", "actual", "LSTM"] and "Theta" in labels
    assert _layout_problems(figure) == []


def test_the_actual_line_breaks_where_predictions_have_no_dates():
    dates = pd.date_range("2020-01-01", periods=10, freq="MS")
    rows = pd.DataFrame({"date": dates.delete([4, 5]), "actual": np.arange(8.0)})
    broken = plots._broken_at_gaps(rows)
    assert len(broken) == 9 and np.isnan(broken["actual"].iloc[4])
    assert dates[3] < broken["date"].iloc[4] < dates[6]
    assert len(plots._broken_at_gaps(rows.iloc[:4])) == 4  # no gap, no empty row
