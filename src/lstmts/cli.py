"""The `lstmts` command: Hydra runs and sweeps, plus the `compare` and `forecast` subcommands.

Nothing here imports TensorFlow: `lstmts --help` and `lstmts compare --help` stay fast.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from pathlib import Path

from omegaconf import OmegaConf

from lstmts.config import conf_dir
from lstmts.errors import UserError

SUBCOMMANDS = ("compare", "forecast")


def _register_resolvers() -> None:
    if not OmegaConf.has_resolver("lstmts_pid"):
        OmegaConf.register_new_resolver("lstmts_pid", lambda: os.getpid(), use_cache=True)


def fail(message: str, code: int = 2) -> None:
    """Print one error line to stderr and exit with `code`."""
    print(f"lstmts: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def _task(cfg) -> dict | float | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from rich.console import Console

    from lstmts.backend import gc_paused
    from lstmts.console import print_summary

    with gc_paused():  # pandas and scikit-learn
        from lstmts.runner import run

    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    console = Console(stderr=True)
    try:
        metrics = run(cfg, out_dir, choices=dict(hydra_cfg.runtime.choices), console=console)
        objective = _objective(metrics, cfg.objective) if cfg.get("objective") else None
    except UserError as error:
        if not multirun:
            fail(str(error))
        print(f"lstmts: error in job {hydra_cfg.job.num} ({out_dir}): {error}", file=sys.stderr)
        # Its metrics.json records the failure; the other jobs go on (NaN fails an Optuna trial).
        return float("nan") if cfg.get("objective") else None
    except KeyboardInterrupt:
        fail(f"interrupted; {out_dir / 'metrics.json'} says status: interrupted", code=130)
    print_summary(metrics, out_dir)
    return metrics if objective is None else objective


def _objective(metrics: dict, name: str) -> float:
    value = metrics.get(name)
    if value is None:
        raise UserError(f"objective={name} is not a metric of this run; use e.g. validation_rmse (with split.validation_fraction > 0)")
    return float(value)


def _hydra_main() -> None:
    import hydra

    _register_resolvers()
    from lstmts.sweep import finish_sweep

    app = hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")(_task)
    try:
        app()
    finally:
        # Hydra skips the end-of-sweep callback once a job raised: summarize here in any case.
        failed = finish_sweep()
    if failed:
        fail(f"{failed} job(s) of the sweep failed; see summary.csv in the sweep folder", code=1)


def main() -> None:
    """Entry point of the `lstmts` console script."""
    try:
        _main(sys.argv[1:])
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    except SystemExit as stop:
        _exit(stop.code)
    _exit(0)


def _exit(code: int | str | None) -> None:
    """End the process with `code`, skipping the interpreter's teardown once TensorFlow is loaded.

    Unloading TensorFlow's few thousand modules and native libraries takes about a second, longer
    than a whole tutorial-sized training run. Everything a run writes is closed by now; the exit
    handlers still run, logs and streams are flushed, and then the process ends at once. With
    another non-daemon thread still alive (a launcher's worker pool), Python's own exit waits
    for it as usual.
    """
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if "tensorflow" not in sys.modules or others:
        raise SystemExit(code)
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()  # what Python's own exit would run first (multiprocessing, logging, ...)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: nothing more can be said on it
    os._exit(code or 0)


def _main(argv: list[str]) -> None:
    if argv and argv[0] in SUBCOMMANDS:
        if argv[0] == "compare":
            from lstmts.compare import main as command
        else:
            from lstmts.forecast import main as command
        try:
            sys.exit(command(argv[1:]))
        except UserError as error:
            fail(str(error))
    _hydra_main()


if __name__ == "__main__":
    main()
