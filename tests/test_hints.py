"""Tests of lstmts.report.hints: the one line that says what to try when the LSTM loses."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from lstmts.report.hints import what_to_try
from lstmts.report.tables import print_summary


def _metrics(test_rmse=20.0, training_range=(100.0, 400.0), test_range=(300.0, 380.0), transforms=("minmax",),
             season=12, look_back=12, **extra) -> dict:
    """A run whose best baseline (Holt-Winters, chosen on validation) has a test RMSE of 10."""
    return {"status": "ok", "train_rmse": 5.0, "validation_rmse": 9.0, "test_rmse": test_rmse, "season_length": season,
            "baselines": {"holt_winters": {"validation_rmse": 8.0, "test_rmse": 10.0},
                          "persistence": {"validation_rmse": 12.0, "test_rmse": 15.0}},
            "seen": {"training_range": list(training_range), "test_range": list(test_range), "look_back": look_back,
                     "transforms": list(transforms)}, **extra}


def test_no_hint_when_the_lstm_beats_its_best_baseline():
    assert what_to_try(_metrics(test_rmse=9.0, test_range=(300.0, 500.0))) is None


def test_no_hint_for_the_automatic_lstm_itself():
    assert what_to_try(_metrics(kind="auto")) is None


@pytest.mark.parametrize("test_range, words", [((300.0, 520.0), "reach 520, above"),
                                               ((40.0, 380.0), "fall to 40, below")])
def test_test_values_beyond_the_training_range_without_differencing_suggest_differencing(test_range, words):
    hint = what_to_try(_metrics(test_range=test_range, look_back=1))
    assert hint.startswith("the LSTM does not beat Holt-Winters: its test values")
    assert words in hint and "training range 100 .. 400" in hint
    assert "protocol.transforms=[minmax] scales without differencing" in hint
    assert "try 'protocol.transforms=[diff1,standard]' or experiment=auto" in hint


def test_a_differenced_series_beyond_its_range_gets_the_next_hint():
    hint = what_to_try(_metrics(test_range=(300.0, 520.0), transforms=("diff1", "standard"), look_back=1))
    assert "framing.look_back=12" in hint and "diff1" not in hint


def test_a_season_longer_than_the_look_back_suggests_a_look_back_of_a_season():
    hint = what_to_try(_metrics(season=7, look_back=1))
    assert "the season (7 steps) is longer than framing.look_back=1" in hint
    assert "try framing.look_back=7, or experiment=auto" in hint


def test_otherwise_the_hint_points_to_the_automatic_lstm():
    assert what_to_try(_metrics()) == ("the LSTM does not beat Holt-Winters: try experiment=auto, which chooses the"
                                       " look_back, the transforms and the model on a validation period")
    assert what_to_try(_metrics(seen="damaged")).endswith("on a validation period")


def test_the_run_table_prints_the_hint_under_it():
    console = Console(file=io.StringIO(), width=100, force_terminal=False, color_system=None)
    print_summary({**_metrics(season=7, look_back=1), "samples": {"test": 4}, "updates": 8}, "/tmp/run", console)
    text = " ".join(console.file.getvalue().split())
    assert "what to try: the LSTM does not beat Holt-Winters: the season (7 steps)" in text
    assert text.index("best baseline (chosen on validation)") < text.index("what to try")
