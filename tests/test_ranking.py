"""Ranking runs: by validation RMSE when every run has one, whatever order the folders come in.

The run folders here are written by hand (metrics.json and config.yaml only), in an order that is
neither the validation nor the test ranking, and with validation scores that disagree with the
test scores: a table sorted by test RMSE, or not sorted at all, puts another run first.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from rich.console import Console

from lstmts.commands.compare import compare
from lstmts.evaluation.scoring import best_baseline
from lstmts.report.ranking import ranking_metric_of
from lstmts.report.tables import print_summary
from lstmts.runs.sweep import summarize_sweep

# Run folders without predictions.csv: the comparison plot has no lines to label.
pytestmark = pytest.mark.filterwarnings("ignore:No artists with labels:UserWarning")

# look_back -> (validation RMSE, test RMSE): the validation ranking is 6, 12, 3, 1; the test ranking 1, 3, 12, 6.
SCORES = {1: (40.0, 10.0), 3: (30.0, 20.0), 6: (10.0, 50.0), 12: (20.0, 30.0)}
BY_VALIDATION = [6, 12, 3, 1]
BY_TEST = [1, 3, 12, 6]
WRITTEN_IN = [3, 1, 12, 6]  # neither order


def _write_run(folder: Path, look_back: int, seed: int = 7, validation: float | None = None, test: float = 0.0,
               baselines: dict | None = None) -> Path:
    folder.mkdir(parents=True)
    metrics = {"status": "ok", "seed": seed, "train_rmse": 1.0, "test_rmse": test, "validation_rmse": validation,
               "baselines": baselines or {}}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "config.yaml").write_text(yaml.safe_dump({"seed": seed, "framing": {"look_back": look_back}}))
    return folder


def _compare(folders: list[Path], out: Path, **options) -> pd.DataFrame:
    console = Console(file=io.StringIO(), width=300)
    return compare([str(f) for f in folders], out_dir=out, console=console, **options)


def _look_backs(frame: pd.DataFrame) -> list[int]:
    return [int(v) for v in frame["framing.look_back"]]


def test_compare_ranks_by_validation_rmse_not_by_test_rmse(tmp_path):
    folders = [_write_run(tmp_path / f"lb{lb}", lb, validation=SCORES[lb][0], test=SCORES[lb][1]) for lb in WRITTEN_IN]
    table = _compare(folders, tmp_path / "out")
    assert _look_backs(table) == BY_VALIDATION
    assert list(table["validation_rmse"]) == [10.0, 20.0, 30.0, 40.0]
    assert list(table["test_rmse"]) == [50.0, 30.0, 20.0, 10.0]  # each run keeps its own test score
    saved = pd.read_csv(tmp_path / "out" / "comparison.csv")
    assert [int(v) for v in saved["framing.look_back"]] == BY_VALIDATION


def test_compare_ranks_by_test_rmse_when_a_run_has_no_validation_score(tmp_path):
    folders = [_write_run(tmp_path / f"lb{lb}", lb, validation=SCORES[lb][0] if lb != 3 else None, test=SCORES[lb][1])
               for lb in WRITTEN_IN]
    assert _look_backs(_compare(folders, tmp_path / "out")) == BY_TEST


def test_compare_groups_over_seeds_and_ranks_the_groups_by_mean_validation_rmse(tmp_path):
    folders = []
    # Two seeds per look_back whose validation scores average to SCORES'. Look_back 1 has the single
    # best run (40 - 38 = 2) but the worst mean (40): the groups are ranked by their means.
    offsets = {1: 38.0, 3: 5.0, 6: 5.0, 12: 5.0}
    for lb in WRITTEN_IN:
        for seed, sign in ((1, -1), (2, 1)):
            folders.append(_write_run(tmp_path / f"lb{lb}-s{seed}", lb, seed, validation=SCORES[lb][0] + sign * offsets[lb],
                                      test=SCORES[lb][1] + 40 + sign * offsets[lb]))  # never negative
    assert _look_backs(_compare(folders, tmp_path / "runs"))[0] == 1
    table = _compare(folders, tmp_path / "out", group=True)
    assert _look_backs(table) == BY_VALIDATION
    assert list(table["runs"]) == [2, 2, 2, 2]
    assert [sorted(Path(f).name for f in row.split(";")) for row in table["run_folders"]] == [
        [f"lb{lb}-s1", f"lb{lb}-s2"] for lb in BY_VALIDATION]
    assert list(table["validation_rmse"]) == [10.0, 20.0, 30.0, 40.0]
    # The std of -d and +d (ddof 1) is d * sqrt(2).
    np.testing.assert_allclose(table["validation_rmse_std"], [offsets[lb] * np.sqrt(2) for lb in BY_VALIDATION])


def test_the_best_baseline_is_chosen_on_validation_and_compared_on_test(tmp_path):
    baselines = {"persistence": {"validation_rmse": 25.0, "test_rmse": 5.0},
                 "seasonal_naive": {"validation_rmse": 8.0, "test_rmse": 60.0},
                 "sarima": {"note": "skipped: too short"}}
    folders = [_write_run(tmp_path / f"lb{lb}", lb, validation=SCORES[lb][0], test=SCORES[lb][1], baselines=baselines)
               for lb in WRITTEN_IN]
    table = _compare(folders, tmp_path / "out")
    assert set(table["best_baseline"]) == {"seasonal naive"}  # chosen on validation (8 against 25)
    assert list(table["best_baseline_rmse"]) == [60.0] * 4  # and compared on test, as the run's own table does
    # test RMSE / 60: 50/60, 30/60, 20/60, 10/60 in validation order.
    np.testing.assert_allclose(table["ratio_to_best_baseline"], [50 / 60, 30 / 60, 20 / 60, 10 / 60])
    np.testing.assert_allclose(table["persistence_validation_rmse"], 25.0)
    np.testing.assert_allclose(table["seasonal_naive_test_rmse"], 60.0)


def test_the_sweep_summary_ranks_jobs_by_validation_rmse(tmp_path):
    sweep = tmp_path / "sweep"
    for number, lb in enumerate(WRITTEN_IN):
        _write_run(sweep / f"{number}_framing.look_back={lb}", lb, validation=SCORES[lb][0], test=SCORES[lb][1])
    assert summarize_sweep(sweep, tensorboard=False) == 0
    summary = pd.read_csv(sweep / "summary.csv")
    assert _look_backs(summary) == BY_VALIDATION
    assert list(summary["run"]) == [f"{WRITTEN_IN.index(lb)}_framing.look_back={lb}" for lb in BY_VALIDATION]


def test_the_sweep_summary_ranks_by_test_rmse_without_validation_and_failed_jobs_last(tmp_path):
    sweep = tmp_path / "sweep"
    for number, lb in enumerate(WRITTEN_IN):
        _write_run(sweep / f"{number}_framing.look_back={lb}", lb, test=SCORES[lb][1])
    failed = sweep / "4_framing.look_back=0"
    failed.mkdir()
    (failed / "metrics.json").write_text(json.dumps({"status": "failed", "error": "framing.look_back=0 is impossible"}))
    assert summarize_sweep(sweep, tensorboard=False) == 1
    summary = pd.read_csv(sweep / "summary.csv")
    assert [int(v) for v in summary["framing.look_back"].dropna()] == BY_TEST
    assert list(summary["status"]) == ["ok"] * 4 + ["failed"]


@pytest.mark.parametrize("metrics, expected", [
    ([{"validation_rmse": 2.0}, {"validation_rmse": 1.0}], "validation_rmse"),
    ([{"validation_rmse": 2.0}, {"validation_rmse": None}], "test_rmse"),
    ([{"validation_rmse": 2.0}, {}], "test_rmse"),
    ([{"validation_rmse": float("nan")}], "test_rmse"),
    ([], "test_rmse"),
])
def test_ranking_metric_is_validation_only_when_every_run_has_a_finite_one(metrics, expected):
    assert ranking_metric_of(metrics) == expected


def test_best_baseline_is_the_lowest_finite_score_in_any_order():
    baselines = {"theta": {"validation_rmse": 9.0}, "ets": {"validation_rmse": float("nan")},
                 "holt_winters": {"validation_rmse": 3.0}, "sarima": {"note": "skipped"},
                 "persistence": {"validation_rmse": True}, "arima": {"validation_rmse": 4.0}}
    assert best_baseline(baselines, "validation_rmse") == ("holt_winters", 3.0)
    assert best_baseline(baselines, "test_rmse") is None
    assert best_baseline(None, "test_rmse") is None


def test_a_row_carries_each_runs_own_metrics_and_its_models_spread(tmp_path):
    folder = _write_run(tmp_path / "run", 3, validation=20.0, test=30.0)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics.update(test_mase=1.5, test_rmse_ratio_to_persistence=0.75, train_seconds=4.0,
                   repeats={"test_rmse_mean": 33.0, "test_rmse_std": 2.0})
    (folder / "metrics.json").write_text(json.dumps(metrics))
    other = _write_run(tmp_path / "other", 1, validation=10.0, test=40.0)
    table = _compare([folder, other], tmp_path / "out")
    row = table.set_index("framing.look_back").loc[3]
    assert (row["validation_rmse"], row["test_rmse"], row["test_mase"]) == (20.0, 30.0, 1.5)
    assert (row["ratio_to_persistence"], row["train_seconds"]) == (0.75, 4.0)
    assert (row["test_rmse_of_each_model"], row["test_rmse_of_each_model_std"]) == (33.0, 2.0)
    assert np.isnan(table.set_index("framing.look_back").loc[1, "test_rmse_of_each_model"])


def test_failed_runs_come_last_with_their_error(tmp_path):
    folders = [_write_run(tmp_path / f"lb{lb}", lb, validation=SCORES[lb][0], test=SCORES[lb][1]) for lb in (3, 1)]
    failed = tmp_path / "failed"
    failed.mkdir()
    (failed / "metrics.json").write_text(json.dumps({"status": "failed", "seed": 7, "error": "out of memory"}))
    (failed / "config.yaml").write_text(yaml.safe_dump({"seed": 7, "framing": {"look_back": 6}}))
    table = _compare([failed, *folders], tmp_path / "out", include_failed=True)
    assert list(table["status"]) == ["ok", "ok", "failed"]
    assert _look_backs(table) == [3, 1, 6]  # validation 30 before 40, the failed run last
    assert table["error"].iloc[-1] == "out of memory" and table["error"].iloc[:2].isna().all()


def test_a_group_of_one_run_has_no_spread(tmp_path):
    folders = [_write_run(tmp_path / f"lb{lb}-s{seed}", lb, seed, validation=SCORES[lb][0] + seed, test=1.0)
               for lb, seed in ((1, 1), (1, 2), (3, 1))]
    table = _compare(folders, tmp_path / "out", group=True).set_index("framing.look_back")
    assert table.loc[1, "runs"] == 2 and table.loc[3, "runs"] == 1
    assert table.loc[1, "validation_rmse"] == 41.5 and table.loc[3, "validation_rmse"] == 31.0
    assert np.isnan(table.loc[3, "validation_rmse_std"])
    assert table.loc[1, "validation_rmse_std"] == pytest.approx(np.sqrt(0.5))


def test_no_ratio_to_a_perfect_baseline(tmp_path):
    baselines = {"persistence": {"validation_rmse": 0.0, "test_rmse": 0.0}}
    folder = _write_run(tmp_path / "run", 3, validation=20.0, test=30.0, baselines=baselines)
    table = _compare([folder], tmp_path / "out")
    assert table["best_baseline"].iloc[0] == "persistence" and table["best_baseline_rmse"].iloc[0] == 0.0
    assert "ratio_to_best_baseline" not in table or table["ratio_to_best_baseline"].isna().all()


def test_the_ratio_to_a_baseline_below_one(tmp_path):
    baselines = {"persistence": {"validation_rmse": 0.5, "test_rmse": 0.25}}
    folder = _write_run(tmp_path / "run", 3, validation=2.0, test=3.0, baselines=baselines)
    table = _compare([folder], tmp_path / "out")
    assert table["ratio_to_best_baseline"].iloc[0] == 12.0  # test RMSE 3.0 / 0.25


def test_each_run_keeps_its_own_best_baseline_in_the_sweep_summary_in_compare_and_in_its_own_table(tmp_path):
    # ETS is best on validation, SARIMA on test: the run with a validation period is judged against
    # ETS, the one without against SARIMA, in every table, however the table is ranked.
    baselines = {"ets": {"validation_rmse": 5.0, "test_rmse": 40.0}, "sarima": {"validation_rmse": 9.0, "test_rmse": 20.0}}
    sweep = tmp_path / "sweep"
    with_validation = _write_run(sweep / "0_framing.look_back=3", 3, validation=4.0, test=60.0, baselines=baselines)
    without = _write_run(sweep / "1_framing.look_back=6", 6, test=30.0,
                         baselines={name: {"test_rmse": s["test_rmse"]} for name, s in baselines.items()})
    expected = {3: ("ETS (auto)", "validation", 1.5), 6: ("SARIMA", "test", 1.5)}

    def chosen(frame: pd.DataFrame) -> dict:
        return {int(row["framing.look_back"]): (row["best_baseline"], row["best_baseline_chosen_on"],
                                                 round(row["ratio_to_best_baseline"], 3))
                for _, row in frame.iterrows()}

    assert summarize_sweep(sweep, tensorboard=False) == 0
    assert chosen(pd.read_csv(sweep / "summary.csv")) == expected
    console = Console(file=io.StringIO(), width=300)
    table = compare([str(sweep / "*")], out_dir=tmp_path / "out", console=console)
    assert chosen(table) == expected
    printed = console.file.getvalue()
    assert "chosen on" in printed and "validation" in printed  # the mixed table says so per row
    for folder, (label, split, ratio) in zip((with_validation, without), expected.values()):
        own = Console(file=io.StringIO(), width=200)
        print_summary(json.loads((folder / "metrics.json").read_text()), folder, own)
        assert f"best baseline (chosen on {split}): {label}, test RMSE" in own.file.getvalue()
        assert f"LSTM ÷ it: {ratio:.3f}" in own.file.getvalue()


def test_compare_shows_each_runs_diebold_mariano_p_value_against_its_best_baseline(tmp_path):
    baselines = {"persistence": {"validation_rmse": 5.0, "test_rmse": 4.0}}
    folders = []
    for lb, p in ((3, 0.43), (6, 0.002), (12, None)):
        folder = _write_run(tmp_path / f"lb{lb}", lb, validation=SCORES[lb][0], test=SCORES[lb][1], baselines=baselines)
        if p is not None:
            metrics = json.loads((folder / "metrics.json").read_text())
            metrics["best_baseline"] = {"name": "persistence", "chosen_on": "validation", "test_rmse": 4.0,
                                        "diebold_mariano": {"statistic": 0.8, "p_value": p, "targets": 40}}
            (folder / "metrics.json").write_text(json.dumps(metrics))
        folders.append(folder)
    out = io.StringIO()
    table = compare([str(f) for f in folders], out_dir=tmp_path / "out", console=Console(file=out, width=300))
    shown = dict(zip((int(v) for v in table["framing.look_back"]), table["p_vs_best_baseline"]))
    assert shown[3] == 0.43 and shown[6] == 0.002 and np.isnan(shown[12])  # a run from before the test has none
    text = out.getvalue()
    assert "(DM)" in text and "0.43" in text and "0.002" in text  # the header wraps: "p" above "(DM)"
    saved = pd.read_csv(tmp_path / "out" / "comparison.csv")
    assert sorted(saved["p_vs_best_baseline"].dropna()) == [0.002, 0.43]


def _write_predictions(folder: Path, dates, actual, prediction) -> None:
    pd.DataFrame({"date": dates, "actual": actual, "split": "test", "prediction": prediction}).to_csv(
        folder / "predictions.csv", index=False)


def test_compare_and_a_sweep_test_each_run_against_the_first_on_the_test_targets_both_forecast(tmp_path):
    from lstmts.evaluation.significance import diebold_mariano

    rng = np.random.default_rng(4)
    dates = pd.date_range("2020-01-01", periods=40, freq="MS").strftime("%Y-%m-%d").to_numpy()
    actual = 100 + rng.normal(0, 5, 40)
    forecasts = {lb: actual + rng.normal(0, spread, 40) for lb, spread in ((6, 1.0), (3, 3.0), (1, 1.1), (12, 1.0))}
    sweep = tmp_path / "sweep"
    folders = {}
    for job, lb in enumerate(WRITTEN_IN):  # ranked on validation: 6 (the first), 12, 3, 1
        folders[lb] = _write_run(sweep / f"{job}_lb{lb}", lb, validation=SCORES[lb][0], test=SCORES[lb][1])
    _write_predictions(folders[6], dates, actual, forecasts[6])
    _write_predictions(folders[3], dates, actual, forecasts[3])
    _write_predictions(folders[1], dates[5:], actual[5:], forecasts[1][5:])  # fewer targets: compared on those
    _write_predictions(folders[12], dates, actual + 1.0, forecasts[12])  # another series' values
    expected = {3: diebold_mariano(actual, forecasts[3], forecasts[6])["p_value"],
                1: diebold_mariano(actual[5:], forecasts[1][5:], forecasts[6][5:])["p_value"]}
    assert expected[3] < 0.001 < 0.05 < expected[1]

    out = io.StringIO()
    table = compare([str(folders[lb]) for lb in WRITTEN_IN], out_dir=tmp_path / "out",
                    console=Console(file=out, width=300))
    shown = dict(zip((int(v) for v in table["framing.look_back"]), table["p_vs_first"]))
    assert np.isnan(shown[6]) and np.isnan(shown[12])  # the first itself; values that are not the first's
    assert shown[3] == pytest.approx(expected[3], rel=1e-12) and shown[1] == pytest.approx(expected[1], rel=1e-12)
    assert "p vs first" in out.getvalue() and "< 0.001" in out.getvalue()
    saved = pd.read_csv(tmp_path / "out" / "comparison.csv")
    assert saved["p_vs_first"].notna().sum() == 2

    assert summarize_sweep(sweep, tensorboard=False) == 0
    summary = pd.read_csv(sweep / "summary.csv")
    by_look_back = dict(zip(summary["framing.look_back"], summary["p_vs_first"]))
    assert by_look_back[3] == pytest.approx(expected[3], rel=1e-12) and np.isnan(by_look_back[6])

    # Grouped over seeds, a table has no p-value: one run against another is not a group's.
    for lb in WRITTEN_IN:
        metrics = json.loads((folders[lb] / "metrics.json").read_text())
        metrics["baselines"] = {"persistence": {"validation_rmse": 50.0, "test_rmse": 60.0}}
        metrics["best_baseline"] = {"name": "persistence", "chosen_on": "validation", "test_rmse": 60.0,
                                    "diebold_mariano": {"statistic": -2.0, "p_value": 0.01 * lb, "targets": 40}}
        (folders[lb] / "metrics.json").write_text(json.dumps(metrics))
    assert "p_vs_best_baseline" in compare([str(folders[lb]) for lb in WRITTEN_IN], out_dir=tmp_path / "again",
                                           console=Console(file=io.StringIO(), width=300))
    grouped = compare([str(folders[lb]) for lb in WRITTEN_IN], out_dir=tmp_path / "grouped",
                      console=Console(file=io.StringIO(), width=300), group=True)
    assert not [column for column in grouped if column.startswith("p_vs")]


def test_no_p_value_against_the_first_without_two_runs_that_have_predictions_the_first_among_them(tmp_path):
    folders = {lb: _write_run(tmp_path / f"lb{lb}", lb, validation=SCORES[lb][0], test=SCORES[lb][1])
               for lb in WRITTEN_IN}  # ranked 6, 12, 3, 1
    dates, actual = ["2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01"], [1.0, 2.0, 3.0, 4.0]
    _write_predictions(folders[3], dates, actual, [1.5, 2.5, 2.0, 4.5])
    assert "p_vs_first" not in _compare(list(folders.values()), tmp_path / "one")
    # Two runs with predictions, but not the first: "first" would name another run.
    _write_predictions(folders[1], dates, actual, [1.2, 2.6, 2.5, 3.0])
    assert "p_vs_first" not in _compare(list(folders.values()), tmp_path / "two")
    _write_predictions(folders[6], dates, actual, [1.1, 2.1, 3.3, 3.6])
    assert _compare(list(folders.values()), tmp_path / "three")["p_vs_first"].notna().sum() == 2
