"""Each series' exponentially smoothed level, the anchor of its windows with `collection.anchor=level`.

With `collection.normalise=window` every window is taken relative to an anchor: by default its last
input value. A single value carries that value's noise into every input and target of the window.
ES-RNN's answer is a per-series exponential-smoothing level instead; here each series gets the
simple exponential smoothing level

    l_0 = z_0,   l_t = alpha z_t + (1 - alpha) l_(t-1)

of its adjusted values z (scaled, deseasonalised where the config says so), with the alpha of
ALPHAS whose one-step forecasts (l_(t-1) for z_t) have the least squared error over its training
part (ties: the smallest alpha). alpha = 1 gives back the last value. A window ending at position t
is then anchored at l_t, computed from that value and the ones before it only, and the same alpha
serves every later history of the series (forecasts from a run, recursive paths).
"""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig

ALPHAS = np.round(np.arange(1, 11) / 10, 1)


def smoothed(values: np.ndarray, alpha: float) -> np.ndarray:
    """Return the level after each of `values` (the first value itself at position 0)."""
    from scipy.signal import lfilter  # 0.6 s to import: only runs that anchor at the level pay it

    values = np.asarray(values, float)
    if not len(values):
        return values
    level, _ = lfilter([alpha], [1.0, alpha - 1.0], values, zi=[(1.0 - alpha) * values[0]])
    return level


def fit_alpha(values: np.ndarray) -> float:
    """Return the alpha of ALPHAS with the least squared one-step error on `values` (1 with under 2 values)."""
    values = np.asarray(values, float)
    if len(values) < 2:
        return 1.0
    errors = [np.sum((values[1:] - smoothed(values, alpha)[:-1]) ** 2) for alpha in ALPHAS]
    return float(ALPHAS[int(np.argmin(errors))])


def alphas_for(cfg: DictConfig, adjusted: list[np.ndarray]) -> np.ndarray | None:
    """Return each series' alpha, fitted on its adjusted training values, where the config anchors at the level."""
    if cfg.collection.get("anchor", "last") != "level" or cfg.collection.normalise != "window":
        return None
    return np.array([fit_alpha(z) for z in adjusted])


def last_levels(histories: list[np.ndarray], alphas: np.ndarray) -> np.ndarray:
    """Return the level at the end of each history, with its series' alpha."""
    return np.array([smoothed(z, a)[-1] for z, a in zip(histories, alphas)])
