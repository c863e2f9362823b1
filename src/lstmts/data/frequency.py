"""A series' frequency, read off its dates, and the season length that goes with it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from lstmts.errors import UserError

# Periods per cycle: a year for yearly to weekly data, a week for daily data, a day below that.
_SEASONS = {"yearly": 1, "quarterly": 4, "monthly": 12, "weekly": 52, "daily": 7, "business daily": 5}
# How a forecast's dates are printed at each frequency.
_LABEL_FORMATS = {"yearly": "%Y", "monthly": "%Y-%m", "weekly": "%Y-%m-%d", "daily": "%Y-%m-%d",
                  "business daily": "%Y-%m-%d"}


@dataclass(frozen=True)
class Frequency:
    """How far apart a series' values are: a name, the pandas offset alias and the natural season."""

    name: str
    alias: str | None
    season_length: int
    intraday: bool = False  # steps shorter than a day: dates print with their time
    # The day of the month of monthly, quarterly or yearly dates that pandas' alias cannot say (the
    # 15th; the 30th, or the month's end where it is shorter): alias then steps from month starts.
    day: int | None = None

    def format(self, label) -> str:
        """Return a label (a date or a position) as text at this frequency: 1960, 1960Q1, 1960-01, 1960-01-31 ..."""
        if not isinstance(label, pd.Timestamp):
            return str(label)
        if self.name == "quarterly":
            return f"{label.year}Q{label.quarter}"
        if self.name in _LABEL_FORMATS:
            return label.strftime(_LABEL_FORMATS[self.name])
        if not self.intraday:
            return label.strftime("%Y-%m-%d")
        return label.strftime("%Y-%m-%d %H:%M:%S" if label.second else "%Y-%m-%d %H:%M")

    def dates_after(self, last: pd.Timestamp, steps: int) -> pd.DatetimeIndex:
        """Return the `steps` dates after `last` at this frequency, on the same day of the period and time of day."""
        if self.day is None:
            return pd.date_range(last, periods=steps + 1, freq=self.alias)[1:]
        starts = pd.date_range(last.to_period("M").to_timestamp(), periods=steps + 1, freq=self.alias)[1:]
        return _on_day(starts, self.day, last - last.normalize())


POSITIONS = Frequency("positions", None, 1)

# A lag is offered as the season of a series without dates when the autocorrelation of its changes
# there is at least SEASON_LEAST, and it is the shortest lag within SEASON_NEAR of the highest (its
# multiples come as high; 12 is offered, not 24).
SEASON_LEAST = 0.5
SEASON_NEAR = 0.9


