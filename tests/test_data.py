"""Tests of lstmts.data: reading the series from CSV, and one clear UserError for each bad input."""

from __future__ import annotations

import hashlib
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from lstmts.config import airline_csv, validate
from lstmts.data.series import columns_of, load_series
from lstmts.errors import UserError

SHIPPED_CSV = Path(__file__).resolve().parents[1] / "data" / "airline-passengers.csv"


def data_config(path=None, column="value", date_column="date", missing="error", name="csv", date_format=None,
                dayfirst=None, na_values=()):
    """Return a data config with the keys of conf/data/csv.yaml."""
    return OmegaConf.create(
        {"name": name, "path": None if path is None else str(path), "column": column,
         "date_column": date_column, "units": None, "missing": missing, "date_format": date_format,
         "dayfirst": dayfirst, "na_values": list(na_values)}
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


@pytest.mark.parametrize("marks", [["."], ["-", ".."], ["?"]])
def test_a_mark_for_a_missing_value_gets_the_setting_that_reads_it_so(tmp_path, compose_config, marks):
    rows = ["2000-01,1", f"2000-02,{marks[0]}", "2000-03,4", f"2000-04,{marks[-1]}", "2000-05,8", "2000-06,7"]
    path = tmp_path / "marks.csv"
    path.write_text("date,value\n" + "\n".join(rows) + "\n")
    message = load_error(tmp_path, path.read_text())
    assert f"non-numeric value {marks[0]!r} on line 3 (2 such value(s) in all), which looks like a mark for a" \
           f" missing value; read it as one with data.na_values=" in message, message
    given = shlex.split(message.split("read it as one with ")[1].split(" (")[0])[0]
    overrides = ["data=csv", f"data.path={path}", given]
    assert "missing value(s), on line(s) 3, 5" in load_error(tmp_path, path.read_text(), na_values=marks)
    series = load_series(compose_config(*overrides, "data.missing=interpolate").data, airline_csv())
    assert series.values.tolist() == [1.0, 2.5, 4.0, 6.0, 8.0, 7.0]  # the marks filled in halfway


@pytest.mark.parametrize("first, shown", [
    ("1949-01,112", "('1949-01', '112')"),  # the airline without its header line
    ('"1956 Q1",3923', "('1956 Q1', '3923')"),
    ("112", "('112')"),  # one column of values
    ("01/02/2020;5.5", "('01/02/2020', '5.5')"),
])
def test_a_file_without_a_header_line_is_refused_not_read_without_its_first_row(tmp_path, first, shown):
    sep = ";" if ";" in first else ","
    rest = [first.replace("112", "118").replace("3923", "4436").replace("5.5", "6.5")] * 3
    path = tmp_path / "headless.csv"
    path.write_text("\n".join([first, *rest]) + "\n")
    cfg = data_config(path, column=None, date_column="auto")
    cfg.sep = sep
    with pytest.raises(UserError) as error:
        load_series(cfg, airline_csv())
    assert str(error.value) == (f"the first line of {path} holds values {shown}, not column names: the file has no"
                                f" header line; add one that names the columns (e.g. date,value) so that its first"
                                f" row is read")


@pytest.mark.parametrize("header", ["date,value", "co2,week", "year,2020", "MT_001", "Q1,sales", "pm2.5,t"])
def test_a_header_with_a_name_that_is_no_value_is_read_as_names(tmp_path, header):
    from lstmts.data.series import refuse_values_as_header

    refuse_values_as_header(pd.DataFrame(columns=header.split(",")), tmp_path / "named.csv")  # no error


@pytest.mark.parametrize("encoding, words", [
    ("cp1252", "(it holds the byte 0xe4); read it with the encoding it was saved in, most likely data.encoding=cp1252"
               " (Excel on Windows)"),
    ("utf-16", "(it holds the byte 0xff): it is UTF-16 text (as Excel's Unicode text is written); read it with"
               " data.encoding=utf-16"),
])
def test_a_file_in_another_encoding_is_named_with_the_setting_that_reads_it(tmp_path, compose_config, encoding, words):
    path = tmp_path / "umsatz.csv"
    path.write_text("datum,umsätze\n2024-01-01,5\n2024-01-02,7\n2024-01-03,6\n", encoding=encoding)
    with pytest.raises(UserError) as error:
        load_series(compose_config("data=csv", f"data.path={path}").data, airline_csv())
    assert str(error.value) == f"data file {path} is not utf-8 text {words}"
    series = load_series(compose_config("data=csv", f"data.path={path}", f"data.encoding={encoding}").data,
                         airline_csv())
    assert series.name == "umsätze" and series.values.tolist() == [5.0, 7.0, 6.0]
    with pytest.raises(UserError, match="data.encoding='klingon' is no text encoding Python knows"):
        load_series(compose_config("data=csv", f"data.path={path}", "data.encoding=klingon").data, airline_csv())


def test_a_mark_beside_another_text_is_no_missing_value(tmp_path):
    message = load_error(tmp_path, "date,value\n2000-01,1\n2000-02,.\n2000-03,abc\n")
    assert "non-numeric value '.' on line 3 (2 such value(s) in all); fix or remove those rows" in message


# --- columns left to the file: data.column=null, data.date_column=auto (csv.yaml's defaults) -----

def found(tmp_path, text: str, **options) -> tuple[dict, object]:
    """Return (find_columns' answer, the loaded series) for a file with `text` and the settings left to it."""
    path = tmp_path / "found.csv"
    path.write_text(text)
    options = {"column": None, "date_column": "auto", **options}
    cfg = data_config(path, **options)
    return columns_of(cfg, airline_csv()), load_series(cfg, airline_csv())


@pytest.mark.parametrize("text, column, date_column, frequency", [
    ("date,value\n2000-01-01,1\n2000-01-02,2\n2000-01-03,4\n", "value", "date", "daily"),
    # the dates after the values, a text column that is no date before them, any names
    ("note,sales,when\na,5,2001-01\nb,6,2001-02\nc,9,2001-03\n", "sales", "when", "monthly"),
    # years as numbers: dates under a time name, so not the value column
    ("Year,Level\n1871,1120\n1872,1160\n1873,963\n", "Level", "Year", "yearly"),
    # quarters written as text
    ("q,gwh\n1956 Q1,3923\n1956 Q2,4436\n1956 Q3,4806\n", "gwh", "q", "quarterly"),
    # no column reads as dates: no dates, the values by position
    ("value,label\n1,a\n2,b\n4,c\n", "value", None, "positions"),
    # a comma at the end of every line: an empty column, never the value column
    ("date,value,\n2020-01,1,\n2020-02,3,\n2020-03,4,\n", "value", "date", "monthly"),
    # numbers under a time name that are no years: no dates, and never the value column
    ("day,visits\n1,3\n2,5\n3,4\n", "visits", None, "positions"),
])
def test_the_value_and_date_columns_are_found_in_the_file(tmp_path, text, column, date_column, frequency):
    answer, series = found(tmp_path, text)
    assert answer == {"column": column, "date_column": date_column}
    assert series.name == column and series.values[-1] in (4.0, 9.0, 963.0, 4806.0)
    assert series.frequency.name == frequency
    assert series.has_dates == (date_column is not None)


def test_a_column_given_is_used_and_only_the_other_is_found(tmp_path):
    text = "date,a,b\n2000-01,1,10\n2000-02,2,20\n2000-03,4,40\n"
    assert found(tmp_path, text, column="b")[0] == {"date_column": "date"}
    answer, series = found(tmp_path, text, column="b", date_column=None)
    assert answer == {} and not series.has_dates and series.values.tolist() == [10.0, 20.0, 40.0]
    answer, series = found(tmp_path, "a,date\n1,2000-01\n2,2000-02\n4,2000-03\n", date_column="date")
    assert answer == {"column": "a"} and series.has_dates


def test_covariates_are_never_taken_for_the_value_column(tmp_path):
    cfg_text = "date,promo,sales\n2000-01-01,0,10\n2000-01-02,1,20\n2000-01-03,0,15\n2000-01-04,1,30\n"
    path = tmp_path / "covariates.csv"
    path.write_text(cfg_text)
    cfg = data_config(path, column=None, date_column="auto")
    cfg.covariates = {"past": [], "future": ["promo"]}
    assert columns_of(cfg, airline_csv()) == {"column": "sales", "date_column": "date"}


@pytest.mark.parametrize("text, words", [
    ("date,a,b\n2000-01,1,10\n2000-02,2,20\n", ["2 numeric columns ('a', 'b')", "e.g. data.column=a"]),
    ("date,label,note\n2000-01,x,a\n2000-02,y,b\n", ["no numeric column", "'date', 'label', 'note'",
                                                     "e.g. data.column=note"]),
])
def test_a_value_column_the_file_cannot_settle_is_one_line_naming_the_choices(tmp_path, text, words):
    path = tmp_path / "unsettled.csv"
    path.write_text(text)
    with pytest.raises(UserError) as error:
        load_series(data_config(path, column=None, date_column="auto"), airline_csv())
    message = str(error.value)
    assert "\n" not in message and message.startswith("data.column is not set")
    for word in words:
        assert word in message, message


def test_dates_that_read_either_way_are_asked_about_whatever_the_column_name(tmp_path, compose_config):
    path = tmp_path / "either.csv"
    path.write_text("datum;umsatz\n01.01.2020;5\n01.02.2020;7\n01.03.2020;6\n")
    overrides = ["data=csv", f"data.path={path}", "data.sep=';'"]
    with pytest.raises(UserError) as error:
        load_series(compose_config(*overrides).data, airline_csv())
    assert "date column 'datum'" in str(error.value) and "data.dayfirst=true or false" in str(error.value)
    series = load_series(compose_config(*overrides, "data.dayfirst=true").data, airline_csv())
    assert series.name == "umsatz" and series.frequency.name == "monthly" and series.labels[1] == pd.Timestamp("2020-02-01")


def test_a_date_column_by_name_with_a_bad_line_is_named_not_passed_over(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("date,value\n2000-01-01,1\nsoon,2\n2000-01-03,3\n")
    with pytest.raises(UserError) as error:
        load_series(data_config(path, column=None, date_column="auto"), airline_csv())
    assert "date column 'date'" in str(error.value) and "line 3" in str(error.value)


# --- how the file is written: separators between fields and thousands, the decimal mark -----

def load_with_hint(compose_config, path: Path, message: str):
    """Return the series read with the overrides that end `message`, split as a shell splits them."""
    hint = message.rsplit(" with ", 1)[1]
    cfg = compose_config("data=csv", f"data.path={path}", "data.column=value", "data.date_column=date", *shlex.split(hint))
    validate(cfg)
    return load_series(cfg.data, airline_csv())


def test_numbers_with_thousands_separators_get_the_option_that_reads_them(tmp_path, compose_config):
    message = load_error(tmp_path, 'date,value\n2000-01,"1,958"\n2000-02,"2,001"\n2000-03,987\n')
    assert "non-numeric value '1,958' on line 2 (2 such value(s) in all), a number written with ',' between" in message
    assert message.endswith("""read such numbers with data.thousands="','\"""")
    assert load_with_hint(compose_config, tmp_path / "series.csv", message).values.tolist() == [1958, 2001, 987]


def test_numbers_with_a_decimal_comma_get_the_option_that_reads_them(tmp_path, compose_config):
    message = load_error(tmp_path, 'date,value\n2000-01,"1,5"\n2000-02,"2,25"\n2000-03,3\n')
    assert message.endswith("""the decimal mark ','; read such numbers with data.decimal="','\"""")
    assert load_with_hint(compose_config, tmp_path / "series.csv", message).values.tolist() == [1.5, 2.25, 3]


def test_a_semicolon_file_with_decimal_commas_gets_each_option_in_turn(tmp_path, compose_config):
    path = tmp_path / "series.csv"
    path.write_text("date;value\n2000-01;1.958,5\n2000-02;2.001,25\n2000-03;987\n")
    with pytest.raises(UserError) as error:
        load_series(data_config(path), airline_csv())
    first = str(error.value)
    assert "more fields than its header line names ('date;value'): the file looks separated by ';', read it with" \
           " data.sep=\"';'\"" in first
    with pytest.raises(UserError) as error:
        load_with_hint(compose_config, path, first)
    second = str(error.value)
    assert "non-numeric value '1.958,5' on line 2" in second
    assert second.endswith("""read such numbers with data.thousands="'.'" data.decimal="','\"""")
    series = load_with_hint(compose_config, path, first + " " + second.rsplit(" with ", 1)[1])
    assert series.values.tolist() == [1958.5, 2001.25, 987]


def test_a_semicolon_file_named_alone_gets_the_same_options_in_turn(tmp_path, compose_config):
    """With the columns left to the file, the one column left that is not dates is the value column."""
    path = tmp_path / "series.csv"
    path.write_text("month;sales\n2000-01;1.958,5\n2000-02;2.001,25\n2000-03;987\n")
    overrides = ["data=csv", f"data.path={path}"]
    for expected in ("the file looks separated by ';'", "non-numeric value '1.958,5' on line 2"):
        cfg = compose_config(*overrides)
        with pytest.raises(UserError) as error:
            load_series(cfg.data, airline_csv())
        assert expected in str(error.value)
        overrides += shlex.split(str(error.value).rsplit(" with ", 1)[1])
    series = load_series(compose_config(*overrides).data, airline_csv())
    assert series.values.tolist() == [1958.5, 2001.25, 987] and series.name == "sales" and series.has_dates


def test_a_tab_separated_file_named_alone_gets_the_separator_not_a_value_error(tmp_path, compose_config):
    path = tmp_path / "series.tsv"
    path.write_text("date\tsales\n2000-01\t5\n2000-02\t7\n2000-03\t6\n")
    with pytest.raises(UserError) as error:
        load_series(compose_config("data=csv", f"data.path={path}").data, airline_csv())
    message = str(error.value)
    assert message.startswith("data.column is not set") and "the file looks separated by '\\t'" in message
    series = load_series(compose_config("data=csv", f"data.path={path}", *shlex.split(message.rsplit(" with ", 1)[1])).data,
                         airline_csv())
    assert series.values.tolist() == [5, 7, 6] and series.name == "sales" and series.has_dates


def test_a_column_of_row_numbers_without_a_name_is_never_the_value_column(tmp_path):
    # pandas' to_csv writes its index first, under an empty name: 0, 1, 2, ...
    answer, series = found(tmp_path, ",date,sales\n0,2000-01,5\n1,2000-02,7\n2,2000-03,6\n")
    assert answer == {"column": "sales", "date_column": "date"} and series.values.tolist() == [5, 7, 6]
    # an unnamed column that is not a row number is a candidate like any other
    message = load_error(tmp_path, ",date,sales\n3,2000-01,5\n1,2000-02,7\n2,2000-03,6\n", column=None,
                         date_column="auto")
    assert "2 numeric columns ('Unnamed: 0', 'sales')" in message


@pytest.mark.parametrize("name, first", [("id", 1), ("index", 0), ("Row", 1)])
def test_a_column_of_row_numbers_under_a_name_for_them_is_never_the_value_column(tmp_path, name, first):
    rows = "".join(f"{first + i},2000-{i + 1:02d},{v}\n" for i, v in enumerate((5, 7, 6)))
    answer, series = found(tmp_path, f"{name},date,sales\n{rows}")
    assert answer == {"column": "sales", "date_column": "date"} and series.values.tolist() == [5, 7, 6]
    # numbers that do not count the rows under such a name (a store's id) are a candidate like any other
    message = load_error(tmp_path, f"{name},date,sales\n{rows.replace(f'{first},2000-01', '9,2000-01')}",
                         column=None, date_column="auto")
    assert f"2 numeric columns ('{name}', 'sales')" in message


def test_rows_with_more_fields_than_the_header_are_refused_not_read_as_an_index(tmp_path):
    message = load_error(tmp_path, "date,sales\n0,2000-01,5\n1,2000-02,7\n", column="sales")
    assert message.endswith("have more fields than its header line names ('date', 'sales'); give every column a name"
                            " in the header line")


def test_words_among_numbers_still_get_fix_or_remove(tmp_path):
    message = load_error(tmp_path, 'date,value\n2000-01,"1,958"\n2000-02,abc\n2000-03,987\n')
    assert message.endswith("(2 such value(s) in all); fix or remove those rows")


# --- column names that Hydra reads as numbers, booleans or null -----------------------------

def compose_and_load(compose_config, path: Path, *overrides: str):
    cfg = compose_config("data=csv", f"data.path={path}", *overrides)
    validate(cfg)
    return load_series(cfg.data, airline_csv())


@pytest.mark.parametrize("typed, column, read", [
    ("1949", "1949", "1949 (a number)"), ("2.5", "2.5", "2.5 (a number)"), ("true", "true", "true (a boolean)"),
    ("True", "True", "true (a boolean)"),
])
def test_a_column_hydra_reads_as_a_number_boolean_or_null_gets_the_quoting_that_reads_it(
        tmp_path, compose_config, typed, column, read):
    path = tmp_path / "wide.csv"
    path.write_text(f"date,{column},other\n2000-01,1,5\n2000-02,3,6\n2000-03,2,8\n")
    with pytest.raises(UserError) as error:
        compose_and_load(compose_config, path, f"data.column={typed}", "data.date_column=date")
    message = str(error.value)
    assert f"data.column is {read}, not the column '{column}' of {path}" in message
    hint = message.rsplit("quote it: ", 1)[1]
    assert hint == f"data.column=\"'{column}'\""
    series = compose_and_load(compose_config, path, *shlex.split(hint), "data.date_column=date")
    assert series.values.tolist() == [1, 3, 2] and series.name == column


def test_data_column_null_leaves_the_column_to_the_file_which_quotes_a_column_named_null(tmp_path, compose_config):
    path = tmp_path / "wide.csv"
    path.write_text("date,null,other\n2000-01,1,5\n2000-02,3,6\n2000-03,2,8\n")
    with pytest.raises(UserError) as error:
        compose_and_load(compose_config, path, "data.column=null")
    message = str(error.value)
    assert "2 numeric columns ('null', 'other')" in message
    hint = message.rsplit("e.g. ", 1)[1]
    assert hint == "data.column=\"'null'\""
    series = compose_and_load(compose_config, path, *shlex.split(hint))
    assert series.values.tolist() == [1, 3, 2] and series.name == "null"


def test_a_date_column_named_by_a_number_gets_the_quoting_that_reads_it(tmp_path, compose_config):
    path = tmp_path / "series.csv"
    path.write_text("2020,value\n2000-01,1\n2000-02,3\n2000-03,2\n")
    with pytest.raises(UserError) as error:
        compose_and_load(compose_config, path, "data.column=value", "data.date_column=2020")
    hint = str(error.value).rsplit("quote it: ", 1)[1]
    assert hint == "data.date_column=\"'2020'\""
    series = compose_and_load(compose_config, path, "data.column=value", *shlex.split(hint))
    assert series.labels[2] == pd.Timestamp("2000-03-01")


# Past-only covariates reach one step ahead with the recursive strategy.
ONE_STEP = ("horizons=[1]", "intervals.steps=1")


def test_a_covariate_named_by_a_number_gets_the_whole_list_quoted(tmp_path, compose_config):
    path = tmp_path / "series.csv"
    path.write_text("value,1949,promo\n" + "".join(f"{v},{(7 * v) % 5},{v % 2}\n" for v in range(1, 40)))
    with pytest.raises(UserError) as error:
        compose_and_load(compose_config, path, "data.column=value", "data.covariates.past=[1949,promo]", *ONE_STEP)
    message = str(error.value)
    assert "data.covariates.past lists 1949 (a number), not the column '1949'" in message
    hint = message.rsplit("quote it: ", 1)[1]
    assert hint == "data.covariates.past=\"['1949','promo']\""
    series = compose_and_load(compose_config, path, "data.column=value", *shlex.split(hint), *ONE_STEP)
    assert series.covariates.past_names == ("1949", "promo")


def test_a_null_date_column_means_no_dates_even_beside_a_column_named_null(tmp_path):
    series = load_text(tmp_path, "null,value\n7,1\n8,3\n9,2\n", date_column=None)
    assert not series.has_dates


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


def _hourly(*times: str) -> str:
    return "date,value\n" + "".join(f"{time},{i}\n" for i, time in enumerate(times))


def test_an_hour_repeated_when_summer_time_ends_is_named_with_its_time_and_the_fix(tmp_path):
    # Europe/Paris, 2023-10-29: the clocks go back from 03:00 to 02:00.
    message = load_error(tmp_path, _hourly("2023-10-29 00:00", "2023-10-29 01:00", "2023-10-29 02:00",
                                           "2023-10-29 02:00", "2023-10-29 03:00"))
    assert "repeats 2023-10-29 02:00 on line 5" in message
    assert "UTC" in message


def test_an_hour_skipped_when_summer_time_starts_is_named_with_its_time_and_the_fix(tmp_path):
    # Europe/Paris, 2024-03-31: the clocks go forward from 02:00 to 03:00.
    message = load_error(tmp_path, _hourly("2024-03-31 00:00", "2024-03-31 01:00", "2024-03-31 03:00",
                                           "2024-03-31 04:00", "2024-03-31 05:00"))
    assert "2024-03-31 01:00 is followed by 2024-03-31 03:00" in message
    assert "UTC" in message and "data.missing=interpolate" in message


def test_dates_listed_newest_first_are_read_oldest_first_with_their_values(tmp_path):
    text = "week,value,promo\n2024-01-22,9,1\n2024-01-15,,0\n2024-01-08,5,1\n2024-01-01,2,0\n"
    series = load_text(tmp_path, text, date_column="week", missing="interpolate")
    assert list(series.labels) == list(pd.date_range("2024-01-01", periods=4, freq="W-MON"))
    assert series.values.tolist() == [2.0, 5.0, 7.0, 9.0] and series.filled == 1  # 7 halfway from 5 to 9
    cfg = data_config(tmp_path / "series.csv", date_column="week")
    cfg.covariates, cfg.missing = {"past": ["promo"], "future": []}, "interpolate"
    assert load_series(cfg, airline_csv()).covariates.past[:, 0].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert series.newest_first and not load_text(tmp_path, "date,value\n2000-01,1\n2000-02,3\n").newest_first
    message = load_error(tmp_path, "date,value\n2024-01-22,9\n2024-01-15,abc\n2024-01-08,5\n")
    assert "'abc' on line 3" in message  # the file's own line, whatever the order it is read in
    # falling, then rising: not one order, so not sorted
    assert "not sorted" in load_error(tmp_path, "date,value\n2000-03,1\n2000-02,2\n2000-04,3\n")


def test_notes_above_the_header_line_are_named_with_the_setting_that_skips_them(tmp_path, compose_config):
    path = tmp_path / "agency.csv"
    rows = [f"2024-01-{day:02d},{day * 2}" for day in range(1, 11)]
    path.write_text("Weekly supply (thousand barrels)\nSource: an agency\n\ndate,supply\n" + "\n".join(rows) + "\n")
    with pytest.raises(UserError) as error:
        load_series(compose_config("data=csv", f"data.path={path}").data, airline_csv())
    assert str(error.value) == (f"data file {path} starts with 3 line(s) of notes above its header line (line 4:"
                                f" 'date,supply'); skip them with data.skiprows=3")
    series = load_series(compose_config("data=csv", f"data.path={path}", "data.skiprows=3").data, airline_csv())
    assert series.name == "supply" and series.values.tolist() == [2.0 * day for day in range(1, 11)]
    assert series.labels[0] == pd.Timestamp("2024-01-01")
    path.write_text(path.read_text().replace("2024-01-07,14", "2024-01-07,abc"))
    with pytest.raises(UserError, match="'abc' on line 11"):  # lines counted in the file, notes included
        load_series(compose_config("data=csv", f"data.path={path}", "data.skiprows=3").data, airline_csv())


def _periods(days: int, per_day: int, first: int = 1, extra: dict | None = None) -> str:
    """Return a CSV of `days` dates, each with rows numbered first .. first + per_day - 1;
    the value of day d, step s is 100 d + s. `extra` {day: steps}: that day has another count."""
    lines = ["SETTLEMENT_DATE,SETTLEMENT_PERIOD,ND"]
    for day in range(1, days + 1):
        count = (extra or {}).get(day, per_day)
        lines += [f"2024-01-{day:02d},{step},{100 * day + step}" for step in range(first, first + count)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("per_day, first, frequency, season", [(48, 1, "half-hourly", 48), (24, 0, "hourly", 24),
                                                               (24, 1, "hourly", 24)])
def test_a_step_column_adds_each_rows_step_of_the_day_to_its_date(tmp_path, compose_config, per_day, first,
                                                                  frequency, season):
    path = tmp_path / "periods.csv"
    path.write_text(_periods(3, per_day, first))
    series = load_series(compose_config("data=csv", f"data.path={path}", "data.step_column=SETTLEMENT_PERIOD").data,
                         airline_csv())
    assert series.name == "ND" and len(series.values) == 3 * per_day  # the step column is no value candidate
    assert (series.frequency.name, series.frequency.season_length) == (frequency, season)
    # day 2's third row (step first + 2) lies two steps after midnight: 01:00 for half-hours, 02:00 for hours
    row = per_day + 2
    assert series.labels[row] == pd.Timestamp("2024-01-02") + 2 * pd.Timedelta(days=1) / per_day
    assert series.values[row] == 200 + first + 2
    assert series.labels[-1] == pd.Timestamp("2024-01-03") + (per_day - 1) * pd.Timedelta(days=1) / per_day


def test_repeating_dates_with_a_column_that_numbers_them_point_at_the_step_column(tmp_path, compose_config):
    path = tmp_path / "periods.csv"
    path.write_text(_periods(3, 48))
    expected = (f"the dates in 'SETTLEMENT_DATE' of {path} repeat, and 'SETTLEMENT_PERIOD' numbers the rows of each"
                f" date (1 to 48): read them as times with data.step_column=SETTLEMENT_PERIOD")
    for given in ([], ["data.column=ND"]):  # the columns left to the file, or the values named
        with pytest.raises(UserError) as error:
            load_series(compose_config("data=csv", f"data.path={path}", *given).data, airline_csv())
        assert str(error.value) == expected
    path.write_text("date,value\n2024-01-01,1\n2024-01-01,2\n2024-01-02,3\n")  # nothing numbers them: as before
    with pytest.raises(UserError, match="repeats 2024-01-01 on line 3"):
        load_series(compose_config("data=csv", f"data.path={path}").data, airline_csv())


def test_a_day_with_more_steps_than_the_others_is_named_as_a_clock_change(tmp_path, compose_config):
    path = tmp_path / "periods.csv"
    path.write_text(_periods(3, 48, extra={2: 50}))  # the day the clocks go back: 50 half-hours
    with pytest.raises(UserError) as error:
        load_series(compose_config("data=csv", f"data.path={path}", "data.step_column=SETTLEMENT_PERIOD").data,
                    airline_csv())
    # periods 49 and 50 of day 2 fall on day 3's 00:00 and 00:30
    assert "repeats 2024-01-03 00:00" in str(error.value) and "UTC" in str(error.value)


@pytest.mark.parametrize("text, overrides, words", [
    ("d,s,v\n2024-01-01,1,5\n2024-01-01,x,6\n", ["data.step_column=s"], "step column 's' of"),
    ("d,s,v\n2024-01-01 10:00,1,5\n2024-01-01 10:00,2,6\n", ["data.step_column=s"], "has a time of day (2024-01-01 10:00 on line 2)"),
    ("d,s,v\n2024-01-01,1,5\n2024-01-02,1,6\n2024-01-03,1,7\n", ["data.step_column=s"], "one row per date"),
    ("d,s,v\n2024-01-01,1,5\n2024-01-01,2,6\n", ["data.step_column=s", "data.date_column=null"], "set data.date_column"),
    ("d,s,v\n2024-01-01,1,5\n2024-01-01,2,6\n", ["data.step_column=hour"], "step column 'hour' is not in"),
])
def test_a_step_column_that_cannot_number_steps_is_one_line(tmp_path, compose_config, text, overrides, words):
    path = tmp_path / "steps.csv"
    path.write_text(text)
    with pytest.raises(UserError) as error:
        load_series(compose_config("data=csv", f"data.path={path}", "data.column=v", *overrides).data, airline_csv())
    assert words in str(error.value) and "\n" not in str(error.value), str(error.value)


def test_unsorted_times_are_named_with_their_time(tmp_path):
    message = load_error(tmp_path, _hourly("2024-03-31 00:00", "2024-03-31 02:00", "2024-03-31 01:00"))
    assert "line 4 (2024-03-31 01:00) comes after 2024-03-31 02:00" in message


def test_a_column_of_years_gives_yearly_dates(tmp_path):
    series = load_text(tmp_path, "year,value\n1949,1\n1950,3\n1951,2\n", date_column="year")
    assert series.labels[0] == pd.Timestamp("1949-01-01")


# 2024-01-01 00:00 UTC is 19,723 days after 1970-01-01: 19723 * 86400 = 1,704,067,200 seconds.
@pytest.mark.parametrize("scale, unit", [(1, "seconds"), (10 ** 3, "milliseconds"), (10 ** 6, "microseconds"),
                                         (10 ** 9, "nanoseconds")])
def test_unix_times_are_read_as_utc_dates_in_the_unit_their_size_says(tmp_path, scale, unit):
    half_hours = [1_704_067_200 + 1800 * step for step in range(4)]
    text = "timestamp,load\n" + "".join(f"{t * scale},{v}\n" for t, v in zip(half_hours, (5, 7, 6, 8)))
    series = load_text(tmp_path, text, column="load", date_column="timestamp")
    assert list(series.labels) == [pd.Timestamp("2024-01-01 00:00"), pd.Timestamp("2024-01-01 00:30"),
                                   pd.Timestamp("2024-01-01 01:00"), pd.Timestamp("2024-01-01 01:30")]
    assert series.frequency.name == "half-hourly" and series.frequency.season_length == 48
    answer, found_series = found(tmp_path, text)  # left to the file: the times found, the load the values
    assert answer == {"column": "load", "date_column": "timestamp"} and found_series.labels[-1] == series.labels[-1]
    text = text.replace(f"{half_hours[2] * scale},", ",")
    message = load_error(tmp_path, text, column="load", date_column="timestamp")
    assert f"first an empty value on line 4; use Unix times in {unit}" in message, message
    with pytest.raises(UserError):  # a time column with an empty line is named, not passed over
        found(tmp_path, text)


@pytest.mark.parametrize("first, name, dates", [
    (1949, "year", True),  # years
    (20240131, "date", False),  # a YYYYMMDD number is no Unix time (1970-08-23 in seconds: below 1973)
    (99_999_999, "ts", False),  # just below 1e8 s
    (4_102_444_798, "ts", False),  # its last is 2100-01-01 in seconds (and below 1973 in milliseconds)
])
def test_numbers_of_other_sizes_are_no_unix_times(tmp_path, first, name, dates):
    from lstmts.data.series import unix_unit

    column = pd.Series([first, first + 1, first + 2])
    assert unix_unit(column) is None
    answer, _ = found(tmp_path, f"{name},value\n" + "".join(f"{first + i},{i * 3 + 1}\n" for i in range(3)))
    assert answer == {"column": "value", "date_column": name if dates else None}


def test_a_bad_number_in_a_date_column_is_quoted_as_written(tmp_path):
    message = load_error(tmp_path, "day,value\n1,3\n2,5\n3,4\n", date_column="day")
    assert "first 1 on line 2" in message and "np." not in message


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
