"""Tests of bad input, as a user meets it: one `lstmts: error:` line, a non-zero exit, no traceback.

Each case runs the installed command in a subprocess; most fail before TensorFlow is imported,
so they are cheap, and they run a few at a time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import scaled

from lstmts.report import files, plots
from lstmts.runs import runner
from lstmts.data.series import load_series

AIRLINE_CSV = Path(__file__).resolve().parents[1] / "data" / "airline-passengers.csv"


def _months(count: int, start_year: int = 1949) -> list[str]:
    return [f"{start_year + m // 12}-{m % 12 + 1:02d}" for m in range(count)]


def _csv(rows: list[tuple[str, str]], header: str = "Month,Passengers") -> str:
    return "\n".join([header, *(f"{date},{value}" for date, value in rows)]) + "\n"


def _missing_values_csv() -> str:
    """40 months with the values of lines 3 and 6 left empty (the header is line 1)."""
    months = _months(40)
    values = [str(100 + 3 * i + (i % 12)) for i in range(40)]
    values[1] = values[4] = ""
    return _csv(list(zip(months, values)))


# Files the data cases read, by name.
DATA_FILES: dict[str, bytes | str] = {
    "empty.csv": "",
    "header-only.csv": "Month,Passengers\n",
    "png-bytes.csv": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
    "non-numeric.csv": _csv([("1949-01", "112"), ("1949-02", "abc"), ("1949-03", "132")]),
    "missing-values.csv": _missing_values_csv(),
    "unsorted.csv": _csv([("1949-02", "112"), ("1949-01", "118"), ("1949-03", "132")]),
    "duplicated.csv": _csv([("1949-01", "112"), ("1949-01", "118"), ("1949-03", "132")]),
    "unparseable.csv": _csv([("1949-01", "112"), ("notadate", "118"), ("1949-03", "132")]),
    "too-short.csv": _csv([("1949-01", "112"), ("1949-02", "118"), ("1949-03", "132")]),
    "constant.csv": _csv([(month, "5") for month in _months(30)]),
    "huge.csv": _csv([(month, "1e308" if m == 20 else str(100 + m)) for m, month in enumerate(_months(40))]),
    "tiny.csv": _csv([(month, f"{1 + m % 7}e-300") for m, month in enumerate(_months(40))]),
    "repeated-column.csv": _csv([(month, f"{100 + m},{900 + m}") for m, month in enumerate(_months(40))],
                                header="Month,Passengers,Passengers"),
}


@dataclass(frozen=True)
class Case:
    """A bad input: the command's arguments (after `lstmts`) and the words its error line must hold."""

    args: tuple[str, ...]
    expect: tuple[str, ...]
    data_file: str | None = None  # data=csv with this file of DATA_FILES (or a missing one)
    runs: bool = True  # a training run that gets a run folder (not a subcommand, not an unwritable folder)


