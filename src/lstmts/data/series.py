"""Reading a series from CSV and checking it, so that bad input fails with one clear line."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lstmts.data.covariates import Covariates, calendar_features, check_no_leak
from lstmts.data.frequency import SUMMER_TIME, Frequency, infer_frequency, when
from lstmts.errors import UserError, override, plain_override


@dataclass(frozen=True)
class Series:
    """A univariate series: float values, their labels (dates or positions) and where it came from."""

    values: np.ndarray
    labels: pd.Index
    name: str
    path: Path
    sha256: str
    frequency: Frequency
    covariates: Covariates | None = None
    dayfirst: bool = False  # dates such as 01/03/2024 were read day first (data.dayfirst, or told by the data)
    offset: str | None = None  # the one time-zone offset its dates were written with ("+11:00"), dropped from them
    filled: int = 0  # missing values filled in between known ones (data.missing=interpolate)
    trimmed: int = 0  # missing values left out before the first or after the last known value
    newest_first: bool = False  # the file lists its dates newest first; they are read oldest first

    def window(self, start: int, stop: int) -> Series:
        """Return positions start..stop-1 of the series; known-future covariates keep their later rows."""
        covariates = self.covariates.window(start, stop) if self.covariates is not None else None
        return dataclasses.replace(self, values=self.values[start:stop], labels=self.labels[start:stop],
                                   covariates=covariates)

    @property
    def has_dates(self) -> bool:
        return isinstance(self.labels, pd.DatetimeIndex)

    def label(self, index: int) -> str:
        """Return the label of position `index` as text: an ISO date (with the time below daily data) or the position."""
        value = self.labels[index]
        if self.has_dates:
            return value.isoformat() if value != value.normalize() else value.strftime("%Y-%m-%d")
        return str(value)


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_options(data_cfg) -> dict:
    """Return how the CSV is written, as read_csv's sep, thousands, decimal and na_values (data.sep,
    data.thousands, data.decimal, data.na_values: marks of a missing value besides pandas' own)."""
    sep = data_cfg.get("sep") or ","
    return {"sep": "\t" if sep == "\\t" else sep, "thousands": data_cfg.get("thousands"),
            "decimal": data_cfg.get("decimal") or ".", "na_values": [str(v) for v in data_cfg.get("na_values") or []],
            "skiprows": int(data_cfg.get("skiprows") or 0), "encoding": data_cfg.get("encoding") or "utf-8"}


DEFAULT_READ = {"sep": ",", "thousands": None, "decimal": ".", "na_values": [], "skiprows": 0, "encoding": "utf-8"}

# Texts that some sources write for a missing value and pandas reads as text: FRED's ".", the "..",
# "-" or "--" of statistical offices' tables, "?". pandas' own (empty, NA, NaN, null, #N/A, ...)
# are read as missing already.
MISSING_MARKS = frozenset({".", "..", "-", "--", "?", "n.a."})


def _read_frame(path: Path, options: dict = DEFAULT_READ) -> pd.DataFrame:
    if not path.exists():
        raise UserError(f"data file {path} does not exist; check data.path (relative paths start at the current folder)")
    if path.is_dir():
        raise UserError(f"data file {path} is a folder; point data.path at a CSV file")
    try:
        # Blank lines are read as empty rows and dropped here, so that the index keeps each
        # row's position in the file and error messages can name the right line.
        frame = pd.read_csv(path, skip_blank_lines=False, **options)
    except pd.errors.EmptyDataError:
        raise UserError(f"data file {path} is empty; give a CSV with a header line and one row per time step") from None
    except UnicodeDecodeError as error:
        raise UserError(_encoding_hint(path, error, options.get("encoding", "utf-8"))) from None
    except LookupError as error:  # an encoding Python does not know
        raise UserError(f"data.encoding={options.get('encoding')!r} is no text encoding Python knows ({error});"
                        f" use e.g. utf-8, cp1252 or utf-16") from None
    except pd.errors.ParserError as error:
        first = str(error).splitlines()[0]
        notes = _notes_above_header(path, options)
        if notes:
            count, header = notes
            raise UserError(f"data file {path} starts with {count} line(s) of notes above its header line (line"
                            f" {options['skiprows'] + count + 1}: {header!r}); skip them with"
                            f" data.skiprows={options['skiprows'] + count}") from None
        raise UserError(f"data file {path} is not a readable CSV ({first}); save it as comma-separated text") from None
    except PermissionError:
        raise UserError(f"data file {path} cannot be read (permission denied); fix its permissions") from None
    refuse_extra_fields(frame, path, options.get("sep", ","))
    refuse_values_as_header(frame, path)
    skipped = options.get("skiprows", 0)
    frame.index = frame.index + skipped  # so that each row's index still gives its line in the file
    frame = frame.dropna(how="all")
    if frame.empty:
        raise UserError(f"data file {path} has a header but no rows; add one row per time step")
    check_unique_columns(path, "data file", options.get("sep", ","), skipped, options.get("encoding", "utf-8"))
    return frame


