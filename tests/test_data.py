"""Tests of lstmts.data: reading the series from CSV, and one clear UserError for each bad input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from lstmts.config import airline_csv
from lstmts.data.series import load_series
from lstmts.errors import UserError

SHIPPED_CSV = Path(__file__).resolve().parents[1] / "data" / "airline-passengers.csv"


def data_config(path=None, column="value", date_column="date", missing="error", name="csv", date_format=None,
                dayfirst=None):
    """Return a data config with the keys of conf/data/csv.yaml."""
    return OmegaConf.create(
        {"name": name, "path": None if path is None else str(path), "column": column,
         "date_column": date_column, "units": None, "missing": missing, "date_format": date_format,
         "dayfirst": dayfirst}
    )


def load_text(tmp_path, text: str, **options):
    path = tmp_path / "series.csv"
    path.write_text(text)
    return load_series(data_config(path, **options), airline_csv())


def load_error(tmp_path, text: str, **options) -> str:
    with pytest.raises(UserError) as error:
        load_text(tmp_path, text, **options)
    return str(error.value)


# --- the shipped series ---------------------------------------------------------------------

def test_shipped_airline_series():
    series = load_series(data_config(None, column="Passengers", date_column="Month", name="airline"), airline_csv())
    assert len(series.values) == 144
    assert series.values.sum() == 40363
    assert series.values[:3].tolist() == [112.0, 118.0, 132.0]
    assert series.values[-1] == 432.0
    assert isinstance(series.labels, pd.DatetimeIndex)
    assert series.labels[0] == pd.Timestamp("1949-01-01")
    assert series.labels[-1] == pd.Timestamp("1960-12-01")
    assert series.label(0) == "1949-01-01"
    assert series.has_dates
    assert series.path.resolve() == SHIPPED_CSV.resolve()
    assert series.sha256 == hashlib.sha256(SHIPPED_CSV.read_bytes()).hexdigest()


def test_without_a_date_column_labels_are_positions(tmp_path):
    series = load_text(tmp_path, "value\n3\n1\n2\n", date_column=None)
    assert series.values.tolist() == [3.0, 1.0, 2.0]
    assert list(series.labels) == [0, 1, 2]
    assert not series.has_dates
    assert series.label(2) == "2"


# --- unreadable files -----------------------------------------------------------------------

def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.csv"
    with pytest.raises(UserError, match="does not exist") as error:
        load_series(data_config(path), airline_csv())
    assert str(path) in str(error.value)
    assert "data.path" in str(error.value)


def test_empty_file(tmp_path):
    assert "is empty" in load_error(tmp_path, "")


def test_header_without_rows(tmp_path):
    assert "no rows" in load_error(tmp_path, "date,value\n")


# --- columns and values ---------------------------------------------------------------------

def test_missing_value_column_lists_the_real_columns(tmp_path):
    message = load_error(tmp_path, "Month,Passengers\n2000-01,1\n2000-02,2\n", column="passengers", date_column="Month")
    assert "'passengers'" in message
    assert "'Month', 'Passengers'" in message


def test_missing_date_column_lists_the_real_columns(tmp_path):
    message = load_error(tmp_path, "Month,value\n2000-01,1\n2000-02,2\n", date_column="date")
    assert "date column 'date'" in message
    assert "'Month', 'value'" in message


@pytest.mark.parametrize("date_column", ["date", None])
def test_a_repeated_column_name_is_refused_naming_it(tmp_path, date_column):
    # pandas would read the second 'value' as 'value.1' and the series would silently be the first.
    message = load_error(tmp_path, "date,value,note,value,note\n2000-01,1,a,10,b\n2000-02,2,a,20,b\n",
                         date_column=date_column)
    assert "'value', 'note'" in message
    assert "more than once" in message and "rename" in message
    assert "\n" not in message


def test_a_column_named_like_a_copy_is_not_a_repeat(tmp_path):
    series = load_text(tmp_path, "date,value,value.1\n2000-01,1,10\n2000-02,2,20\n2000-03,4,40\n")
    assert series.values.tolist() == [1.0, 2.0, 4.0]


def test_non_numeric_value_names_its_csv_line(tmp_path):
    message = load_error(tmp_path, "date,value\n2000-01,1\n2000-02,abc\n2000-03,3\n")
    assert "'abc'" in message
    assert "line 3" in message


def test_non_numeric_value_line_counts_blank_lines(tmp_path):
    # Line 1 header, 2 data, 3 blank, 4 data, 5 the bad value.
    message = load_error(tmp_path, "date,value\n2000-01,1\n\n2000-02,2\n2000-03,abc\n")
    assert "line 5" in message


def test_infinite_value_names_its_csv_line(tmp_path):
    message = load_error(tmp_path, "date,value\n2000-01,1\n2000-02,inf\n")
    assert "infinite" in message
    assert "line 3" in message


# --- missing values -------------------------------------------------------------------------

GAP = "date,value\n2000-01,1\n2000-02,\n2000-03,3\n2000-04,5\n"


def test_missing_value_is_an_error_by_default_naming_the_line_and_the_options(tmp_path):
    message = load_error(tmp_path, GAP)
    assert "1 missing value" in message
    assert "line(s) 3" in message
    assert "data.missing=interpolate" in message
    assert "data.missing=drop" in message


def test_missing_value_interpolated_linearly(tmp_path):
    series = load_text(tmp_path, GAP, missing="interpolate")
    assert series.values.tolist() == [1.0, 2.0, 3.0, 5.0]
    assert len(series.labels) == 4
    assert (series.filled, series.trimmed) == (1, 0)


def test_missing_values_at_the_ends_are_left_out_not_invented(tmp_path):
    # 2000-01 before the first value and 2000-05, 2000-06 after the last have no neighbour on one side.
    series = load_text(tmp_path, "date,value\n2000-01,\n2000-02,2\n2000-03,\n2000-04,6\n2000-05,\n2000-06,\n",
                       missing="interpolate")
    assert series.values.tolist() == [2.0, 4.0, 6.0]
    assert [d.strftime("%Y-%m") for d in series.labels] == ["2000-02", "2000-03", "2000-04"]
    assert (series.filled, series.trimmed) == (1, 3)


def test_missing_values_at_the_ends_leave_out_their_covariate_rows_and_positions(tmp_path):
    path = tmp_path / "series.csv"
    path.write_text("value,promo\n,10\n1,17\n,11\n5,19\n,14\n")
    data = data_config(path, date_column=None, missing="interpolate")
    data.covariates = {"past": [], "future": ["promo"]}
    series = load_series(data, airline_csv())
    assert series.values.tolist() == [1.0, 3.0, 5.0]
    assert list(series.labels) == [1, 2, 3]
    assert series.covariates.future[:, 0].tolist() == [17.0, 11.0, 19.0]


def test_a_complete_series_fills_nothing(tmp_path):
    series = load_text(tmp_path, "date,value\n2000-01,1\n2000-02,2\n", missing="interpolate")
    assert (series.filled, series.trimmed) == (0, 0)


def test_missing_value_dropped_with_its_position(tmp_path):
    series = load_text(tmp_path, "value\n1\n\n3\n5\n", missing="drop", date_column=None)
    assert series.values.tolist() == [1.0, 3.0, 5.0]


def test_dropping_a_dated_value_that_leaves_a_gap_is_refused(tmp_path):
    message = load_error(tmp_path, GAP + "2000-05,6\n", missing="drop")
    assert "data.missing=drop removed 1 row(s) and left gaps in the dates" in message
    assert "use data.missing=interpolate" in message


@pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")
def test_a_column_with_no_value_at_all_is_a_user_error(tmp_path):
    load_error(tmp_path, "date,value\n2000-01,\n2000-02,\n2000-03,\n", missing="interpolate")


# --- dates ----------------------------------------------------------------------------------

def test_unsorted_dates(tmp_path):
    message = load_error(tmp_path, "date,value\n2000-01,1\n2000-03,2\n2000-02,3\n")
    assert "not sorted" in message
    assert "line 4" in message
    assert "2000-02-01" in message


def test_duplicated_dates(tmp_path):
    message = load_error(tmp_path, "date,value\n2000-01,1\n2000-02,2\n2000-02,3\n")
    assert "repeats 2000-02-01" in message
    assert "line 4" in message


def test_unparseable_date(tmp_path):
    message = load_error(tmp_path, "date,value\n2000-01,1\nnot a date,2\n2000-03,3\n")
    assert "'not a date'" in message
    assert "line 3" in message


def test_a_column_of_years_gives_yearly_dates(tmp_path):
    series = load_text(tmp_path, "year,value\n1949,1\n1950,3\n1951,2\n", date_column="year")
    assert series.labels[0] == pd.Timestamp("1949-01-01")


# --- a series with nothing to forecast ------------------------------------------------------

def test_constant_series(tmp_path):
    message = load_error(tmp_path, "date,value\n2000-01,5\n2000-02,5\n2000-03,5\n")
    assert "constant" in message


def test_series_constant_once_its_gap_is_filled(tmp_path):
    message = load_error(tmp_path, "date,value\n2000-01,5\n2000-02,\n2000-03,5\n", missing="interpolate")
    assert "constant" in message


def test_values_are_float(tmp_path):
    series = load_text(tmp_path, "date,value\n2000-01,1\n2000-02,2\n")
    assert series.values.dtype == np.float64
