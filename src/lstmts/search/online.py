"""The automatic LSTM's members keep learning through the test period, as the classical baselines do.

The baselines are fitted again every season through validation and test (`baselines.refit_every`).
A member trained once on training + validation would forecast the whole test period with what it
learnt before it. With `auto.refit_every`, each member instead continues training at every refit
point, from its last weights, on all the values before that point, for `auto.refit_epochs` (a
fraction of its own epochs), and forecasts the targets up to the next point. Every forecast still
reads only the values before its target, and every refit only the values before its point.
"""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig

from lstmts.errors import UserError
from lstmts.evaluation.classical import refit_points
from lstmts.runs import runner


def check(cfg: DictConfig) -> None:
    """Raise UserError for an impossible auto.refit_every or auto.refit_epochs, whether refits are on or not."""
    every = cfg.auto.get("refit_every")
    if every is not None and every != "auto" and (isinstance(every, bool) or not isinstance(every, int) or every < 0):
        raise UserError(f"auto.refit_every={every!r} is impossible; use auto (every season), a whole number of"
                        f" steps, or 0 (never)")
    fraction = cfg.auto.get("refit_epochs", 0.1)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise UserError(f"auto.refit_epochs={fraction!r} is impossible; use a fraction of each member's epochs in"
                        f" (0, 1], such as 0.1")


def refit_schedule(cfg: DictConfig, first_target: int, stop: int, season_length: int) -> list[int]:
    """Return the test positions at which the members train again: none with auto.refit_every 0 or null.

    auto: every season, at most 19 times (the baselines' rule of at most 20 fits, the first being the
    member's own); k: every k steps.
    The first test target is forecast by the members as trained on training + validation, so it is not a point.
    """
    check(cfg)
    every = cfg.auto.get("refit_every")
    if every is None or every == 0:
        return []
    return refit_points("lstm", first_target, stop, season_length, {"refit_every": every})[1:]


def test_points(cfg: DictConfig, prepared) -> list[int]:
    """Return refit_schedule's points for the test period of a prepared run (none without test targets)."""
    targets = prepared.windows["test"].target_index
    if not len(targets):
        return []
    return refit_schedule(cfg, int(targets[0]), int(targets[-1]) + 1, prepared.season_length)


def refit_epochs(cfg: DictConfig, member_cfg: DictConfig) -> int:
    """Return the epochs of one refit: auto.refit_epochs (a fraction) of the member's own epochs, at least 1."""
    check(cfg)
    return max(1, int(round(float(cfg.auto.get("refit_epochs", 0.1)) * int(member_cfg.training.epochs))))


def online_forecasts(member_cfg: DictConfig, series, weights: list, targets: np.ndarray, forecasts: np.ndarray,
                     paths: np.ndarray | None, points: list[int], epochs: int,
                     console=None) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Return (one-step forecasts of `targets`, their paths, updates): from each point on, by the member trained again.

    forecasts and paths ([targets, horizon] from each target as origin, or None): the member's as
    trained on training + validation, kept before the first point; weights: its weights, where the
    first refit starts.
    """
    forecasts = np.array(forecasts, float, copy=True)
    paths = None if paths is None else np.array(paths, float, copy=True)
    tuned = member_cfg.copy()
    tuned.training.epochs = int(epochs)
    updates = 0
    for point, stop in zip(points, [*points[1:], None]):
        refitted = runner.refit(tuned, series.window(0, point), console, start_weights=[weights])
        weights = refitted.weights[0]
        updates += refitted.updates
        rows = (targets >= point) if stop is None else (targets >= point) & (targets < stop)
        if not rows.any():
            continue
        forecaster = runner._forecaster(tuned, refitted.pipeline, refitted.model)
        forecasts[rows] = forecaster.paths(series.values, targets[rows], 1)[:, 0]
        if paths is not None:
            paths[rows] = forecaster.paths(series.values, targets[rows], paths.shape[1])
    return forecasts, paths, updates
