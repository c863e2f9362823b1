"""Reading run folders back: their metrics, their config, and what differs between them."""

from __future__ import annotations

import glob
import json
import math
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lstmts.errors import UserError


@dataclass
class RunRecord:
    """One run folder as read from disk: its metrics (or why they could not be read) and config."""

    path: Path
    metrics: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    overridden: set[str] = field(default_factory=set)
    problem: str | None = None

    @property
    def status(self) -> str:
        if self.problem:
            return "unreadable"
        status = self.metrics.get("status", "unknown")
        # A run that was killed before it could write its final status still says "running".
        if status == "running" and not _alive(self.metrics.get("process")):
            return "interrupted"
        return status

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _alive(process: dict | None) -> bool:
    """Return True when `process` ({host, pid}) is a process still running on this machine."""
    if not isinstance(process, dict) or process.get("host") != platform.node():
        return False
    try:
        os.kill(int(process["pid"]), 0)
    except (ProcessLookupError, ValueError, TypeError, KeyError):
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def flatten(tree, prefix: str = "") -> dict:
    """Return {"a.b.c": value} for a nested dict; lists stay values."""
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def config_path(run_dir: Path) -> Path | None:
    """Return the run's resolved config.yaml (written by lstmts), else Hydra's copy, else None."""
    for candidate in (run_dir / "config.yaml", run_dir / ".hydra" / "config.yaml"):
        if candidate.exists():
            return candidate
    return None


# metrics.json values that must be JSON objects, and the endings of those that must be numbers (or null).
_OBJECTS = ("choices", "process", "baselines", "best_baseline", "repeats", "samples", "scored", "data", "intervals",
            "final_loss", "versions", "test_rmse_by_horizon", "collection", "phases")
_SCORES = ("_rmse", "_mae", "_mase", "_smape")
_NUMBERS = (*_SCORES, "_seconds", "_ratio_to_persistence", "_ratio_to_best_baseline", "updates")