def _encoding_hint(path: Path, error: UnicodeDecodeError, encoding: str) -> str:
    """Return the line for a file that is not text in data.encoding: UTF-16 (its byte-order mark says so,
    as Excel's "Unicode text" writes it), or else most likely Windows' cp1252 (Excel's CSV on Windows)."""
    with open(path, "rb") as handle:
        start = handle.read(4096)
    if b"\x00" in start and start[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        return f"data file {path} is not a readable CSV (it holds binary data, not text); point data.path at a CSV file"
    found = f"data file {path} is not {encoding} text (it holds the byte 0x{error.object[error.start:error.start + 1].hex()})"
    if start[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return f"{found}: it is UTF-16 text (as Excel's Unicode text is written); read it with data.encoding=utf-16"
    return f"{found}; read it with the encoding it was saved in, most likely data.encoding=cp1252 (Excel on Windows)"


def _notes_above_header(path: Path, options: dict) -> tuple[int, str] | None:
    """Return (how many lines, the header line) when the first lines of a file that pandas cannot read
    have fewer fields than every line from some line on (a title, a link and a source above the
    header, as some agencies' downloads have them), or None."""
    import csv
    import itertools

    skipped = options.get("skiprows", 0)
    with open(path, newline="", encoding=options.get("encoding", "utf-8"), errors="replace") as handle:
        lines = list(itertools.islice(handle, skipped, skipped + 200))
    counts = [len(fields) for fields in csv.reader(lines, delimiter=options.get("sep", ","))]
    if len(counts) < 3:
        return None
    widest = max(counts)
    start = next((i for i, count in enumerate(counts) if count == widest), None)
    body = [count for count in counts[start:] if count]  # blank lines apart
    if not start or widest < 2 or any(count != widest for count in body):
        return None
    return start, lines[start].rstrip("\r\n")


def _reads_as_value(name) -> bool:
    """Return whether a header field reads as a number (112, 3.5) or a date (1949-01) rather than a name."""
    text = str(name).strip()
    try:
        float(text)
        return True
    except ValueError:
        pass
    if not any(character.isdigit() for character in text):
        return False
    if _period_labels(pd.Series([text], dtype="string")) is not None:  # 1956 Q1, 1991 W06
        return True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.notna(pd.to_datetime(text, errors="coerce"))


def refuse_values_as_header(frame: pd.DataFrame, path: Path) -> None:
    """Raise UserError when every field of the header line reads as a value (a file without a header
    line: pandas would take its first row for the names, and that row would be lost)."""
    names = list(frame.columns)
    if names and all(_reads_as_value(name) for name in names):
        shown = ", ".join(repr(str(name)) for name in names[:4]) + (", ..." if len(names) > 4 else "")
        raise UserError(f"the first line of {path} holds values ({shown}), not column names: the file has no header"
                        f" line; add one that names the columns (e.g. date,value) so that its first row is read")


def refuse_extra_fields(frame: pd.DataFrame, path: Path, sep: str = ",") -> None:
    """Raise UserError when rows have more fields than the header line names: pandas makes the first
    ones the frame's index without a word (a ;-separated file read with , is the usual cause)."""
    if type(frame.index) is not pd.RangeIndex:
        names = ", ".join(repr(str(c)) for c in frame.columns)
        hint = _separator_hint(frame, sep)
        raise UserError(f"the rows of {path} have more fields than its header line names ({names})"
                        + (f": {hint}" if hint else "; give every column a name in the header line"))


def check_unique_columns(path: Path, what: str, sep: str = ",", skiprows: int = 0, encoding: str = "utf-8") -> None:
    """Raise UserError when the CSV's header line (after `skiprows` lines) gives one name to several columns.

    pandas renames the copies (value, value.1, ...), so a repeated name would silently read the first.
    """
    header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False, skip_blank_lines=False,
                         sep=sep, skiprows=skiprows, encoding=encoding).iloc[0]
    counts = header[header != ""].value_counts(sort=False)
    repeated = [name for name, count in counts.items() if count > 1]
    if repeated:
        names = ", ".join(repr(name) for name in repeated)
        raise UserError(f"{what} {path} names {names} more than once in its header line; rename or remove the repeated"
                        f" column(s) so that each name is used once (otherwise only the first would be read)")


# Field separators other than data.sep that a header line gives away.
_SEPARATORS = (";", "\t", "|", ",")


def _separator_hint(frame: pd.DataFrame, sep: str) -> str | None:
    """Return "the file looks separated by ';', read it with data.sep=..." when the column names hold another separator."""
    other = next((s for s in _SEPARATORS if s != sep and any(s in str(c) for c in frame.columns)), None)
    if other is None:
        return None
    written = override("data.sep", "\\t" if other == "\t" else other)
    return f"the file looks separated by {other!r}, read it with {written}"


def _column(frame: pd.DataFrame, name: str, what: str, path: Path, sep: str = ",") -> pd.Series:
    if name not in frame.columns:
        columns = ", ".join(repr(str(c)) for c in frame.columns)
        hint = _separator_hint(frame, sep)
        raise UserError(f"{what} {name!r} is not in {path}; its columns are {columns}" + (f": {hint}" if hint else ""))
    return frame[name]


def _as_text(name, columns) -> str | None:
    """Return the column whose name Hydra reads as the non-text `name` (1949, 2.5, true, null), or None."""
    if isinstance(name, str):
        return None
    for column in map(str, columns):
        if name is None or isinstance(name, bool):
            if column.strip().lower() == ("null" if name is None else str(name).lower()):
                return column
            continue
        try:
            if float(column.replace("_", "")) == name:
                return column
        except ValueError:
            continue
    return None


def _check_hydra_types(frame: pd.DataFrame, data_cfg, path: Path) -> None:
    """Raise UserError when a column setting is a number, a boolean or null that the file has as a column name."""
    declared = data_cfg.get("covariates") or {}
    settings = []
    if data_cfg.get("column") is not None:  # null there means "the file's one numeric column" (find_columns)
        settings.append(("data.column", data_cfg.column))
    if data_cfg.get("date_column") not in (None, "auto"):  # null: no dates; auto: found in the file
        settings.append(("data.date_column", data_cfg.date_column))
    settings += [(f"data.covariates.{kind}", list(declared.get(kind) or [])) for kind in ("past", "future")]
    for key, setting in settings:
        names = setting if isinstance(setting, list) else [setting]
        texts = [_as_text(name, frame.columns) for name in names]
        found = next(((name, text) for name, text in zip(names, texts) if text is not None), None)
        if found is None:
            continue
        fixed = [name if text is None else text for name, text in zip(names, texts)]
        name, text = found
        read = ("null (no value)" if name is None else f"{str(name).lower()} (a boolean)" if isinstance(name, bool)
                else f"{name} (a number)")
        hint = override(key, fixed if isinstance(setting, list) else text)
        raise UserError(f"{key} {'lists' if isinstance(setting, list) else 'is'} {read}, not the column {text!r} of"
                        f" {path}: Hydra reads such a value unquoted as it reads YAML; quote it: {hint}")


def _line(column: pd.Series, row: int) -> int:
    """Return the CSV line number of the row at position `row` (the header is line 1)."""
    return int(column.index[row]) + 2


# Ways of writing numbers, as (thousands separator, decimal mark): the default first, then the most common.
_NUMBER_STYLES = ((None, "."), (",", "."), (None, ","), (".", ","), (" ", "."), (" ", ","), ("'", "."))


def _number_style(texts, thousands: str | None, decimal: str) -> tuple[str | None, str] | None:
    """Return the (thousands, decimal) other than the given ones that reads every text as a number, or None."""
    for style in _NUMBER_STYLES:
        if style == (thousands, decimal):
            continue
        separator, mark = (re.escape(c) if c else None for c in style)
        whole = rf"(?:\d{{1,3}}(?:{separator}\d{{3}})+|\d+)" if separator else r"\d+"
        if all(re.fullmatch(rf"[+-]?{whole}(?:{mark}\d+)?", str(text).strip()) for text in texts):
            return style
    return None


def _numeric(column: pd.Series, name: str, path: Path, options: dict = DEFAULT_READ) -> np.ndarray:
    numbers = pd.to_numeric(column, errors="coerce")
    bad = numbers.isna() & column.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        found = (f"column {name!r} of {path} has a non-numeric value {column.iloc[row]!r} on line {_line(column, row)}"
                 f" ({int(bad.sum())} such value(s) in all)")
        marks = sorted({str(v).strip() for v in column[bad].unique()})
        if set(marks) <= MISSING_MARKS:
            raise UserError(f"{found}, which looks like a mark for a missing value; read it as one with"
                            f" {override('data.na_values', marks)} (data.missing=interpolate then fills such gaps)")
        style = _number_style(column[bad].unique(), options["thousands"], options["decimal"])
        if style is None:
            raise UserError(f"{found}; fix or remove those rows")
        keys = [override(f"data.{key}", value) for key, value, now in
                (("thousands", style[0], options["thousands"]), ("decimal", style[1], options["decimal"])) if value != now]
        raise UserError(f"{found}, a number written with {_style_name(style)}; read such numbers with {' '.join(keys)}")
    values = numbers.to_numpy(dtype="float64")
    if np.isinf(values).any():
        row = int(np.flatnonzero(np.isinf(values))[0])
        raise UserError(f"column {name!r} of {path} has an infinite value on line {_line(column, row)}; fix that row")
    huge = np.abs(values) > LARGEST
    if huge.any():
        row = int(np.flatnonzero(huge)[0])
        raise UserError(f"column {name!r} of {path} has the value {values[row]:g} on line {_line(column, row)}, beyond"
                        f" ±{LARGEST:g}: its square overflows (RMSE, training loss); rescale the column, e.g. to"
                        f" thousands or millions")
    return values


def _style_name(style: tuple[str | None, str]) -> str:
    thousands, decimal = style
    parts = ([f"{thousands!r} between thousands"] if thousands else []) + ([f"the decimal mark {decimal!r}"] if decimal != "." else [])
    return " and ".join(parts) or "a decimal point"


# Beyond these magnitudes squared errors overflow (1e150² = 1e300, near float64's 1.8e308) or
# underflow to zero (an RMSE of 0.0 for values near 1e-300).
LARGEST = 1e150
SMALLEST = 1e-150


def _describe_rows(column: pd.Series, rows: np.ndarray) -> str:
    lines = [str(_line(column, int(r))) for r in rows[:5]]
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return ", ".join(lines) + more


_SLASHED = r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}\b"


