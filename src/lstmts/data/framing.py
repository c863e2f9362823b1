"""Turning a series into supervised windows and knowing which time index each target belongs to.

A sample with target index t has the inputs values[t - look_back : t] and the target values[t].
With covariates, the window also holds the past-only covariates at t - look_back .. t - 1 (known
up to the origin t) and the known-future covariates one step later, at t - look_back + 1 .. t:
the window of the target at t includes the future covariates' values at t itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmts.errors import UserError


@dataclass(frozen=True)
class Windows:
    """Model-ready inputs [samples, time steps, features], targets [samples] and their series indices."""

    inputs: np.ndarray
    targets: np.ndarray
    target_index: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)


def target_range(start: int, stop: int, look_back: int, history_start: int, drop_last: bool) -> np.ndarray:
    """Return the target indices of a period [start, stop) whose windows begin at or after history_start.

    drop_last reproduces the tutorial's range(len(split) - look_back - 1), which loses the
    period's last usable target.
    """
    span = _target_span(start, stop, look_back, history_start, drop_last)
    return np.arange(span.start, span.stop)


def _target_span(start: int, stop: int, look_back: int, history_start: int, drop_last: bool) -> range:
    # A range, not an array: plan_periods tries lengths and look_backs far beyond any series.
    first = max(start, history_start + look_back)
    last = stop - 1 if drop_last else stop
    return range(first, max(first, last))


def lag_matrix(values: np.ndarray, target_index: np.ndarray, look_back: int) -> np.ndarray:
    """Return [samples, look_back] with row k = values[t_k - look_back : t_k]."""
    offsets = np.arange(-look_back, 0)
    return values[np.asarray(target_index)[:, None] + offsets]


def covariate_lags(covariates, target_index: np.ndarray, look_back: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ([samples, look_back, P] past-only covariates at t-look_back..t-1, [samples, look_back, F] known-future ones at t-look_back+1..t).

    `covariates` has `past` [positions, P] and `future` [positions, F] (lstmts.data.covariates.Scaled).
    """
    offsets = np.asarray(target_index)[:, None] + np.arange(-look_back, 0)
    return covariates.past[offsets], covariates.future[offsets + 1]


def shape_inputs(lags: np.ndarray, lags_as: str, past: np.ndarray | None = None,
                 future: np.ndarray | None = None) -> np.ndarray:
    """Shape lags (and covariate lags) for an LSTM.

    features: one time step, [samples, 1, look_back * (1 + P + F)]: the target's lags, then each
    covariate's look_back values in turn. timesteps: [samples, look_back, 1 + P + F], the target
    and the covariates side by side at every time step.
    """
    if lags_as not in ("features", "timesteps"):
        raise ValueError(f"lags_as must be 'features' or 'timesteps', not {lags_as!r}")
    columns = [lags[:, :, None]] + [c for c in (past, future) if c is not None and c.shape[2]]
    if lags_as == "timesteps":
        return np.concatenate(columns, axis=2)
    return np.concatenate([c.transpose(0, 2, 1).reshape(len(lags), -1) for c in columns], axis=1)[:, None, :]


def make_windows(values: np.ndarray, target_index: np.ndarray, look_back: int, lags_as: str,
                 outputs: int = 1, covariates=None) -> Windows:
    """Return the windows for the given target indices, as float32 model inputs.

    With outputs H > 1 (the direct strategy) each target row holds values[t], ..., values[t + H - 1];
    the caller keeps t + H - 1 inside the period it trains on. With `covariates`
    (lstmts.data.covariates.Scaled) they join the features (see covariate_lags and shape_inputs).
    """
    target_index = np.asarray(target_index, dtype=np.int64)
    lags = lag_matrix(values, target_index, look_back)
    targets = values[target_index] if outputs == 1 else values[target_index[:, None] + np.arange(outputs)]
    past, future = covariate_lags(covariates, target_index, look_back) if covariates is not None else (None, None)
    return Windows(
        inputs=shape_inputs(lags, lags_as, past, future).astype("float32"),
        targets=targets.astype("float32"),
        target_index=target_index,
    )


@dataclass(frozen=True)
class Periods:
    """Target indices of the training, validation and test periods."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    split: int


def _periods(length, look_back, train_fraction, validation_fraction, drop_last, test_windows_inside_split,
             warmup) -> dict[str, range]:
    split = int(length * train_fraction)
    val_start = split - int(split * validation_fraction) if validation_fraction else split
    train = _target_span(warmup, val_start, look_back, warmup, drop_last and not validation_fraction)
    validation = _target_span(val_start, split, look_back, warmup, drop_last) if validation_fraction else range(0)
    test_history = split if test_windows_inside_split else warmup
    test = _target_span(split, length, look_back, test_history, drop_last)
    return {"train": train, "validation": validation, "test": test, "split": split}


def _empty_periods(periods: dict, validation_fraction: float) -> list[str]:
    names = ["train", "validation", "test"] if validation_fraction else ["train", "test"]
    return [name for name in names if not periods[name]]


def _smallest(fits, start: int, limit: int) -> int | None:
    """Return the smallest n >= start for which fits(n) holds, for fits that holds from some n on; None beyond limit."""
    high = start
    while not fits(high):
        if high > limit:
            return None
        high *= 2
    low = max(start, high // 2)
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if fits(middle) else (middle + 1, high)
    return low


def _largest(fits, stop: int) -> int | None:
    """Return the largest n in 1..stop for which fits(n) holds, for fits that holds up to some n; None if fits(1) fails."""
    if not fits(1):
        return None
    low, high = 1, stop
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    return low


def plan_periods(
    length: int,
    look_back: int,
    train_fraction: float,
    *,
    validation_fraction: float = 0.0,
    drop_last: bool,
    test_windows_inside_split: bool,
    warmup: int = 0,
) -> Periods:
    """Return the target indices of each period; raise UserError when one would be empty.

    The split is int(length * train_fraction), as in the tutorial. The validation period, if
    any, is the last validation_fraction of the training period. warmup values at the start have
    no transformed value (differencing) and cannot be used as history.
    """
    options = (train_fraction, validation_fraction, drop_last, test_windows_inside_split, warmup)
    periods = _periods(length, look_back, *options)
    empty = _empty_periods(periods, validation_fraction)
    if empty:
        # More values never empty a period and a longer look_back never fills one, so both are searched.
        def fits(n: int, back: int) -> bool:
            return not _empty_periods(_periods(n, back, *options), validation_fraction)

        needed = _smallest(lambda n: fits(n, look_back), 2, limit=(look_back + warmup + 2) * 2**64)
        largest = _largest(lambda back: fits(length, back), length)
        raise UserError(
            f"the series has {length} values, too short for framing.look_back={look_back} and"
            f" split.train_fraction={train_fraction}: the {' and '.join(empty)} period{'s get' if len(empty) > 1 else ' gets'} no sample;"
            + (f" it needs at least {needed} values" if needed else " no length of series is enough with these fractions")
            + (f", or use a smaller framing.look_back: {largest} at most" if largest else "")
            + (f" or split.validation_fraction (now {validation_fraction})" if validation_fraction else "")
        )
    return Periods(train=np.arange(periods["train"].start, periods["train"].stop),
                   validation=np.arange(periods["validation"].start, periods["validation"].stop),
                   test=np.arange(periods["test"].start, periods["test"].stop), split=periods["split"])
