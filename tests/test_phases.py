"""Tests of lstmts.runs.phases: where a run's seconds go, in metrics.json and one log line."""

from __future__ import annotations

import json
import logging

import pytest

from lstmts.runs import phases as phases_module
from lstmts.runs import runner
from lstmts.runs.phases import NAMES, Phases


class Clock:
    """A perf_counter that returns the times it is given, and a TensorFlow import that takes what it is told."""

    def __init__(self, times, loads):
        self.times, self.loads = list(times), list(loads)

    def perf_counter(self):
        return self.times.pop(0)

    def load_seconds(self):
        return self.loads.pop(0)


def test_tensorflows_import_counts_as_import_whichever_phase_triggers_it(monkeypatch):
    clock = Clock(times=[10.0, 13.5, 20.0, 20.25], loads=[0.0, 2.0, 2.0, 2.0])
    monkeypatch.setattr(phases_module, "since_start", lambda: 1.5)
    monkeypatch.setattr(phases_module.time, "perf_counter", clock.perf_counter)
    monkeypatch.setattr(phases_module.backend, "load_seconds", clock.load_seconds)
    phases = Phases()
    with phases.phase("train"):  # 3.5 s, of which 2 s imported TensorFlow
        pass
    with phases.phase("write"):  # 0.25 s
        pass
    phases.move("train", "compile", 0.5)
    phases.move("write", "compile", 9.0)  # never more than the phase holds
    assert phases.rounded() == {"import": 3.5, "data": 0.0, "baselines": 0.0, "compile": 0.75, "train": 1.0,
                                "score": 0.0, "write": 0.0, "total": 5.25}
    assert phases.line() == ("phases (s): import 3.500, data 0.000, baselines 0.000, compile 0.750, train 1.000,"
                             " score 0.000, write 0.000, total 5.250")


def test_the_import_phase_counts_from_lstmts_first_import_not_from_the_process_start():
    """`bash -c "pip install ... && lstmts"` runs lstmts in the shell's process: its age would include the install."""
    import subprocess
    import sys

    from conftest import scaled

    script = ("import time; started = time.perf_counter(); time.sleep(1.0)\n"
              "from lstmts.runs.phases import since_start\n"
              "print(since_start(), time.perf_counter() - started)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=scaled(60))
    assert done.returncode == 0, done.stderr
    counted, alive = map(float, done.stdout.split())
    assert 0 <= counted <= alive - 1.0  # the second slept before lstmts was imported is not counted


def test_a_run_records_its_phases_in_metrics_and_one_log_line(compose_config, tmp_path, caplog):
    cfg = compose_config("training.epochs=3", "horizons=[1,3]", "baselines.classical=false")
    with caplog.at_level(logging.INFO, logger="lstmts"):
        metrics = runner.run(cfg, tmp_path)
    table = json.loads((tmp_path / "metrics.json").read_text())["phases"]
    assert list(table) == [*NAMES, "total"]
    assert all(seconds >= 0 for seconds in table.values())
    assert table["total"] == pytest.approx(sum(table[name] for name in NAMES), abs=0.01)
    # The compile is the first epoch's share of the training call, so together they are the training's seconds.
    assert table["compile"] > 0 and table["train"] > 0
    assert table["compile"] + table["train"] == pytest.approx(metrics["train_seconds"], abs=0.01)
    assert table["write"] > 0 and table["score"] > 0
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("phases (s): ")]
    assert len(lines) == 1 and lines[0].endswith(f"total {table['total']:.3f}")
