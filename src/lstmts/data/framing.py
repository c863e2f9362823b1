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
    first = max(start, history_start + look_back)
    last = stop - 1 if drop_last else stop
    return np.arange(first, max(first, last))


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


def _periods(length, look_back, train_fraction, validation_fraction, drop_last, test_windows_inside_split, warmup):
    split = int(length * train_fraction)
    val_start = split - int(split * validation_fraction) if validation_fraction else split
    train = target_range(warmup, val_start, look_back, warmup, drop_last and not validation_fraction)
    validation = target_range(val_start, split, look_back, warmup, drop_last) if validation_fraction else np.arange(0)
    test_history = split if test_windows_inside_split else warmup
    test = target_range(split, length, look_back, test_history, drop_last)
    return Periods(train=train, validation=validation, test=test, split=split)


def _empty_periods(periods: Periods, validation_fraction: float) -> list[str]:
    names = ["train", "validation", "test"] if validation_fraction else ["train", "test"]
    return [name for name in names if len(getattr(periods, name)) == 0]


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
        needed = next(
            (n for n in range(2, 1_000_000) if not _empty_periods(_periods(n, look_back, *options), validation_fraction)),
            None,
        )
        raise UserError(
            f"the series has {length} values, too short for framing.look_back={look_back} and"
            f" split.train_fraction={train_fraction}: the {' and '.join(empty)} period{'s get' if len(empty) > 1 else ' gets'} no sample;"
            f" it needs at least {needed} values, or use a smaller framing.look_back"
            + (f" or split.validation_fraction (now {validation_fraction})" if validation_fraction else "")
        )
    return periods
