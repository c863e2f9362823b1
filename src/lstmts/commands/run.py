"""`lstmts [overrides]` and `lstmts -m [overrides]`: one experiment or a sweep, composed by Hydra."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from omegaconf import OmegaConf

from lstmts.config import conf_dir
from lstmts.errors import UserError, fail


def register_resolvers() -> None:
    """Register the `${lstmts_pid:}` resolver that the sweep folder's name uses."""
    if not OmegaConf.has_resolver("lstmts_pid"):
        OmegaConf.register_new_resolver("lstmts_pid", lambda: os.getpid(), use_cache=True)


def _task(cfg) -> dict | float | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from rich.console import Console

    from lstmts.backend import gc_paused
    from lstmts.report.tables import job_line, print_summary

    with gc_paused():  # pandas and scikit-learn
        if cfg.get("evaluation") is not None:
            from lstmts.runs.backtest import run_backtest as run
        else:
            from lstmts.runs.runner import run

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
    if multirun:
        # One line per job; the sweep's summary table comes at the end.
        print(job_line(hydra_cfg.job.num, ",".join(hydra_cfg.overrides.task), metrics), flush=True)
    else:
        print_summary(metrics, out_dir)
    return metrics if objective is None else objective


def _objective(metrics: dict, name: str) -> float:
    value = metrics.get(name)
    if value is None:
        raise UserError(f"objective={name} is not a metric of this run; use e.g. validation_rmse (with split.validation_fraction > 0)")
    return float(value)


def main() -> None:
    """Run the Hydra app: one experiment, or a sweep with `-m`."""
    import hydra

    register_resolvers()
    from lstmts.runs.sweep import finish_sweep

    app = hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")(_task)
    try:
        app()
    finally:
        # Hydra skips the end-of-sweep callback once a job raised: summarize here in any case.
        failed = finish_sweep()
    if failed:
        fail(f"{failed} job(s) of the sweep failed; see summary.csv in the sweep folder", code=1)