CASES = {
    # The slow one first (it trains until the loss diverges), so that the quick ones run beside it.
    "nan-loss": Case(("training.learning_rate=1e30", "training.epochs=3", "baselines.classical=false"),
                     ("diverged", "learning_rate")),
    "missing-file": Case((), ("does-not-exist.csv", "does not exist"), data_file="does-not-exist.csv"),
    "empty-file": Case((), ("empty.csv", "empty"), data_file="empty.csv"),
    "header-only": Case((), ("header-only.csv", "no rows"), data_file="header-only.csv"),
    "binary-file": Case((), ("png-bytes.csv", "not a readable CSV"), data_file="png-bytes.csv"),
    "value-column-missing": Case(("data.column=Sales",), ("'Sales'", "'Month', 'Passengers'"),
                                 data_file="too-short.csv"),
    "non-numeric": Case((), ("'abc'", "line 3"), data_file="non-numeric.csv"),
    "missing-values": Case((), ("2 missing", "3, 6", "data.missing=interpolate"), data_file="missing-values.csv"),
    "unsorted-dates": Case((), ("not sorted", "line 3"), data_file="unsorted.csv"),
    "duplicated-dates": Case((), ("repeats 1949-01-01", "line 3"), data_file="duplicated.csv"),
    "unparseable-dates": Case((), ("'notadate'", "line 3"), data_file="unparseable.csv"),
    "too-short": Case(("protocol=tutorial",), ("3 values", "at least 7 values"), data_file="too-short.csv"),
    "constant": Case((), ("constant",), data_file="constant.csv"),
    "look-back-0": Case(("framing.look_back=0",), ("framing.look_back=0",)),
    "units-0": Case(("model.units=0",), ("model.units=0",)),
    "epochs-0": Case(("training.epochs=0",), ("training.epochs=0",)),
    "batch-size-0": Case(("training.batch_size=0",), ("training.batch_size=0",)),
    "train-fraction-1.5": Case(("split.train_fraction=1.5",), ("split.train_fraction=1.5",)),
    "repeats-0": Case(("training.repeats=0",), ("training.repeats=0",)),
    "negative-seed": Case(("seed=-1",), ("seed=-1",)),
    "horizon-zero": Case(("horizons=[0]",), ("horizons=[0]",)),
    "unresolvable-interpolation": Case(("data.units=${nope}",), ("data.units",)),
    "run-dir-under-a-file": Case(("hydra.run.dir={work}/a-file/run",), ("cannot write", "a-file", "hydra.run.dir"),
                                 runs=False),
    "sweep-dir-under-a-file": Case(("-m", "seed=1,2", "hydra.sweep.dir={work}/a-file/sweep"),
                                   ("cannot write", "a-file", "hydra.sweep.dir"), runs=False),
    # Issue 12: values whose squares overflow or underflow, checked before training.
    "huge-value": Case((), ("1e+308", "line 22", "overflows", "rescale"), data_file="huge.csv"),
    "tiny-values": Case((), ("underflow", "rescale"), data_file="tiny.csv"),
    # Issue 12: every config value is checked before training, unresolvable ones included.
    "objective-unknown": Case(("objective=foo",), ("objective='foo'", "validation_rmse")),
    "objective-without-validation": Case(("objective=validation_rmse",), ("split.validation_fraction",)),
    "units-beyond-memory": Case(("model.units=100000",), ("model.units=100000", "GiB", "fewer model.units")),
    "seed-unresolvable": Case(("seed=${oops}",), ("cannot be resolved", "seed", "oops")),
    "sarima-null": Case(("baselines.sarima=null",), ("baselines.sarima", "seasonal_order")),
    "transforms-not-a-list": Case(("protocol.transforms=log",), ("'protocol.transforms=[log]'",)),
    "resume-not-a-bool": Case(("resume=maybe",), ("resume='maybe'", "true")),
    # Issue 12: Hydra's composition errors, as one line with the closest name.
    "unknown-key": Case(("model.unitz=4",), ("model.unitz", "did you mean model.units"), runs=False),
    "unknown-group-option": Case(("model=lstm",), ("model=lstm", "stacked, stacked_stateful, stateful, vanilla"),
                                 runs=False),
    "unknown-group": Case(("modle=vanilla",), ("modle", "did you mean model"), runs=False),
    "unparsable-override": Case(("seed=[1",), ("seed=[1", "cannot read"), runs=False),
    "sweep-value-without-m": Case(("seed=1,2",), ("-m",), runs=False),
    "sweep-unknown-option": Case(("-m", "model=vanilla,lstm"), ("model=lstm", "vanilla"), runs=False),
    "forecast-not-a-run": Case(("forecast", "{work}/not-a-run"), ("not-a-run", "not a run folder"), runs=False),
    "compare-not-a-run": Case(("compare", "{work}/not-a-run"), ("not-a-run", "no run folders"), runs=False),
    # Issue 19: a repeated column name, a horizon past the test period, a huge intervals.steps.
    "repeated-column": Case((), ("'Passengers' more than once", "rename"), data_file="repeated-column.csv"),
    "horizon-beyond-test": Case(("horizons=[1,100000]",), ("100000 steps ahead", "test period has 46 targets",
                                                           "horizons=[1]")),
    "interval-steps-huge": Case(("intervals.steps=10000000",), ("intervals.steps=10000000", "from 1 to 1000")),
}
BUGS: dict[str, str] = {}  # name -> "BUG: ..." for a case that still fails (strict xfail)