class AmbiguousDates(UserError):
    """Dates such as 01/02/1949 that read as day/month and as month/day: a date column all the same."""


class RepeatedDates(UserError):
    """A date (or time) that the date column gives to more than one row."""


def _has_times(dates: pd.DatetimeIndex) -> np.ndarray:
    """Return, per date, whether it has a time of day (anything but midnight)."""
    return np.asarray(dates != dates.normalize())


def _dayfirst(text: pd.Series, name: str, path: Path, dayfirst: bool | None) -> bool:
    """Return whether dates such as 01/02/1949 put the day first; refuse to guess when they could be either."""
    if dayfirst is not None:
        return bool(dayfirst)
    parts = text.str.extract(_SLASHED).dropna().astype(int)
    if parts.empty:
        return False
    if (parts[0] > 12).any():
        return True
    if (parts[1] > 12).any():
        return False
    raise AmbiguousDates(
        f"date column {name!r} of {path} has dates such as {text.iloc[0]!r} that read as day/month or as"
        f" month/day; say which with data.dayfirst=true or false (or data.date_format='%d/%m/%Y')"
    )


# Period labels as R's tsibble (yearquarter, yearweek) writes them: "1956 Q1", "1991 W06".
_QUARTER = re.compile(r"^\s*(\d{4})\s+Q([1-4])\s*$", re.IGNORECASE)
_ISO_WEEK = re.compile(r"^\s*(\d{4})\s*-?\s*W(\d{1,2})\s*$", re.IGNORECASE)


