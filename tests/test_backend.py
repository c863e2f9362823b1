"""Tests of lstmts.backend: the garbage-collector pause around large imports, cache folders and thread settings."""

from __future__ import annotations

import gc

import pytest

from lstmts import backend
from lstmts.backend import cache_dir, gc_paused, xla_cache_dir
from lstmts.errors import UserError


@pytest.fixture
def collector_state():
    enabled = gc.isenabled()
    yield
    gc.unfreeze()  # leave later tests a collector that sees everything again
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_gc_is_off_inside_and_back_on_after_with_what_was_made_frozen(collector_state):
    gc.enable()
    gc.unfreeze()
    with gc_paused():
        assert not gc.isenabled()
        made_inside = [[] for _ in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(made_inside)
    # Frozen: later collections no longer walk it (get_objects lists only what they walk).
    assert all(tracked is not made_inside for tracked in gc.get_objects())


def test_gc_pause_restores_the_collector_after_an_error_and_keeps_it_off_if_it_was(collector_state):
    gc.enable()
    with pytest.raises(RuntimeError, match="import failed"), gc_paused():
        raise RuntimeError("import failed")
    assert gc.isenabled()
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_cache_folders_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LSTMTS_CACHE", str(tmp_path))
    monkeypatch.delenv("LSTMTS_XLA_CACHE", raising=False)
    assert cache_dir("classical") == str(tmp_path / "classical")
    assert xla_cache_dir() == str(tmp_path / "xla")
    monkeypatch.setenv("LSTMTS_XLA_CACHE", "off")
    assert xla_cache_dir() is None
    monkeypatch.setenv("LSTMTS_CACHE", "off")
    assert cache_dir("classical") is None


@pytest.mark.parametrize("value", ["abc", "-1", "2.5", ""])
def test_an_impossible_thread_count_is_one_user_error_naming_the_variable(monkeypatch, value):
    monkeypatch.setattr(backend, "_LOADED", None)
    monkeypatch.setenv("LSTMTS_TF_THREADS", value)
    with pytest.raises(UserError) as error:
        backend.load()
    message = str(error.value)
    assert f"LSTMTS_TF_THREADS={value!r}" in message
    assert "whole number" in message and "\n" not in message


@pytest.mark.parametrize(("value", "threads"), [(None, 1), ("4", 4), (" 2 ", 2), ("0", 0)])
def test_thread_count_comes_from_the_environment(monkeypatch, value, threads):
    if value is None:
        monkeypatch.delenv("LSTMTS_TF_THREADS", raising=False)
    else:
        monkeypatch.setenv("LSTMTS_TF_THREADS", value)
    assert backend.tf_threads() == threads


def test_a_run_turns_the_collector_back_on_that_start_up_paused(monkeypatch, tmp_path, collector_state):
    """cli pauses the collector for start-up; the job itself (and every later job of a sweep) runs with it on."""
    import sys

    from lstmts import cli
    import lstmts.runs.runner as runner

    seen = []

    def run(cfg, out_dir, **kwargs):
        seen.append(gc.isenabled())
        return {"status": "ok", "kind": "lstm"}

    monkeypatch.setattr(runner, "run", run)
    monkeypatch.setattr("lstmts.report.tables.print_summary", lambda *a, **k: None)
    monkeypatch.setattr(sys, "argv", ["lstmts", f"hydra.run.dir={tmp_path}"])
    gc.enable()
    cli._main(sys.argv[1:])
    assert seen == [True]
