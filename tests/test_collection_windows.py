"""A panel's training windows built batch by batch: the same arrays, the same training, one epoch's windows held."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmts.data.collection import Member, load_collection
from lstmts.models.network import ModelSpec
from lstmts.models.training import train
from lstmts.runs import collection as runs_collection
from lstmts.runs import collection_covariates
from lstmts.runs.collection_windows import PanelWindows


def _every_window_the_old_way(adjusted, look_back, horizon, relative, lags_as, spec=None, members=None):
    """Each series' windows one after another, as runs.collection.windows and collection_covariates.channels give them."""
    inputs, targets = [], []
    for k, z in enumerate(adjusted):
        x, y = runs_collection.windows(z, look_back, horizon, relative)
        shaped = x[:, :, None] if lags_as == "timesteps" else x[:, None, :]
        if spec is not None:
            shaped = np.concatenate([shaped, collection_covariates.channels(spec, members[k], np.arange(len(x)),
                                                                            look_back, horizon)], axis=2)
        inputs.append(shaped)
        targets.append(y)
    return np.concatenate(inputs), np.concatenate(targets)


@pytest.mark.parametrize("relative", [False, True])
@pytest.mark.parametrize("lags_as", ["timesteps", "features"])
@pytest.mark.parametrize(("look_back", "horizon"), [(1, 1), (3, 2), (5, 4)])
def test_the_panel_builds_every_series_windows_in_order(relative, lags_as, look_back, horizon):
    rng = np.random.default_rng(1)
    # Lengths: one too short for any window, one with exactly one, and longer ones.
    adjusted = [rng.normal(size=n) for n in (look_back + horizon - 1, look_back + horizon, 17, 9, 30)]
    panel = PanelWindows(adjusted, look_back, horizon, relative, lags_as)
    expected_inputs, expected_targets = _every_window_the_old_way(adjusted, look_back, horizon, relative, lags_as)
    assert len(panel) == len(expected_targets) == 0 + 1 + (17 + 9 + 30 - 3 * (look_back + horizon - 1))
    inputs, targets = panel.take(np.arange(len(panel)))
    assert inputs.dtype == np.float32 and targets.dtype == np.float32
    np.testing.assert_allclose(inputs, expected_inputs.astype(np.float32), rtol=0, atol=1e-6)
    np.testing.assert_allclose(targets, expected_targets.astype(np.float32), rtol=0, atol=1e-6)
    # Any rows, in any order, are those rows of the whole.
    rows = rng.permutation(len(panel))[: len(panel) // 2]
    some_inputs, some_targets = panel.take(rows)
    np.testing.assert_array_equal(some_inputs, inputs[rows])
    np.testing.assert_array_equal(some_targets, targets[rows])


def test_a_window_by_hand():
    # Series b's third window: row 5 of the panel (a has 5 - 2 - 1 + 1 = 3 windows, rows 0..2).
    adjusted = [np.array([1.0, 2, 3, 4, 5]), np.array([10.0, 20, 40, 70, 110])]
    panel = PanelWindows(adjusted, 2, 1, relative=True, lags_as="timesteps")
    inputs, targets = panel.take(np.array([5, 0]))
    np.testing.assert_array_equal(inputs[:, :, 0], [[-30.0, 0.0], [-1.0, 0.0]])  # 40 - 70, 70 - 70; 1 - 2, 2 - 2
    np.testing.assert_array_equal(targets, [[40.0], [1.0]])  # 110 - 70; 3 - 2


def _panel_members(tmp_path):
    rng = np.random.default_rng(4)
    rows = []
    for name, length, region in (("a", 14, "north"), ("b", 11, "south"), ("c", 16, "east")):
        for k, date in enumerate(pd.date_range("2020-01-01", periods=length, freq="MS")):
            rows.append({"id": name, "when": date.strftime("%Y-%m-%d"), "y": 50 + rng.normal(),
                         "promo": int(rng.random() < 0.4), "visits": float(rng.integers(0, 30)), "region": region})
    pd.DataFrame(rows).to_csv(tmp_path / "panel.csv", index=False)
    from omegaconf import OmegaConf

    data = OmegaConf.create({"source": "csv", "path": str(tmp_path / "panel.csv"), "id_column": "id",
                             "date_column": "when", "value_column": "y", "horizon": 2, "season_length": "auto",
                             "shard": 0, "shards": 1, "limit": None, "calendar": True,
                             "covariates": {"past": ["visits"], "future": ["promo"], "static": ["region"],
                                            "static_path": None}})
    return load_collection(data).members


def test_the_panel_builds_the_covariate_channels_of_every_window_by_value(tmp_path):
    members = _panel_members(tmp_path)
    spec = collection_covariates.fit(members)
    assert spec.past == 1 and spec.future == 13 and spec.static == 3  # promo + 12 months; three regions
    adjusted = [(m.train - m.train.mean()) / m.train.std() for m in members]
    panel = PanelWindows(adjusted, 3, 2, True, "timesteps", spec, members)
    expected_inputs, expected_targets = _every_window_the_old_way(adjusted, 3, 2, True, "timesteps", spec, members)
    inputs, targets = panel.take(np.arange(len(panel)))
    assert inputs.shape == (len(panel), 3, 1 + 1 + 2 * 13 + 3)
    np.testing.assert_allclose(inputs, expected_inputs, rtol=0, atol=1e-5)
    np.testing.assert_allclose(targets, expected_targets, rtol=0, atol=1e-6)


@pytest.mark.parametrize("jit_compile", [False, True], ids=["fused", "xla"])
def test_training_on_windows_built_per_epoch_gives_the_weights_of_training_on_all_of_them(keras, jit_compile):
    rng = np.random.default_rng(2)
    adjusted = [rng.normal(size=n) for n in (40, 25, 33)]
    panel = PanelWindows(adjusted, 4, 2, True, "timesteps")
    inputs, targets = panel.take(np.arange(len(panel)))
    spec = ModelSpec(units=(3,), time_steps=4, features=1, stateful=False, batch_size=8, outputs=2)
    settings = dict(epochs=3, shuffle=True, seed=5, learning_rate=0.01, engine="fast", jit_compile=jit_compile,
                    samples_per_epoch=24)
    held = train(spec, inputs, targets, **settings)
    streamed = train(spec, panel, None, **settings)
    assert held.updates == streamed.updates == 3 * 3
    np.testing.assert_allclose(streamed.losses, held.losses, rtol=1e-6)
    for a, b in zip(streamed.model.get_weights(), held.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_the_global_model_never_builds_more_windows_at_once_than_an_epoch_visits(compose_config, monkeypatch):
    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "framing.look_back=3",
                         "training.epochs=3", "training.batch_size=4", "model.units=2", "collection.max_updates=6",
                         "collection.normalise=window")
    rng = np.random.default_rng(3)
    members = [Member(str(k), 10 + rng.normal(size=30 + k), rng.normal(size=2), 1, "positions") for k in range(6)]
    scales = [runs_collection.SeriesScale.fit(m.train, False) for m in members]
    built = []
    original = PanelWindows.take

    def counting(self, rows):
        built.append(len(rows))
        return original(self, rows)

    monkeypatch.setattr(PanelWindows, "take", counting)
    forecasts, info = runs_collection._forecast_global(cfg, members, scales, lambda text: None)
    # 6 series of 30..35 values: 26..31 windows each, 171 in all; 6 updates over 3 epochs: 2 batches of 4 an epoch.
    assert info["windows"] == 171 and info["updates"] == 6
    assert built == [8, 8, 8]
    assert all(np.isfinite(f).all() and len(f) == 2 for f in forecasts)


# --- quantile outputs of the global network -----------------------------------------------------

def test_interval_levels_map_to_their_quantile_pairs():
    assert runs_collection.quantile_levels([0.8, 0.95]) == (0.025, 0.1, 0.9, 0.975)
    assert runs_collection.quantile_levels([0.5]) == (0.25, 0.75)
    paths = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    bands = runs_collection.quantile_bands(paths, (0.025, 0.1, 0.9, 0.975), [0.8, 0.95])
    np.testing.assert_array_equal(bands["80"][0], [3.0, 4.0])
    np.testing.assert_array_equal(bands["80"][1], [5.0, 6.0])
    np.testing.assert_array_equal(bands["95"][0], [1.0, 2.0])
    np.testing.assert_array_equal(bands["95"][1], [7.0, 8.0])


def test_quantile_networks_forecast_each_quantile_on_the_series_own_scale(compose_config, monkeypatch):
    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "framing.look_back=3",
                         "collection.normalise=window",
                         "+collection.ensemble={look_backs: [1, 1.5], losses: [mse, mae], seeds: 2}")
    members = [Member("a", np.arange(1.0, 21.0), np.array([21.0, 22.0]), 1, "positions"),
               Member("b", 100 + 3 * np.arange(1.0, 15.0), np.array([145.0, 148.0]), 1, "positions")]
    scales = [runs_collection.SeriesScale.fit(m.train, False) for m in members]
    seen = []

    def stub(cfg, spec, inputs, targets, origins, seed, jit_compile, keep=None, about=None):
        seen.append((spec, seed, about["loss"], about["look_back"]))
        # Outputs quantile-major: quantile k forecasts k - 1 scaled units above the origin at both steps;
        # the second network (look_back 3) 2 more, so the median of the two adds 1.
        base = np.repeat(np.arange(len(spec.quantiles)) - 1.0, 2) + (2.0 if about["look_back"] == 3 else 0.0)
        return np.tile(base[::-1], (len(origins), 1)), 1, 0.0  # reversed: sorting must put them back in order

    monkeypatch.setattr(runs_collection, "_fit_predict", stub)
    taus = (0.1, 0.5, 0.9)
    paths, info = runs_collection._forecast_global(cfg, members, scales, lambda text: None, quantiles=taus)
    # One network per look_back (2 and 3 = round(1.5 x 2)), the first seed, the pinball loss, 3 quantiles x 2 steps.
    assert [(s.outputs, s.quantiles, seed, loss, lb) for s, seed, loss, lb in seen] == [
        (6, taus, int(cfg.seed), "pinball", 2), (6, taus, int(cfg.seed), "pinball", 3)]
    for member, scale, path in zip(members, scales, paths):
        assert path.shape == (3, 2)
        # Sorted: quantile k is the origin's value + (k - 1 + 1) scaled units, at both steps.
        expected = member.train[-1] + scale.scale * (np.arange(3) - 1.0 + 1.0)
        np.testing.assert_allclose(path, np.repeat(expected[:, None], 2, axis=1))
    assert info["models"] == 2