def _period_labels(text: pd.Series) -> pd.Series | None:
    """Return quarters ("1956 Q1": its first day) or ISO weeks ("1991 W06": its Monday) as dates when
    the column's first label is one of them, else None (the labels are read as dates). A later label
    of another kind, a quarter beyond pandas' dates or a week that its year does not have (W53 of
    most years, W54) is NaT, so it is named as unparseable."""
    present = text.dropna()
    if present.empty:
        return None
    dates = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if _QUARTER.match(present.iloc[0]):
        quarters = present.str.extract(_QUARTER).dropna()
        parts = pd.DataFrame({"year": quarters[0].astype(int), "month": 3 * quarters[1].astype(int) - 2, "day": 1})
        dates[quarters.index] = pd.to_datetime(parts, errors="coerce")
        return dates
    if _ISO_WEEK.match(present.iloc[0]):
        weeks = present.str.extract(_ISO_WEEK).dropna()
        mondays = pd.to_datetime(weeks[0] + "-W" + weeks[1].str.zfill(2) + "-1", format="%G-W%V-%u", errors="coerce")
        calendar = mondays.dt.isocalendar()
        real = (calendar["year"] == weeks[0].astype(int)) & (calendar["week"] == weeks[1].astype(int))
        dates[weeks.index] = mondays.where(real.fillna(False).astype(bool))
        return dates
    return None  # the first label says: no need to look at every row of a long column of dates


def parse_dates(column: pd.Series, name: str, path: Path, date_format: str | None = None,
                dayfirst: bool | None = None) -> tuple[pd.DatetimeIndex, str | None]:
    """Return a CSV column as dates, and the one time-zone offset they were written with ("+11:00",
    "+00:00" for Z; None for dates without one), which the dates leave out; raise UserError naming
    the first line that is not a date."""
    unit = None if date_format else unix_unit(column)
    # As text, so that a column of years (1949, 1950, ...) reads as years, not as nanoseconds.
    text = column.astype("string")
    periods = None if date_format or unit else _period_labels(text)
    if unit:
        parsed = pd.to_datetime(column, unit=unit, errors="coerce")
        hint = f"Unix times in {UNIX_UNITS[unit][1]} (since 1970-01-01 UTC) on every line"
    elif periods is not None:
        parsed = periods
        hint = "quarters such as 1956 Q1 or ISO weeks such as 1991 W06 (W01 to W52, or W53 in a long year)"
    elif date_format:
        parsed = _parse_given(text, name, path, date_format)
        hint = f"dates in the format data.date_format={date_format!r}"
    else:
        parsed = _parse_mixed(text, name, path, _dayfirst(text, name, path, dayfirst))
        hint = "ISO dates such as 1949-01 or 1949-01-31 (or set data.date_format)"
    bad = parsed.isna()
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        raise UserError(
            f"date column {name!r} of {path} has {len(rows)} missing or unparseable date(s), first {quoted(column.iloc[rows[0]])}"
            f" on line {_line(column, int(rows[0]))}; use {hint}"
        )
    offset = None
    if getattr(parsed.dt, "tz", None) is not None:
        # One offset for every date (2012-01-01T00:00:00Z, ...+01:00): the times of that one zone, as
        # written. Offsets that differ (summer time) never get here: _parse_mixed and _parse_given
        # refuse them.
        offset = _offset_text(parsed.iloc[0].utcoffset())
        parsed = parsed.dt.tz_localize(None)
    return pd.DatetimeIndex(parsed), offset