def _arguments(name: str, case: Case, work: Path) -> list[str]:
    args = [arg.replace("{work}", str(work)) for arg in case.args]
    if case.data_file:
        args = ["data=csv", f"data.path={work / case.data_file}", "data.column=Passengers",
                "data.date_column=Month", *args]
    if case.runs:
        args.append(f"hydra.run.dir={work / 'runs' / name}")
    return args


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, lstmts_cli) -> dict:
    """Run every case, three at a time; return name -> (result, its run folder or None)."""
    work = tmp_path_factory.mktemp("faults")
    for name, content in DATA_FILES.items():
        if isinstance(content, bytes):
            (work / name).write_bytes(content)
        else:
            (work / name).write_text(content)
    (work / "a-file").write_text("a regular file where a folder is wanted\n")
    (work / "not-a-run").mkdir()
    (work / "not-a-run" / "notes.txt").write_text("not a run\n")

    def run(name: str):
        return lstmts_cli.run(_arguments(name, CASES[name], work), work)

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(zip(CASES, pool.map(run, CASES)))
    outcomes = {name: (results[name], work / "runs" / name if CASES[name].runs else None) for name in CASES}
    return outcomes | {"work": work}


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.xfail(reason=BUGS[name], strict=True)) if name in BUGS else name
             for name in CASES]
)
def test_bad_input_is_one_error_line_and_a_failed_run(outcomes, lstmts_cli, name):
    result, run_dir = outcomes[name]
    line = lstmts_cli.error_line(result)
    for words in CASES[name].expect:
        assert words in line, line
    if run_dir is not None:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert metrics["status"] == "failed"
        assert metrics["error"] in line


