"""Nothing fitted on the training period may see the validation or test period.

Each test changes only values from some index on and checks that what was fitted before it stays
exactly the same: the transforms, the training windows, MASE's scale, the classical baselines and
the trained weights.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lstmts.config import airline_csv
from lstmts.evaluation.metrics import seasonal_scale
from lstmts.runs import runner

# The airline series: 144 months; split int(144 * 0.67) = 96; with validation_fraction 0.25 the
# validation period starts at 96 - int(96 * 0.25) = 72.
SPLIT, VALIDATION_START = 96, 72


def _airline() -> pd.DataFrame:
    return pd.read_csv(airline_csv())


def _changed_from(start: int) -> pd.DataFrame:
    """Return the airline frame with every value from `start` on changed (and still positive)."""
    frame = _airline().astype({"Passengers": float})
    frame.loc[start:, "Passengers"] = frame.loc[start:, "Passengers"] * 1.7 + np.arange(len(frame) - start) % 5 * 13
    return frame


def _config(compose_config, frame: pd.DataFrame, folder, *overrides: str):
    path = folder / "series.csv"
    frame.to_csv(path, index=False)
    return compose_config("data=csv", f"data.path={path}", "data.column=Passengers", "data.date_column=Month",
                          "protocol=honest", *overrides)


TRANSFORMS = ["[minmax]", "[standard]", "[log,diff12,standard]", "[diff1,minmax]", "[log,diff1,diff12,minmax]"]


@pytest.mark.parametrize("transforms", TRANSFORMS)
@pytest.mark.parametrize("validation, changed_from", [(0.25, VALIDATION_START), (0.0, SPLIT)])
def test_transforms_and_training_windows_do_not_see_the_later_periods(compose_config, tmp_path, transforms, validation,
                                                                      changed_from):
    prepared = {}
    for name, frame in (("original", _airline()), ("changed", _changed_from(changed_from))):
        (tmp_path / name).mkdir()
        cfg = _config(compose_config, frame, tmp_path / name, f"protocol.transforms={transforms}",
                      f"split.validation_fraction={validation}", "framing.look_back=3")
        prepared[name] = runner.prepare(cfg)
    original, changed = prepared["original"], prepared["changed"]
    assert original.series.values[changed_from - 1] == changed.series.values[changed_from - 1]
    assert original.series.values[changed_from] != changed.series.values[changed_from]
    assert original.pipeline.to_json() == changed.pipeline.to_json()
    for part in ("inputs", "targets", "target_index"):
        np.testing.assert_array_equal(getattr(original.windows["train"], part), getattr(changed.windows["train"], part))
    # The last training target is the one just before the changed values.
    assert original.windows["train"].target_index[-1] == changed_from - 1


def test_the_scaler_is_fitted_on_the_training_period_before_the_validation_period(compose_config, tmp_path):
    frame = _airline()
    cfg = _config(compose_config, frame, tmp_path, "split.validation_fraction=0.25")
    scaled = runner.prepare(cfg).pipeline.transform(frame["Passengers"].to_numpy(float))
    training = frame["Passengers"].to_numpy(float)[:VALIDATION_START]
    # minmax of the first 72 months (1949-1954): 104 (November 1949) .. 302 (July 1954) passengers.
    assert (training.min(), training.max()) == (104, 302)
    np.testing.assert_allclose(scaled[:VALIDATION_START].min(), 0.0)
    np.testing.assert_allclose(scaled[:VALIDATION_START].max(), 1.0)
    np.testing.assert_allclose(scaled[VALIDATION_START], (242 - 104) / (302 - 104))  # January 1955: 242


@pytest.mark.parametrize("season_length", [1, 4, 7, 12, 24])
def test_mase_scale_uses_only_values_before_the_period_end(season_length):
    values = np.cos(np.arange(100.0)) * 10 + np.arange(100.0)
    changed = values.copy()
    changed[60:] += 1000
    by_hand = np.mean([abs(values[t] - values[t - season_length]) for t in range(season_length, 60)])
    assert seasonal_scale(values, 60, season_length) == pytest.approx(by_hand)
    assert seasonal_scale(changed, 60, season_length) == pytest.approx(by_hand)


def test_classical_baselines_are_fitted_before_the_validation_period(compose_config, tmp_path, monkeypatch):
    """A forecast of month t uses the values before t and parameters fitted before the validation period."""
    monkeypatch.setenv("LSTMTS_CACHE", "off")
    forecasts = {}
    for name, frame in (("original", _airline()), ("changed", _changed_from(VALIDATION_START))):
        (tmp_path / name).mkdir()
        cfg = _config(compose_config, frame, tmp_path / name, "split.validation_fraction=0.25",
                      "baselines.methods=[holt_winters]")
        forecasts[name] = runner._classical(cfg, runner.prepare(cfg))[0]["holt_winters"]
    # Up to and including the first validation month, nothing changed that the forecast may use.
    np.testing.assert_allclose(forecasts["original"][:VALIDATION_START + 1],
                               forecasts["changed"][:VALIDATION_START + 1], rtol=1e-9)
    assert not np.allclose(forecasts["original"][VALIDATION_START + 1:], forecasts["changed"][VALIDATION_START + 1:])


@pytest.fixture(scope="module")
def trained_twice(compose_config, tmp_path_factory):
    """Two runs of the same config and seed on data that differ from the validation period on."""
    runs = {}
    for name, frame in (("original", _airline()), ("changed", _changed_from(VALIDATION_START))):
        folder = tmp_path_factory.mktemp(f"leakage-{name}")
        # A season of 4 (not the monthly 12) shows any seasonal lag that ignores season_length.
        cfg = _config(compose_config, frame, folder, "split.validation_fraction=0.25", "training.epochs=2",
                      "baselines.classical=false", "intervals.levels=[]", "report.tensorboard=false",
                      "horizons=[1,3]", "season_length=4")
        runs[name] = (folder / "run", runner.run(cfg, folder / "run"), frame["Passengers"].to_numpy(float))
    return runs


def test_trained_weights_and_training_predictions_do_not_see_the_later_periods(trained_twice, keras):
    (first, _, _), (second, _, _) = trained_twice["original"], trained_twice["changed"]
    weights = [keras.saving.load_model(folder / "model.keras", compile=False).get_weights() for folder in (first, second)]
    assert len(weights[0]) == len(weights[1])
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
    assert (first / "transforms.json").read_text() == (second / "transforms.json").read_text()
    predictions = [pd.read_csv(folder / "predictions.csv") for folder in (first, second)]
    train = [p[p["split"] == "train"] for p in predictions]
    np.testing.assert_array_equal(train[0]["prediction"], train[1]["prediction"])


@pytest.mark.parametrize("name", ["original", "changed"])
def test_mase_of_a_trained_run_is_scaled_by_the_training_period_only(trained_twice, name):
    folder, metrics, values = trained_twice[name]
    assert metrics["season_length"] == 4
    by_hand = np.mean(np.abs(values[4:VALIDATION_START] - values[:VALIDATION_START - 4]))
    for split in ("validation", "test"):
        assert metrics[f"{split}_mase"] == pytest.approx(metrics[f"{split}_mae"] / by_hand, rel=1e-9)
    saved = json.loads((folder / "metrics.json").read_text())
    assert saved["test_mase"] == pytest.approx(metrics["test_mase"])


@pytest.mark.parametrize("name", ["original", "changed"])
def test_seasonal_baselines_of_a_trained_run_use_the_season_length_set(trained_twice, name):
    _, metrics, values = trained_twice[name]
    test = np.arange(SPLIT, 144)  # the honest protocol scores every test month
    baselines = metrics["baselines"]

    def by_hand(forecast_index, target_index):
        return pytest.approx(np.sqrt(np.mean((values[target_index] - values[forecast_index]) ** 2)), rel=1e-9)

    assert baselines["persistence"]["test_rmse"] == by_hand(test - 1, test)
    assert baselines["seasonal_naive"]["test_rmse"] == by_hand(test - 4, test)
    assert baselines["seasonal_naive"]["validation_rmse"] == by_hand(np.arange(68, 92), np.arange(72, 96))
    # Three steps ahead from origin o, month o + 2: persistence copies month o - 1, seasonal naive month o - 2.
    origins = test[test + 2 < 144]
    assert baselines["persistence"]["test_rmse_by_horizon"]["3"] == by_hand(origins - 1, origins + 2)
    assert baselines["seasonal_naive"]["test_rmse_by_horizon"]["3"] == by_hand(origins - 2, origins + 2)
    # The baseline to beat is the one with the lower validation RMSE.
    chosen = min(("persistence", "seasonal_naive"), key=lambda baseline: baselines[baseline]["validation_rmse"])
    best = dict(metrics["best_baseline"])
    assert best.pop("diebold_mariano")["targets"] == len(test)  # the LSTM against it, on every test target
    assert best == {"name": chosen, "chosen_on": "validation", "test_rmse": baselines[chosen]["test_rmse"]}
