"""Tests of the installed `lstmts` command, run in subprocesses as a user runs it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import os
from pathlib import Path

import pytest
from conftest import scaled

TIMEOUT = scaled(240)
# TensorFlow/absl C++ log lines look like "I0000 00:00:1795617910.259402  3835 file.cc:31] ...".
_NATIVE_LOG_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d", re.MULTILINE)


# Set by lstmts.backend.load() in the pytest process; the command must start without them to show
# what a user gets, and the terminal width must not depend on the shell pytest runs in.
_NOT_INHERITED = ("TF_CPP_MIN_LOG_LEVEL", "TF_XLA_FLAGS", "KERAS_BACKEND", "COLUMNS", "LINES")


def _user_env(xla_cache: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env["LSTMTS_XLA_CACHE"] = str(xla_cache)
    return env


@pytest.fixture
def subprocess_env(tmp_path) -> dict:
    """An environment for the `lstmts` command as a user runs it, with an XLA cache of its own."""
    return _user_env(tmp_path / "xla-cache")


def _lstmts() -> str:
    beside_python = Path(sys.executable).parent / "lstmts"
    found = str(beside_python) if beside_python.exists() else shutil.which("lstmts")
    assert found, "the lstmts console script is not installed"
    return found


def _start(args: list[str], env: dict, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [_lstmts(), *args], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _run(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return _finish(_start(args, env, cwd))


def _assert_quiet(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "oneDNN" not in stderr
    assert "cuda" not in stderr.lower()
    assert not _NATIVE_LOG_LINE.search(stderr), stderr


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Run a 2-epoch training into a short and into a long run folder, side by side."""
    work = tmp_path_factory.mktemp("cli")
    env = _user_env(work / "xla-cache")
    short_dir = Path(tempfile.mkdtemp(prefix="lstmts-"))  # short whatever pytest's basetemp is
    short = short_dir / "run"
    long = work / ("a-run-folder-whose-absolute-path-is-longer-than-a-terminal-line-" * 2) / "run"
    started = {folder: _start(["training.epochs=2", f"hydra.run.dir={folder}"], env, work) for folder in (short, long)}
    yield {folder: _finish(process) for folder, process in started.items()} | {"short": short, "long": long}
    shutil.rmtree(short_dir, ignore_errors=True)


def test_run_prints_the_summary_and_its_run_folder_quietly(two_runs):
    folder = two_runs["short"]
    result = two_runs[folder]
    assert result.returncode == 0, result.stderr
    assert "test RMSE" in result.stdout
    assert "persistence" in result.stdout
    assert f"run folder: {folder}" in result.stdout
    _assert_quiet(result.stderr)
    assert json.loads((folder / "metrics.json").read_text())["status"] == "ok"
    assert (folder / "predictions.csv").exists()


def test_a_long_run_folder_is_printed_on_one_line(two_runs):
    folder = two_runs["long"]
    result = two_runs[folder]
    assert result.returncode == 0, result.stderr
    assert f"run folder: {folder}" in result.stdout


def test_a_failed_run_in_a_dated_folder_leaves_no_folder_for_later_globs(tmp_path, subprocess_env):
    (tmp_path / "outputs" / "2020-01-01" / "09-00-00").mkdir(parents=True)  # an earlier day's run stays
    (tmp_path / "outputs" / "2020-01-01" / "09-00-00" / "notes.txt").write_text("mine")
    result = _run(["model.units=0"], subprocess_env, tmp_path)
    assert result.returncode != 0 and "model.units=0 is impossible" in result.stderr
    assert [p.name for p in (tmp_path / "outputs").iterdir()] == ["2020-01-01"]
    assert not list((tmp_path / "outputs").rglob("metrics.json"))


def test_remove_failed_run_keeps_a_folder_that_holds_anything_else(tmp_path):
    from lstmts.runs.runner import remove_failed_run

    for name, status, extra in (("failed", "failed", None), ("ok", "ok", None), ("mine", "failed", "notes.txt")):
        folder = tmp_path / "day" / name
        (folder / ".hydra").mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps({"status": status, "error": "model.units=0 is impossible"}))
        if extra:
            (folder / extra).write_text("the user's")
    assert [remove_failed_run(tmp_path / "day" / name) for name in ("failed", "ok", "mine")] == [True, False, False]
    assert sorted(p.name for p in (tmp_path / "day").iterdir()) == ["mine", "ok"]


