"""Tests of lstmts.report.tensorboard: the event files a run writes, read back with TensorBoard's reader."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lstmts.runs import runner


@pytest.fixture(scope="module")
def validation_run(compose_config, tmp_path_factory):
    cfg = compose_config("training.epochs=3", "split.validation_fraction=0.25", "baselines.classical=false",
                         "horizons=[]", "seed=4")
    out_dir = tmp_path_factory.mktemp("tensorboard") / "run"
    runner.run(cfg, out_dir)
    return cfg, out_dir, json.loads((out_dir / "metrics.json").read_text())


def _events(folder):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    accumulator = event_accumulator.EventAccumulator(str(folder), size_guidance={"tensors": 0})
    accumulator.Reload()
    return accumulator


def _series(accumulator, tag) -> list[tuple[int, float]]:
    from tensorboard.util import tensor_util

    return [(event.step, float(tensor_util.make_ndarray(event.tensor_proto))) for event in accumulator.Tensors(tag)]


def test_a_run_writes_its_losses_per_epoch_and_its_final_metrics(validation_run):
    _, out_dir, metrics = validation_run
    events = _events(out_dir)
    train = _series(events, "loss/train")
    validation = _series(events, "loss/validation")
    assert [step for step, _ in train] == [1, 2, 3]
    assert [step for step, _ in validation] == [1, 2, 3]
    assert train[-1][1] == pytest.approx(metrics["final_loss"]["4"], rel=1e-6)
    assert _series(events, "metrics/test_rmse")[0][1] == pytest.approx(metrics["test_rmse"], rel=1e-6)
    assert _series(events, "metrics/validation_rmse")[0][1] == pytest.approx(metrics["validation_rmse"], rel=1e-6)
    persistence = metrics["baselines"]["persistence"]["validation_rmse"]
    assert _series(events, "baselines/persistence/validation_rmse")[0][1] == pytest.approx(persistence, rel=1e-6)


def test_the_last_validation_loss_is_the_trained_models_error_on_the_validation_period(validation_run, keras):
    cfg, out_dir, _ = validation_run
    prepared = runner.prepare(cfg)
    windows = prepared.windows["validation"]
    model = keras.saving.load_model(out_dir / "model.keras", compile=False)
    outputs = np.asarray(model(windows.inputs, training=False)).reshape(-1)
    expected = float(np.mean((outputs - windows.targets.reshape(-1)) ** 2))
    assert _series(_events(out_dir), "loss/validation")[-1][1] == pytest.approx(expected, rel=1e-4)


def test_a_run_writes_its_config_as_hparams(validation_run):
    pytest.importorskip("tensorboard")
    from tensorboard.plugins.hparams import metadata, plugin_data_pb2

    _, out_dir, _ = validation_run
    events = _events(out_dir)
    content = events.PluginTagToContent(metadata.PLUGIN_NAME)
    data = plugin_data_pb2.HParamsPluginData.FromString(content[metadata.SESSION_START_INFO_TAG])
    hparams = data.session_start_info.hparams
    assert hparams["framing.look_back"].number_value == 1
    assert hparams["training.epochs"].number_value == 3
    assert hparams["split.validation_fraction"].number_value == 0.25
    assert hparams["protocol.name"].string_value == "tutorial"


def test_tensorboard_false_writes_no_event_file(compose_config, tmp_path):
    cfg = compose_config("training.epochs=2", "baselines.classical=false", "horizons=[]", "report.tensorboard=false")
    runner.run(cfg, tmp_path)
    assert not list(tmp_path.glob("events.out.tfevents.*"))
    assert (tmp_path / "metrics.json").exists()


def test_a_sweep_gets_an_hparams_config_of_the_values_that_differ(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.plugins.hparams import metadata, plugin_data_pb2

    from lstmts.report.tensorboard import write_sweep

    rows = [{"framing.look_back": 1, "framing": "window", "test_rmse": 50.0, "validation_rmse": 30.0},
            {"framing.look_back": 3, "framing": "timesteps", "test_rmse": 48.0, "validation_rmse": 29.0}]
    assert write_sweep(tmp_path, rows, ["framing", "framing.look_back"])
    content = _events(tmp_path).PluginTagToContent(metadata.PLUGIN_NAME)
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content[metadata.EXPERIMENT_TAG]).experiment
    assert [h.name for h in experiment.hparam_infos] == ["framing", "framing.look_back"]
    assert [v.string_value for v in experiment.hparam_infos[0].domain_discrete.values] == ["timesteps", "window"]
    assert {m.name.tag for m in experiment.metric_infos} == {"metrics/test_rmse", "metrics/validation_rmse"}


_WITHOUT_TENSORBOARD = """
import importlib.abc, json, sys
from pathlib import Path

class NoTensorboard(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tensorboard" or name.startswith("tensorboard."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoTensorboard())
from hydra import compose, initialize_config_dir
from lstmts.commands.run import register_resolvers
from lstmts.config import conf_dir
from lstmts.report import tensorboard
from lstmts.runs import runner

register_resolvers()
with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
    cfg = compose(config_name="config", overrides=["training.epochs=2", "baselines.classical=false", "horizons=[]",
                                                   "intervals.levels=[]"])
out_dir = Path(sys.argv[1])
metrics = runner.run(cfg, out_dir)
print(json.dumps({"status": metrics["status"], "has_tensorboard": tensorboard._has_tensorboard(),
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] == "tensorboard")}))
"""


def test_without_the_tensorboard_package_runs_still_write_their_events(tmp_path):
    """The README's first command installs no tensorboard: tf.summary.scalar would fail there, a run must not."""
    import subprocess
    import sys

    from lstmts.report import tensorboard
    from conftest import scaled

    done = subprocess.run([sys.executable, "-c", _WITHOUT_TENSORBOARD, str(tmp_path)], capture_output=True,
                          text=True, timeout=scaled(120))
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome == {"status": "ok", "has_tensorboard": False, "loaded": []}
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "ok"
    accumulator = _events(tmp_path)  # read back with the viewer's reader, where the test has it
    assert [step for step, _ in _series(accumulator, "loss/train")] == [1, 2]
    assert _series(accumulator, "metrics/test_rmse")[0][1] == pytest.approx(
        json.loads((tmp_path / "metrics.json").read_text())["test_rmse"], rel=1e-6)
    from tensorboard.plugins.hparams import metadata

    with pytest.raises(KeyError):  # no HParams written
        accumulator.PluginTagToContent(metadata.PLUGIN_NAME)


def test_the_package_metadata_allows_python_3_11_to_3_13():
    import tomllib
    from pathlib import Path

    from packaging.specifiers import SpecifierSet

    metadata = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    allowed = SpecifierSet(metadata["project"]["requires-python"])
    assert all(version in allowed for version in ("3.11.7", "3.12.0", "3.13.5"))
    assert "3.10.14" not in allowed and "3.14.0" not in allowed
