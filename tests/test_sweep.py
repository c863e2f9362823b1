"""Tests of sweeps: `lstmts -m` job folders, the sweep summary, failed jobs, launchers, Optuna, repeats."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lstmts.runs import runner
from lstmts.evaluation.metrics import rmse

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JOB_OVERRIDES = [  # the order of Hydra's basic sweeper: the cartesian product, last key fastest
    {"framing.look_back": 1, "model.units": 4},
    {"framing.look_back": 1, "model.units": 0},
    {"framing.look_back": 3, "model.units": 4},
    {"framing.look_back": 3, "model.units": 0},
]
PLUGINS = {
    "joblib": "hydra_plugins.hydra_joblib_launcher",
    "submitit": "hydra_plugins.hydra_submitit_launcher",
    "optuna": "hydra_plugins.hydra_optuna_sweeper",
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _sweep_commands(root: Path) -> dict[str, tuple[list[str], Path]]:
    """Every sweep these tests look at: name -> (arguments, working folder)."""
    commands = {
        "basic": (["-m", "framing.look_back=1,3", "model.units=4,0", "training.epochs=2",
                   f"hydra.sweep.dir={root / 'basic'}"], root),
        "joblib": (["-m", "hydra/launcher=joblib", "seed=1,2", "training.epochs=2",
                    "baselines.classical=false", f"hydra.sweep.dir={root / 'joblib'}"], root),
        "submitit": (["-m", "hydra/launcher=submitit_local", "seed=1,2", "training.epochs=2",
                      "baselines.classical=false", f"hydra.sweep.dir={root / 'submitit'}"], root),
        # The preset searches training.epochs too: narrow that parameter to 2..3 epochs.
        "optuna": (["-m", "hparams_search=airline_optuna", "hydra.sweeper.n_trials=2",
                    'hydra.sweeper.params={training.epochs: "range(2,3)"}', "baselines.classical=false",
                    f"hydra.sweep.dir={root / 'optuna'}"], root),
    }
    # Two sweeps started at the same moment into the default sweep folder; their one job fails at
    # once (model.units=0), which is enough to show where each sweep lands.
    same_moment = root / "same-moment"
    same_moment.mkdir()
    for seed in (1, 2):
        commands[f"same-moment-{seed}"] = (["-m", f"seed={seed}", "model.units=0"], same_moment)
    return commands


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory, lstmts_cli):
    """Start every sweep at once (they are mostly TensorFlow start-up); return name -> finisher."""
    root = tmp_path_factory.mktemp("sweeps")
    wanted = {name: command for name, command in _sweep_commands(root).items()
              if name not in PLUGINS or _installed(PLUGINS[name])}
    started = {name: lstmts_cli.start(args, cwd) for name, (args, cwd) in wanted.items()}
    finished: dict = {}

    def result(name: str):
        if name not in finished:
            finished[name] = lstmts_cli.finish(started[name])
        return finished[name]

    yield {"root": root, "result": result}
    for name in started:
        result(name)


def _job_folders(sweep_dir: Path) -> list[Path]:
    return sorted((p for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: int(p.name.split("_")[0]))


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def _summary(sweep_dir: Path) -> pd.DataFrame:
    return pd.read_csv(sweep_dir / "summary.csv")


# --- the basic launcher: job folders, summary, failed jobs ------------------------------------

def test_each_job_folder_is_named_by_its_number_and_swept_values_only(sweeps):
    sweeps["result"]("basic")
    sweep_dir = sweeps["root"] / "basic"
    jobs = _job_folders(sweep_dir)
    # training.epochs=2 is the same in every job: the sweep folder's overrides.txt holds it, no job's name.
    expected = [f"{number}_look_back={job['framing.look_back']},units={job['model.units']}"
                for number, job in enumerate(JOB_OVERRIDES)]
    assert [job.name for job in jobs] == expected
    lines = (sweep_dir / "overrides.txt").read_text().splitlines()
    assert [line for line in lines if not line.startswith("#")] == [
        "swept: framing.look_back", "swept: model.units", "same: training.epochs=2"]
    for job, overrides in zip(jobs, JOB_OVERRIDES):
        config = yaml.safe_load((job / ".hydra" / "config.yaml").read_text())
        assert config["framing"]["look_back"] == overrides["framing.look_back"]
        assert config["model"]["units"] == overrides["model.units"]
        assert config["training"]["epochs"] == 2
        assert _metrics(job)["status"] in ("ok", "failed")


def test_tensorboard_names_each_job_as_its_folder(sweeps):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import metadata, plugin_data_pb2

    sweeps["result"]("basic")
    finished = [job for job in _job_folders(sweeps["root"] / "basic") if _metrics(job)["status"] == "ok"]
    assert finished
    for job in finished:
        events = EventAccumulator(str(job))
        events.Reload()
        content = events.PluginTagToContent(metadata.PLUGIN_NAME)[metadata.SESSION_START_INFO_TAG]
        assert plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.group_name == job.name


def test_summary_has_one_row_per_job_with_the_values_that_differ(sweeps):
    sweeps["result"]("basic")
    sweep_dir = sweeps["root"] / "basic"
    summary = _summary(sweep_dir)
    assert len(summary) == len(JOB_OVERRIDES)
    for column in ("framing.look_back", "model.units", "status", "train_rmse", "test_rmse",
                   "ratio_to_persistence", "train_seconds"):
        assert column in summary.columns, column
    assert "training.epochs" not in summary.columns  # the same in every job
    by_run = summary.set_index("run")
    for job, overrides in zip(_job_folders(sweep_dir), JOB_OVERRIDES):
        row = by_run.loc[job.name]
        assert row["framing.look_back"] == overrides["framing.look_back"]
        assert row["model.units"] == overrides["model.units"]
        metrics = _metrics(job)
        assert row["status"] == metrics["status"]
        if metrics["status"] == "ok":
            assert row["test_rmse"] == pytest.approx(metrics["test_rmse"])
            assert row["train_rmse"] == pytest.approx(metrics["train_rmse"])
            persistence = metrics["baselines"]["persistence"]["test_rmse"]
            assert row["ratio_to_persistence"] == pytest.approx(metrics["test_rmse"] / persistence)
            assert row["train_seconds"] > 0
    assert (sweep_dir / "comparison.png").read_bytes().startswith(PNG_MAGIC)


def test_jobs_with_an_impossible_value_fail_alone_and_the_sweep_exits_non_zero(sweeps):
    result = sweeps["result"]("basic")
    sweep_dir = sweeps["root"] / "basic"
    summary = _summary(sweep_dir).set_index("run")
    for job, overrides in zip(_job_folders(sweep_dir), JOB_OVERRIDES):
        metrics = _metrics(job)
        if overrides["model.units"] == 0:
            assert metrics["status"] == "failed"
            assert "model.units=0" in metrics["error"]
            assert summary.loc[job.name, "status"] == "failed"
            assert summary.loc[job.name, "error"] == metrics["error"]
            assert f"error in job {job.name.split('_')[0]}" in result.stderr
        else:
            assert metrics["status"] == "ok"
            assert np.isfinite(metrics["test_rmse"])
            assert (job / "predictions.csv").exists()
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "2 job(s) of the sweep failed" in result.stderr


def test_a_sweep_prints_one_line_per_job_and_one_table_at_the_end(sweeps):
    result = sweeps["result"]("basic")
    out_lines = result.stdout.splitlines()
    errors = [line for line in result.stderr.splitlines() if line.startswith("lstmts: error in job")]
    # Two jobs finished (a line each on stdout), two failed (a line each on stderr): one per job.
    assert len(out_lines) == 2, result.stdout
    assert len(errors) == 2, result.stderr
    summary = _summary(sweeps["root"] / "basic").set_index("run")
    for job, line in zip([j for j in _job_folders(sweeps["root"] / "basic") if _metrics(j)["status"] == "ok"],
                         out_lines):
        number, overrides = job.name.split("_", 1)
        assert line.startswith(f"job {number} ")
        assert "framing.look_back=" in line and "model.units=4" in line
        assert f"test RMSE {summary.loc[job.name, 'test_rmse']:.2f}" in line
    # The run table is not repeated per job: the summary is the only table.
    assert (result.stdout + result.stderr).count("┏") == 1
    assert "run folder:" not in result.stdout


def test_two_sweeps_started_at_the_same_moment_land_in_different_folders(sweeps):
    for seed in (1, 2):
        sweeps["result"](f"same-moment-{seed}")
    sweep_dirs = sorted((sweeps["root"] / "same-moment" / "outputs" / "multirun").glob("*/*"))
    assert len(sweep_dirs) == 2, sweep_dirs
    seeds = []
    for sweep_dir in sweep_dirs:
        jobs = _job_folders(sweep_dir)
        assert len(jobs) == 1, jobs  # no job of the other sweep mixed in
        seeds.append(yaml.safe_load((jobs[0] / ".hydra" / "config.yaml").read_text())["seed"])
        assert len(_summary(sweep_dir)) == 1
    assert sorted(seeds) == [1, 2]


# --- other launchers and the Optuna sweeper ---------------------------------------------------

@pytest.mark.parametrize("launcher", ["joblib", "submitit"])
def test_a_launcher_plugin_runs_every_job_and_summarizes_them(sweeps, launcher):
    pytest.importorskip(PLUGINS[launcher])
    result = sweeps["result"](launcher)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    sweep_dir = sweeps["root"] / launcher
    jobs = _job_folders(sweep_dir)
    assert [job.name for job in jobs] == ["0_seed=1", "1_seed=2"]
    summary = _summary(sweep_dir).set_index("run")
    assert list(summary["status"]) == ["ok", "ok"]
    for job, seed in zip(jobs, (1, 2)):
        metrics = _metrics(job)
        assert metrics["status"] == "ok"
        assert metrics["seed"] == seed
        assert summary.loc[job.name, "seed"] == seed
        assert summary.loc[job.name, "test_rmse"] == pytest.approx(metrics["test_rmse"])
    # Different seeds, different models.
    assert summary["test_rmse"].nunique() == 2


def test_the_optuna_search_minimises_the_validation_rmse(sweeps):
    pytest.importorskip(PLUGINS["optuna"])
    result = sweeps["result"]("optuna")
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir = sweeps["root"] / "optuna"
    jobs = _job_folders(sweep_dir)
    assert len(jobs) == 2
    metrics = [_metrics(job) for job in jobs]
    assert all(m["status"] == "ok" for m in metrics)
    configs = [yaml.safe_load((job / ".hydra" / "config.yaml").read_text()) for job in jobs]
    assert all(c["training"]["epochs"] in (2, 3) for c in configs)
    assert all(c["split"]["validation_fraction"] == 0.25 for c in configs)
    for number, (job, config) in enumerate(zip(jobs, configs)):
        # Named by the values searched, never by the overrides every trial shares.
        assert job.name.startswith(f"{number}_framing={config['framing']['name']},"
                                   f"look_back={config['framing']['look_back']},units={config['model']['units']},")
        assert "hparams_search" not in job.name and "classical" not in job.name
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    validation = [m["validation_rmse"] for m in metrics]
    best = int(np.argmin(validation))
    assert results["best_value"] == pytest.approx(validation[best])
    # The objective is the validation RMSE, never the test RMSE of any trial.
    assert all(results["best_value"] != pytest.approx(m["test_rmse"]) for m in metrics)
    assert results["best_params"]["framing.look_back"] == configs[best]["framing"]["look_back"]
    assert results["best_params"]["model.units"] == configs[best]["model"]["units"]
    # The summary ranks the trials by validation RMSE, each row with its own job's scores.
    summary = _summary(sweep_dir)
    assert list(summary["validation_rmse"]) == pytest.approx(sorted(validation))
    assert summary["run"].iloc[0] == jobs[best].name
    by_run = summary.set_index("run")
    for job, job_metrics in zip(jobs, metrics):
        assert by_run.loc[job.name, "test_rmse"] == pytest.approx(job_metrics["test_rmse"])
        assert by_run.loc[job.name, "framing.look_back"] == yaml.safe_load(
            (job / ".hydra" / "config.yaml").read_text())["framing"]["look_back"]


# --- training.repeats: several seeds and their ensemble ---------------------------------------

@pytest.fixture(scope="module")
def repeats_run(compose_config, tmp_path_factory):
    cfg = compose_config("training.repeats=3", "training.epochs=2", "seed=5", "baselines.classical=false",
                         "horizons=[]")
    out_dir = tmp_path_factory.mktemp("repeats") / "run"
    return cfg, out_dir, runner.run(cfg, out_dir)


def test_repeats_train_one_model_per_consecutive_seed(repeats_run):
    _, out_dir, _ = repeats_run
    metrics = _metrics(out_dir)
    assert metrics["status"] == "ok"
    assert metrics["repeats"]["seeds"] == [5, 6, 7]
    assert sorted(p.name for p in (out_dir / "models").glob("seed-*.keras")) == [
        "seed-5.keras", "seed-6.keras", "seed-7.keras"]


def test_repeats_report_each_models_rmse_with_mean_and_sample_std(repeats_run):
    _, out_dir, _ = repeats_run
    repeats = _metrics(out_dir)["repeats"]
    each = repeats["test_rmse"]
    assert len(each) == 3
    assert len(set(each)) == 3  # three different models
    assert repeats["test_rmse_mean"] == pytest.approx(np.mean(each))
    assert repeats["test_rmse_std"] == pytest.approx(np.std(each, ddof=1))
    assert repeats["train_rmse_std"] == pytest.approx(np.std(repeats["train_rmse"], ddof=1))


def test_the_reported_rmse_is_that_of_the_mean_of_the_models_predictions(repeats_run, keras):
    cfg, out_dir, _ = repeats_run
    metrics = _metrics(out_dir)
    prepared = runner.prepare(cfg)
    windows = prepared.windows["test"]
    each = []
    for seed in (5, 6, 7):
        model = keras.saving.load_model(out_dir / "models" / f"seed-{seed}.keras", compile=False)
        outputs = np.asarray(model(windows.inputs, training=False)).reshape(-1)
        each.append(prepared.pipeline.inverse(outputs, windows.target_index, prepared.series.values))
    ensemble = np.mean(each, axis=0)
    actual = prepared.series.values[windows.target_index]
    predictions = pd.read_csv(out_dir / "predictions.csv")
    test = predictions[predictions["split"] == "test"]
    np.testing.assert_allclose(test["prediction"].to_numpy(), ensemble, rtol=1e-5)
    np.testing.assert_allclose(test["actual"].to_numpy(), actual)
    assert metrics["test_rmse"] == pytest.approx(rmse(actual, ensemble), rel=1e-5)
    assert metrics["test_rmse"] == pytest.approx(rmse(test["actual"], test["prediction"]), rel=1e-9)
    # The ensemble's RMSE, computed here from the models' own predictions, is not their mean RMSE.
    assert metrics["repeats"]["ensemble_test_rmse"] == pytest.approx(rmse(actual, ensemble), rel=1e-5)
    assert metrics["repeats"]["test_rmse_mean"] == pytest.approx(np.mean([rmse(actual, p) for p in each]), rel=1e-5)
    assert metrics["repeats"]["test_rmse_mean"] != pytest.approx(metrics["test_rmse"], rel=1e-6)
    np.testing.assert_allclose(metrics["repeats"]["test_rmse"], [rmse(actual, p) for p in each], rtol=1e-5)
