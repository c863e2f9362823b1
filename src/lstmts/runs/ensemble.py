"""A global LSTM ensemble over a collection: members that vary the seed, the look_back and the loss.

Each member is one network trained on the windows of every series; the ensemble's forecast of a
series is the element-wise median of its members' forecasts (N-BEATS combined its members the
same way). A member's look_back is a multiple of the horizon (`collection.ensemble.look_backs`),
so the members see different lengths of history.

Two things make every series forecastable and the seasons easier to learn:

- A series with fewer training values than a member's look_back gets an input padded in front
  with its first value (on the scaled series, so with `normalise=window` the padding reads as "no
  change"). It is forecast like the others, and `series.csv` says how many of its inputs were real.
- `collection.deseasonalise=true` removes each series' seasonal pattern before windowing: the
  mean of its detrended (centred moving average) scaled values at each position of the season,
  fitted on its training part only, and added back to the forecasts. A series with fewer than two
  seasons of training values keeps its season.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig



@dataclass(frozen=True)
class Member:
    """One network of the ensemble."""

    look_back: int
    loss: str
    seed: int

    def describe(self) -> str:
        return f"look_back {self.look_back}, {self.loss}, seed {self.seed}"


def members(cfg: DictConfig, horizon: int) -> list[Member]:
    """Return the ensemble's members: every look_back x loss x seed of `collection.ensemble`.

    Without `collection.ensemble`, one member per `training.repeats` seed at `framing.look_back`.
    look_backs are multiples of the horizon (1.5 -> 1.5 h, rounded, at least 2).
    """
    settings = cfg.collection.get("ensemble") or {}
    factors = settings.get("look_backs")
    if factors:
        look_backs = sorted({max(2, int(round(float(f) * horizon))) for f in factors})
    else:
        look_backs = [int(cfg.framing.look_back)]
    losses = list(settings.get("losses") or ["mse"])
    seeds = int(settings.get("seeds") or cfg.training.repeats)
    first = int(cfg.seed)
    return [Member(lb, loss, first + k) for lb, loss, k in itertools.product(look_backs, losses, range(seeds))]


def padded_input(scaled: np.ndarray, look_back: int) -> tuple[np.ndarray, int]:
    """Return the last `look_back` values of a series (padded in front with its first value) and how many are real."""
    real = min(len(scaled), look_back)
    last = np.asarray(scaled[-real:], float)
    if real < look_back:
        last = np.concatenate([np.full(look_back - real, last[0]), last])
    return last, real


@dataclass(frozen=True)
class Season:
    """A series' additive seasonal pattern on its scaled values: one offset per position in the season."""

    offsets: np.ndarray  # [season_length], summing to 0; position p of a series is its value index % season_length

    @classmethod
    def fit(cls, scaled_train: np.ndarray, season_length: int, window: int | None = None) -> Season | None:
        """Fit on the training part only; None when there is no season or fewer than two of them.

        window: fit on the last `window` whole seasons only (a pattern that drifts is forecast by
        its recent form); the values dropped are whole seasons, so each keeps its position.
        """
        m = int(season_length)
        values = np.asarray(scaled_train, float)
        if m <= 1 or len(values) < 2 * m:
            return None
        if window is not None and len(values) > int(window) * m:
            values = values[(len(values) - int(window) * m) // m * m:]
        trend = _centred_moving_average(values, m)
        detrended = values - trend
        offsets = np.array([np.nanmean(detrended[p::m]) for p in range(m)])
        if not np.all(np.isfinite(offsets)):
            return None
        return cls(offsets - offsets.mean())

    def at(self, start: int, count: int) -> np.ndarray:
        """Return the offsets of value indices start .. start + count - 1."""
        return self.offsets[(start + np.arange(count)) % len(self.offsets)]


def _centred_moving_average(values: np.ndarray, m: int) -> np.ndarray:
    """Return the centred moving average of window m (2 x m for an even m), NaN where it does not reach."""
    if m % 2:
        weights = np.full(m, 1.0 / m)
    else:
        weights = np.concatenate([[0.5], np.ones(m - 1), [0.5]]) / m
    average = np.convolve(values, weights, mode="valid")
    half = (len(weights) - 1) // 2
    trend = np.full(len(values), np.nan)
    trend[half:half + len(average)] = average
    return trend


def median_of(forecasts: list[list[np.ndarray]]) -> list[np.ndarray]:
    """Return, per series, the element-wise median of the members' forecasts ([member][series] -> [series])."""
    return [np.median(np.stack(per_series), axis=0) for per_series in zip(*forecasts)]
