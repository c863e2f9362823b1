"""Tests of lstmts.runner: each tutorial preset end to end into a run folder, and failed runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstmts.runs import runner
from lstmts.errors import UserError
from lstmts.models.network import reset_states

SHIPPED_CSV = Path(__file__).resolve().parents[1] / "data" / "airline-passengers.csv"

PRESETS = ["regression", "window", "timesteps", "stateful", "stacked_stateful"]
LOOK_BACK = {"regression": 1, "window": 3, "timesteps": 3, "stateful": 3, "stacked_stateful": 3}
SAMPLES = {1: {"train": 94, "test": 46}, 3: {"train": 92, "test": 44}}


@pytest.fixture(scope="module")
def airline() -> pd.Series:
    """The shipped series read directly with pandas: passengers by month."""
    frame = pd.read_csv(SHIPPED_CSV, parse_dates=["Month"])
    return pd.Series(frame["Passengers"].to_numpy(dtype=float), index=pd.DatetimeIndex(frame["Month"]))


@pytest.fixture(scope="module")
def preset_runs(compose_config, tmp_path_factory) -> dict:
    """Run every tutorial preset once for 2 epochs; return preset -> (cfg, run folder, metrics)."""
    root = tmp_path_factory.mktemp("runs")
    runs = {}
    for preset in PRESETS:
        cfg = compose_config(f"experiment=tutorial_{preset}", "training.epochs=2")
        out_dir = root / preset
        runs[preset] = (cfg, out_dir, runner.run(cfg, out_dir))
    return runs


def _predictions(out_dir: Path) -> pd.DataFrame:
    return pd.read_csv(out_dir / "predictions.csv", parse_dates=["date"])


def _expected_targets(look_back: int) -> dict[str, list[int]]:
    # The tutorial: train targets i + L, test targets 96 + i + L, for i in range(len(split) - L - 1).
    return {
        "train": [i + look_back for i in range(96 - look_back - 1)],
        "test": [96 + i + look_back for i in range(48 - look_back - 1)],
    }


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_run_folder(preset_runs, preset):
    _, out_dir, metrics = preset_runs[preset]
    saved = json.loads((out_dir / "metrics.json").read_text())
    assert saved["status"] == "ok"
    assert metrics["status"] == "ok"
    assert saved["samples"] == SAMPLES[LOOK_BACK[preset]]
    assert saved["updates"] == 2 * SAMPLES[LOOK_BACK[preset]]["train"]  # batch size 1, 2 epochs
    assert np.isfinite([saved["train_rmse"], saved["test_rmse"]]).all()
    for name in ("forecast.png", "loss.png", "model.keras", "transforms.json"):
        assert (out_dir / name).stat().st_size > 0, name


@pytest.mark.parametrize("preset", PRESETS)
def test_predictions_are_at_the_tutorial_targets_in_passengers(preset_runs, airline, preset):
    _, out_dir, metrics = preset_runs[preset]
    look_back = LOOK_BACK[preset]
    frame = _predictions(out_dir)
    assert list(frame.columns) == ["date", "actual", "split", "prediction", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert len(frame) == sum(SAMPLES[look_back].values())
    for split, targets in _expected_targets(look_back).items():
        rows = frame[frame["split"] == split]
        assert list(rows["date"]) == list(airline.index[targets])
        np.testing.assert_array_equal(rows["actual"].to_numpy(), airline.to_numpy()[targets])
        assert np.isfinite(rows["prediction"]).all()
    # The test RMSE in metrics.json is that of the predictions in the file, in passengers.
    test = frame[frame["split"] == "test"]
    rmse = np.sqrt(np.mean((test["actual"] - test["prediction"]) ** 2))
    assert metrics["test_rmse"] == pytest.approx(rmse, rel=1e-9)


def test_first_train_actual_is_the_second_month(preset_runs):
    frame = _predictions(preset_runs["regression"][1])
    assert frame.loc[0, "actual"] == 118.0
    assert frame.loc[0, "date"] == pd.Timestamp("1949-02-01")


@pytest.mark.parametrize("preset", PRESETS)
def test_baselines_are_scored_on_the_same_test_targets(preset_runs, airline, preset):
    _, out_dir, metrics = preset_runs[preset]
    test = _predictions(out_dir).query("split == 'test'")
    previous_month = airline.reindex(test["date"] - pd.DateOffset(months=1)).to_numpy()
    same_month_last_year = airline.reindex(test["date"] - pd.DateOffset(years=1)).to_numpy()
    actual = test["actual"].to_numpy()
    baselines = metrics["baselines"]
    assert baselines["persistence"]["test_rmse"] == pytest.approx(np.sqrt(np.mean((actual - previous_month) ** 2)))
    assert baselines["seasonal_naive"]["test_rmse"] == pytest.approx(np.sqrt(np.mean((actual - same_month_last_year) ** 2)))
    assert metrics["test_rmse_ratio_to_persistence"] == pytest.approx(
        metrics["test_rmse"] / baselines["persistence"]["test_rmse"]
    )


@pytest.mark.parametrize("preset", PRESETS)
def test_saved_model_predicts_the_test_values_in_the_file(preset_runs, airline, keras, preset):
    cfg, out_dir, _ = preset_runs[preset]
    look_back = LOOK_BACK[preset]
    model = keras.saving.load_model(out_dir / "model.keras")
    assert tuple(model.output_shape[1:]) == (1,)
    # Rebuild the test windows by hand: min-max on all 144 values, windows inside the test split.
    values = airline.to_numpy()
    low, high = values.min(), values.max()
    scaled = (values - low) / (high - low)
    targets = _expected_targets(look_back)["test"]
    lags = np.stack([scaled[t - look_back:t] for t in targets]).astype(np.float32)
    inputs = lags[:, :, None] if cfg.framing.lags_as == "timesteps" else lags[:, None, :]
    reset_states(model)
    raw = model.predict(inputs, batch_size=1, verbose=0).reshape(-1)
    test = _predictions(out_dir).query("split == 'test'")
    np.testing.assert_allclose(raw * (high - low) + low, test["prediction"].to_numpy(), atol=1e-3)


def test_scored_period_labels(preset_runs):
    metrics = preset_runs["regression"][2]
    assert metrics["scored"]["train"] == {"first": "1949-02-01", "last": "1956-11-01"}
    assert metrics["scored"]["test"] == {"first": "1957-02-01", "last": "1960-11-01"}


def test_honest_protocol_run_scores_every_test_month(compose_config, airline, tmp_path):
    metrics = runner.run(compose_config("protocol=honest", "training.epochs=1"), tmp_path / "run")
    assert metrics["samples"] == {"train": 95, "test": 48}
    assert metrics["scored"]["test"] == {"first": "1957-01-01", "last": "1960-12-01"}
    test = _predictions(tmp_path / "run").query("split == 'test'")
    assert list(test["date"]) == list(airline.index[96:])
    # The first test month's persistence forecast is the last training month.
    previous = airline.to_numpy()[95:143]
    persistence = np.sqrt(np.mean((test["actual"].to_numpy() - previous) ** 2))
    assert metrics["baselines"]["persistence"]["test_rmse"] == pytest.approx(persistence)


def test_repeats_report_each_seed_and_the_ensemble_of_their_predictions(compose_config, keras, tmp_path):
    cfg = compose_config("experiment=tutorial_stateful", "training.epochs=1", "training.repeats=2")
    metrics = runner.run(cfg, tmp_path / "run")
    assert metrics["repeats"]["seeds"] == [7, 8]
    prepared = runner.prepare(cfg)
    test = prepared.windows["test"]
    each = []
    for seed in (7, 8):
        model = keras.saving.load_model(tmp_path / "run" / "models" / f"seed-{seed}.keras")
        reset_states(model)
        raw = model.predict(test.inputs, batch_size=1, verbose=0).reshape(-1)
        each.append(prepared.pipeline.inverse(raw, test.target_index, prepared.series.values))
    actual = prepared.series.values[test.target_index]
    rmse = [float(np.sqrt(np.mean((prediction - actual) ** 2))) for prediction in each]
    assert metrics["repeats"]["test_rmse"] == pytest.approx(rmse, abs=1e-3)
    assert rmse[0] != pytest.approx(rmse[1])  # two seeds, two different models
    ensemble = _predictions(tmp_path / "run").query("split == 'test'")["prediction"].to_numpy()
    np.testing.assert_allclose(ensemble, np.mean(each, axis=0), atol=1e-3)
    assert metrics["test_rmse"] == pytest.approx(float(np.sqrt(np.mean((ensemble - actual) ** 2))))


# --- failures -------------------------------------------------------------------------------

def test_impossible_config_fails_and_says_so_in_metrics_json(compose_config, tmp_path):
    cfg = compose_config("training.epochs=0")
    with pytest.raises(UserError, match=r"training\.epochs"):
        runner.run(cfg, tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["status"] == "failed"
    assert "training.epochs" in saved["error"]
    assert "finished_at" in saved


def test_stateful_batch_size_not_dividing_the_samples_fails_before_training(compose_config, tmp_path):
    cfg = compose_config("experiment=tutorial_stateful", "training.batch_size=5")
    with pytest.raises(UserError, match=r"training\.batch_size=5 does not divide the 92"):
        runner.run(cfg, tmp_path / "run")
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["status"] == "failed"


def test_a_horizon_longer_than_the_test_period_fails_before_training(compose_config, tmp_path):
    # The honest protocol's test period holds the 48 months 96..143: a 49-step forecast has no target in it.
    cfg = compose_config("protocol=honest", "horizons=[1,12,49]", "training.epochs=1")
    with pytest.raises(UserError, match=r"horizons=\[1, 12, 49\] reach 49 steps ahead, but the test period has 48"
                                        r" targets; .*horizons=\[1,12\]") as error:
        runner.run(cfg, tmp_path / "run")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "run" / "model.keras").exists()


def test_prepare_honest_protocol_fits_the_scaler_on_the_training_period_only(compose_config):
    prepared = runner.prepare(compose_config("protocol=honest"))
    values = prepared.series.values
    assert prepared.windows["test"].target_index.tolist() == list(range(96, 144))
    scaled = prepared.pipeline.transform(values)
    np.testing.assert_allclose(scaled[:96].min(), 0.0)
    np.testing.assert_allclose(scaled[:96].max(), 1.0)
    assert scaled[96:].max() > 1.0  # the test period reaches beyond the training period's maximum


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_log_of_a_series_non_positive_after_the_training_period_is_a_user_error(compose_config, tmp_path):
    values = list(range(1, 31)) + [0] + list(range(31, 40))
    path = tmp_path / "series.csv"
    path.write_text("value\n" + "\n".join(str(v) for v in values) + "\n")
    cfg = compose_config(
        "data=csv", f"data.path={path}", "data.column=value", "protocol=honest", "protocol.transforms=[log,minmax]"
    )
    with pytest.raises(UserError, match="log"):
        runner.prepare(cfg)


def test_resume_keeps_a_finished_run_only_for_the_same_seed_and_the_same_data_bytes(compose_config, tmp_path):
    data = tmp_path / "passengers.csv"
    data.write_text(SHIPPED_CSV.read_text())
    settings = [f"data.path={data}", "training.epochs=1", "baselines.classical=false", "horizons=[]",
                "intervals.levels=[]", "report.tensorboard=false", "resume=true"]
    folder = tmp_path / "run"
    metrics = runner.run(compose_config(*settings, "seed=1"), folder)
    assert runner.finished_run(compose_config(*settings, "seed=1"), folder)["test_rmse"] == metrics["test_rmse"]
    # Another seed in the same folder is another experiment: run again.
    assert runner.finished_run(compose_config(*settings, "seed=2"), folder) is None
    # The CSV edited in place: the same config and path, other values.
    lines = data.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",999"
    data.write_text("\n".join(lines) + "\n")
    assert runner.finished_run(compose_config(*settings, "seed=1"), folder) is None
    data.unlink()  # gone: run again, and that run says what is missing
    assert runner.finished_run(compose_config(*settings, "seed=1"), folder) is None


def test_resume_keeps_a_run_made_without_it_and_never_a_failed_or_incomplete_one(compose_config, tmp_path):
    """Found by tools/mutate.py --module resume: the `resume` switch itself, a failed status and an empty file."""
    import json

    settings = ["training.epochs=1", "baselines.classical=false", "horizons=[]", "intervals.levels=[]",
                "report.tensorboard=false"]
    folder = tmp_path / "run"
    runner.run(compose_config(*settings), folder)  # resume=false, the default
    assert runner.finished_run(compose_config(*settings, "resume=true"), folder) is not None
    metrics = json.loads((folder / "metrics.json").read_text())
    (folder / "metrics.json").write_text(json.dumps({**metrics, "status": "failed"}))
    assert runner.finished_run(compose_config(*settings, "resume=true"), folder) is None
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "transforms.json").write_text("")  # an empty file is not a finished run's file
    assert runner.finished_run(compose_config(*settings, "resume=true"), folder) is None


def test_a_series_without_dates_is_told_the_season_its_training_values_repeat(compose_config, tmp_path):
    steps = np.arange(120)
    season = np.tile([0.0, 4, 9, 12, 9, 4, 0, -4, -9, -12, -9, -4], 10)
    values = 200 + steps + season + np.random.default_rng(5).normal(0, 1, 120)
    path = tmp_path / "undated.csv"

    def hint(values, *extra):
        pd.DataFrame({"sales": values}).to_csv(path, index=False)
        cfg = compose_config("data=csv", f"data.path={path}", "experiment=plain", "training.epochs=1",
                             "baselines.classical=false", "horizons=[1]", *extra)
        return runner.run(cfg, tmp_path / f"run{len(list(tmp_path.iterdir()))}").get("season_hint")

    first = hint(values)
    assert first["lag"] == 12 and first["autocorrelation"] > 0.5
    # read on the training values alone: test values of another shape leave it as it was
    changed = values.copy()
    changed[80:] = 300 + np.random.default_rng(6).normal(0, 30, 40)  # the split: int(120 * 0.67) = 80
    assert hint(changed) == first
    assert hint(values, "season_length=12") is None  # the user gave a season
    dated = pd.DataFrame({"date": pd.date_range("2000-01", periods=120, freq="MS").strftime("%Y-%m"), "sales": values})
    dated.to_csv(path, index=False)
    cfg = compose_config("data=csv", f"data.path={path}", "experiment=plain", "training.epochs=1",
                         "baselines.classical=false", "horizons=[1]")
    assert "season_hint" not in runner.run(cfg, tmp_path / "dated")  # dates give the season