# Unix time, told apart by its size: seconds, milliseconds, microseconds or nanoseconds since
# 1970-01-01 UTC whose every value lies between 1973-03-03 (1e8 s) and 2100-01-01. Years (1949),
# day numbers and YYYYMMDD dates (20240131) are all smaller than the seconds of that range.
UNIX_UNITS = {"s": (1, "seconds"), "ms": (10 ** 3, "milliseconds"), "us": (10 ** 6, "microseconds"),
              "ns": (10 ** 9, "nanoseconds")}
UNIX_RANGE = (1e8, 4_102_444_800)


def unix_unit(column: pd.Series) -> str | None:
    """Return the unit ("s", "ms", "us", "ns") in which a numeric column's finite values are Unix times
    between 1973 and 2100, or None (text, no finite value, or numbers of no such size)."""
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return None
    values = column.to_numpy(dtype="float64")
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    low, high = float(values.min()), float(values.max())
    return next((unit for unit, (scale, _) in UNIX_UNITS.items()
                 if low >= UNIX_RANGE[0] * scale and high < UNIX_RANGE[1] * scale), None)


def quoted(value) -> str:
    """Return a value of a CSV column as a message quotes it: 'x', 1704067200 (never np.int64(...)), or
    "an empty value"."""
    if pd.isna(value):
        return "an empty value"
    return repr(value.item() if isinstance(value, np.generic) else value)


def _offset_text(offset) -> str:
    minutes = int(offset.total_seconds() // 60)
    return f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _dates(column: pd.Series, name: str, path: Path, date_format: str | None,
           dayfirst: bool, steps: pd.Series | None = None) -> tuple[pd.DatetimeIndex, str | None, bool]:
    """Return the checked dates of a column, their offset and whether they were reversed: a column that
    lists them newest first throughout (as some sources write them) comes back oldest first. `steps`:
    the column that numbers the steps within each date (data.step_column), added to the dates."""
    dates, offset = parse_dates(column, name, path, date_format, dayfirst)
    if steps is not None:
        dates = with_steps(dates, column, steps, name, path)
    flipped = lists_newest_first(dates)
    if flipped:
        dates, column = dates[::-1], column.iloc[::-1]
    duplicated = dates.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated)[0])
        hourly = bool(_has_times(dates).any())  # times of day: midnight is a time too
        shown = dates[row].strftime("%Y-%m-%d %H:%M") if hourly else when(dates[row])
        raise RepeatedDates(
            f"date column {name!r} of {path} repeats {shown} on line {_line(column, row)}"
            f" ({int(duplicated.sum())} duplicate(s)); keep one row per date" + (f", or {SUMMER_TIME}" if hourly else "")
        )
    if not dates.is_monotonic_increasing:
        row = int(np.flatnonzero(np.diff(dates.asi8) < 0)[0]) + 1
        raise UserError(
            f"date column {name!r} of {path} is not sorted: line {_line(column, row)} ({when(dates[row])}) comes after"
            f" {when(dates[row - 1])}; sort the file by date"
        )
    return dates, offset, flipped


def with_steps(dates: pd.DatetimeIndex, column: pd.Series, steps: pd.Series, name: str, path: Path) -> pd.DatetimeIndex:
    """Return each date plus its step within the day: of n steps a day (the most common count of rows
    per date: 48 settlement periods, 24 hours), step s lies (s - first) / n of a day after midnight,
    first the smallest step in the file (1 for periods 1 to 48, 0 for hours 0 to 23)."""
    step_name = str(steps.name)
    numbers = pd.to_numeric(steps, errors="coerce")
    bad = numbers.isna() | (numbers != numbers.round())
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError(f"step column {step_name!r} of {path} has {quoted(steps.iloc[row])} on line {_line(steps, row)};"
                        f" number the steps within each date with whole numbers (1, 2, ... or 0, 1, ...)")
    timed = np.flatnonzero(_has_times(dates))
    if len(timed):
        raise UserError(f"date column {name!r} of {path} has a time of day ({when(dates[timed[0]])} on line"
                        f" {_line(column, int(timed[0]))}); data.step_column adds its step to dates without one,"
                        f" so give the dates alone or leave data.step_column out")
    per_day = int(pd.Series(dates).value_counts().mode().max())
    if per_day < 2:
        raise UserError(f"date column {name!r} of {path} has one row per date, so {step_name!r} numbers no steps"
                        f" within them; leave data.step_column out")
    step = pd.Timedelta(days=1) / per_day
    return pd.DatetimeIndex(dates + (numbers.to_numpy() - numbers.min()) * step)


