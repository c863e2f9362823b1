"""Tests of the runner's steps that need no training: what prepare() frames, and where calibration starts.

The airline series has 144 months; the split is int(144 * 0.67) = 96 and, with validation_fraction
0.25, the validation period starts at 96 - int(96 * 0.25) = 72.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmts.config import airline_csv
from lstmts.runs import runner

AIRLINE = pd.read_csv(airline_csv())["Passengers"].to_numpy(float)


def test_prepare_frames_every_period_of_the_honest_protocol(compose_config):
    prepared = runner.prepare(compose_config("protocol=honest", "split.validation_fraction=0.25", "framing.look_back=3"))
    assert prepared.windows["train"].target_index.tolist() == list(range(3, 72))
    assert prepared.windows["validation"].target_index.tolist() == list(range(72, 96))
    assert prepared.windows["test"].target_index.tolist() == list(range(96, 144))
    assert prepared.season_length == 12  # monthly dates
    scaled = (AIRLINE - 104) / (302 - 104)  # minmax of the first 72 months: 104 .. 302
    np.testing.assert_allclose(prepared.windows["test"].inputs[0, 0], scaled[93:96], rtol=1e-6)
    np.testing.assert_allclose(prepared.windows["test"].targets[-1], scaled[143], rtol=1e-6)


def test_prepare_keeps_the_differencing_warmup_out_of_the_history(compose_config):
    prepared = runner.prepare(compose_config("protocol=honest", "protocol.transforms=[diff12,standard]",
                                             "framing.look_back=2"))
    assert prepared.pipeline.warmup == 12
    assert prepared.windows["train"].target_index[0] == 14
    assert prepared.windows["test"].target_index.tolist() == list(range(96, 144))


@pytest.mark.parametrize("season_length", [4, 7, 12, 24])
def test_prepare_takes_a_season_length_that_is_set(compose_config, season_length):
    assert runner.prepare(compose_config(f"season_length={season_length}")).season_length == season_length


@pytest.mark.parametrize("horizon", [2, 3])
@pytest.mark.parametrize("validation", [0.25, 0.0])
def test_the_direct_strategy_trains_on_targets_inside_the_training_period(compose_config, validation, horizon):
    cfg = compose_config("protocol=honest", "framing.strategy=direct", f"framing.horizon={horizon}",
                         "framing.look_back=2", f"split.validation_fraction={validation}")
    prepared = runner.prepare(cfg)
    end = 72 if validation else 96
    train = prepared.windows["train"]
    # Targets t .. t+H-1 of every sample, the last sample's t+H-1 just before the training period ends.
    assert train.target_index.tolist() == list(range(2, end - horizon + 1))
    scaled = prepared.pipeline.transform(AIRLINE)
    np.testing.assert_allclose(train.targets[0], scaled[2:2 + horizon], rtol=1e-6)
    np.testing.assert_allclose(train.targets[-1], scaled[end - horizon:end], rtol=1e-6)
    assert prepared.windows["test"].targets.ndim == 1  # scored one step at a time


@pytest.mark.parametrize("overrides, outputs", [
    ([], 1),
    (["framing.strategy=direct", "framing.horizon=4"], 4),
    (["framing.strategy=direct", "horizons=[1,3,6]"], 6),
    (["framing.strategy=direct", "horizons=[]"], 1),
])
def test_model_outputs(compose_config, overrides, outputs):
    assert runner.model_outputs(compose_config(*overrides)) == outputs


def test_calibration_origins_are_the_validation_targets_or_else_the_training_targets(compose_config, monkeypatch):
    with_validation = runner.prepare(compose_config("protocol=honest", "split.validation_fraction=0.25"))
    assert runner._calibration_origins(with_validation).tolist() == list(range(72, 96))
    without = runner.prepare(compose_config("protocol=honest"))
    assert runner._calibration_origins(without).tolist() == list(range(1, 96))
    monkeypatch.setattr(runner, "MAX_CALIBRATION_ORIGINS", 10)
    assert runner._calibration_origins(without).tolist() == list(range(86, 96))  # the latest ones
