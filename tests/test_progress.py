"""Tests of lstmts.runs.progress: the phases a run shows, and the estimate of the time left."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from lstmts.runs import runner
from lstmts.runs.progress import seconds_left


def test_the_time_left_comes_from_the_epochs_after_the_compiling_one():
    # The first epoch ended at t=10 (compiling); three more took 2 s each; 6 of 100 epochs remain... 96.
    assert seconds_left(10.0, 16.0, 4, 100) == pytest.approx(2.0 * 96)
    assert seconds_left(10.0, 12.0, 2, 100) is None  # one epoch after the first is too few to tell
    assert seconds_left(10.0, 16.0, 100, 100) is None


def test_a_run_shows_the_baselines_then_compiling_then_its_epochs(compose_config, tmp_path):
    console = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None)
    cfg = compose_config("training.epochs=3", "training.jit_compile=true", "horizons=[]", "seed=11")
    runner.run(cfg, tmp_path, console=console)
    shown = console.file.getvalue()
    baselines, compiling, epochs = (shown.find(text) for text in
                                    ("fitting the baselines", "training: compiling (XLA)", "3/3 loss"))
    assert -1 < baselines < compiling < epochs, shown[-2000:]


def test_the_fused_kernels_are_not_said_to_compile(compose_config, tmp_path):
    console = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None)
    cfg = compose_config("training.epochs=2", "training.jit_compile=false", "horizons=[]",
                         "baselines.classical=false")
    runner.run(cfg, tmp_path, console=console)
    shown = console.file.getvalue()
    assert "compiling" not in shown
    assert "training: preparing the graph" in shown
