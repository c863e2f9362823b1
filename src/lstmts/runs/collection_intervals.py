"""Prediction intervals for every series of a collection: split conformal on a held-back horizon.

The run's configuration is trained once more, on every series' training part less its last
horizon, and forecasts that held-back horizon. Each error is divided by its series' scale (MASE's:
the in-sample seasonal naive error), so that series of any level pool into one set of errors per
frequency and step. The interval at a level is the forecast plus or minus the conformal quantile
of those scaled errors (the ceil((n + 1) level)-th smallest) times the series' own scale.

Those errors are out of sample: no network that made them saw the values it was scored on. A
series too short to give up a horizon, or without a scale, is not among them but still gets its
band, from its group's quantiles and its own scale. Beyond the calibrated steps (a forecast
further ahead than the run's horizon), the last step's width is used.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lstmts.data.collection import Member
from lstmts.evaluation import competition, intervals


@dataclass(frozen=True)
class Calibration:
    """Quantiles of scaled out-of-sample errors: {frequency: {level ("80"): [quantile per step]}}."""

    quantiles: dict[str, dict[str, list[float | None]]]
    series: int  # series whose held-back horizon gave errors
    seconds: float

    def to_json(self) -> dict:
        return {"method": "split conformal on each series' last held-back horizon, errors scaled by MASE's scale",
                "series": self.series, "seconds": round(self.seconds, 3), "quantiles": self.quantiles}

    @classmethod
    def from_json(cls, saved: dict) -> Calibration:
        return cls({str(f): {str(k): list(v) for k, v in q.items()} for f, q in saved["quantiles"].items()},
                   int(saved["series"]), float(saved["seconds"]))


def can_calibrate(member: Member) -> bool:
    """Whether a series can give up its last horizon and still have a scale to divide its errors by."""
    if len(member.train) <= member.horizon + 2:
        return False
    return bool(np.isfinite(competition.mase_scale(member.train[:-member.horizon], member.season_length)))


def scaled_errors(held: Sequence[Member], forecasts: Sequence[np.ndarray]) -> dict[str, list[list[float]]]:
    """Return {frequency: [[|error| / scale of each series] per step]} of forecasts of the held-back parts."""
    pooled: dict[str, list[list[float]]] = {}
    for member, forecast in zip(held, forecasts):
        scale = competition.mase_scale(member.train, member.season_length)
        steps = pooled.setdefault(member.frequency, [])
        errors = np.abs(np.asarray(member.test, float) - np.asarray(forecast, float)) / scale
        for step, error in enumerate(errors):
            if step == len(steps):
                steps.append([])
            steps[step].append(float(error))
    return pooled


def calibrate(members: Sequence[Member], forecast: Callable[[list[Member]], list[np.ndarray]],
              levels: Sequence[float]) -> Calibration | None:
    """Return the quantiles from `forecast` (the run's whole procedure) of every series' held-back horizon.

    None when too few series are long enough to give one up for even the lowest level (its
    conformal quantile needs level / (1 - level) errors per step: 4 for 80 %, 19 for 95 %);
    then nothing is trained.
    """
    started = time.perf_counter()
    held = [m.validation() for m in members if can_calibrate(m)]
    if not held or len(held) < intervals.needed(min(levels)):
        return None
    pooled = scaled_errors(held, forecast(held))
    quantiles = {frequency: intervals.conformal_quantiles([np.array(step) for step in steps], levels)
                 for frequency, steps in pooled.items()}
    return Calibration(quantiles, len(held), time.perf_counter() - started)


def widths(calibration: Calibration, member: Member, scale: float) -> dict[str, list[float | None]]:
    """Return {level: [half-width per step]} of one series: its group's quantiles times its scale."""
    group = calibration.quantiles.get(member.frequency)
    if group is None:  # no series of its frequency could calibrate: the pooled quantiles of the others
        group = _mean_quantiles(calibration.quantiles.values())
    return {level: [None if q is None or not np.isfinite(scale) else q * scale for q in steps]
            for level, steps in group.items()}


def _mean_quantiles(groups) -> dict[str, list[float | None]]:
    merged: dict[str, list[list[float]]] = {}
    for group in groups:
        for level, steps in group.items():
            slots = merged.setdefault(level, [])
            for step, q in enumerate(steps):
                if step == len(slots):
                    slots.append([])
                if q is not None:
                    slots[step].append(q)
    return {level: [float(np.mean(s)) if s else None for s in slots] for level, slots in merged.items()}


def bands(calibration: Calibration, member: Member, forecast: np.ndarray,
          scale: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return {level: (lower, upper)} around one series' forecast path."""
    return {level: intervals.path_bounds(np.asarray(forecast, float), half, relative=False)
            for level, half in widths(calibration, member, scale).items()}


def score(members: Sequence[Member], methods: dict[str, list[dict[str, tuple[np.ndarray, np.ndarray]]]]) -> dict:
    """Return {method: {coverage_<level>, msis_<level>}}: the means over the series of each method's bands.

    methods[name][k] holds series k's {level: (lower, upper)}. A series without a finite band at a
    level (a step past every calibrated one) is left out of that level's means.
    """
    table: dict = {}
    for name, per_series in methods.items():
        row: dict = {}
        levels = sorted({level for series_bands in per_series for level in series_bands}, key=float)
        for level in levels:
            covered, scores = [], []
            for member, series_bands in zip(members, per_series):
                lower, upper = series_bands[level]
                if not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
                    continue
                covered.append(intervals.coverage(member.test, lower, upper))
                scores.append(competition.msis(member.test, lower, upper, member.train, member.season_length,
                                               float(level) / 100))
            row[f"coverage_{level}"] = float(np.mean(covered)) if covered else None
            row[f"msis_{level}"] = float(np.nanmean(scores)) if scores else None
            row[f"series_{level}"] = len(covered)
        table[name] = row
    return table