def numbering_column(frame: pd.DataFrame, date_column, path: Path, data_cfg) -> tuple[str, int, int] | None:
    """Return (name, first, last) of a whole-number column that numbers the rows within each date of a
    date column whose dates repeat (1, 2, ... 48 each day), or None: what data.step_column is for."""
    try:
        dates, _ = parse_dates(frame[date_column], str(date_column), path, data_cfg.get("date_format"),
                               data_cfg.get("dayfirst"))
    except UserError:
        return None
    if not dates.has_duplicates or _has_times(dates).any():
        return None
    within = pd.Series(dates).groupby(dates).cumcount().to_numpy()
    for name in frame.columns:
        column = frame[name]
        if name == date_column or not pd.api.types.is_integer_dtype(column):
            continue
        base = column.to_numpy() - within
        if (base == base[0]).mean() >= 0.99:  # a day with more or fewer steps (summer time) apart
            return str(name), int(column.min()), int(column.max())
    return None


def step_hint(frame: pd.DataFrame, date_column, path: Path, data_cfg) -> str | None:
    """Return the words that point at data.step_column where a column numbers the rows of each date, or None."""
    numbering = numbering_column(frame, date_column, path, data_cfg)
    if numbering is None:
        return None
    name, first, last = numbering
    return (f"the dates in {str(date_column)!r} of {path} repeat, and {name!r} numbers the rows of each date"
            f" ({first} to {last}): read them as times with {plain_override('data.step_column', name)}")


def lists_newest_first(dates: pd.DatetimeIndex) -> bool:
    """Return whether dates fall from each row to the next throughout (no two alike)."""
    return len(dates) > 1 and bool((np.diff(dates.asi8) < 0).all())


def reversed_note() -> str:
    """Return the line that says a file's rows were read in the reverse of their order."""
    return "the file lists its dates newest first; they are read oldest first"


def _offsets_differ(name: str, path: Path, reason: str) -> UserError:
    return UserError(f"date column {name!r} of {path} cannot be read as dates ({reason}); write the dates"
                     f" in one time zone, with one offset (e.g. UTC) or none")