def suggested_season(values: np.ndarray) -> tuple[int, float] | None:
    """Return (lag, autocorrelation) where the first differences of `values` (a series without dates; pass
    its training values only) repeat most strongly, at lags 2 .. a third of their length (at most 400),
    or None where no lag reaches SEASON_LEAST. The shortest of the lags near the highest is taken, not
    its multiples (12, not 24). Differences, so that a trend does not make every lag look alike."""
    from statsmodels.tsa.stattools import acf

    changes = np.diff(np.asarray(values, dtype="float64"))
    changes = changes[np.isfinite(changes)]
    most = min(len(changes) // 3, 400)
    if most < 2 or np.ptp(changes) == 0:
        return None
    correlations = acf(changes, nlags=most, fft=True)
    lags = np.arange(2, most + 1)
    high = correlations[2:most + 1]
    if high.max() < SEASON_LEAST:
        return None
    lag = int(lags[np.flatnonzero(high >= SEASON_NEAR * high.max())[0]])
    return lag, float(correlations[lag])


def when(date: pd.Timestamp) -> str:
    """Return a date as a message names it: 2024-03-31, or 2024-03-31 02:00 when it has a time of day."""
    if date == date.normalize():
        return date.strftime("%Y-%m-%d")
    return date.strftime("%Y-%m-%d %H:%M:%S" if date.second or date.microsecond else "%Y-%m-%d %H:%M")


# Said of a skipped or repeated hour in dates with times of day.
SUMMER_TIME = ("if the clocks changed for summer time there, write the times in UTC (or another zone without"
               " summer time)")


def _per_day(offset: pd.DateOffset) -> float:
    """Return how many steps of a fixed (intraday) offset make a day."""
    return pd.Timedelta(days=1) / pd.Timedelta(offset)


def _describe(offset: pd.DateOffset) -> tuple[str, int]:
    """Return (name, season length) of a regular pandas offset."""
    name = type(offset).__name__
    n = offset.n
    if name in ("YearBegin", "YearEnd", "BYearBegin", "BYearEnd"):
        return ("yearly" if n == 1 else f"every {n} years"), 1
    if name in ("QuarterBegin", "QuarterEnd", "BQuarterBegin", "BQuarterEnd"):
        return ("quarterly", 4) if n == 1 else (f"every {n} quarters", max(1, 4 // n) if 4 % n == 0 else 1)
    if name in ("MonthBegin", "MonthEnd", "BusinessMonthBegin", "BusinessMonthEnd", "SemiMonthBegin", "SemiMonthEnd"):
        per_year = 24 if name.startswith("Semi") else 12
        if n == 1:
            return ("monthly" if per_year == 12 else "twice monthly"), per_year
        return f"every {n} months", per_year // n if per_year % n == 0 else 1
    if name == "Week":
        return ("weekly", 52) if n == 1 else (f"every {n} weeks", 52 // n if 52 % n == 0 else 1)
    if name in ("BusinessDay", "CustomBusinessDay"):
        return "business daily", 5
    if name == "Day" and n == 1:
        return "daily", 7
    if isinstance(offset, pd.offsets.Tick):
        # A daily cycle down to five-minute data; an hourly one for finer data (a day of minutes
        # would be a season of 1,440).
        names = {24: "hourly", 48: "half-hourly", 96: "quarter-hourly", 1440: "minutely", 86400: "secondly"}
        per_day = _per_day(offset)
        per_hour = pd.Timedelta(hours=1) / pd.Timedelta(offset)
        name = names.get(int(per_day), f"every {offset.freqstr}") if float(per_day).is_integer() else f"every {offset.freqstr}"
        if float(per_day).is_integer() and 1 < per_day <= 288:
            return name, int(per_day)
        if float(per_hour).is_integer() and 1 < per_hour <= 60:
            return name, int(per_hour)
        return name, 1
    return f"every {offset.freqstr}", 1


def _on_day(month_starts: pd.DatetimeIndex, day: int, time: pd.Timedelta) -> pd.DatetimeIndex:
    """Return the months' `day` (their last day where they are shorter) at the time of day `time`."""
    days = np.minimum(day, month_starts.days_in_month) - 1
    return month_starts + pd.to_timedelta(days, unit="D") + time


def _regular(dates: pd.DatetimeIndex) -> tuple[str, int | None] | None:
    """Return (pandas alias, day of the month or None) of evenly spaced dates, or None for uneven ones.

    pandas names monthly to yearly steps on the first or last (business) day of the month only;
    dates such as the 15th of every month are recognised from their month starts and their day.
    """
    alias = pd.infer_freq(dates)
    if alias is not None:
        return alias, None
    starts = dates.to_period("M").to_timestamp()
    alias = pd.infer_freq(starts) if starts.is_unique else None
    if alias is None or not isinstance(to_offset(alias), (pd.offsets.MonthBegin, pd.offsets.QuarterBegin,
                                                            pd.offsets.YearBegin)):
        return None
    day = int(dates.day.max())
    if not (dates == _on_day(starts, day, dates[0] - dates[0].normalize())).all():
        return None
    return alias, day


def infer_frequency(labels: pd.Index, where: str = "the date column") -> Frequency:
    """Return the frequency of regular dates (or POSITIONS for a series without dates).

    Raises UserError for dates that are not evenly spaced: seasonal lags and forecast dates would
    then be wrong, so the problem is named instead of guessed around.
    """
    if not isinstance(labels, pd.DatetimeIndex):
        return POSITIONS
    if len(labels) < 3:
        return Frequency("unknown", None, 1)  # far too short anyway: framing says so, with the fix
    regular = _regular(labels)
    if regular is None:
        # The longest regular start (regular dates stay regular when cut short) ends at the first odd step.
        low, high = 2, len(labels)
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if _regular(labels[:middle]) else (low, middle)
        odd = low - 1
        jump = labels[odd + 1] - labels[odd] - (labels[odd] - labels[odd - 1])
        raise UserError(
            f"{where} is not evenly spaced: {when(labels[odd])} is followed by {when(labels[odd + 1])},"
            f" unlike the dates before it; add the missing dates as rows with an empty value"
            f" (data.missing=interpolate fills them) so that seasons and forecast dates line up"
            + (f"; {SUMMER_TIME}" if jump == pd.Timedelta(hours=1) else "")
        )
    alias, day = regular
    offset = to_offset(alias)
    name, season = _describe(offset)
    intraday = isinstance(offset, pd.offsets.Tick) and pd.Timedelta(offset) < pd.Timedelta(days=1)
    return Frequency(name, alias, season, intraday, day)


def second_season(frequency: Frequency, season: int) -> int | None:
    """Return the cycle above a series' season where its dates say there is one, else None.

    A week of intraday values whose season is a day (336 half-hours), and 52 weeks of daily (364)
    or business-daily (260) values: whole weeks, so that the same weekday lines up a year apart.
    """
    if frequency.intraday and frequency.alias is not None and season > 1:
        return 7 * season if _per_day(to_offset(frequency.alias)) == season else None
    if frequency.name == "daily" and season == 7:
        return 364
    if frequency.name == "business daily" and season == 5:
        return 260
    return None


# A year's length in steps where the steps do not divide it: the seasons of a year (52 weeks, 364
# days, 260 business days) are whole numbers of steps near it.
_YEARS = {"weekly": 365.25 / 7, "daily": 365.25, "business daily": 365.25 * 5 / 7}


def year_length(frequency: Frequency) -> float | None:
    """Return the length of a year in steps for weekly (52.18), daily (365.25) and business-daily (260.89)
    values, else None (a year of months or quarters is a whole number of them; intraday series hold few years)."""
    return _YEARS.get(frequency.name)


def cycle_for(setting, frequency: Frequency, season: int) -> int | None:
    """Return the cycle a cycle_setting names for a series: with auto its own (second_season), a lag as
    given; None for none, or for a cycle that is the season itself."""
    if setting is None:
        return None
    cycle = second_season(frequency, season) if setting == "auto" else int(setting)
    return None if cycle is None or cycle == season else cycle


def season_for(setting, frequency: Frequency) -> int:
    """Return the season length to use: `setting` when it is a number, else the frequency's own."""
    if setting in (None, "auto"):
        return frequency.season_length
    return int(setting)