def test_an_impossible_thread_count_is_one_error_line_and_a_failed_run(lstmts_cli, tmp_path):
    cli = type(lstmts_cli)(lstmts_cli.env | {"LSTMTS_TF_THREADS": "abc"})
    result = cli.run(["training.epochs=1", "baselines.classical=false", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    line = cli.error_line(result)
    assert "LSTMTS_TF_THREADS='abc' is impossible" in line and "whole number" in line
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["status"] == "failed"


def test_an_output_folder_under_a_file_leaves_the_file_alone(outcomes):
    for name in ("run-dir-under-a-file", "sweep-dir-under-a-file"):
        assert outcomes[name][0].stdout == ""  # it stopped before Hydra launched anything
    assert (outcomes["work"] / "a-file").read_text() == "a regular file where a folder is wanted\n"


def test_a_diverged_training_says_so_in_metrics_json(outcomes):
    _, run_dir = outcomes["nan-loss"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "failed"
    assert "diverged" in metrics["error"]
    assert not (run_dir / "predictions.csv").exists()


# --- missing values can be filled instead -----------------------------------------------------

def test_missing_values_are_interpolated_on_request(compose_config, tmp_path):
    path = tmp_path / "missing-values.csv"
    path.write_text(DATA_FILES["missing-values.csv"])
    overrides = ["data=csv", f"data.path={path}", "data.column=Passengers", "data.date_column=Month"]
    cfg = compose_config(*overrides, "data.missing=interpolate", "training.epochs=2",
                         "baselines.classical=false", "horizons=[]")
    series = load_series(cfg.data, AIRLINE_CSV)
    complete = np.array([100 + 3 * i + (i % 12) for i in range(40)], dtype=float)
    # Lines 3 and 6 hold months 1 and 4; each gap is the mean of its neighbours.
    np.testing.assert_allclose(series.values[[1, 4]], [(complete[0] + complete[2]) / 2, (complete[3] + complete[5]) / 2])
    np.testing.assert_array_equal(np.delete(series.values, [1, 4]), np.delete(complete, [1, 4]))
    assert len(series.labels) == 40
    metrics = runner.run(cfg, tmp_path / "run")
    assert metrics["status"] == "ok"
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["status"] == "ok"
    assert (saved["data"]["filled"], saved["data"]["trimmed"], saved["data"]["values"]) == (2, 0, 40)


def test_missing_values_at_the_ends_are_never_scored(compose_config, tmp_path, caplog):
    # 40 months, the first two, one inside and the last three empty: 35 values remain, and the last
    # known one (position 36, 1952-01) is the last test target.
    months = _months(40)
    values = [str(100 + 3 * i + (i % 12)) for i in range(40)]
    for i in (0, 1, 20, 37, 38, 39):
        values[i] = ""
    path = tmp_path / "ends.csv"
    path.write_text(_csv(list(zip(months, values))))
    cfg = compose_config("data=csv", f"data.path={path}", "data.column=Passengers", "data.date_column=Month",
                         "data.missing=interpolate", "training.epochs=2", "baselines.classical=false", "horizons=[]")
    with caplog.at_level("INFO", logger="lstmts"):
        metrics = runner.run(cfg, tmp_path / "run")
    assert months[36] == "1952-01" and metrics["scored"]["test"]["last"] == "1952-01-01"
    assert metrics["scored"]["train"]["first"] > "1949-03-01"
    assert metrics["data"] | {"path": None, "sha256": None} == {"path": None, "sha256": None, "values": 35,
                                                                  "filled": 1, "trimmed": 5, "newest_first": False}
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("data.missing")]
    assert lines == ["data.missing=interpolate filled in 1 missing value(s) between known ones and left out 5 before"
                     " the first or after the last known value"]


# --- Ctrl-C -----------------------------------------------------------------------------------

def _wait_for_status(metrics_file: Path, status: str, process, timeout: float = 120) -> None:
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        assert process.poll() is None, "lstmts ended before it was interrupted"
        try:
            if json.loads(metrics_file.read_text())["status"] == status:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{metrics_file} never said status {status}")


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


_WITH_DEFAULT_SIGINT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL);"
                        " signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT});"
                        " os.execv(sys.argv[1], sys.argv[1:])")


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory, lstmts_cli) -> dict:
    work = tmp_path_factory.mktemp("interrupted")
    run_dir = work / "run"
    args = ["training.epochs=100000", "baselines.classical=false", f"hydra.run.dir={run_dir}"]
    # A shell's background job starts with SIGINT ignored, and a CI runner may start the suite with
    # SIGINT blocked; lstmts would inherit either: exec it with SIGINT as a terminal delivers it.
    process = subprocess.Popen([sys.executable, "-c", _WITH_DEFAULT_SIGINT, lstmts_cli.command, *args],
                               env=lstmts_cli.env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with lstmts_cli.ended(process):
        _wait_for_status(run_dir / "metrics.json", "running", process)
        # Interrupt the training (100,000 epochs take minutes), not the start-up's imports: wait
        # for the log line the run writes when its data is framed, just before it trains.
        deadline = time.monotonic() + scaled(120)
        while "samples" not in _text(run_dir / "lstmts.log") and time.monotonic() < deadline:
            assert process.poll() is None, "lstmts ended before it was interrupted"
            time.sleep(0.05)
        time.sleep(2)
        process.send_signal(signal.SIGINT)
        result = lstmts_cli.finish(process)
    compared = lstmts_cli.run(["compare", str(run_dir), "--out", str(work / "compared")], work)
    return {"run_dir": run_dir, "result": result, "compare": compared}


def test_ctrl_c_exits_130_and_leaves_status_interrupted(interrupted, lstmts_cli):
    result = interrupted["result"]
    metrics = json.loads((interrupted["run_dir"] / "metrics.json").read_text())
    assert result.returncode == 130, (result.stderr, metrics)
    line = lstmts_cli.error_line(result)
    assert "interrupted" in line
    assert metrics["status"] == "interrupted", (metrics, result.stderr)
    assert "finished_at" in metrics


def test_compare_skips_an_interrupted_run(interrupted, lstmts_cli):
    result = interrupted["compare"]
    skipped = [line for line in result.stdout.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 1, result.stdout
    assert str(interrupted["run_dir"]) in skipped[0]
    assert "interrupted" in skipped[0]
    lstmts_cli.error_line(result)
    assert not (interrupted["run_dir"].parent / "compared" / "comparison.csv").exists()


def test_ctrl_c_while_the_run_folder_is_set_up_still_says_interrupted(compose_config, tmp_path, monkeypatch):
    write_atomic = files.write_atomic

    def interrupted_at_the_config(path, text):
        if Path(path).name == "config.yaml":
            raise KeyboardInterrupt
        write_atomic(path, text)

    monkeypatch.setattr(files, "write_atomic", interrupted_at_the_config)
    with pytest.raises(KeyboardInterrupt):
        runner.run(compose_config("training.epochs=1"), tmp_path / "run")
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["status"] == "interrupted"


# A CI run trained 100,000 epochs to the end and said `ok` after a SIGINT: the handler ran, but a
# library between it and the run swallowed the KeyboardInterrupt. Planted here: the import of
# TensorFlow sends SIGINT and swallows what it raises, as a bare `except:` would.
_SWALLOWED_STOP = """
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
from lstmts import backend, cli
from lstmts.runs import runner
load = backend.load
def load_swallowing_a_stop():
    try:
        os.kill(os.getpid(), signal.{name})
        time.sleep(30)
    except BaseException:
        pass
    return load()
runner.load_backend = load_swallowing_a_stop
sys.argv = ["lstmts", *sys.argv[1:]]
cli.main()
"""


@pytest.mark.parametrize("name, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_stop_that_a_library_swallows_still_ends_the_run_as_interrupted(lstmts_cli, tmp_path, name, code):
    run_dir = tmp_path / "run"
    # Without the check, 3,000 epochs train to the end in a few seconds and the run says ok.
    result = subprocess.run([sys.executable, "-c", _SWALLOWED_STOP.format(name=name), "training.epochs=3000",
                             "baselines.classical=false", f"hydra.run.dir={run_dir}"],
                            env=lstmts_cli.env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=lstmts_cli.timeout)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert result.returncode == code, (result.stderr, metrics.get("status"))
    assert f"interrupted by {name}" in lstmts_cli.error_line(result)
    assert metrics["status"] == "interrupted" and metrics["signal"] == name
    assert "updates" not in metrics  # stopped before it trained an epoch


def test_compare_of_only_unfinished_runs_says_none_finished(interrupted, lstmts_cli):
    line = lstmts_cli.error_line(interrupted["compare"])
    assert "no run folders found" not in line  # it found one, which did not finish
    assert "finished" in line


# --- atomic writes ----------------------------------------------------------------------------

def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_write_atomic_replaces_the_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old\n")
    files.write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert _leftovers(tmp_path, {"metrics.json", files.MANIFEST}) == []
    assert files.recorded(tmp_path) == {"metrics.json"}  # the manifest the clean slate reads
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_write_atomic_failing_midway_keeps_the_old_file(tmp_path, monkeypatch, error):
    target = tmp_path / "metrics.json"
    target.write_text('{"status": "ok"}\n')
    written = []

    def fail_after_writing(descriptor):
        written.append(descriptor)  # the new text has been written to the temporary file by now
        raise error

    monkeypatch.setattr(os, "fsync", fail_after_writing)
    # A full disk is the user's to fix: one line naming the file; Ctrl-C stays Ctrl-C.
    with pytest.raises(files.CannotWrite if isinstance(error, OSError) else KeyboardInterrupt) as raised:
        files.write_atomic(target, '{"status": "failed"}\n' * 1000)
    if isinstance(error, OSError):
        assert f"cannot write {target}: No space left on device" in str(raised.value)
    assert written
    assert target.read_text() == '{"status": "ok"}\n'
    assert _leftovers(tmp_path, {"metrics.json"}) == []


def test_write_atomic_failing_at_the_rename_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "summary.csv"
    target.write_text("a,b\n1,2\n")

    def refuse(source, destination):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(files.CannotWrite, match="Permission denied"):
        files.write_atomic(target, "a,b\n3,4\n")
    assert target.read_text() == "a,b\n1,2\n"
    assert _leftovers(tmp_path, {"summary.csv"}) == []


def test_save_figure_failing_at_the_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    plt = plots.pyplot()
    target = tmp_path / "forecast.png"
    target.write_bytes(b"old picture")
    figure, axis = plt.subplots()
    axis.plot([1, 2, 3])

    def refuse(source, destination):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(files.CannotWrite, match="forecast.png"):
        plots.save_figure(figure, target)
    plt.close(figure)
    assert target.read_bytes() == b"old picture"
    assert _leftovers(tmp_path, {"forecast.png"}) == []