def _parse_given(text: pd.Series, name: str, path: Path, date_format: str) -> pd.Series:
    """Return the dates in data.date_format (NaT where one does not match); refuse offsets that differ."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pandas 2 on mixed offsets; pandas 3 refuses them
            parsed = pd.to_datetime(text, errors="coerce", format=date_format)
    except (ValueError, TypeError) as error:
        raise _offsets_differ(name, path, str(error).splitlines()[0]) from None
    if not pd.api.types.is_datetime64_any_dtype(parsed):
        raise _offsets_differ(name, path, "it mixes time-zone offsets")
    return parsed


def _parse_mixed(text: pd.Series, name: str, path: Path, dayfirst: bool) -> pd.Series:
    try:
        with warnings.catch_warnings():
            # pandas 2 warns about mixed time zones and returns plain objects; pandas 3 refuses them.
            warnings.simplefilter("ignore", FutureWarning)
            parsed = pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=dayfirst)
    except (ValueError, TypeError) as error:
        reason = str(error).splitlines()[0]
    else:
        if pd.api.types.is_datetime64_any_dtype(parsed):
            return parsed
        reason = "it mixes time-zone offsets"
    raise _offsets_differ(name, path, reason)


def _handle_missing(values: np.ndarray, labels: pd.Index, missing: str, column: pd.Series, path: Path):
    """Return (values, labels, the file's rows they keep, how many values were filled in)."""
    gaps = np.isnan(values)
    keep = np.ones(len(values), dtype=bool)
    if not gaps.any():
        return values, labels, keep, 0
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
        return values[keep], labels[keep], keep, 0
    # Only between two known values: a value before the first or after the last would be a copy of
    # its neighbour, invented, and then scored as a target. Those rows are left out.
    known = np.flatnonzero(~gaps)
    keep[:known[0]] = False
    keep[known[-1] + 1:] = False
    inside = values[keep]
    filled = int(np.isnan(inside).sum())
    return pd.Series(inside).interpolate(method="linear").to_numpy(), labels[keep], keep, filled


def missing_note(filled: int, trimmed: int) -> str:
    """Return the line that says how many missing values data.missing=interpolate filled in and left out."""
    return (f"data.missing=interpolate filled in {filled} missing value(s) between known ones and left out {trimmed}"
            f" before the first or after the last known value")


# Names that say a column holds dates or times. A numeric column (years such as 1949, or Unix times such
# as 1704067200) is taken for dates by data.date_column=auto only under one of them; a text column,
# whatever its name, when it reads as dates.
TIME_NAMES = frozenset({"date", "dates", "time", "timestamp", "datetime", "ds", "day", "week", "month", "quarter",
                        "year", "period", "ts", "epoch", "unix", "unix_time", "unixtime"})


def _named_for_time(name) -> bool:
    return str(name).strip().lower() in TIME_NAMES


def _reads_as_dates(frame: pd.DataFrame, name, path: Path, data_cfg) -> bool:
    """Return whether the column `name` reads as dates; raise the reading's UserError when its name says
    it holds dates (a date column with one bad line is named, not passed over), or when its dates read
    as day/month and as month/day (which data.dayfirst says)."""
    timely, numeric = _named_for_time(name), pd.api.types.is_numeric_dtype(frame[name])
    if numeric and not timely:
        return False
    try:
        parse_dates(frame[name], str(name), path, data_cfg.get("date_format"), data_cfg.get("dayfirst"))
    except AmbiguousDates:
        raise
    except UserError:
        # Numbers under a time name that are neither years nor Unix times (day 1, 2, 3): no dates.
        if timely and (not numeric or unix_unit(frame[name])):
            raise
        return False
    return True


# Names of a column of row numbers, besides none at all (pandas' "Unnamed: 0").
ROW_NUMBER_NAMES = frozenset({"id", "index", "idx", "row", "row_id", "#", "no"})


def _row_numbers(frame: pd.DataFrame, name) -> bool:
    """Return whether the column is a row number: 0, 1, 2, ... or 1, 2, 3, ... without a name (pandas'
    index, as to_csv writes it) or under a name such as id, index or row."""
    if not (str(name).startswith("Unnamed: ") or str(name).strip().lower() in ROW_NUMBER_NAMES):
        return False
    values = frame[name].to_numpy()
    return bool(len(values)) and (np.array_equal(values, np.arange(len(values)))
                                  or np.array_equal(values, np.arange(1, len(values) + 1)))


def find_columns(frame: pd.DataFrame, data_cfg, path: Path) -> dict:
    """Return the columns the file gives for the settings left to it: {"column": the value column} when
    data.column is null (the file's one numeric column besides the dates and the covariates), and
    {"date_column": the date column or None} when data.date_column is auto (the first column, in the
    file's order, that reads as dates; None when none does). UserError when the value column is not one.
    """
    found: dict = {}
    column, date_column = data_cfg.get("column"), data_cfg.get("date_column")
    past, future = covariate_names(data_cfg)
    step_column = data_cfg.get("step_column")
    taken = {*past, *future, *([column] if column is not None else []), *([step_column] if step_column else [])}
    if date_column == "auto":
        found["date_column"] = next((name for name in frame.columns
                                     if name not in taken and _reads_as_dates(frame, name, path, data_cfg)), None)
        date_column = found["date_column"]
    if column is None:
        # Never a row number, a column named for the time (day 1, 2, 3 without dates is an index too) or
        # an empty one (a comma at the end of every line makes one).
        rest = [name for name in frame.columns if name not in taken and name != date_column
                and not _row_numbers(frame, name) and not _named_for_time(name)
                and frame[name].notna().any()]
        numeric = [name for name in rest
                   if pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name])]
        columns = ", ".join(repr(str(c)) for c in frame.columns)
        hint = _separator_hint(frame, read_options(data_cfg)["sep"])
        if not numeric and hint:
            raise UserError(f"data.column is not set and {path} has no numeric column (its columns are {columns}):"
                            f" {hint}")
        if not numeric and len(rest) == 1:
            # One column left, not read as numbers (1.958,5 or 1,958 as text): it is the value column, and
            # reading it says which data.decimal or data.thousands to give.
            numeric = rest
        if not numeric:
            raise UserError(f"data.column is not set and {path} has no numeric column to forecast (its columns are"
                            f" {columns}); name the value column, e.g. {plain_override('data.column', str(frame.columns[-1]))}")
        if len(numeric) > 1:
            hint = step_hint(frame, date_column, path, data_cfg) if date_column and not step_column else None
            if hint:
                raise UserError(hint)
            names = ", ".join(repr(str(c)) for c in numeric)
            raise UserError(f"data.column is not set and {path} has {len(numeric)} numeric columns ({names}); choose"
                            f" the one to forecast, e.g. {plain_override('data.column', str(numeric[0]))}")
        found["column"] = numeric[0]
    return {key: found[key] for key in ("column", "date_column") if key in found}


def columns_of(data_cfg, default_path: Path) -> dict:
    """Return find_columns for data_cfg's file ({} without a setting left to the file, nothing read)."""
    if data_cfg.get("column") is not None and data_cfg.get("date_column") != "auto":
        return {}
    options = read_options(data_cfg)
    path = Path(data_cfg.path) if data_cfg.get("path") else default_path
    return find_columns(_read_frame(path, options), data_cfg, path)


