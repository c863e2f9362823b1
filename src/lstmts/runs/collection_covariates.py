"""Covariates as extra input channels of a collection's global network.

At every input step of a window the network sees, beside the series' own (scaled) value:

- the past-only covariates at that step (known up to the forecast origin);
- the known-future covariates and calendar features of every step it forecasts (horizon x
  columns, the same at each input step: what is known about the period ahead);
- the series' static attributes (numbers standardised over the series, text one-hot).

The CSV columns are standardised with the mean and standard deviation of every series' training
part pooled; calendar features stay 0/1. An input step before a series' first value (a padded
input) takes the first row's covariates, as its value takes the first value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmts.data.collection import Member
from lstmts.data.covariates import Covariates, Scaling
from lstmts.errors import UserError


@dataclass(frozen=True)
class Channels:
    """How a group's covariates become input channels: their pooled scaling and how many there are."""

    scaling: Scaling
    past: int  # past-only columns
    future: int  # known-future columns and calendar features
    static: int  # encoded static attributes

    def count(self, horizon: int) -> int:
        """Return the extra input channels per step for a network forecasting `horizon` steps."""
        return self.past + self.future * horizon + self.static


def fit(members: list[Member]) -> Channels | None:
    """Return the channels of members' covariates, scaled on their training parts pooled; None without any."""
    with_covariates = [m for m in members if m.covariates is not None]
    with_static = [m for m in members if m.static is not None]
    if not with_covariates and not with_static:
        return None
    if (with_covariates and len(with_covariates) < len(members)) or (with_static and len(with_static) < len(members)):
        raise UserError("some series of the collection have covariates and others not; give every series the same"
                        " covariate columns")
    if with_covariates:
        first = with_covariates[0].covariates
        pooled = Covariates(first.past_names, first.future_names,
                            np.concatenate([m.covariates.past[:len(m.train)] for m in members]),
                            np.concatenate([m.covariates.future[:len(m.train)] for m in members]), first.calendar)
        scaling = Scaling.fit(pooled, len(pooled.past))
        past, future = len(first.past_names), len(first.future_names)
    else:
        scaling, past, future = Scaling(), 0, 0
    static = len(with_static[0].static) if with_static else 0
    return Channels(scaling, past, future, static)


def channels(spec: Channels, member: Member, starts: np.ndarray, look_back: int, horizon: int) -> np.ndarray:
    """Return [windows, look_back, channels] for the windows whose first input is at each of `starts`.

    A start below 0 (an input padded in front) repeats row 0 for the missing steps. The forecast
    steps' known-future rows must exist (a forecast past the data brings them with --future).
    """
    starts = np.asarray(starts, dtype=int)
    parts = []
    if spec.past or spec.future:
        covariates = member.covariates
        if spec.past:
            past = spec.scaling.past(covariates)
            rows = np.clip(starts[:, None] + np.arange(look_back), 0, None)
            if rows.max(initial=0) >= len(past):
                raise UserError(f"series {member.id}: its past-only covariates end before the forecast origin;"
                                f" a forecast further ahead than the run's horizon cannot use them")
            parts.append(past[rows])
        if spec.future:
            future = spec.scaling.future(covariates)
            ahead = np.clip(starts[:, None] + look_back + np.arange(horizon), 0, None)
            if ahead.max(initial=0) >= len(future) or not np.all(np.isfinite(future[ahead])):
                raise UserError(f"series {member.id} has no known-future covariate values for some of the"
                                f" {horizon} steps it forecasts; give them (lstmts forecast --future FILE.csv)")
            flat = future[ahead].reshape(len(starts), -1)
            parts.append(np.repeat(flat[:, None, :], look_back, axis=1))
    if spec.static:
        parts.append(np.broadcast_to(member.static, (len(starts), look_back, spec.static)))
    return np.concatenate(parts, axis=2) if parts else np.zeros((len(starts), look_back, 0))