# --- early stopping on validation windows ----------------------------------------------------------

def test_early_stopping_validates_on_each_series_last_horizon_then_trains_on_all_for_the_chosen_epochs(
        compose_config, monkeypatch):
    from types import SimpleNamespace

    from lstmts.models import training

    cfg = compose_config("data=collection", "data.path=x.csv", "framing=timesteps", "framing.look_back=3",
                         "collection.normalise=window", "training.epochs=10", "training.lr_schedule=cosine",
                         "collection.early_stopping={patience: 2}")
    members = [Member("a", np.arange(1.0, 13.0) ** 1.5, np.array([50.0, 51.0]), 1, "positions"),
               Member("b", np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]), np.array([5.0, 3.0]), 1, "positions"),
               Member("c", np.array([7.0, 8.0, 9.0]), np.array([10.0, 11.0]), 1, "positions")]  # too short to validate
    scales = [runs_collection.SeriesScale.fit(m.train, False) for m in members]
    calls = []

    class Model:
        def get_weights(self):
            return []

    def fake_train(spec, inputs, targets, **settings):
        calls.append((inputs, settings))
        return SimpleNamespace(best_epoch=4 if settings.get("validation") is not None else None, updates=7, seconds=0.5,
                               model=Model())

    monkeypatch.setattr(training, "train", fake_train)
    monkeypatch.setattr("lstmts.models.network.forward", lambda model: lambda x: np.zeros((len(x), 2)))
    forecasts, info = runs_collection._forecast_global(cfg, members, scales, lambda text: None)
    (validating, first), (final, second) = calls
    # The validation run: a and b less their last 2 values (c gives up nothing): 10-3-2+1 + 6-3-2+1 windows.
    assert len(validating) == 6 + 2 and first["patience"] == 2 and first["epochs"] == 10
    z = [scale.forward(m.train) for m, scale in zip(members, scales)]
    inputs, targets = first["validation"]
    # Inputs: values 7..9 of a and 3..5 of b (window-relative); targets: their last two values, less the input's last.
    np.testing.assert_allclose(inputs[:, :, 0], [z[0][7:10] - z[0][9], z[1][3:6] - z[1][5]], rtol=1e-6)
    np.testing.assert_allclose(targets, [z[0][10:12] - z[0][9], z[1][6:8] - z[1][5]], rtol=1e-6)
    # No training window of the validation run reaches a held-back value.
    windows, window_targets = validating.take(np.arange(len(validating)))
    assert not np.isin(np.round(window_targets + windows[:, -1:, 0], 9), np.round(z[0][10:12], 9)).any()
    # The final run: every window of the whole training parts, the 4 chosen epochs of the 10-epoch cosine schedule.
    assert len(final) == 12 - 3 - 2 + 1 + 8 - 3 - 2 + 1 and "validation" not in second
    assert second["epochs"] == 4 and second["schedule_epochs"] == 10 and second["lr_schedule"] == "cosine"
    assert info["early_stopping_epochs"] == [4] and info["updates"] == 14 and info["train_seconds"] == 1.0