def test_impossible_value_is_one_error_line_without_traceback(tmp_path, subprocess_env):
    result = _run(["training.epochs=0", f"hydra.run.dir={tmp_path / 'run'}"], subprocess_env, tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("lstmts: error:")
    assert "training.epochs" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["status"] == "failed"


def test_help_lists_the_presets_and_subcommands(tmp_path, subprocess_env):
    result = _run(["--help"], subprocess_env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "tutorial_stacked_stateful" in result.stdout
    assert "lstmts compare" in result.stdout and "lstmts forecast" in result.stdout
    assert "look_back" in result.stdout


@pytest.mark.parametrize("argv", [["--help"], ["compare", "--help"], ["forecast", "--help"]])
def test_help_does_not_import_tensorflow(tmp_path, subprocess_env, argv):
    code = (
        "import sys\n"
        f"sys.argv = ['lstmts', *{argv!r}]\n"
        "from lstmts.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('IMPORTED', 'tensorflow' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=subprocess_env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert "IMPORTED False" in result.stdout


@pytest.mark.parametrize(
    "overrides",
    [["experiment=tutorial_regression"], ["experiment=tutorial_stateful"],
     ["experiment=tutorial_timesteps", "training.repeats=2"]],
    ids=["stateless", "stateful", "repeats"],
)
def test_same_config_gives_the_same_result_in_a_fresh_process(tmp_path, subprocess_env, overrides):
    # The first process starts with an empty XLA cache, the second finds it filled.
    metrics = []
    for attempt in ("first", "second"):
        folder = tmp_path / attempt
        args = [*overrides, "training.epochs=3", "seed=11", f"hydra.run.dir={folder}"]
        result = _run(args, subprocess_env, tmp_path)
        assert result.returncode == 0, result.stderr
        metrics.append(json.loads((folder / "metrics.json").read_text()))
    first, second = metrics
    assert first["seed"] == second["seed"] == 11
    assert second["test_rmse"] == pytest.approx(first["test_rmse"], abs=1e-6)
    assert second["train_rmse"] == pytest.approx(first["train_rmse"], abs=1e-6)
    assert (tmp_path / "first" / "predictions.csv").read_text() == (tmp_path / "second" / "predictions.csv").read_text()
    if "repeats" in first:
        assert first["repeats"]["test_rmse"] == pytest.approx(second["repeats"]["test_rmse"], abs=1e-6)


_EXIT_PROBE = """
import atexit, sys, threading, time
sys.modules.setdefault("tensorflow", type(sys)("tensorflow"))  # as after a run: TensorFlow loaded
atexit.register(lambda: print("exit handler ran", flush=True))
if sys.argv[1] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished", flush=True))).start()
sys.stdout.write("unflushed line")
from lstmts.cli import _exit
_exit(int(sys.argv[2]) if sys.argv[2].isdigit() else sys.argv[2])
print("not reached")
"""


@pytest.mark.parametrize("case, code, returncode", [("plain", "3", 3), ("plain", "0", 0), ("plain", "bad", 1),
                                                    ("thread", "3", 3)])
def test_quick_exit_keeps_the_exit_code_output_and_exit_handlers(tmp_path, subprocess_env, case, code, returncode):
    result = subprocess.run([sys.executable, "-c", _EXIT_PROBE, case, code], env=subprocess_env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == returncode, result.stderr
    assert result.stdout.startswith("unflushed line")
    assert "exit handler ran" in result.stdout and "not reached" not in result.stdout
    if case == "thread":  # a live worker thread: the normal exit, which waits for it
        assert "thread finished" in result.stdout
    if code == "bad":
        assert result.stderr.strip() == "bad"


def test_a_stop_signal_that_surfaces_as_hydras_error_still_ends_as_interrupted(monkeypatch, capsys):
    """Under load a SIGINT landed while Hydra composed a sweep's next job: Hydra said exit 1; it is an interruption."""
    import signal

    import hydra

    from lstmts import errors
    from lstmts.commands import run as run_command

    signalled = [True]

    def app_of(**_):
        def wrap(task):
            def app():
                if signalled[0]:
                    errors._received.append(signal.SIGINT)  # the handler ran, then OmegaConf failed half-way
                raise SystemExit(1)
            return app
        return wrap

    monkeypatch.setattr(hydra, "main", app_of)
    monkeypatch.setattr(errors, "_received", [])
    monkeypatch.setattr(sys, "argv", ["lstmts"])
    monkeypatch.setattr(run_command, "stop_on_signals", lambda: None)
    with pytest.raises(SystemExit) as ended:
        run_command.main()
    assert ended.value.code == 130
    assert capsys.readouterr().err.strip().endswith("interrupted by SIGINT; the jobs that finished are in their folders")
    monkeypatch.setattr(errors, "_received", [])
    signalled[0] = False
    with pytest.raises(SystemExit) as ended:  # no signal: Hydra's own exit stays
        run_command.main()
    assert ended.value.code == 1


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_a_stop_that_arrives_as_the_process_ends_keeps_its_exit_status(signal_name):
    # The process' last step (cli._exit) with TensorFlow loaded: a stop sent from an exit handler,
    # while the streams are flushed, must change neither the status nor print an interruption.
    script = (
        "import atexit, os, signal, sys, time, types\n"
        "sys.modules['tensorflow'] = types.ModuleType('tensorflow')\n"
        "from lstmts import cli, errors\n"
        "errors.stop_on_signals()\n"
        f"atexit.register(lambda: (os.kill(os.getpid(), signal.{signal_name}), time.sleep(0.2)))\n"
        "cli._exit(3)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 3, result.stderr
    assert "KeyboardInterrupt" not in result.stderr and "Traceback" not in result.stderr, result.stderr
