"""Run folders that tell the truth (issue 12): one owner at a time, a clean slate, signals, a full
disk, hostile files read back, safe job folder names, and sweeps that resume after being killed.

The signal, disk and concurrency cases run the installed command in subprocesses.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import children, gone, scaled
import yaml

from lstmts.commands.forecast import forecast_run
from lstmts.errors import UserError
from lstmts.report import files
from lstmts.runs import runner
from lstmts.runs.sweep import job_folder_name, job_folders, sweep_overrides

# Small and quick, no classical fits: the cases here are about files, not forecasts.
QUICK = ["training.epochs=2", "baselines.classical=false", "horizons=[]"]


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def _wait_until(condition, process: subprocess.Popen, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        if condition():
            return
        assert process.poll() is None, f"lstmts ended before {what}: {process.communicate()}"
        time.sleep(0.02)
    raise AssertionError(f"never saw {what}")


def _says(folder: Path, status: str):
    def check() -> bool:
        try:
            return _metrics(folder)["status"] == status
        except (OSError, ValueError, KeyError):
            return False

    return check




# --- a reused run folder starts from a clean slate --------------------------------------------

@pytest.fixture(scope="module")
def finished_run(compose_config, tmp_path_factory) -> Path:
    """A finished run folder (intervals on, no classical fits), shared by the read-back cases."""
    folder = tmp_path_factory.mktemp("finished") / "run"
    runner.run(compose_config(*QUICK), folder)
    return folder


def test_a_reused_folder_keeps_no_file_of_the_earlier_run(compose_config, tmp_path):
    reused, clean = tmp_path / "reused", tmp_path / "clean"
    runner.run(compose_config(*QUICK, "training.repeats=2"), reused)
    assert sorted(p.name for p in (reused / "models").glob("*.keras")) == ["seed-7.keras", "seed-8.keras"]
    forecast_run(reused, 6)
    assert (reused / "forecast-6.csv").exists() and (reused / "intervals.json").exists()
    later = [*QUICK, "seed=3", "training.epochs=3", "intervals.levels=[]"]
    runner.run(compose_config(*later), reused)
    assert not (reused / "models").exists()  # the old bug: forecast used these seed-7/8 models
    assert not (reused / "forecast-6.csv").exists() and not (reused / "forecast-6.png").exists()
    assert not (reused / "intervals.json").exists()
    assert len(list(reused.glob("events.out.tfevents.*"))) == 1
    assert _metrics(reused)["seed"] == 3
    runner.run(compose_config(*later), clean)
    pd.testing.assert_frame_equal(forecast_run(reused, 6), forecast_run(clean, 6))


def test_a_folder_holding_files_no_run_wrote_is_refused_and_left_as_it_was(compose_config, tmp_path):
    """The user's series.csv, metrics.json and config.yaml in hydra.run.dir are theirs: never deleted."""
    folder = tmp_path / "mine"
    folder.mkdir()
    own = {"series.csv": "date,value\n2020-01-01,1\n", "metrics.json": '{"mine": 1}\n', "config.yaml": "a: 1\n",
           "forecast-2025.csv": "x\n1\n", "notes.txt": "keep\n"}
    for name, text in own.items():
        (folder / name).write_text(text)
    with pytest.raises(UserError) as refused:
        runner.run(compose_config(*QUICK), folder)
    message = str(refused.value)
    assert "\n" not in message and "hydra.run.dir=" in message
    for name in ("series.csv", "metrics.json", "config.yaml", "forecast-2025.csv"):
        assert name in message
    assert "notes.txt" not in message
    assert {p.name: p.read_text() for p in folder.iterdir() if p.name != files.LOCK_FILE} == own


def test_the_clean_slate_removes_what_runs_recorded_and_keeps_the_users_other_files(compose_config, tmp_path):
    folder = tmp_path / "run"
    runner.run(compose_config(*QUICK, "intervals.levels=[]"), folder)
    written = files.recorded(folder)
    assert {"metrics.json", "config.yaml", "predictions.csv", "model.keras", "forecast.png"} <= written
    assert any(name.startswith("events.out.tfevents.") for name in written)
    (folder / "notes.txt").write_text("keep\n")
    (folder / "predictions.csv").write_text("edited by hand, still lstmts' file\n")
    runner.run(compose_config(*QUICK, "intervals.levels=[]", "seed=3"), folder)
    assert (folder / "notes.txt").read_text() == "keep\n"
    assert _metrics(folder)["seed"] == 3 and "date" in (folder / "predictions.csv").read_text()
    assert files.recorded(folder) == written - {n for n in written if n.startswith("events.")} | {
        p.name for p in folder.glob("events.out.tfevents.*")}
    # A user's file with an output's name, dropped in later, refuses the next run.
    (folder / "series.csv").write_text("mine\n")
    with pytest.raises(UserError, match="series.csv"):
        runner.run(compose_config(*QUICK, "intervals.levels=[]"), folder)
    assert (folder / "series.csv").read_text() == "mine\n" and _metrics(folder)["seed"] == 3