# --- losses on each series' own values (smape, mase) ---------------------------------------------

def _own_values_panel(look_back, horizon, season_length, relative):
    """A log series with a season (when season_length > 1) and a linear one that crosses zero, as the global model sees them."""
    rng = np.random.default_rng(3)
    positions = np.arange(40)
    positive = 50 + positions + 8 * np.sin(2 * np.pi * positions / max(season_length, 2)) + rng.normal(size=40)
    crossing = 2 + np.cumsum(rng.normal(size=40))
    members = [Member("a", positive[:32], positive[32:32 + horizon], season_length, "monthly"),
               Member("b", crossing[:32], crossing[32:32 + horizon], season_length, "monthly")]
    scales = [runs_collection.SeriesScale.fit(m.train, "auto", "std") for m in members]
    seasons = [runs_collection.ensemble.Season.fit(s.forward(m.train), season_length) for m, s in zip(members, scales)]
    adjusted = [runs_collection.adjusted_values(m.train, s, z) for m, s, z in zip(members, scales, seasons)]
    values_of = runs_collection.series_values(members, scales, seasons)
    return members, scales, seasons, PanelWindows(adjusted, look_back, horizon, relative, "timesteps",
                                                  values_of=values_of)


@pytest.mark.parametrize("relative", [False, True])
@pytest.mark.parametrize(("look_back", "horizon", "season_length"), [(3, 1, 1), (5, 3, 4), (6, 4, 12)])
def test_the_smape_and_mase_losses_are_those_of_each_series_own_values(keras, relative, look_back, horizon,
                                                                        season_length):
    import tensorflow as tf

    from lstmts.evaluation import competition
    from lstmts.models.engines.base import loss_columns, loss_terms

    members, scales, seasons, panel = _own_values_panel(look_back, horizon, season_length, relative)
    assert scales[0].log and not scales[1].log  # one of each branch
    per_series = 32 - look_back - horizon + 1
    rows = np.array([0, per_series - 1, per_series, 2 * per_series - 1])  # each series' first and last window
    inputs, columns = panel.take(rows)
    assert columns.shape == (4, loss_columns(horizon)) == (4, 3 * horizon + 2)  # targets, weights, levels, 2
    targets = columns[:, :horizon]
    rng = np.random.default_rng(4)
    predictions = (targets + rng.normal(scale=0.3, size=targets.shape)).astype(np.float32)
    # By hand: each window's targets and forecasts as the series' own values, then their sMAPE and MASE terms.
    expected_smape, expected_mase = [], []
    for row, window in enumerate(rows):
        k, first = (0, window) if window < per_series else (1, window - per_series)
        member, scale, season = members[k], scales[k], seasons[k]
        steps = first + look_back + np.arange(horizon)
        offsets = season.at(0, 32)[steps] if season is not None else 0.0
        anchor = runs_collection.adjusted_values(member.train, scale, season)[first + look_back - 1] if relative else 0.0
        actual = member.train[steps]
        np.testing.assert_allclose(scale.inverse(targets[row] + anchor + offsets), actual, rtol=1e-5)
        forecast = scale.inverse(predictions[row] + anchor + offsets)
        expected_smape.append(competition.smape_steps(actual, forecast) / 100)
        expected_mase.append(np.abs(actual - forecast) / competition.mase_scale(member.train, season_length))
    for loss, expected in (("smape", expected_smape), ("mase", expected_mase)):
        spec = ModelSpec(units=(2,), time_steps=look_back, features=1, stateful=False, batch_size=4, outputs=horizon,
                         loss=loss)
        terms = loss_terms(tf, spec, tf.constant(columns), tf.constant(predictions)).numpy()
        np.testing.assert_allclose(terms, np.array(expected), rtol=2e-4, atol=1e-6)


def test_the_panel_carries_the_loss_columns_only_when_asked():
    _, _, _, panel = _own_values_panel(3, 2, 4, True)
    plain = PanelWindows([panel.values[:32], panel.values[32:]], 3, 2, True, "timesteps")
    x, y = plain.take(np.arange(5))
    x_own, y_own = panel.take(np.arange(5))
    np.testing.assert_array_equal(x, x_own)
    np.testing.assert_array_equal(y, y_own[:, :2])
    assert y.shape == (5, 2) and y_own.shape == (5, 3 * 2 + 2)
