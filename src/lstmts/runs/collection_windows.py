"""A global network's training windows over a whole panel, built batch by batch instead of held at once.

A panel keeps every series' adjusted training part back to back in one float32 array (and its
covariates the same way), with where each series starts and how many windows it has. Window
`r` is then found arithmetically (its series by a binary search over the cumulative counts), so
memory grows with the panel's values, not with its windows times their length: 100,000 monthly
series hold about 15 million windows of 40 values (2.4 GB in float32), but 20 million values.

`take(rows)` builds exactly the arrays that the windows of each series, one after another,
would give: the inputs minus their last value when `relative` (minus the series' smoothed level
there with `alphas`, collection_levels), and the covariate channels of
`collection_covariates.channels` (past-only rows at the input steps, the known-future rows of
the forecast steps repeated at every input step, the static attributes). For the smape and mase
losses, each window's targets also carry what turns them back into the series' own values
(`SeriesValues`, the columns of `engines.base.loss_columns`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmts.data.collection import Member
from lstmts.runs import collection_covariates, collection_levels
from lstmts.runs.ensemble import Season


@dataclass(frozen=True)
class SeriesValues:
    """How each series' adjusted values give back its own: v = G(shift + scale * (adjusted + season)).

    G is exp for a log series, else the identity; mase_scale is the in-sample seasonal naive
    error of its training part (NaN or 0: the series adds nothing to a MASE loss).
    """

    log: np.ndarray  # [series] bool
    shift: np.ndarray  # [series]
    scale: np.ndarray  # [series]
    mase_scale: np.ndarray  # [series]
    seasons: list[Season | None]


class PanelWindows:
    """Every training window of a panel's series for one look_back and horizon, built on demand."""

    def __init__(self, adjusted: list[np.ndarray], look_back: int, horizon: int, relative: bool, lags_as: str,
                 covariates: collection_covariates.Channels | None = None,
                 members: list[Member] | None = None, values_of: SeriesValues | None = None,
                 alphas: np.ndarray | None = None) -> None:
        self.look_back, self.horizon, self.relative, self.lags_as = int(look_back), int(horizon), relative, lags_as
        lengths = np.array([len(z) for z in adjusted], dtype=np.int64)
        self.counts = np.maximum(lengths - self.look_back - self.horizon + 1, 0)
        self.starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)  # each series in `values`
        self.first = np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)  # each series' first window
        self.values = np.concatenate([np.asarray(z, np.float32) for z in [np.empty(0), *adjusted]])
        self.channels = covariates
        self.values_of = values_of
        # With alphas (collection.anchor=level), each value's smoothed level, aligned with `values`:
        # a relative window is anchored at the level of its last input instead of that input.
        self.level = None if alphas is None or not relative else np.concatenate(
            [np.zeros(0, np.float32)] + [collection_levels.smoothed(z, a).astype(np.float32)
                                         for z, a in zip(adjusted, alphas)])
        if values_of is not None:  # each value's seasonal offset, aligned with `values`
            self.season = np.concatenate([np.zeros(0, np.float32)] + [
                np.zeros(n, np.float32) if season is None else season.at(0, n).astype(np.float32)
                for season, n in zip(values_of.seasons, lengths)])
        self.past = self.future = self.static = None
        if covariates is not None:
            self._flatten_covariates(covariates, members or [], lengths)

    def _flatten_covariates(self, spec: collection_covariates.Channels, members: list[Member],
                            lengths: np.ndarray) -> None:
        # Only the training rows: a training window's inputs and targets lie inside its training part.
        if spec.past:
            self.past = np.concatenate([spec.scaling.past(m.covariates)[:n] for m, n in zip(members, lengths)]
                                       ).astype(np.float32)
        if spec.future:
            self.future = np.concatenate([spec.scaling.future(m.covariates)[:n] for m, n in zip(members, lengths)]
                                         ).astype(np.float32)
        if spec.static:
            self.static = np.stack([np.asarray(m.static, np.float32) for m in members])

    def __len__(self) -> int:
        return int(self.first[-1])

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (inputs [rows, steps, features], targets [rows, horizon]) of windows `rows`, in float32."""
        rows = np.asarray(rows, dtype=np.int64)
        series = np.searchsorted(self.first, rows, side="right") - 1
        begin = self.starts[series] + (rows - self.first[series])  # the window's first input in `values`
        inputs = self.values[begin[:, None] + np.arange(self.look_back)]
        targets = self.values[begin[:, None] + self.look_back + np.arange(self.horizon)]
        anchor = inputs[:, -1:] if self.relative else np.zeros((len(rows), 1), np.float32)
        if self.level is not None:
            anchor = self.level[begin + self.look_back - 1][:, None]
        if self.relative:
            inputs, targets = inputs - anchor, targets - anchor
        if self.values_of is not None:
            steps = begin[:, None] + self.look_back + np.arange(self.horizon)
            targets = np.concatenate([targets, self._loss_columns(series, anchor + self.season[steps])], axis=1)
        shaped = inputs[:, :, None] if self.lags_as == "timesteps" else inputs[:, None, :]
        if self.channels is None:
            return shaped, targets
        parts = [shaped]
        if self.past is not None:
            parts.append(self.past[begin[:, None] + np.arange(self.look_back)])
        if self.future is not None:
            ahead = self.future[begin[:, None] + self.look_back + np.arange(self.horizon)]
            parts.append(np.repeat(ahead.reshape(len(rows), 1, -1), self.look_back, axis=1))
        if self.static is not None:
            parts.append(np.repeat(self.static[series][:, None, :], self.look_back, axis=1))
        return np.concatenate(parts, axis=2), targets

    def _loss_columns(self, series: np.ndarray, base: np.ndarray) -> np.ndarray:
        """Return the smape and mase losses' columns (weight, level, log_scale, is_log) of windows of `series`.

        base [rows, horizon]: what was taken off each target step (its anchor and seasonal offset).
        """
        of = self.values_of
        log, shift, scale = of.log[series][:, None], of.shift[series][:, None], of.scale[series][:, None]
        mase = of.mase_scale[series][:, None]
        usable = np.isfinite(mase) & (mase > 0)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            level_of_log = np.exp(np.minimum(shift + scale * base, 700.0))
            weight = np.where(log, level_of_log, scale) / np.where(usable, mase, 1.0)
        weight = np.minimum(np.where(usable & np.isfinite(weight), weight, 0.0), 1e30)  # finite in float32
        level = np.where(log, 0.0, shift / scale + base)
        log_scale = np.where(log, scale, 0.0)
        return np.concatenate([weight, level, log_scale, log.astype(float)], axis=1).astype(np.float32)