def _is_number(value) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _type_name(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(type(value), type(value).__name__)


def _number_problem(name: str, value, score: bool) -> str | None:
    """Return what is wrong with one number of a metrics.json, or None; a score is also finite and not negative.

    lstmts writes a score that is not a finite number as null: an -inf or negative RMSE is an
    edit, and would be ranked first.
    """
    if not _is_number(value):
        return f"{name} is {_type_name(value)}, not a number"
    if score and value is not None and not (math.isfinite(value) and value >= 0):
        return f"{name} is {value}, not a score (a finite number >= 0)"
    return None


def _numbers_problem(prefix: str, values: dict, endings: tuple[str, ...], scores: tuple[str, ...]) -> str | None:
    """Return the first problem of the values whose keys end with `endings` (`scores`: also finite, >= 0), or None."""
    for key, value in values.items():
        if key.endswith(endings):
            problem = _number_problem(f"{prefix}{key}", value, key.endswith(scores))
            if problem:
                return problem
    return None


def metrics_problem(metrics: dict) -> str | None:
    """Return what is wrong with a metrics.json (a string for a number, an -inf RMSE, ...), or None."""
    if not isinstance(metrics.get("status", "unknown"), str):
        return f"status is {_type_name(metrics['status'])}, not a word"
    for key, value in metrics.items():
        if key in _OBJECTS and value is not None and not isinstance(value, dict):
            return f"{key} is {_type_name(value)}, not an object"
    problem = _numbers_problem("", metrics, _NUMBERS, _SCORES)
    if problem:
        return problem
    for name, scores in (metrics.get("baselines") or {}).items():
        if not isinstance(scores, dict):
            return f"baselines.{name} is {_type_name(scores)}, not an object"
        problem = _numbers_problem(f"baselines.{name}.", scores, _NUMBERS, _SCORES)
        if problem:
            return problem
    # repeats: the mean and standard deviation of each model's RMSE.
    for key, endings, scores in (("repeats", ("_mean", "_std"), ("_mean", "_std")), ("best_baseline", _NUMBERS, _SCORES)):
        problem = _numbers_problem(f"{key}.", metrics.get(key) or {}, endings, scores)
        if problem:
            return problem
    for key in ("data", "choices"):
        for inner, value in (metrics.get(key) or {}).items():
            if not (value is None or isinstance(value, (str, int, float))):
                return f"{key}.{inner} is {_type_name(value)}, not a value"
    return None


def read_run(path: Path) -> RunRecord:
    """Return the RunRecord of one folder; problems are recorded, not raised."""
    record = RunRecord(path=Path(path))
    metrics_file = record.path / "metrics.json"
    try:
        record.metrics = json.loads(metrics_file.read_text())
        if not isinstance(record.metrics, dict):
            raise ValueError("not a JSON object")
    except FileNotFoundError:
        record.problem = "no metrics.json"
        return record
    except (OSError, ValueError) as error:
        record.problem = f"unreadable metrics.json ({error})"
        return record
    except RecursionError:
        record.problem = "unreadable metrics.json (nested too deeply; lstmts writes a few levels)"
        return record
    problem = metrics_problem(record.metrics)
    if problem:
        record.problem = f"metrics.json is not one lstmts wrote ({problem})"
        return record
    overrides_file = record.path / ".hydra" / "overrides.yaml"
    if overrides_file.exists():
        try:
            overrides = yaml.safe_load(overrides_file.read_text()) or []
            if isinstance(overrides, list):
                record.overridden = {str(o).split("=", 1)[0].lstrip("+~") for o in overrides}
        except (OSError, ValueError, yaml.YAMLError):
            pass
    config_file = config_path(record.path)
    if config_file is not None:
        try:
            tree = yaml.safe_load(config_file.read_text()) or {}
            if isinstance(tree, dict):
                record.config = flatten(tree)
        except (OSError, ValueError, yaml.YAMLError):
            tree = {}
        except RecursionError:
            record.problem = f"{config_file.name} is not a config (nested too deeply; lstmts writes a few levels)"
            return record
        if not isinstance(tree, dict):
            record.problem = f"{config_file.name} is not a config (a YAML mapping)"
            return record
    return record


def _expand(argument: str) -> list[Path]:
    matches = sorted(glob.glob(argument)) if glob.has_magic(argument) else [argument]
    return [Path(m) for m in matches]


def find_run_folders(arguments: list[str]) -> tuple[list[Path], list[str]]:
    """Return (run folders, one note per argument that holds no run) for folders, sweep folders or globs."""
    folders: list[Path] = []
    notes: list[str] = []
    for argument in arguments:
        paths = _expand(argument)
        if not paths:
            notes.append(f"{argument}: matches nothing")
        for path in paths:
            if not path.is_dir():
                notes.append(f"{path}: not a folder")
            elif (path / "metrics.json").exists() or (path / ".hydra").is_dir() or (path / "config.yaml").exists():
                folders.append(path)
            else:
                inside = sorted(p.parent for p in path.rglob("metrics.json") if ".hydra" not in p.parts)
                if not inside:
                    notes.append(f"{path}: not a run folder (no metrics.json inside); point at a run or sweep folder")
                folders.extend(inside)
    unique = list(dict.fromkeys(p.resolve() for p in folders))
    return unique, notes


def read_runs(arguments: list[str]) -> tuple[list[RunRecord], list[str]]:
    """Return the records of every run the arguments name, and notes on what was not a run."""
    folders, notes = find_run_folders(arguments)
    return [read_run(folder) for folder in folders], notes


def differing_keys(records: list[RunRecord], ignore: tuple[str, ...] = ("hydra",)) -> list[str]:
    """Return the config keys whose values are not the same in every record."""
    keys = sorted({k for r in records for k in r.config if not k.startswith(ignore)})
    differing = []
    for key in keys:
        values = {_comparable(r.config.get(key)) for r in records}
        if len(values) > 1:
            differing.append(key)
    return differing


_CHOICE_ORDER = ("experiment", "hparams_search", "data", "protocol", "framing", "model", "training")


def column_value(record: RunRecord, column: str):
    """Return the value of a display column for one run (a group choice or a config value)."""
    if "." in column or column not in _CHOICE_ORDER:
        return record.config.get(column)
    return (record.metrics.get("choices") or {}).get(column)


def _comparable(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _column_value(record: RunRecord, column: str) -> str:
    return _comparable(column_value(record, column))


def _determined_by(records: list[RunRecord], column: str, by: str) -> bool:
    """Return True when every value of `by` goes with a single value of `column`."""
    seen: dict = {}
    for record in records:
        key, value = _column_value(record, by), _column_value(record, column)
        if seen.setdefault(key, value) != value:
            return False
    return True


def display_columns(records: list[RunRecord]) -> list[str]:
    """Return every config column that differs between the runs: group choices first, then values.

    Values are shown wherever they were set (preset, group, override). Those set on the command
    line, or not explained by a differing choice, come before the ones a differing choice
    explains (framing.lags_as when framing differs), so that a narrow table keeps them first.
    """
    choices = [c for c in _CHOICE_ORDER if len({_column_value(r, c) for r in records}) > 1]
    overridden = set().union(*(r.overridden for r in records))
    own, explained = [], []
    for column in differing_keys(records):
        by_choice = any(_determined_by(records, column, choice) for choice in choices)
        (explained if by_choice and column not in overridden else own).append(column)
    return choices + own + explained


def require_runs(records: list[RunRecord], arguments: list[str]) -> None:
    """Raise UserError when the arguments named no run folder at all."""
    if not records:
        raise UserError(f"no run folders found in {' '.join(arguments)}; give run folders, sweep folders or globs such as outputs/2026-11-25/*")
