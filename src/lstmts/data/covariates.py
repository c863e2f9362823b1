"""Covariates: extra CSV columns and calendar features as model inputs beside the target.

Past-only covariates are known up to the forecast origin (yesterday's footfall); known-future
ones are known ahead (planned promotions, holidays) and so are the calendar features derived
from the dates. Raw values live in `Covariates`, one row per series position; the future rows
may go on past the end of the series (the values a forecast beyond the data needs). `Scaling`
standardises the CSV columns with a mean and standard deviation of the training part only;
calendar features are 0/1 or on the unit circle and stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstmts.data.frequency import Frequency
from lstmts.errors import UserError


@dataclass(frozen=True)
class Covariates:
    """Raw covariate values: past [positions, P] up to the series' end, future [positions (+ beyond), F]."""

    past_names: tuple[str, ...]
    future_names: tuple[str, ...]  # the CSV's known-future columns, then the calendar features
    past: np.ndarray
    future: np.ndarray
    calendar: tuple[str, ...] = ()  # the calendar features' names, the last columns of `future`

    def window(self, start: int, stop: int) -> Covariates:
        """Return the covariates of positions start..stop-1; the future ones keep their rows after stop."""
        return Covariates(self.past_names, self.future_names, self.past[start:stop], self.future[start:],
                          self.calendar)

    def with_future(self, future: np.ndarray) -> Covariates:
        """Return a copy whose future rows are `future` (the series' rows, then those beyond it)."""
        return Covariates(self.past_names, self.future_names, self.past, np.asarray(future, dtype="float64"),
                          self.calendar)


# Calendar features per frequency: one-hot positions in a cycle, or a cycle on the unit circle
# where one-hot would need too many columns (day of the year).
def calendar_features(dates: pd.DatetimeIndex, frequency: Frequency) -> tuple[tuple[str, ...], np.ndarray]:
    """Return (names, [dates, features]) of the calendar features that suit the frequency."""
    name = frequency.name
    parts: list[tuple[list[str], np.ndarray]] = []

    def one_hot(label: str, positions: np.ndarray, count: int, first: int = 0) -> None:
        columns = np.zeros((len(positions), count))
        columns[np.arange(len(positions)), np.asarray(positions) - first] = 1.0
        parts.append(([f"{label}_{k + first}" for k in range(count)], columns))

    def circle(label: str, fraction: np.ndarray) -> None:
        angle = 2 * np.pi * np.asarray(fraction, dtype="float64")
        parts.append(([f"{label}_sin", f"{label}_cos"], np.column_stack([np.sin(angle), np.cos(angle)])))

    day_of_year = (dates.dayofyear.to_numpy() - 1) / 365.25
    if frequency.intraday:
        one_hot("hour", dates.hour.to_numpy(), 24)
        one_hot("weekday", dates.dayofweek.to_numpy(), 7)
    elif name in ("daily", "business daily"):
        one_hot("weekday", dates.dayofweek.to_numpy(), 7 if name == "daily" else 5)
        circle("year", day_of_year)
    elif name == "weekly":
        circle("year", day_of_year)
    elif name == "monthly":
        one_hot("month", dates.month.to_numpy(), 12, first=1)
    elif name == "quarterly":
        one_hot("quarter", dates.quarter.to_numpy(), 4, first=1)
    else:
        raise UserError(f"data.calendar=true has no calendar features for {name} data (month for monthly, weekday for"
                        f" daily, hour for hourly ...); set data.calendar=false")
    names = tuple(n for names, _ in parts for n in names)
    return names, np.concatenate([columns for _, columns in parts], axis=1)


def future_dates(labels: pd.DatetimeIndex, frequency: Frequency, steps: int) -> pd.DatetimeIndex:
    """Return the `steps` dates after `labels` at the series' frequency."""
    return frequency.dates_after(labels[-1], steps)


def extend_calendar(covariates: Covariates, labels: pd.Index, frequency: Frequency, steps: int) -> Covariates:
    """Return the covariates with calendar rows computed for `steps` dates past the series (and its future rows)."""
    if not covariates.calendar:
        return covariates
    have = len(covariates.future)
    needed = len(labels) + steps
    if have >= needed:
        return covariates
    dates = labels.append(future_dates(labels, frequency, needed - len(labels)))
    _, features = calendar_features(dates, frequency)
    user = len(covariates.future_names) - len(covariates.calendar)
    future = np.full((needed, len(covariates.future_names)), np.nan)
    future[:have] = covariates.future
    future[have:, user:] = features[have:]
    return covariates.with_future(future)


def with_future_values(covariates: Covariates, labels: pd.Index, frequency: Frequency, values: np.ndarray) -> Covariates:
    """Return the covariates of the series followed by `values` [steps, CSV future columns] of the steps after it.

    The calendar features of those steps come from their dates.
    """
    values = np.asarray(values, dtype="float64").reshape(len(values), -1)
    rows = len(labels)
    user = len(covariates.future_names) - len(covariates.calendar)
    future = np.full((rows + len(values), len(covariates.future_names)), np.nan)
    future[:rows] = covariates.future[:rows]
    future[rows:, :user] = values
    if covariates.calendar:
        extended = extend_calendar(covariates.with_future(covariates.future[:rows]), labels, frequency, len(values))
        future[rows:, user:] = extended.future[rows:, user:]
    return covariates.with_future(future)


