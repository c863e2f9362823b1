"""Tests of lstmts.report.tables: comparison tables that fit the terminal without cutting a number."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from lstmts.report.ranking import NO_VALIDATION_WARNING, ranking_title
from lstmts.report.tables import job_line, print_summary, print_table, run_labels
from lstmts.runs.comparison import column_priority, comparison_frame, ranking_metric
from lstmts.runs.records import RunRecord, display_columns

BASELINES = {"persistence": (48.04, 0.92), "seasonal_naive": (41.85, 0.87), "holt_winters": (21.06, 0.41),
             "sarima": (14.06, 0.47), "theta": (33.3, 0.66), "ets": (19.5, 0.52)}


def _records(count: int, validation: bool = True, name: str = "{i}_framing.look_back={lb},model.units={units}"):
    """Sweep-like runs whose numbers have many digits, with six baselines (two of them new names)."""
    records = []
    for i in range(count):
        look_back, units = 1 + i % 12, 4 * (1 + i // 12)
        metrics = {
            "status": "ok", "choices": {"model": "vanilla"},
            "train_rmse": 21.123456 + i, "test_rmse": 1111.0 + 3.3 * i, "test_mase": 1.2345,
            "test_rmse_ratio_to_persistence": 23.1, "train_seconds": 0.5 + i / 7,
            "baselines": {k: {"test_rmse": test, **({"validation_rmse": valid} if validation else {})}
                          for k, (test, valid) in BASELINES.items()},
        }
        if validation:
            metrics["validation_rmse"] = 0.57 + (count - i) / 100
        config = {"framing.look_back": look_back, "model.units": units, "seed": 7, "training.epochs": 5}
        records.append(RunRecord(Path("/tmp/sweep") / name.format(i=i, lb=look_back, units=units), metrics=metrics,
                                 config=config, overridden={"framing.look_back", "model.units"}))
    return records


def _render(records, width: int, terminal: bool = True, chosen=None) -> tuple[str, list[str], object]:
    keys = display_columns(records)
    sort_by = ranking_metric(records)
    frame = comparison_frame(records, keys, sort_by)
    console = Console(file=io.StringIO(), width=width, force_terminal=terminal, color_system=None)
    shown = print_table(frame, f"{len(records)} run(s), {ranking_title(sort_by)}", console,
                        priority=column_priority(frame, keys, sort_by), chosen=chosen, config_keys=keys)
    return console.file.getvalue(), shown, frame


def _numbers(text: str) -> list[str]:
    return re.findall(r"(?<![\w.])\d+\.\d+(?: ± \d+\.\d+)?", text)


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("count", [4, 42])
def test_the_table_fits_the_terminal_and_every_number_shown_is_whole(width, count):
    text, shown, frame = _render(_records(count), width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width, text
    assert "…" not in text
    # The ranking metric, the test score beside it, the best baseline and the ratio come first.
    assert shown[:5] == ["run", "validation_rmse", "test_rmse", "best_baseline", "ratio_to_best_baseline"]
    for column in shown:
        for value in frame[column]:
            if isinstance(value, float):
                text_value = f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"
                assert text_value in text, (column, text_value)
    body = [line for line in lines if line.startswith("│")]
    assert len(body) == count
    # The validation RMSE is the first number of each row, and rows go best first.
    firsts = [float(_numbers(line)[0]) for line in body]
    assert firsts == sorted(firsts)
    assert "more column(s)" in text  # the rest are in the CSV, and the caption says so


def test_a_wider_terminal_shows_more_columns_and_the_swept_values():
    narrow = _render(_records(24), 80)[1]
    wide = _render(_records(24), 120)[1]
    assert set(narrow) < set(wide)
    assert {"framing.look_back", "model.units"} <= set(wide)


def test_the_best_baseline_is_chosen_on_validation_and_includes_new_baselines():
    _, _, frame = _render(_records(3), 120)
    # Holt-Winters is best on validation (0.41) though SARIMA is best on test (14.06).
    assert set(frame["best_baseline"]) == {"Holt-Winters"}
    assert set(frame["best_baseline_chosen_on"]) == {"validation"}
    # Compared on test, as each run's own table compares it: Holt-Winters' test RMSE is 21.06.
    assert frame["best_baseline_rmse"].tolist() == [21.06] * 3
    assert frame["ratio_to_best_baseline"].tolist() == pytest.approx((frame["test_rmse"] / 21.06).tolist())
    for name in BASELINES:  # the baselines' validation scores are columns of the summary
        assert f"{name}_validation_rmse" in frame


def test_without_validation_the_title_says_ranking_by_test_is_choosing_on_it():
    text, shown, frame = _render(_records(3, validation=False), 100)
    assert shown[1] == "test_rmse"
    assert frame["test_rmse"].is_monotonic_increasing
    flat = " ".join(text.split())
    assert NO_VALIDATION_WARNING in flat
    assert set(frame["best_baseline"]) == {"SARIMA"}  # now chosen on test


def test_in_a_pipe_every_column_is_printed_whole():
    text, shown, frame = _render(_records(5), 80, terminal=False)
    assert "more column(s)" not in text
    assert "…" not in text
    assert "sarima_validation_rmse" in shown and "ets_test_rmse" in shown
    assert max(len(line) for line in text.splitlines()) > 80


def test_columns_chosen_by_name_are_the_ones_shown():
    text, shown, _ = _render(_records(3), 80, chosen=["test_rmse", "framing.look_back"])
    assert shown == ["run", "test_rmse", "framing.look_back"]
    assert "valid." not in text


def test_long_run_folder_names_are_shortened_to_what_tells_them_apart():
    assert run_labels(["/a/sweep/0_x=1", "/a/sweep/1_x=2"]) == ["0", "1"]
    assert run_labels(["/o/2026-11-25/09-59-12", "/o/2026-11-26/09-59-12"]) == [
        "2026-11-25/09-59-12", "2026-11-26/09-59-12"]
    assert run_labels(["/s1/0_x=1", "/s2/0_x=1"]) == ["s1/0", "s2/0"]


def test_a_sweep_jobs_line_names_it_and_its_ranking_metric():
    metrics = {"status": "ok", "validation_rmse": 0.5712, "test_rmse": 48.041}
    assert job_line(3, "model.units=4", metrics) == "job 3 model.units=4: ok, validation RMSE 0.57 (test 48.04)"
    assert job_line(0, "seed=1", {"status": "ok", "test_rmse": 14.5}) == "job 0 seed=1: ok, test RMSE 14.50"
    assert job_line(1, "", {"status": "failed", "error": "model.units=0 is impossible"}) == (
        "job 1 (no overrides): failed: model.units=0 is impossible")


@pytest.mark.parametrize(("filled", "trimmed", "shown"), [
    (2, 3, "data.missing=interpolate filled in 2 missing value(s) between known ones and left out 3 before the first"
           " or after the last known value"),
    (0, 0, None),
])
def test_the_summary_says_how_many_missing_values_were_filled_in(filled, trimmed, shown):
    metrics = {"status": "ok", "train_rmse": 1.0, "test_rmse": 2.0, "samples": {"test": 4}, "updates": 8,
               "data": {"path": "/d.csv", "sha256": "0" * 64, "values": 40, "filled": filled, "trimmed": trimmed}}
    console = Console(file=io.StringIO(), width=100, force_terminal=False, color_system=None)
    print_summary(metrics, Path("/tmp/run"), console)
    lines = [line for line in console.file.getvalue().splitlines() if "data.missing" in line]
    assert lines == ([shown] if shown else [])


def _backtest_metrics(counts: dict) -> dict:
    horizons = {str(h): 10.0 + h for h in range(1, 13)}
    return {"status": "ok", "test_rmse": 11.0, "test_rmse_by_horizon": horizons,
            "baselines": {"sarima": {"test_rmse_by_horizon": horizons}},
            "backtest": {"origins": 4, "first_origin": "1957-01", "last_origin": "1960-12", "refits": 4,
                         "window": "expanding", "lstm_seconds": 1.0, "seconds_per_refit": 0.25, "baseline_seconds": 2.0,
                         "origins_by_horizon": counts}}


def test_a_backtest_table_says_how_many_origins_each_horizon_rests_on():
    counts = {"1": 4, **{str(h): 3 for h in range(2, 13)}}
    console = Console(file=io.StringIO(), width=120, force_terminal=False, color_system=None)
    print_summary(_backtest_metrics(counts), Path("/tmp/run"), console)
    text = console.file.getvalue()
    row = next(line for line in text.splitlines() if "origins scored" in line)
    assert re.findall(r"\d+", row) == ["4", "3", "3", "3"]  # at h=1, 3, 6 and 12, the horizons shown
    assert "horizons 2-12 rest on 3 of the 4 origins: the last origins are too near the end" in " ".join(text.split())


def test_a_backtest_scored_at_every_horizon_from_every_origin_says_nothing_more():
    console = Console(file=io.StringIO(), width=120, force_terminal=False, color_system=None)
    print_summary(_backtest_metrics({str(h): 4 for h in range(1, 13)}), Path("/tmp/run"), console)
    assert "origins scored" not in console.file.getvalue() and "rest on" not in console.file.getvalue()


@pytest.mark.parametrize("backtest", [False, True])
def test_the_table_says_the_lstm_took_in_covariates_and_the_baselines_did_not(backtest):
    covariates = {"covariates": {"past": ["footfall"], "future": ["promo"], "calendar": ["weekday", "day_of_year"]}}
    metrics = _backtest_metrics({}) if backtest else {
        "status": "ok", "train_rmse": 1.0, "test_rmse": 2.0, "samples": {"test": 4}, "updates": 8,
        "baselines": {"ets": {"test_rmse": 3.0}}}
    for extra, shown in (({}, False), (covariates, True)):
        console = Console(file=io.StringIO(), width=200, force_terminal=False, color_system=None)
        print_summary({**metrics, **extra}, Path("/tmp/run"), console)
        text = console.file.getvalue()
        assert ("LSTM + covariates" in text) is shown
        assert ("the LSTM took in covariates (footfall, promo and calendar features (weekday, day_of_year));"
                " the baselines forecast from the series alone" in text) is shown


@pytest.mark.parametrize("dates, kind", [
    (["5", "6", "7"], "positions"),  # a series without dates: what read_csv's parse_dates turned into text
    (["1949-01-01", "1949-02-01", "1949-03-01"], "dates"),
    (["2024-02-16T21:00:00", "2024-02-16T22:00:00", "2024-02-16T23:00:00"], "dates"),
    (["5", "six", "7"], "neither"),
])
def test_a_runs_predictions_are_read_with_positions_as_numbers_and_dates_as_dates(dates, kind, tmp_path):
    from lstmts.runs.comparison import read_predictions

    path = tmp_path / "predictions.csv"
    path.write_text("date,actual,split,prediction\n" + "".join(f"{d},{i},test,{i + 0.5}\n" for i, d in enumerate(dates)))
    if kind == "neither":
        with pytest.raises(ValueError, match="neither dates nor positions"):
            read_predictions(path)
        return
    frame = read_predictions(path)
    if kind == "positions":
        assert frame["date"].tolist() == [5, 6, 7]
    else:
        assert pd.api.types.is_datetime64_any_dtype(frame["date"])
        assert frame["date"].iloc[0] == pd.Timestamp(dates[0])


def test_a_predictions_file_without_its_columns_or_empty_says_which(tmp_path):
    from lstmts.runs.comparison import read_predictions

    path = tmp_path / "predictions.csv"
    path.write_text("when,actual,split,prediction\n2020-01-01,1,test,1\n")
    with pytest.raises(ValueError, match="it has no date column"):
        read_predictions(path)
    path.write_text("")
    with pytest.raises(ValueError, match="it is empty"):
        read_predictions(path)


@pytest.mark.parametrize("backtest", [False, True])
def test_the_table_names_the_columns_found_in_the_file_and_only_those(backtest):
    metrics = _backtest_metrics({}) if backtest else {
        "status": "ok", "train_rmse": 1.0, "test_rmse": 2.0, "samples": {"test": 4}, "updates": 8,
        "baselines": {"ets": {"test_rmse": 3.0}}}
    for extra, shown in (({}, None), ({"found_in_file": {"data.column": "sales"}}, "data.column=sales"),
                         ({"found_in_file": {"data.column": "rides", "data.date_column": "day"}},
                          "data.column=rides, data.date_column=day"),
                         ({"found_in_file": {"data.column": "rides", "data.date_column": None}},
                          "data.column=rides, data.date_column=null"),
                         # names as they are typed on the command line: quoted where they hold a space
                         ({"found_in_file": {"data.column": "Weekly supply", "data.date_column": "Week of"}},
                          'data.column="\'Weekly supply\'", data.date_column="\'Week of\'"')):
        console = Console(file=io.StringIO(), width=200, force_terminal=False, color_system=None)
        print_summary({**metrics, **extra}, Path("/tmp/run"), console)
        lines = [line for line in console.file.getvalue().splitlines() if "columns found in the file" in line]
        assert lines == ([] if shown is None else
                         [f"columns found in the file: {shown} (set them on the command line to choose others)"])


def test_the_table_says_when_the_file_listed_its_dates_newest_first():
    metrics = {"status": "ok", "train_rmse": 1.0, "test_rmse": 2.0, "samples": {"test": 4}, "updates": 8,
               "baselines": {"ets": {"test_rmse": 3.0}}}
    for data, shown in (({"newest_first": False}, False), ({"newest_first": True}, True), ({}, False)):
        console = Console(file=io.StringIO(), width=200, force_terminal=False, color_system=None)
        print_summary({**metrics, "data": data}, Path("/tmp/run"), console)
        text = console.file.getvalue()
        assert ("the file lists its dates newest first; they are read oldest first" in text) == shown


def test_the_table_tells_a_series_without_dates_the_season_its_changes_repeat():
    metrics = {"status": "ok", "train_rmse": 1.0, "test_rmse": 2.0, "samples": {"test": 4}, "updates": 8,
               "baselines": {"ets": {"test_rmse": 3.0}}, "frequency": "positions", "season_length": 1,
               "protocol": "honest"}
    for extra, shown in (({}, None), ({"season_hint": {"lag": 7, "autocorrelation": 0.6371}},
                                      "season: the series has no dates, so season 1; its training values' changes"
                                      " repeat every 7 steps (autocorrelation 0.64): if that is its season, give"
                                      " season_length=7")):
        console = Console(file=io.StringIO(), width=300, force_terminal=False, color_system=None)
        print_summary({**metrics, **extra}, Path("/tmp/run"), console)
        lines = [line for line in console.file.getvalue().splitlines() if line.startswith("season:")]
        assert lines == ([] if shown is None else [shown])


def test_the_summary_shows_every_forecasters_rmse_at_each_horizon_beyond_one_step():
    metrics = {"status": "ok", "train_rmse": 1.0, "test_rmse": 2.0, "samples": {"test": 4}, "updates": 8,
               "test_rmse_by_horizon": {"1": 2.0, "3": 4.5},
               "baselines": {"persistence": {"test_rmse": 3.0, "test_rmse_by_horizon": {"1": 3.0, "3": 6.25},
                                             "p_by_horizon": {"1": 0.2, "3": 0.0004}},
                             "ets": {"test_rmse": 2.5, "test_rmse_by_horizon": {"1": 2.5, "3": 3.75}},
                             "theta": {"note": "skipped: no fit"}}}
    console = Console(file=io.StringIO(), width=200, force_terminal=False, color_system=None)
    print_summary(metrics, Path("/tmp/run"), console)
    text = console.file.getvalue()
    table = text[text.index("test RMSE by steps ahead"):].splitlines()
    rows = [re.sub(r"\s+", " ", line.strip("│ ")) for line in table if line.startswith("│")]
    assert rows == ["LSTM │ 2.00 │ 4.50", "persistence │ 3.00 │ 6.25", "p vs LSTM │ 0.20 │ < 0.001",
                    "ETS (auto) │ 2.50 │ 3.75"]
    assert "p vs LSTM: the Diebold-Mariano test of the baseline's forecasts against the LSTM's" in text
    # One step ahead only: no such table.
    console = Console(file=io.StringIO(), width=200, force_terminal=False, color_system=None)
    print_summary({**metrics, "test_rmse_by_horizon": {"1": 2.0}}, Path("/tmp/run"), console)
    assert "by steps ahead" not in console.file.getvalue()


def test_comparison_csv_has_each_forecasters_test_rmse_at_every_horizon_beyond_one_step():
    records = _records(2)
    records[0].metrics["test_rmse_by_horizon"] = {"1": 1111.0, "3": 1500.5, "12": 2100.25}
    records[0].metrics["baselines"]["sarima"]["test_rmse_by_horizon"] = {"1": 14.06, "3": 18.5, "12": 28.0}
    frame = comparison_frame(records, display_columns(records), "validation_rmse").set_index("run")
    first, second = str(records[0].path), str(records[1].path)
    assert frame.loc[first, "test_rmse_h3"] == 1500.5 and frame.loc[first, "test_rmse_h12"] == 2100.25
    assert frame.loc[first, "sarima_test_rmse_h12"] == 28.0 and "test_rmse_h1" not in frame
    assert pd.isna(frame.loc[second, "test_rmse_h3"])  # a run without horizons leaves them empty