def test_model_files_are_saved_under_a_temporary_name_then_renamed(compose_config, tmp_path, monkeypatch):
    seen = []
    replace = os.replace

    def watch(source, destination):
        seen.append((Path(source).name, Path(destination).name))
        replace(source, destination)

    monkeypatch.setattr(os, "replace", watch)
    runner.run(compose_config(*QUICK, "intervals.levels=[]", "report.tensorboard=false"), tmp_path / "run")
    temporary, final = next((s, d) for s, d in seen if d == "model.keras")
    assert temporary.startswith(".model.keras.") and temporary.endswith(".keras")


def test_a_second_live_run_of_a_folder_is_refused_and_changes_nothing(compose_config, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    files.hold_folder(folder)  # as a live run in this process would
    (folder / "metrics.json").write_text('{"status": "running"}\n')
    try:
        child = subprocess.run([sys.executable, "-c", "from lstmts.report import files; import sys;"
                                " files.hold_folder(sys.argv[1])", str(folder)],
                               capture_output=True, text=True, timeout=scaled(120))
    finally:
        files.release_folder(folder)
    assert child.returncode != 0
    assert "FolderInUse" in child.stderr and f"pid {os.getpid()}" in child.stderr
    assert _metrics(folder) == {"status": "running"}


# --- subprocesses: two runs at once, signals ----------------------------------------------------

def test_two_runs_in_one_folder_the_second_is_refused_and_sighup_interrupts_the_first(tmp_path, lstmts_cli):
    folder = tmp_path / "run"
    first = lstmts_cli.start(["training.epochs=100000", "seed=1", "baselines.classical=false",
                              f"hydra.run.dir={folder}"], tmp_path)
    with lstmts_cli.ended(first):
        # Its config.yaml is written just after metrics.json says running: wait for both.
        _wait_until(lambda: _says(folder, "running")() and (folder / "config.yaml").exists(), first,
                    "the first run started")
        second = lstmts_cli.run(["training.epochs=2", "seed=2", f"hydra.run.dir={folder}"], tmp_path)
        line = lstmts_cli.error_line(second)
        assert second.returncode == 2
        assert str(folder) in line and f"pid {first.pid}" in line and "in use" in line
        # Nothing of the second run reached the folder: the first run's config and .hydra stay.
        assert yaml.safe_load((folder / "config.yaml").read_text())["seed"] == 1
        assert "seed=1" in (folder / ".hydra" / "overrides.yaml").read_text()
        assert _metrics(folder)["process"]["pid"] == first.pid
        first.send_signal(signal.SIGHUP)
        result = lstmts_cli.finish(first)
    assert result.returncode == 128 + signal.SIGHUP, result.stderr
    assert "interrupted by SIGHUP" in lstmts_cli.error_line(result)
    metrics = _metrics(folder)
    assert metrics["status"] == "interrupted" and metrics["signal"] == "SIGHUP", metrics
    # The lock went with the process: the folder can be used again.
    again = lstmts_cli.run([*QUICK, "intervals.levels=[]", f"hydra.run.dir={folder}"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert _metrics(folder)["status"] == "ok"


def test_sigterm_during_the_baselines_fit_ends_the_fits_and_says_interrupted(tmp_path, lstmts_cli):
    folder = tmp_path / "run"
    env = dict(lstmts_cli.env, LSTMTS_CACHE=str(tmp_path / "empty-cache"))  # nothing cached: the fits run
    process = subprocess.Popen([lstmts_cli.command, "training.epochs=2", f"hydra.run.dir={folder}"], env=env,
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with lstmts_cli.ended(process):
        _wait_until(lambda: bool(children(process.pid)), process, "the fits' child processes")
        fits = children(process.pid)
        process.send_signal(signal.SIGTERM)
        result = lstmts_cli.finish(process)
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert "interrupted by SIGTERM" in result.stderr
    deadline = time.monotonic() + scaled(10)
    while not all(gone(pid) for pid in fits) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(gone(pid) for pid in fits), "a baseline fit outlived its run"
    metrics = _metrics(folder)
    assert metrics["status"] == "interrupted" and metrics["signal"] == "SIGTERM"


def test_sigterm_stops_a_sweep_with_its_summary_written(tmp_path, lstmts_cli):
    sweep = tmp_path / "sweep"
    process = lstmts_cli.start(["-m", "seed=1,2", "training.epochs=100000", "baselines.classical=false",
                                f"hydra.sweep.dir={sweep}"], tmp_path)
    first_job = lambda: job_folders(sweep)[0] if sweep.is_dir() and job_folders(sweep) else sweep / "none"  # noqa: E731
    with lstmts_cli.ended(process):
        _wait_until(lambda: _says(first_job(), "running")(), process, "the first job started")
        process.send_signal(signal.SIGTERM)
        result = lstmts_cli.finish(process)
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    summary = pd.read_csv(sweep / "summary.csv")
    assert list(summary["status"]) == ["interrupted"]
    assert _metrics(first_job())["signal"] == "SIGTERM"


# --- out of disk, unwritable folders ------------------------------------------------------------

def _file_size_limit(limit: int):
    """Return a preexec_fn under which files cannot grow beyond `limit` bytes (EFBIG, like a full disk)."""
    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limited


def _run_limited(lstmts_cli, args: list[str], cwd: Path, limit: int) -> subprocess.CompletedProcess:
    env = dict(lstmts_cli.env, LSTMTS_XLA_CACHE="off")
    process = subprocess.Popen([lstmts_cli.command, *args], env=env, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=_file_size_limit(limit))
    return lstmts_cli.finish(process)


def test_a_full_disk_fails_the_run_with_one_line_and_no_half_written_model(tmp_path, lstmts_cli):
    folder = tmp_path / "run"
    # metrics.json, config.yaml and the log fit; the model (about 20 kB) does not.
    result = _run_limited(lstmts_cli, [*QUICK, f"hydra.run.dir={folder}"], tmp_path, 12_000)
    line = lstmts_cli.error_line(result)
    assert result.returncode == 2
    assert f"cannot write {folder / 'model.keras'}: File too large" in line
    metrics = _metrics(folder)
    assert metrics["status"] == "failed" and metrics["error"] in line
    assert not (folder / "model.keras").exists()
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".model.keras")]


def test_forecast_and_compare_into_unwritable_places_say_so_in_one_line(finished_run, tmp_path, lstmts_cli):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    # 3 kB: enough for the libraries' own small files, not for a 100-step forecast or a plot.
    forecast = _run_limited(lstmts_cli, ["forecast", str(run), "--steps", "100"], tmp_path, 3000)
    assert f"cannot write {run / 'forecast-100.csv'}: File too large" in lstmts_cli.error_line(forecast)
    assert not list(run.glob("*forecast-100*"))
    compared = _run_limited(lstmts_cli, ["compare", str(run), "--out", str(tmp_path / "out")], tmp_path, 3000)
    assert f"cannot write {tmp_path / 'out' / 'comparison'}" in lstmts_cli.error_line(compared)
    (tmp_path / "a-file").write_text("in the way\n")
    blocked = lstmts_cli.run(["compare", str(run), "--out", str(tmp_path / "a-file" / "out")], tmp_path)
    assert "cannot write" in lstmts_cli.error_line(blocked)


def test_running_out_of_memory_fails_the_run_with_one_line(compose_config, tmp_path, monkeypatch):
    from lstmts.models import training

    def exhausted(*args, **kwargs):
        raise MemoryError("Unable to allocate 160. GiB for an array")

    monkeypatch.setattr(training, "train", exhausted)
    with pytest.raises(UserError, match="out of memory .*fewer model.units"):
        runner.run(compose_config(*QUICK), tmp_path / "run")
    assert _metrics(tmp_path / "run")["status"] == "failed"


def test_non_finite_predictions_are_refused(compose_config, tmp_path, monkeypatch):
    from lstmts.data.transforms import Pipeline

    inverse = Pipeline.inverse
    monkeypatch.setattr(Pipeline, "inverse", lambda self, *a, **k: inverse(self, *a, **k) * float("inf"))
    with pytest.raises(UserError, match="not finite numbers"):
        runner.run(compose_config(*QUICK), tmp_path / "run")
    metrics = _metrics(tmp_path / "run")
    assert metrics["status"] == "failed" and "test_rmse" not in metrics


# --- what is read back from a run folder is checked ---------------------------------------------

def _edited_copy(source: Path, target: Path, edit) -> Path:
    shutil.copytree(source, target)
    metrics = _metrics(target)
    edit(metrics)
    (target / "metrics.json").write_text(json.dumps(metrics))
    return target


def test_forecast_refuses_a_metrics_json_without_the_data_checksum(finished_run, tmp_path):
    run = _edited_copy(finished_run, tmp_path / "run", lambda m: m["data"].pop("sha256"))
    with pytest.raises(UserError, match="SHA-256"):
        forecast_run(run, 3)


def test_forecast_of_a_truncated_model_is_one_line(finished_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    (run / "model.keras").write_bytes((run / "model.keras").read_bytes()[:500])
    with pytest.raises(UserError, match="model.keras cannot be read"):
        forecast_run(run, 3)


# --- job folder names ---------------------------------------------------------------------------

def test_a_job_folder_is_named_by_its_number_and_swept_values_by_their_last_key_part():
    overrides = ["framing.look_back=6", "model.units=8", "training.epochs=2", "data.column=sales"]
    assert job_folder_name(3, overrides, ["framing.look_back", "model.units"]) == "3_look_back=6,units=8"
    assert job_folder_name(0, ["seed=1", "training.epochs=2"], ["seed"]) == "0_seed=1"
    assert job_folder_name(5, ["training.epochs=2"], []) == "5"  # nothing swept: the number alone
    # Two swept keys that end alike keep their whole names; a `+` is not part of the name.
    assert job_folder_name(1, ["+model.units=4", "other.units=2"], ["+model.units", "other.units"]) == \
        "1_model.units=4,other.units=2"


def test_job_folder_names_hold_no_separator_and_keep_the_swept_values_when_cut():
    name = job_folder_name(3, ["data.path=/some/dir/x.csv", "seed=2"], ["data.path", "seed"])
    assert name == "3_path=_some_dir_x.csv,seed=2"  # short enough: no hash
    folder = "/a-long-folder" * 20
    long = job_folder_name(12, [f"data.path={folder}/x.csv", "seed=2", "data.column=sales"], ["data.path", "seed"])
    other = job_folder_name(12, [f"data.path={folder}/y.csv", "seed=2", "data.column=sales"], ["data.path", "seed"])
    assert len(long) <= 84 and long != other and "/" not in long
    assert "x.csv,seed=2~" in long and "y.csv,seed=2~" in other  # the ends of the values, then a hash
    # The hash is of the swept values: a resumed sweep with other shared overrides finds the same folders.
    assert long == job_folder_name(12, [f"data.path={folder}/x.csv", "seed=2"], ["data.path", "seed"])


def test_a_sweep_tells_swept_keys_from_overrides_every_job_shares():
    swept, shared = sweep_overrides(
        ["framing.look_back=1,3", "+model.units=range(4,12,4)", "training.epochs=2", "seed=choice(1)", "resume=true",
         "data.path='a,b.csv'"],
        {"training.learning_rate": "interval(0.001,0.1)", "training.epochs": "range(2,3)"}, excluded=["resume"])
    assert swept == ["training.learning_rate", "framing.look_back", "+model.units"]
    # The command line's epochs replace the searched ones; a choice of one value is shared.
    assert shared == ["training.epochs=2", "seed=choice(1)", "data.path='a,b.csv'"]


def test_a_sweep_over_csv_paths_writes_its_summary_and_prints_brackets(tmp_path, lstmts_cli):
    data = tmp_path / "some" / "dir"
    data.mkdir(parents=True)
    airline = Path(__file__).resolve().parents[1] / "data" / "airline-passengers.csv"
    for name in ("a.csv", "b.csv"):
        shutil.copy(airline, data / name)
    sweep = tmp_path / "sweep"
    result = lstmts_cli.run(["-m", "data=csv", f"data.path={data / 'a.csv'},{data / 'b.csv'}", "data.column=Passengers",
                             "data.date_column=Month", "protocol.transforms=[standard]", *QUICK, "intervals.levels=[]",
                             "report.tensorboard=false", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert result.returncode == 0, result.stderr
    jobs = job_folders(sweep)
    assert [job.parent for job in jobs] == [sweep, sweep]
    assert all(_metrics(job)["status"] == "ok" for job in jobs)
    assert len(pd.read_csv(sweep / "summary.csv")) == 2
    assert (sweep / "comparison.png").exists()
    assert "protocol.transforms=[standard]" in result.stdout + result.stderr


def test_the_summary_finds_jobs_nested_by_an_older_version(finished_run, tmp_path):
    from lstmts.runs.sweep import summarize_sweep

    sweep = tmp_path / "sweep"
    shutil.copytree(finished_run, sweep / "0_data.path=" / "some" / "dir" / "x.csv,seed=1")
    shutil.copytree(finished_run, sweep / "1_seed=2")
    assert summarize_sweep(sweep) == 0
    assert len(pd.read_csv(sweep / "summary.csv")) == 2


# --- killed at random points, then resumed -------------------------------------------------------

SWEEP = ["-m", "seed=1,2,3", "training.epochs=3", "baselines.classical=false", "horizons=[]",
         "intervals.levels=[]", "report.tensorboard=false"]


def _check_consistent(sweep: Path, keras) -> dict[str, float]:
    """Check that every job that says ok has all its files, whole and matching; return its test RMSE by job."""
    finished = {}
    for job in job_folders(sweep):
        try:
            metrics = _metrics(job)
        except (OSError, ValueError):
            continue  # killed before its first metrics.json: not a run yet
        if metrics["status"] != "ok":
            continue
        config = yaml.safe_load((job / "config.yaml").read_text())
        assert config["seed"] == metrics["seed"]
        assert (job / "model.keras").stat().st_size > 0
        keras.saving.load_model(job / "model.keras", compile=False)
        predictions = pd.read_csv(job / "predictions.csv")
        assert len(predictions) == sum(metrics["samples"].values())
        assert not [p.name for p in job.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".model")]
        finished[job.name] = metrics["test_rmse"]
    return finished


def _job_written_since(sweep: Path, since: float) -> bool:
    """Return whether a job folder of the sweep has a metrics.json written at or after `since`."""
    for job in job_folders(sweep) if sweep.is_dir() else []:
        try:
            if (job / "metrics.json").stat().st_mtime >= since:
                return True
        except OSError:
            continue
    return False


def test_a_sweep_killed_at_random_points_resumes_to_the_same_results(tmp_path, lstmts_cli, keras):
    whole = tmp_path / "whole"
    result = lstmts_cli.run([*SWEEP, f"hydra.sweep.dir={whole}"], tmp_path)
    assert result.returncode == 0, result.stderr
    expected = _check_consistent(whole, keras)
    assert len(expected) == 3

    chance = random.Random(12)
    killed = tmp_path / "killed"
    for number in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
        started = time.time()
        process = lstmts_cli.start([*SWEEP, f"hydra.sweep.dir={killed}", "resume=true"], tmp_path)
        if number == signal.SIGKILL:
            time.sleep(chance.uniform(2, 12))  # a hard kill anywhere, start-up included
        else:
            # A stop that finds the sweep under way (a job of this attempt has written its status),
            # at a random point after: the summary of what finished must then be written.
            _wait_until(lambda: process.poll() is not None or _job_written_since(killed, started), process,
                        "a job of this attempt under way")
            time.sleep(chance.uniform(0, 6))
        process.send_signal(number)
        result = lstmts_cli.finish(process)
        assert "Traceback" not in result.stderr, result.stderr
        _check_consistent(killed, keras)
        if number != signal.SIGKILL and result.returncode != 0:
            assert result.returncode == 128 + number, result.stderr
            assert (killed / "summary.csv").exists()
    result = lstmts_cli.run([*SWEEP, f"hydra.sweep.dir={killed}", "resume=true"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert _check_consistent(killed, keras) == expected
    summary = pd.read_csv(killed / "summary.csv")
    assert list(summary["status"]) == ["ok"] * 3


def test_resume_keeps_finished_jobs_and_reruns_the_others(tmp_path, lstmts_cli):
    sweep = tmp_path / "sweep"
    result = lstmts_cli.run([*SWEEP, f"hydra.sweep.dir={sweep}"], tmp_path)
    assert result.returncode == 0, result.stderr
    jobs = job_folders(sweep)
    kept_model = (jobs[0] / "model.keras").stat().st_mtime_ns
    failed = _metrics(jobs[1])
    failed.update(status="failed", error="made up")
    (jobs[1] / "metrics.json").write_text(json.dumps(failed))
    shutil.rmtree(jobs[2])
    result = lstmts_cli.run([*SWEEP, f"hydra.sweep.dir={sweep}", "resume=true"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(finished earlier: kept)" in result.stdout.splitlines()[0]
    assert (jobs[0] / "model.keras").stat().st_mtime_ns == kept_model
    assert [_metrics(job)["status"] for job in job_folders(sweep)] == ["ok"] * 3
    assert [job.name for job in job_folders(sweep)] == [job.name for job in jobs]
    # Another config in the same folders is run again, never taken for the finished one.
    result = lstmts_cli.run([*SWEEP[:2], "training.epochs=2", *SWEEP[3:], f"hydra.sweep.dir={sweep}", "resume=true"],
                            tmp_path)
    assert "kept" not in result.stdout