def check_no_leak(target: np.ndarray, columns: dict[str, np.ndarray], path, max_shift: int) -> None:
    """Raise UserError for a column equal to the target, or to it shifted forward by 1..max_shift steps.

    Equal means equal within a relative tolerance of 1e-6, or a correlation of 0.9999 or more
    (a rescaled copy of the target leaks it as well).
    """
    target = np.asarray(target, dtype="float64")
    spread = float(np.max(np.abs(target))) or 1.0
    for name, column in columns.items():
        for shift in range(0, min(max_shift, len(target) - 3) + 1):
            ahead, now = target[shift:], np.asarray(column[:len(target) - shift], dtype="float64")
            same = np.allclose(now, ahead, rtol=1e-6, atol=1e-9 * spread)
            if not same and np.std(now) > 0 and np.std(ahead) > 0:
                same = abs(float(np.corrcoef(now, ahead)[0, 1])) >= 0.9999
            if same:
                what = "the target itself" if shift == 0 else f"the target {shift} step(s) ahead"
                raise UserError(f"covariate {name!r} of {path} equals {what}: it would hand the model the value it"
                                f" forecasts; remove it from data.covariates")


# A covariate this close to the target (or its change) over the training part moves with it: unless
# its values are known only after the target's, it hands the model the answer.
NEAR_COPY = 0.99
# Values further than this many widths of the training range outside it are where the model never learned.
RANGE_WIDTHS = 10


def _correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 3 or not np.std(a) > 0 or not np.std(b) > 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _position(labels: pd.Index, position: int) -> str:
    if position >= len(labels):
        return f"{position - len(labels) + 1} steps after the data"
    value = labels[position]
    if isinstance(value, pd.Timestamp):
        return value.isoformat() if value != value.normalize() else value.strftime("%Y-%m-%d")
    return str(value)


def covariate_warnings(target: np.ndarray, covariates: Covariates, labels: pd.Index, stop: int) -> list[str]:
    """Return one line per suspicious CSV covariate, judged against positions 0..stop-1 (the training part).

    Suspicious: an absolute correlation of NEAR_COPY or more with the target, or with its change
    from one step to the next, over the training part (a rescaled, noisy or negated copy); or a
    value after it (the test period, a forecast's known-future rows) more than RANGE_WIDTHS widths
    of the training range outside that range. Calendar features are never suspicious.
    """
    target = np.asarray(target, dtype="float64")[:stop]
    user = len(covariates.future_names) - len(covariates.calendar)
    columns = [(name, covariates.past[:, k]) for k, name in enumerate(covariates.past_names)]
    columns += [(name, covariates.future[:, k]) for k, name in enumerate(covariates.future_names[:user])]
    lines = []
    for name, column in columns:
        column = np.asarray(column, dtype="float64")
        train = column[:stop]
        for what, reference, own in (("the target", target, train),
                                     ("the target's change from one step to the next", np.diff(target), train[1:])):
            correlation = _correlation(own, reference)
            if correlation is not None and abs(correlation) >= NEAR_COPY:
                lines.append(f"covariate {name!r} is nearly a copy of {what} (correlation {correlation:.4f} over the"
                             f" training part): unless its values are known only after the target's, it leaks the"
                             f" target and scores flatter the model")
                break
        low, high = float(np.min(train)), float(np.max(train))
        reach = RANGE_WIDTHS * (high - low)
        later = column[stop:]
        outside = np.flatnonzero(np.isfinite(later) & ((later < low - reach) | (later > high + reach)))
        if len(outside):
            position = stop + int(outside[0])
            lines.append(f"covariate {name!r} is {column[position]:.6g} at {_position(labels, position)}, far outside"
                         f" its training range {low:.6g} .. {high:.6g} ({len(outside)} such value(s)): the model never"
                         f" saw such inputs, so its forecasts and their intervals there mean little")
    return lines


@dataclass
class Scaling:
    """Per-column mean and standard deviation of the CSV covariates over the training part."""

    past_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    past_scale: np.ndarray = field(default_factory=lambda: np.ones(0))
    future_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    future_scale: np.ndarray = field(default_factory=lambda: np.ones(0))

    @classmethod
    def fit(cls, covariates: Covariates, stop: int) -> Scaling:
        """Fit on positions 0..stop-1 (the training part); calendar features keep mean 0 and scale 1."""
        user = len(covariates.future_names) - len(covariates.calendar)
        names = covariates.past_names + covariates.future_names[:user]
        rows = np.concatenate([covariates.past[:stop], covariates.future[:stop, :user]], axis=1)
        mean, scale = rows.mean(axis=0), rows.std(axis=0)
        flat = [name for name, s in zip(names, scale) if not s > 0]
        if flat:
            raise UserError(f"covariate {flat[0]!r} is constant over the training period, so the model cannot learn"
                            f" what it does; remove it from data.covariates or use a longer training period")
        calendar = len(covariates.calendar)
        count = len(covariates.past_names)
        return cls(mean[:count], scale[:count], np.concatenate([mean[count:], np.zeros(calendar)]),
                   np.concatenate([scale[count:], np.ones(calendar)]))

    def past(self, covariates: Covariates) -> np.ndarray:
        return (covariates.past - self.past_mean) / self.past_scale

    def future(self, covariates: Covariates) -> np.ndarray:
        return (covariates.future - self.future_mean) / self.future_scale

    def state(self) -> dict:
        return {key: getattr(self, key).tolist() for key in ("past_mean", "past_scale", "future_mean", "future_scale")}

    @classmethod
    def from_state(cls, state: dict) -> Scaling:
        return cls(**{key: np.asarray(value, dtype="float64") for key, value in state.items()})


@dataclass(frozen=True)
class Scaled:
    """Model-ready covariates: past [positions, P] and future [positions (+ beyond), F], scaled."""

    past: np.ndarray
    future: np.ndarray

    @classmethod
    def of(cls, covariates: Covariates | None, scaling: Scaling | None) -> Scaled | None:
        if covariates is None:
            return None
        return cls(scaling.past(covariates), scaling.future(covariates))

    @property
    def has_past(self) -> bool:
        return self.past.shape[1] > 0
