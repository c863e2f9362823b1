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
