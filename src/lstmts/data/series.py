"""Reading a series from CSV and checking it, so that bad input fails with one clear line."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lstmts.errors import UserError


@dataclass(frozen=True)
class Series:
    """A univariate series: float values, their labels (dates or positions) and where it came from."""

    values: np.ndarray
    labels: pd.Index
    name: str
    path: Path
    sha256: str

    @property
    def has_dates(self) -> bool:
        return isinstance(self.labels, pd.DatetimeIndex)

    def label(self, index: int) -> str:
        """Return the label of position `index` as text: an ISO date or the position itself."""
        value = self.labels[index]
        if self.has_dates:
            return value.strftime("%Y-%m-%d")
        return str(value)


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_frame(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise UserError(f"data file {path} does not exist; check data.path (relative paths start at the current folder)")
    if path.is_dir():
        raise UserError(f"data file {path} is a folder; point data.path at a CSV file")
    try:
        # Blank lines are read as empty rows and dropped here, so that the index keeps each
        # row's position in the file and error messages can name the right line.
        frame = pd.read_csv(path, skip_blank_lines=False).dropna(how="all")
    except pd.errors.EmptyDataError:
        raise UserError(f"data file {path} is empty; give a CSV with a header line and one row per time step") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        first = str(error).splitlines()[0]
        raise UserError(f"data file {path} is not a readable CSV ({first}); save it as comma-separated text") from None
    except PermissionError:
        raise UserError(f"data file {path} cannot be read (permission denied); fix its permissions") from None
    if frame.empty:
        raise UserError(f"data file {path} has a header but no rows; add one row per time step")
    return frame


def _column(frame: pd.DataFrame, name: str, what: str, path: Path) -> pd.Series:
    if name not in frame.columns:
        columns = ", ".join(repr(str(c)) for c in frame.columns)
        raise UserError(f"{what} {name!r} is not in {path}; its columns are {columns}")
    return frame[name]


def _line(column: pd.Series, row: int) -> int:
    """Return the CSV line number of the row at position `row` (the header is line 1)."""
    return int(column.index[row]) + 2


def _numeric(column: pd.Series, name: str, path: Path) -> np.ndarray:
    numbers = pd.to_numeric(column, errors="coerce")
    bad = numbers.isna() & column.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError(
            f"column {name!r} of {path} has a non-numeric value {column.iloc[row]!r} on line {_line(column, row)}"
            f" ({int(bad.sum())} such value(s) in all); fix or remove those rows"
        )
    values = numbers.to_numpy(dtype="float64")
    if np.isinf(values).any():
        row = int(np.flatnonzero(np.isinf(values))[0])
        raise UserError(f"column {name!r} of {path} has an infinite value on line {_line(column, row)}; fix that row")
    return values


def _describe_rows(column: pd.Series, rows: np.ndarray) -> str:
    lines = [str(_line(column, int(r))) for r in rows[:5]]
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return ", ".join(lines) + more


def _dates(column: pd.Series, name: str, path: Path) -> pd.DatetimeIndex:
    # As text, so that a column of years (1949, 1950, ...) reads as years, not as nanoseconds.
    parsed = pd.to_datetime(column.astype("string"), errors="coerce", format="mixed")
    bad = parsed.isna()
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        raise UserError(
            f"date column {name!r} of {path} has {len(rows)} missing or unparseable date(s), first {column.iloc[rows[0]]!r}"
            f" on line {_line(column, int(rows[0]))}; use ISO dates such as 1949-01 or 1949-01-31"
        )
    dates = pd.DatetimeIndex(parsed)
    duplicated = dates.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated)[0])
        raise UserError(
            f"date column {name!r} of {path} repeats {dates[row].date()} on line {_line(column, row)}"
            f" ({int(duplicated.sum())} duplicate(s)); keep one row per date"
        )
    if not dates.is_monotonic_increasing:
        row = int(np.flatnonzero(np.diff(dates.asi8) < 0)[0]) + 1
        raise UserError(
            f"date column {name!r} of {path} is not sorted: line {_line(column, row)} ({dates[row].date()}) comes after"
            f" {dates[row - 1].date()}; sort the file by date"
        )
    return dates


def _handle_missing(values: np.ndarray, labels: pd.Index, missing: str, column: pd.Series, path: Path):
    gaps = np.isnan(values)
    if not gaps.any():
        return values, labels
    if gaps.all():
        raise UserError(f"column {column.name!r} of {path} has no values at all; point data.column at the column with the series")
    rows = np.flatnonzero(gaps)
    if missing == "error":
        raise UserError(
            f"column {column.name!r} of {path} has {len(rows)} missing value(s), on line(s) {_describe_rows(column, rows)};"
            f" fill them, or set data.missing=interpolate (linear) or data.missing=drop"
        )
    if missing == "drop":
        keep = ~gaps
        return values[keep], labels[keep]
    filled = pd.Series(values).interpolate(method="linear", limit_direction="both").to_numpy()
    return filled, labels


def load_series(data_cfg, default_path: Path) -> Series:
    """Return the checked series that data_cfg names; raise UserError for any bad input."""
    path = Path(data_cfg.path) if data_cfg.path else default_path
    frame = _read_frame(path)
    value_column = _column(frame, data_cfg.column, "value column", path)
    values = _numeric(value_column, data_cfg.column, path)
    if data_cfg.get("date_column"):
        labels: pd.Index = _dates(_column(frame, data_cfg.date_column, "date column", path), data_cfg.date_column, path)
    else:
        labels = pd.RangeIndex(len(values), name="t")
    values, labels = _handle_missing(values, labels, data_cfg.missing, value_column, path)
    if len(values) and np.nanmax(values) == np.nanmin(values):
        raise UserError(
            f"column {data_cfg.column!r} of {path} is constant ({values[0]:g}); scaling would divide by zero,"
            f" and there is nothing to forecast"
        )
    return Series(values=values, labels=labels, name=str(data_cfg.column), path=path.resolve(), sha256=file_sha256(path))