def load_series(data_cfg, default_path: Path) -> Series:
    """Return the checked series that data_cfg names; raise UserError for any bad input."""
    path = Path(data_cfg.path) if data_cfg.path else default_path
    options = read_options(data_cfg)
    frame = _read_frame(path, options)
    _check_hydra_types(frame, data_cfg, path)
    found = find_columns(frame, data_cfg, path)
    column = found.get("column", data_cfg.get("column"))
    value_column = _column(frame, column, "value column", path, options["sep"])
    values = _numeric(value_column, column, path, options)
    date_column = found.get("date_column", data_cfg.get("date_column"))
    date_format, dayfirst = data_cfg.get("date_format"), False
    if date_column:
        dates = _column(frame, date_column, "date column", path, options["sep"])
        if not date_format:
            # Resolved once, here: a forecast's --future dates are read the same way (a few March
            # days alone could not tell 01/03 from 03/01).
            dayfirst = _dayfirst(dates.astype("string"), date_column, path, data_cfg.get("dayfirst"))
        step_column = data_cfg.get("step_column")
        steps = _column(frame, step_column, "step column", path, options["sep"]) if step_column else None
        try:
            labels, offset, flipped = _dates(dates, date_column, path, date_format, dayfirst, steps)
        except RepeatedDates:
            hint = None if step_column else step_hint(frame, date_column, path, data_cfg)
            if hint is None:
                raise
            raise UserError(hint) from None
    else:
        if data_cfg.get("step_column"):
            raise UserError("data.step_column numbers the steps within each date, and this run reads no dates;"
                            " set data.date_column too")
        labels, offset, flipped = pd.RangeIndex(len(values), name="t"), None, False
    if flipped:  # every row in the order of its date, line numbers kept (the frame's index)
        frame, value_column, values = frame.iloc[::-1], value_column.iloc[::-1], values[::-1].copy()
    rows = len(values)
    values, labels, keep, filled = _handle_missing(values, labels, data_cfg.missing, value_column, path)
    if len(values) and np.nanmax(values) == np.nanmin(values):
        raise UserError(
            f"column {column!r} of {path} is constant ({values[0]:g}); scaling would divide by zero,"
            f" and there is nothing to forecast"
        )
    largest = float(np.nanmax(np.abs(values))) if len(values) else 0.0
    if 0 < largest < SMALLEST:
        raise UserError(f"column {column!r} of {path} has no value larger than {largest:g} in size: squared"
                        f" errors underflow to zero (an RMSE of 0.0); rescale the column, e.g. multiply it by 1e200")
    try:
        frequency = infer_frequency(labels, f"date column {date_column!r} of {path}")
    except UserError as error:
        if data_cfg.missing == "drop" and len(values) < rows:
            raise UserError(f"data.missing=drop removed {rows - len(values)} row(s) and left gaps in the dates of {path},"
                            f" so seasonal lags would compare the wrong periods; use data.missing=interpolate") from None
        raise error from None
    covariates = _covariates(frame, data_cfg, path, keep, values, labels, frequency)
    return Series(values=values, labels=labels, name=str(column), path=path.resolve(), sha256=file_sha256(path),
                  frequency=frequency, covariates=covariates, dayfirst=dayfirst, offset=offset, filled=filled,
                  trimmed=int(rows - keep.sum()) if data_cfg.missing == "interpolate" else 0, newest_first=flipped)


def covariate_names(data_cfg) -> tuple[list[str], list[str]]:
    """Return the (past-only, known-future) covariate columns that data_cfg declares."""
    declared = data_cfg.get("covariates") or {}
    return [str(c) for c in declared.get("past") or []], [str(c) for c in declared.get("future") or []]


def covariate_column(frame: pd.DataFrame, name: str, path: Path, where: str = "",
                     options: dict = DEFAULT_READ) -> np.ndarray:
    """Return a covariate column as floats; raise UserError when it is missing, not numeric or has gaps."""
    column = _column(frame, name, "covariate column", path, options["sep"])
    values = _numeric(column, name, path, options)
    gaps = np.flatnonzero(np.isnan(values))
    if len(gaps):
        raise UserError(f"covariate column {name!r} of {path} has {len(gaps)} missing value(s){where}, on line(s)"
                        f" {_describe_rows(column, gaps)}; fill them (covariates are never interpolated)")
    return values


def _covariates(frame, data_cfg, path: Path, keep: np.ndarray, values, labels, frequency) -> Covariates | None:
    past, future = covariate_names(data_cfg)
    calendar = bool(data_cfg.get("calendar", False))
    if not (past or future or calendar):
        return None
    options = read_options(data_cfg)
    columns = {name: covariate_column(frame, name, path, options=options)[keep] for name in past + future}
    if data_cfg.column in columns:
        raise UserError(f"covariate {data_cfg.column!r} is the target column itself; remove it from data.covariates")
    # A shift as long as two seasons (at least 24 steps) covers the copies a user could make by mistake.
    check_no_leak(values, columns, path, max(24, 2 * frequency.season_length))
    rows = len(values)
    future_matrix = np.column_stack([columns[n] for n in future]) if future else np.zeros((rows, 0))
    calendar_names: tuple[str, ...] = ()
    if calendar:
        if not isinstance(labels, pd.DatetimeIndex):
            raise UserError("data.calendar=true needs dates; set data.date_column to the CSV's date column")
        calendar_names, features = calendar_features(labels, frequency)
        future_matrix = np.concatenate([future_matrix, features], axis=1)
    past_matrix = np.column_stack([columns[n] for n in past]) if past else np.zeros((rows, 0))
    return Covariates(past_names=tuple(past), future_names=tuple(future) + calendar_names, past=past_matrix,
                      future=future_matrix, calendar=calendar_names)
