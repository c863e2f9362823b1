"""Tests of lstmts.compare: run folders side by side, skipped folders, grouping over seeds, the CLI."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from lstmts.runs import runner
from lstmts.commands.compare import compare
from lstmts.errors import UserError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RUNS = [(seed, look_back) for look_back in (1, 3) for seed in (1, 2)]


@pytest.fixture(scope="module")
def runs(compose_config, tmp_path_factory) -> dict:
    """Four small runs (seed x look_back), plus folders that are not finished runs; name -> folder."""
    root = tmp_path_factory.mktemp("compare")
    folders = {}
    for seed, look_back in RUNS:
        cfg = compose_config(f"seed={seed}", f"framing.look_back={look_back}", "training.epochs=2",
                             "baselines.classical=false", "horizons=[]")
        folders[f"lb{look_back}-seed{seed}"] = folder = root / f"lb{look_back}-seed{seed}"
        runner.run(cfg, folder)
    folders["failed"] = root / "failed"
    with pytest.raises(UserError, match=r"model\.units=0"):
        runner.run(compose_config("model.units=0"), folders["failed"])
    # A run killed before it could write its final status.
    folders["running"] = root / "running"
    folders["running"].mkdir()
    (folders["running"] / "metrics.json").write_text(json.dumps({"status": "running", "seed": 7}))
    folders["corrupt"] = root / "corrupt"
    folders["corrupt"].mkdir()
    (folders["corrupt"] / "metrics.json").write_text('{"status": "ok", "test_rmse": 1')
    folders["empty"] = root / "empty"
    folders["empty"].mkdir()
    return folders


def _ok_names() -> list[str]:
    return [f"lb{look_back}-seed{seed}" for seed, look_back in RUNS]


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def _compare(runs, tmp_path, **options) -> tuple[pd.DataFrame, str]:
    console = Console(file=io.StringIO(), width=1000)
    table = compare([str(folder) for folder in runs.values()], out_dir=tmp_path, console=console, **options)
    return table, console.file.getvalue()


def test_table_has_the_finished_runs_best_test_rmse_first(runs, tmp_path):
    table, _ = _compare(runs, tmp_path)
    assert sorted(Path(run).name for run in table["run"]) == sorted(_ok_names())
    assert table["test_rmse"].is_monotonic_increasing
    for _, row in table.iterrows():
        metrics = _metrics(Path(row["run"]))
        assert row["test_rmse"] == pytest.approx(metrics["test_rmse"])
        assert row["seed"] == metrics["seed"]
    assert set(table["status"]) == {"ok"}


def test_table_shows_the_values_that_differ_and_hides_the_equal_ones(runs, tmp_path):
    table, _ = _compare(runs, tmp_path)
    assert {"framing.look_back", "seed"} <= set(table.columns)
    for same in ("model.units", "training.epochs", "framing.lags_as", "split.train_fraction"):
        assert same not in table.columns
    for _, row in table.iterrows():
        assert Path(row["run"]).name == f"lb{row['framing.look_back']}-seed{row['seed']}"


def test_each_folder_that_is_not_a_finished_run_is_skipped_with_one_line(runs, tmp_path):
    _, output = _compare(runs, tmp_path)
    skipped = [line for line in output.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 4, output
    reasons = {
        "failed": "model.units=0",
        "running": "interrupted",
        "corrupt": "unreadable metrics.json",
        "empty": "not a run folder",
    }
    for name, reason in reasons.items():
        lines = [line for line in skipped if f"{runs[name]}:" in line]
        assert len(lines) == 1, (name, output)
        assert reason in lines[0], lines[0]


def test_comparison_csv_is_the_table_and_the_plot_is_written(runs, tmp_path):
    table, output = _compare(runs, tmp_path)
    written = pd.read_csv(tmp_path / "comparison.csv")
    assert list(written.columns) == list(table.columns)
    assert list(written["run"]) == list(table["run"])
    # Each row holds its own run's scores, as metrics.json has them.
    for _, row in written.iterrows():
        metrics = _metrics(Path(row["run"]))
        assert (row["train_rmse"], row["test_rmse"]) == pytest.approx((metrics["train_rmse"], metrics["test_rmse"]))
    assert (tmp_path / "comparison.png").read_bytes().startswith(PNG_MAGIC)
    assert str(tmp_path / "comparison.csv") in output


def test_group_averages_runs_that_differ_only_in_seed(runs, tmp_path):
    table, _ = _compare(runs, tmp_path, group=True)
    assert len(table) == 2
    assert "seed" not in table.columns
    assert table["test_rmse"].is_monotonic_increasing
    for _, row in table.iterrows():
        look_back = int(row["framing.look_back"])
        each = [_metrics(runs[f"lb{look_back}-seed{seed}"]) for seed in (1, 2)]
        assert row["runs"] == 2
        for metric in ("test_rmse", "train_rmse"):
            values = [m[metric] for m in each]
            assert row[metric] == pytest.approx(np.mean(values))
            assert row[f"{metric}_std"] == pytest.approx(np.std(values, ddof=1))
    written = pd.read_csv(tmp_path / "comparison.csv")
    for _, row in written.iterrows():
        each = [_metrics(runs[f"lb{row['framing.look_back']}-seed{seed}"])["test_rmse"] for seed in (1, 2)]
        assert row["test_rmse_std"] == pytest.approx(np.std(each, ddof=1))
    # Each grouped row keeps the folders it averages.
    for _, row in written.iterrows():
        folders = row["run_folders"].split(";")
        assert sorted(Path(f).name for f in folders) == [f"lb{row['framing.look_back']}-seed{s}" for s in (1, 2)]


@pytest.mark.parametrize("width", [80, 120])
def test_the_printed_table_fits_the_terminal_and_keeps_every_number_whole(runs, tmp_path, width):
    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None)
    table = compare([str(runs[name]) for name in _ok_names()], out_dir=tmp_path, console=console)
    text = console.file.getvalue()
    # All but the last line, which names the files written (a path is printed on one line, whole).
    assert max(len(line) for line in text.splitlines()[:-1]) <= width
    assert "…" not in text
    assert "ranked by test RMSE: choosing on it is choosing on the test set" in " ".join(text.split())
    for _, row in table.iterrows():
        line = next(line for line in text.splitlines() if f" {Path(row['run']).name} " in line)
        assert f"{row['test_rmse']:.2f}" in line
        assert f"{row['ratio_to_best_baseline']:.2f}" in line


def test_compare_of_no_run_folder_is_a_user_error(runs, tmp_path):
    console = Console(file=io.StringIO(), width=1000)
    with pytest.raises(UserError, match="no run folders found"):
        compare([str(runs["empty"])], out_dir=tmp_path, console=console)
    assert not (tmp_path / "comparison.csv").exists()


def test_compare_of_only_unfinished_runs_is_a_user_error_saying_so(runs, tmp_path):
    console = Console(file=io.StringIO(), width=1000)
    with pytest.raises(UserError) as error:
        compare([str(runs["failed"]), str(runs["running"]), str(runs["corrupt"])], out_dir=tmp_path, console=console)
    assert "no run folders found" not in str(error.value)
    assert "finished" in str(error.value)
    assert not (tmp_path / "comparison.csv").exists()


# --- the `lstmts compare` command -------------------------------------------------------------

@pytest.fixture(scope="module")
def commands(runs, lstmts_cli, tmp_path_factory) -> dict:
    """Run the compare commands side by side (each is a Python start-up); name -> result."""
    work = tmp_path_factory.mktemp("compare-cli")
    root = runs["failed"].parent
    empty = work / "nothing-here"
    empty.mkdir()
    long = work / ("a-run-folder-whose-absolute-path-is-longer-than-a-terminal-line-" * 2) / "failed"
    long.mkdir(parents=True)
    shutil.copy(runs["failed"] / "metrics.json", long / "metrics.json")
    arguments = {
        # No shell: the glob reaches lstmts as one argument, as when a user quotes it.
        "glob": ["compare", str(root / "lb3-*"), "--out", str(work / "glob")],
        "empty": ["compare", str(empty)],
        "help": ["compare", "--help"],
        "long": ["compare", str(long), str(runs["lb1-seed1"]), "--out", str(work / "long")],
        "unknown-column": ["compare", str(root / "lb3-*"), "--columns", "test_rmse,look_back_typo"],
    }
    (work / "default-out").mkdir()
    started = {name: lstmts_cli.start(args, work) for name, args in arguments.items()}
    started["default-out"] = lstmts_cli.start(["compare", str(root / "lb1-*")], work / "default-out")
    return {name: lstmts_cli.finish(process) for name, process in started.items()} | {"work": work, "long_folder": long}


def test_compare_command_expands_a_quoted_glob(commands, runs):
    result = commands["glob"]
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    written = pd.read_csv(commands["work"] / "glob" / "comparison.csv")
    assert sorted(Path(run).name for run in written["run"]) == ["lb3-seed1", "lb3-seed2"]
    assert written["test_rmse"].is_monotonic_increasing
    assert "seed" in written.columns
    assert "framing.look_back" not in written.columns  # the same in both
    assert (commands["work"] / "glob" / "comparison.png").read_bytes().startswith(PNG_MAGIC)


def test_compare_command_of_an_empty_folder_is_one_error_line(commands, lstmts_cli):
    line = lstmts_cli.error_line(commands["empty"])
    assert "nothing-here" in line


def test_an_unknown_column_is_one_error_line_that_lists_the_columns(commands, lstmts_cli):
    result = commands["unknown-column"]
    line = lstmts_cli.error_line(result)
    assert result.returncode == 2
    assert "'look_back_typo'" in line
    assert "test_rmse" in line and "seed" in line  # the names it could have been


def test_compare_writes_into_outputs_not_the_current_folder_by_default(commands):
    result = commands["default-out"]
    assert result.returncode == 0, result.stderr
    folder = commands["work"] / "default-out"
    assert sorted(p.name for p in folder.iterdir()) == ["outputs"]
    written = list(folder.glob("outputs/compare/*/*/comparison.csv"))
    assert len(written) == 1
    assert (written[0].parent / "comparison.png").exists()
    assert str(written[0].relative_to(folder)) in result.stdout


def test_compare_command_help(commands):
    result = commands["help"]
    assert result.returncode == 0, result.stderr
    assert "--group-by" in result.stdout
    assert "--out" in result.stdout


def test_compare_command_prints_a_skipped_long_folder_on_one_line(commands, runs):
    result = commands["long"]
    assert result.returncode == 0, result.stderr
    error = json.loads((runs["failed"] / "metrics.json").read_text())["error"]
    assert f"skipped {commands['long_folder']}: status failed: {error}" in result.stdout.splitlines()


def test_every_differing_value_is_shown_those_a_choice_explains_last():
    from lstmts.runs.records import RunRecord, display_columns

    def record(name, experiment, epochs, look_back, overridden):
        return RunRecord(Path(name), metrics={"status": "ok", "choices": {"experiment": experiment}},
                         config={"training.epochs": epochs, "framing.look_back": look_back, "seed": 7},
                         overridden=overridden)

    runs = [record("a", "tutorial_window", 5, 3, {"experiment", "training.epochs"}),
            record("b", "tutorial_regression", 100, 1, {"experiment"})]
    # look_back differs only because the experiment does (shown, but last); epochs was set by hand;
    # seed is equal.
    assert display_columns(runs) == ["experiment", "training.epochs", "framing.look_back"]


def test_a_running_run_is_told_from_one_that_was_killed(tmp_path):
    import os
    import platform
    import subprocess
    import sys

    from lstmts.runs.records import read_run

    dead_pid = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_pid.wait()
    cases = {"live": os.getpid(), "killed": dead_pid.pid}
    for name, pid in cases.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(
            json.dumps({"status": "running", "process": {"host": platform.node(), "pid": pid}}))
    assert read_run(tmp_path / "live").status == "running"
    assert read_run(tmp_path / "killed").status == "interrupted"


@pytest.mark.parametrize("edit", [
    {"test_rmse": "1.5"},  # a string for a number: the format string of the table crashed on it
    {"baselines": ["persistence"]},  # a list for an object
    {"baselines": {"persistence": {"test_rmse": [1, 2]}}},
    {"status": ["ok"]},
    {"choices": "vanilla"},
])
def test_compare_skips_a_metrics_json_with_wrong_types_in_one_line(runs, tmp_path, edit):
    hostile = tmp_path / "hostile"
    shutil.copytree(runs["lb1-seed1"], hostile)
    (hostile / "metrics.json").write_text(json.dumps({**_metrics(hostile), **edit}))
    console = Console(file=io.StringIO(), width=1000)
    table = compare([str(runs["lb1-seed2"]), str(hostile)], out_dir=tmp_path / "out", console=console)
    skipped = [line for line in console.file.getvalue().splitlines() if line.startswith("skipped")]
    assert len(skipped) == 1 and str(hostile) in skipped[0] and "metrics.json" in skipped[0], skipped
    assert [Path(run).name for run in table["run"]] == ["lb1-seed2"]


def _hostile_copy(runs, tmp_path) -> Path:
    hostile = tmp_path / "hostile"
    shutil.copytree(runs["lb1-seed1"], hostile)
    return hostile


def _skipped_lines(console) -> list[str]:
    return [line for line in console.file.getvalue().splitlines() if line.startswith("skipped")]


@pytest.mark.parametrize("file", ["metrics.json", "config.yaml"])
def test_a_deeply_nested_file_is_one_skipped_line_not_a_recursion_error(runs, tmp_path, file):
    hostile = _hostile_copy(runs, tmp_path)
    if file == "metrics.json":
        text = '{"status": "ok", "test_rmse": 1.0, "nested": ' + "[" * 100_000 + "]" * 100_000 + "}"
    else:
        text = "".join(" " * depth + f"k{depth}:\n" for depth in range(5_000)) + " " * 5_000 + "1\n"
    (hostile / file).write_text(text)
    console = Console(file=io.StringIO(), width=1000)
    table = compare([str(runs["lb1-seed2"]), str(hostile)], out_dir=tmp_path / "out", console=console)
    skipped = _skipped_lines(console)
    assert len(skipped) == 1 and str(hostile) in skipped[0] and file in skipped[0], skipped
    assert "nested too deeply" in skipped[0], skipped
    assert [Path(run).name for run in table["run"]] == ["lb1-seed2"]


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"),
    ("split,actual,prediction\ntest,1.0,2.0\n", "no date column"),
    ("date,split,actual,prediction\nnot a date,test,1.0,2.0\n", "dates"),
])
def test_an_unreadable_predictions_csv_is_one_line_and_the_run_stays_ranked(runs, tmp_path, text, reason):
    hostile = _hostile_copy(runs, tmp_path)
    (hostile / "predictions.csv").write_text(text)
    console = Console(file=io.StringIO(), width=1000)
    table = compare([str(runs["lb1-seed2"]), str(hostile)], out_dir=tmp_path / "out", console=console)
    lines = [line for line in console.file.getvalue().splitlines() if "predictions.csv" in line]
    assert len(lines) == 1 and str(hostile / "predictions.csv") in lines[0] and reason in lines[0], lines
    assert lines[0].startswith("not plotted")
    # Its scores are whole: the run keeps its row; only its forecast is missing from the plot.
    assert sorted(Path(run).name for run in table["run"]) == ["hostile", "lb1-seed2"]
    assert (tmp_path / "out" / "comparison.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize(("edit", "key"), [
    ({"test_rmse": float("-inf")}, "test_rmse"),  # ranked first by the old code
    ({"test_rmse": -0.5}, "test_rmse"),
    ({"test_mase": float("nan")}, "test_mase"),
    ({"validation_smape": float("inf")}, "validation_smape"),
    ({"baselines": {"persistence": {"test_mae": -1.0}}}, "baselines.persistence.test_mae"),
    ({"best_baseline": {"name": "persistence", "chosen_on": "test", "test_rmse": float("-inf")}},
     "best_baseline.test_rmse"),
])
def test_a_negative_or_infinite_score_is_refused_with_its_key_named(runs, tmp_path, edit, key):
    hostile = _hostile_copy(runs, tmp_path)
    (hostile / "metrics.json").write_text(json.dumps({**_metrics(hostile), **edit}))
    console = Console(file=io.StringIO(), width=1000)
    table = compare([str(runs["lb1-seed2"]), str(hostile)], out_dir=tmp_path / "out", console=console)
    skipped = _skipped_lines(console)
    assert len(skipped) == 1 and str(hostile) in skipped[0], skipped
    assert f"{key} is " in skipped[0] and "finite" in skipped[0], skipped
    assert [Path(run).name for run in table["run"]] == ["lb1-seed2"]
