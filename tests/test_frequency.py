"""Tests of lstmts.data.frequency and of dates read from CSV: the frequency, its season, how dates print."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from lstmts.config import airline_csv
from lstmts.data.covariates import future_dates
from lstmts.data.frequency import POSITIONS, infer_frequency, season_for
from lstmts.data.series import load_series
from lstmts.errors import UserError

# alias, name, season, how the second date prints
CASES = [
    ("YS", "yearly", 1, "2001"),
    ("YE", "yearly", 1, "2001"),
    ("QS", "quarterly", 4, "2000Q2"),
    ("MS", "monthly", 12, "2000-02"),
    ("ME", "monthly", 12, "2000-02"),
    ("W-SUN", "weekly", 52, "2000-01-09"),
    ("D", "daily", 7, "2000-01-02"),
    ("B", "business daily", 5, "2000-01-04"),
    ("h", "hourly", 24, "2000-01-01 01:00"),
    ("30min", "half-hourly", 48, "2000-01-01 00:30"),
    ("min", "minutely", 60, "2000-01-01 00:01"),
]


@pytest.mark.parametrize("alias, name, season, second", CASES)
def test_frequency_and_season_from_regular_dates(alias, name, season, second):
    frequency = infer_frequency(pd.date_range("2000-01-01", periods=30, freq=alias))
    assert (frequency.name, frequency.season_length) == (name, season)
    assert frequency.format(pd.date_range("2000-01-01", periods=2, freq=alias)[1]) == second


def test_positions_have_no_season():
    assert infer_frequency(pd.RangeIndex(40)) == POSITIONS
    assert POSITIONS.season_length == 1 and POSITIONS.format(41) == "41"


def test_a_missing_month_is_named_with_the_fix():
    dates = pd.date_range("2000-01-01", periods=30, freq="MS").delete(5)
    with pytest.raises(UserError) as error:
        infer_frequency(dates)
    assert "not evenly spaced: 2000-05-01 is followed by 2000-07-01" in str(error.value)
    assert "add the missing dates" in str(error.value)


@pytest.mark.parametrize("setting, expected", [("auto", 52), (None, 52), (12, 12), (1, 1)])
def test_a_number_wins_over_the_inferred_season(setting, expected):
    weekly = infer_frequency(pd.date_range("2000-01-02", periods=30, freq="W"))
    assert season_for(setting, weekly) == expected


def _load(tmp_path, text, **options):
    path = tmp_path / "series.csv"
    path.write_text(text)
    cfg = {"name": "csv", "path": str(path), "column": "value", "date_column": "date", "units": None,
           "missing": "error", "date_format": None, "dayfirst": None, **options}
    return load_series(OmegaConf.create(cfg), airline_csv())


MONTHLY_DAY_FIRST = "date,value\n" + "".join(f"01/{m:02d}/1949,{m}\n" for m in range(1, 13))


def test_ambiguous_day_month_dates_are_refused_with_the_option_to_set(tmp_path):
    with pytest.raises(UserError) as error:
        _load(tmp_path, MONTHLY_DAY_FIRST)
    assert "read as day/month or as month/day" in str(error.value)
    assert "data.dayfirst=true" in str(error.value)


@pytest.mark.parametrize("options", [{"dayfirst": True}, {"date_format": "%d/%m/%Y"}])
def test_day_first_dates_are_read_right_with_the_option(tmp_path, options):
    series = _load(tmp_path, MONTHLY_DAY_FIRST, **options)
    assert series.labels[1] == pd.Timestamp("1949-02-01")
    assert (series.frequency.name, series.frequency.season_length) == ("monthly", 12)


def test_day_first_is_seen_when_a_day_is_above_12(tmp_path):
    text = "date,value\n" + "".join(f"{d}/03/2020,{d}\n" for d in range(1, 29))
    series = _load(tmp_path, text)
    assert series.labels[12] == pd.Timestamp("2020-03-13") and series.frequency.name == "daily"


def test_month_first_is_seen_when_the_second_field_is_above_12(tmp_path):
    text = "date,value\n" + "".join(f"03/{d}/2020,{d}\n" for d in range(1, 29))
    series = _load(tmp_path, text)
    assert series.labels[12] == pd.Timestamp("2020-03-13")


@pytest.mark.parametrize("dates", [
    ["2020-01-01T00:00+01:00", "2020-01-01T01:00+02:00", "2020-01-01T02:00+01:00"],
    ["2020-03-29T00:00+01:00", "2020-03-29T01:00+01:00", "2020-03-29T03:00+02:00"],  # summer time begins
])
def test_offsets_that_differ_are_refused_with_one_line(tmp_path, dates):
    text = "date,value\n" + "".join(f"{d},{i}\n" for i, d in enumerate(dates))
    with pytest.raises(UserError) as error:
        _load(tmp_path, text)
    assert "mixes time-zone offsets" in str(error.value) and "in one time zone, with one offset" in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("dates", [
    ["2012-01-01T00:00:00Z", "2012-01-01T00:30:00Z", "2012-01-01T01:00:00Z", "2012-01-01T01:30:00Z"],
    ["2012-01-01T00:00+11:00", "2012-01-01T00:30+11:00", "2012-01-01T01:00+11:00", "2012-01-01T01:30+11:00"],
    ["2012-01-01 00:00:00+00:00", "2012-01-01 00:30:00+00:00", "2012-01-01 01:00:00+00:00",
     "2012-01-01 01:30:00+00:00"],
])
def test_one_offset_for_every_date_reads_the_times_as_written(tmp_path, dates):
    series = _load(tmp_path, "date,value\n" + "".join(f"{d},{i}\n" for i, d in enumerate(dates)))
    assert list(series.labels) == [pd.Timestamp(f"2012-01-01 {t}") for t in ("00:00", "00:30", "01:00", "01:30")]
    assert series.frequency.name == "half-hourly" and series.labels.tz is None


def test_a_date_format_that_does_not_match_names_it(tmp_path):
    with pytest.raises(UserError) as error:
        _load(tmp_path, "date,value\n2000-01-01,1\n2000-01-02,2\n2000-01-03,3\n", date_format="%d/%m/%Y")
    assert "data.date_format='%d/%m/%Y'" in str(error.value)


# --- monthly, quarterly, yearly and weekly data on any day of the period ---------------------

def _dates(*texts: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(list(texts))


# dates (each frequency on a day other than its period's first), name, season, the next two dates
ON_ANY_DAY = [
    (["2010-01-15", "2010-02-15", "2010-03-15", "2010-04-15"], "monthly", 12, ["2010-05-15", "2010-06-15"]),
    (["2010-01-30", "2010-02-28", "2010-03-30", "2010-04-30"], "monthly", 12, ["2010-05-30", "2010-06-30"]),
    (["2010-01-31", "2010-02-28", "2010-03-31", "2010-04-30"], "monthly", 12, ["2010-05-31", "2010-06-30"]),
    (["2009-11-30", "2009-12-30", "2010-01-30", "2010-02-28"], "monthly", 12, ["2010-03-30", "2010-04-30"]),
    (["2010-01-15 09:30", "2010-02-15 09:30", "2010-03-15 09:30"], "monthly", 12,
     ["2010-04-15 09:30", "2010-05-15 09:30"]),
    (["2010-02-15", "2010-05-15", "2010-08-15", "2010-11-15"], "quarterly", 4, ["2011-02-15", "2011-05-15"]),
    (["2010-03-31", "2010-06-30", "2010-09-30", "2010-12-31"], "quarterly", 4, ["2011-03-31", "2011-06-30"]),
    (["2010-06-15", "2011-06-15", "2012-06-15"], "yearly", 1, ["2013-06-15", "2014-06-15"]),
    (["2010-12-31", "2011-12-31", "2012-12-31"], "yearly", 1, ["2013-12-31", "2014-12-31"]),
    (["2010-01-01", "2010-01-08", "2010-01-15", "2010-01-22"], "weekly", 52, ["2010-01-29", "2010-02-05"]),  # Fridays
    (["2010-01-06", "2010-01-13", "2010-01-20"], "weekly", 52, ["2010-01-27", "2010-02-03"]),  # Wednesdays
]


@pytest.mark.parametrize("dates, name, season, after", ON_ANY_DAY)
def test_regular_dates_on_any_day_of_the_period_keep_their_day(dates, name, season, after):
    frequency = infer_frequency(_dates(*dates))
    assert (frequency.name, frequency.season_length) == (name, season)
    assert list(future_dates(_dates(*dates), frequency, 2)) == list(_dates(*after))


@pytest.mark.parametrize("dates, odd", [
    (["2010-01-15", "2010-02-15", "2010-03-15", "2010-05-15", "2010-06-15"], "2010-03-15 is followed by 2010-05-15"),
    (["2010-02-15", "2010-05-15", "2010-08-15", "2011-02-15"], "2010-08-15 is followed by 2011-02-15"),
    (["2010-01-01", "2010-01-08", "2010-01-15", "2010-01-29"], "2010-01-15 is followed by 2010-01-29"),
    (["2010-01-15", "2010-02-15", "2010-03-15", "2010-04-16", "2010-05-15"], "2010-03-15 is followed by 2010-04-16"),
    (["2010-01-01", "2010-02-01", "2010-03-15", "2010-04-15"], "2010-02-01 is followed by 2010-03-15"),
])
def test_a_gap_or_an_odd_day_in_such_dates_is_named(dates, odd):
    with pytest.raises(UserError) as error:
        infer_frequency(_dates(*dates))
    assert f"not evenly spaced: {odd}" in str(error.value)


def test_a_csv_of_the_15th_of_each_month_is_monthly_and_keeps_its_dates(tmp_path):
    text = "date,value\n" + "".join(f"2010-{m:02d}-15,{m}\n" for m in range(1, 13)) + "2011-01-15,13\n"
    series = _load(tmp_path, text)
    assert (series.frequency.name, series.frequency.season_length) == ("monthly", 12)
    assert series.labels[1] == pd.Timestamp("2010-02-15") and series.label(12) == "2011-01-15"
    assert list(future_dates(series.labels, series.frequency, 1)) == [pd.Timestamp("2011-02-15")]


# --- quarters and ISO weeks as R's tsibble writes them ----------------------------------------

def test_quarters_written_1956_Q1_read_as_their_first_days(tmp_path):
    quarters = [f"{year} Q{quarter}" for year in range(1956, 1961) for quarter in range(1, 5)]
    series = _load(tmp_path, "date,value\n" + "".join(f"{q},{i}\n" for i, q in enumerate(quarters)))
    assert series.frequency.name == "quarterly" and series.frequency.season_length == 4
    assert list(series.labels[:6]) == [pd.Timestamp(d) for d in ("1956-01-01", "1956-04-01", "1956-07-01",
                                                                   "1956-10-01", "1957-01-01", "1957-04-01")]
    assert series.frequency.format(series.labels[5]) == "1957Q2"


def test_iso_weeks_read_as_their_mondays_across_a_53_week_year(tmp_path):
    # 2015 has 53 ISO weeks: W53 is the Monday 2015-12-28 and 2016 W01 the next Monday.
    weeks = ["2015 W51", "2015 W52", "2015 W53", "2016 W01", "2016 W02", "2016 W03"]
    series = _load(tmp_path, "date,value\n" + "".join(f"{w},{i}\n" for i, w in enumerate(weeks)))
    assert list(series.labels) == [pd.Timestamp(d) for d in ("2015-12-14", "2015-12-21", "2015-12-28", "2016-01-04",
                                                               "2016-01-11", "2016-01-18")]
    assert series.frequency.name == "weekly" and series.frequency.season_length == 52
    one = _load(tmp_path, "date,value\n1991 W06,1\n1991-W07,2\n1991 w08,3\n")  # 1991-01-01 was a Tuesday
    assert list(one.labels) == [pd.Timestamp(d) for d in ("1991-02-04", "1991-02-11", "1991-02-18")]


@pytest.mark.parametrize("labels, first_bad", [
    (["2016 W51", "2016 W52", "2016 W53"], "2016 W53"),  # 2016 has 52 ISO weeks
    (["2016 W52", "2016 W54", "2017 W01"], "2016 W54"),
])
def test_a_week_its_year_does_not_have_is_one_line_naming_it(tmp_path, labels, first_bad):
    with pytest.raises(UserError) as error:
        _load(tmp_path, "date,value\n" + "".join(f"{w},{i}\n" for i, w in enumerate(labels)))
    message = str(error.value)
    assert f"first {first_bad!r}" in message and "ISO weeks such as 1991 W06" in message and "\n" not in message


def test_quarters_mixed_with_dates_are_read_as_dates_and_refused(tmp_path):
    with pytest.raises(UserError, match=r"unparseable date\(s\), first '1956 Q3'"):
        _load(tmp_path, "date,value\n1956-01-01,1\n1956-04-01,2\n1956 Q3,3\n")


@pytest.mark.parametrize("labels, first_bad", [
    (["1956 Q1", "1956 Q2", "1956 Q5"], "1956 Q5"),    # a mistyped quarter, named where it is
    (["1956 Q1", "1956 Q2", "1956-07-01"], "1956-07-01"),  # a date among quarters
    (["0001 Q1", "0001 Q2", "0001 Q3"], "0001 Q1"),    # before pandas' first date
    (["1991 W06", "1991 W07", "1991 Q3"], "1991 Q3"),
])
def test_a_label_that_is_not_the_columns_kind_of_period_is_named_in_one_line(tmp_path, labels, first_bad):
    with pytest.raises(UserError) as error:
        _load(tmp_path, "date,value\n" + "".join(f"{w},{i}\n" for i, w in enumerate(labels)))
    message = str(error.value)
    assert f"first {first_bad!r} on line {labels.index(first_bad) + 2}" in message
    assert "quarters such as 1956 Q1" in message and "\n" not in message


def test_a_date_format_with_offsets_that_differ_is_one_line_and_with_one_offset_reads(tmp_path):
    differ = "date,value\n2020-03-29 00:00+0100,1\n2020-03-29 01:00+0100,2\n2020-03-29 03:00+0200,3\n"
    with pytest.raises(UserError, match=r"mixes time-zone offsets\); write the dates in one time zone") as error:
        _load(tmp_path, differ, date_format="%Y-%m-%d %H:%M%z")
    assert "\n" not in str(error.value)
    one = _load(tmp_path, "date,value\n2020-03-29 00:00+0100,1\n2020-03-29 01:00+0100,2\n2020-03-29 02:00+0100,3\n",
                date_format="%Y-%m-%d %H:%M%z")
    assert list(one.labels) == [pd.Timestamp(f"2020-03-29 0{h}:00") for h in (0, 1, 2)]


# --- the season a series without dates may have -------------------------------------------------

def test_the_suggested_season_is_the_lag_whose_changes_repeat_and_not_its_multiples():
    from lstmts.data.frequency import suggested_season

    # Changes that repeat exactly every 7 steps: (+3, -1, -1, -1, 0, 2, -2): their autocorrelation at 7,
    # 14, 21 ... is the same high value, at 1 .. 6 lower; the shortest is taken.
    changes = np.tile([3.0, -1, -1, -1, 0, 2, -2], 12)
    values = np.concatenate([[100.0], 100 + np.cumsum(changes)])
    lag, correlation = suggested_season(values)
    assert lag == 7 and correlation > 0.8
    # a trend added to every step changes no difference's deviation from their mean
    assert suggested_season(values + 5.0 * np.arange(len(values)))[0] == 7
    rng = np.random.default_rng(3)
    assert suggested_season(rng.normal(0, 1, 300)) is None  # noise
    assert suggested_season(np.cumsum(rng.normal(0, 1, 300))) is None  # a random walk
    assert suggested_season(values[:6]) is None  # 5 changes: no lag from 2 to a third of them
    assert suggested_season(np.full(50, 4.0)) is None
