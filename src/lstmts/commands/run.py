"""`lstmts [overrides]` and `lstmts -m [overrides]`: one experiment or a sweep, composed by Hydra."""

from __future__ import annotations

import difflib
import gc
import os
import re
import shlex
import sys
from pathlib import Path

from omegaconf import OmegaConf

from lstmts.config import conf_dir
from lstmts.errors import UserError, fail, override, stop_on_signals, stop_reason, stop_received


def register_resolvers() -> None:
    """Register the resolvers of the sweep folder's name (`${lstmts_pid:}`) and of its job folders' names."""
    from lstmts.runs.sweep import job_folder_resolver

    if not OmegaConf.has_resolver("lstmts_pid"):
        OmegaConf.register_new_resolver("lstmts_pid", lambda: os.getpid(), use_cache=True)
    if not OmegaConf.has_resolver("lstmts_job_dir"):
        OmegaConf.register_new_resolver("lstmts_job_dir", job_folder_resolver)


def _task(cfg) -> dict | float | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from rich.console import Console

    from lstmts.backend import gc_paused
    from lstmts.report.tables import job_line, print_summary

    gc.collect()  # once: what Hydra's composition left over, before the rest is frozen
    with gc_paused():  # pandas and scikit-learn
        from lstmts.runs.runner import finished_run

        if cfg.get("collection") is not None:
            from lstmts.runs.collection_job import run_collection as run
        elif cfg.get("evaluation") is not None:
            from lstmts.runs.backtest import run_backtest as run
        elif cfg.get("auto") is not None:
            from lstmts.search.auto import run_auto as run
        else:
            from lstmts.runs.runner import run
    gc.enable()  # paused since start-up (cli._main); what start-up made is frozen out of its sight by now

    stop_on_signals()  # in a launcher's worker process too, where it can
    hydra_cfg = HydraConfig.get()
    out_dir = Path(hydra_cfg.runtime.output_dir)
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    console = Console(stderr=True, markup=False)
    kept = None
    try:
        if cfg.get("resume", False) is True:
            kept = finished_run(cfg, out_dir)
        metrics = kept or run(cfg, out_dir, choices=dict(hydra_cfg.runtime.choices), console=console)
        objective = _objective(metrics, cfg.objective) if cfg.get("objective") else None
    except UserError as error:
        if not multirun:
            if not any(o.startswith("hydra.run.dir=") for o in hydra_cfg.overrides.hydra):
                from lstmts.runs.runner import remove_failed_run

                remove_failed_run(out_dir)  # a dated folder holding only the failure: not one for later globs
            fail(str(error))
        print(f"lstmts: error in job {hydra_cfg.job.num} ({out_dir}): {error}", file=sys.stderr)
        # Its metrics.json records the failure; the other jobs go on (NaN fails an Optuna trial).
        return float("nan") if cfg.get("objective") else None
    except KeyboardInterrupt as stop:
        name, code = stop_reason(stop)
        fail(f"interrupted by {name}; {out_dir / 'metrics.json'} says status: interrupted", code=code)
    if multirun:
        # One line per job; the sweep's summary table comes at the end.
        line = job_line(hydra_cfg.job.num, ",".join(hydra_cfg.overrides.task), metrics)
        print(f"{line} (finished earlier: kept)" if kept else line, flush=True)
    elif kept:
        print(f"{out_dir} already holds this run, finished (resume=true): kept it", flush=True)
    else:
        print_summary(metrics, out_dir)
    return metrics if objective is None else objective


def _objective(metrics: dict, name: str) -> float:
    value = metrics.get(name)
    if value is None:
        raise UserError(f"objective={name} is not a metric of this run; use e.g. validation_rmse (with split.validation_fraction > 0)")
    return float(value)


# Hydra's own flags, other than -m, after which lstmts leaves the command line to Hydra alone.
_MULTIRUN_FLAGS = ("-m", "--multirun")

# Settings that describe a plain run's LSTM, its protocol or its evaluation: given any of them (as a
# group, group=option, or one of its keys), `data=csv` runs that LSTM instead of the automatic one.
PLAIN_SETTINGS = ("model", "framing", "protocol", "evaluation", "hparams_search", "data.covariates", "data.calendar")


def default_experiment(argv: list[str]) -> list[str]:
    """Return the command line with `experiment=auto` added when it chooses `data=csv` and says nothing
    of how the LSTM should look: no experiment, and none of PLAIN_SETTINGS.

    A user's own series gets the automatic LSTM (chosen on validation and combined with the baselines)
    unless they ask for a plain one: `experiment=plain`, or a model, framing, protocol, evaluation,
    covariates or calendar setting of their own.
    """
    overrides = [arg for arg in argv if not arg.startswith("-")]
    if "data=csv" not in overrides:
        return argv
    for arg in overrides:
        key = arg.lstrip("+~").partition("=")[0]
        if key == "experiment" or any(key == name or key.startswith((f"{name}.", f"{name}/"))
                                      for name in PLAIN_SETTINGS):
            return argv
    place = argv.index("data=csv") + 1  # beside it: Hydra reads the overrides before its flags (--cfg job)
    return [*argv[:place], "experiment=auto", *argv[place:]]


def check_overrides(argv: list[str]) -> None:
    """Raise UserError, with the closest name, when the overrides do not compose into a config.

    Composes the config as Hydra will (a sweep with the first value of each swept key, every
    value of a swept group checked), so that an unknown key or option, or an override that cannot
    be parsed, gets one line instead of Hydra's report. Other flags (--help, --cfg, ...) are Hydra's.
    """
    if any(arg.startswith("-") and arg not in _MULTIRUN_FLAGS for arg in argv):
        return
    overrides = [arg for arg in argv if not arg.startswith("-")]
    multirun = len(overrides) < len(argv)
    if not overrides:
        return
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException, MissingConfigException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as error:
        bad = next((o for o in overrides if _unparsable(OverridesParser, o)), overrides[0])
        key, equals, value = bad.partition("=")
        quoted = override(key, value)
        if equals and value and not _STRUCTURE.search(value) and not _unparsable(OverridesParser, shlex.split(quoted)[0]):
            # Letters such as ö, and , or ; are text to Hydra only in quotes.
            raise UserError(f"cannot read the override {bad!r}: {_first_line(error)}; Hydra reads letters such as ö"
                            f" and signs such as , ; only in quotes: {quoted}") from None
        raise UserError(f"cannot read the override {bad!r}: {_first_line(error)}; write key=value, e.g. seed=3,"
                        f" and quote values with spaces or brackets") from None
    if not multirun and all(_plain_group_choice(item) for item in parsed):
        return  # group=option with the option's file present: nothing for a composition to find (saves ~0.1 s)
    single = []
    for text, item in zip(overrides, parsed):
        if not item.is_sweep_override():
            single.append(text)
            continue
        if not multirun:
            key, _, value = text.partition("=")
            quoted = override(key, value)
            if Path(value).expanduser().exists() or key.rsplit(".", 1)[-1] in _TEXT_KEYS:
                # A file name or a column name with a comma in it: one value, which Hydra reads only in quotes.
                raise UserError(f"{text} reads as several values (a sweep) because of its comma; quote it to make it"
                                f" one value: {quoted}")
            numbers = all(re.fullmatch(r"[-+0-9.e]+", piece.strip()) for piece in value.split(","))
            also = "" if numbers else f" (or, if the commas belong to one value, quote it: {quoted})"
            raise UserError(f"{text} gives several values, which makes a sweep; add -m: lstmts -m {text}{also}")
        try:
            values = list(item.sweep_string_iterator())
        except Exception:  # an interval(...) of a search: no values to try
            continue
        key = text.split("=", 1)[0]
        single.append(f"{key}={values[0]}")
        # Every option of a swept group must exist: add the first missing one to the composition.
        single.extend(f"{key}={value}" for value in values[1:] if _group_option_missing(key, value))
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            compose(config_name="config", overrides=single)
    except MissingConfigException as error:
        raise UserError(_missing_option(error)) from None
    except (HydraException, OmegaConfBaseException) as error:
        raise UserError(_unknown_key(error)) from None


# Keys whose values are texts such as a file or column name, never a list of values to sweep.
_TEXT_KEYS = ("path", "column", "date_column", "id_column", "value_column")

# Brackets, braces, parentheses and quotes: a list, a dict, a sweep or a quoted value, not a plain text to quote.
_STRUCTURE = re.compile(r"[\[\]{}()'\"]")


def _unparsable(parser_class, override: str) -> bool:
    from hydra.errors import OverrideParseException

    try:
        parser_class.create().parse_overrides([override])
    except OverrideParseException:
        return True
    return False


# Hydra's keys for where a run or sweep writes: a plain text, which any composition accepts.
_RUN_FOLDER_KEYS = ("hydra.run.dir", "hydra.sweep.dir")


def _plain_group_choice(item) -> bool:
    """Return whether a parsed override is `group=option` for a top-level group whose option file exists, or a run folder."""
    from hydra.core.override_parser.types import OverrideType

    key, value = item.key_or_group, item.value()
    if key in _RUN_FOLDER_KEYS and item.type == OverrideType.CHANGE and isinstance(value, str) and value:
        return True
    if item.package is not None or item.is_sweep_override() or item.type != OverrideType.CHANGE \
            or not isinstance(value, str):
        return False
    if "." in key or "/" in key or key == "hydra" or not value or "/" in value:
        return False
    return (conf_dir() / key).is_dir() and (conf_dir() / key / f"{value}.yaml").is_file()


def _group_option_missing(key: str, value: str) -> bool:
    group = conf_dir() / key.lstrip("+~")
    return group.is_dir() and not (group / f"{value}.yaml").exists()


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _missing_option(error) -> str:
    """Return the line for `group=option` with an option the group does not have."""
    missing = str(getattr(error, "missing_cfg_file", "") or "")
    group, _, option = missing.rpartition("/")
    options = list(getattr(error, "options", None) or [])
    if not options and (conf_dir() / group).is_dir():
        options = sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))
    if not group or not options:
        return f"{_first_line(error)}; check the group and option names (lstmts --help lists them)"
    close = difflib.get_close_matches(option, options, n=1)
    guess = f"did you mean {group}={close[0]}? " if close else ""
    return f"{group}={option} is not an option of {group}; {guess}its options are: {', '.join(options)}"


def _config_keys() -> tuple[list[str], list[str]]:
    """Return (every key of the default config as a dotted path, the config groups)."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="config")
    keys: list[str] = []

    def walk(node, prefix: str) -> None:
        for key in node:
            path = f"{prefix}{key}"
            keys.append(path)
            value = node._get_node(key)
            if OmegaConf.is_dict(value):
                walk(value, f"{path}.")

    walk(cfg, "")
    groups = sorted(p.name for p in conf_dir().iterdir() if p.is_dir() and p.name != "hydra")
    return keys, groups


def _unknown_key(error) -> str:
    """Return the line for an override of a key the config does not have (or another composition error)."""
    message = str(error)
    found = re.search(r"Could not override '([^']+)'", message)
    if not found:
        return f"the overrides do not compose into a config: {_first_line(error)}"
    key = found.group(1)
    if key.startswith("hydra.") or key == "hydra":
        return f"{key} is not a key of Hydra's config; see lstmts --hydra-help"
    keys, groups = _config_keys()
    parent, _, _ = key.rpartition(".")
    siblings = [k for k in keys if k.rpartition(".")[0] == parent]
    close = difflib.get_close_matches(key, siblings + ([] if parent else groups), n=1) \
        or difflib.get_close_matches(key, keys + groups, n=1)
    guess = f"did you mean {close[0]}? " if close else ""
    known = f"the keys of {parent} are: {', '.join(k.rpartition('.')[2] for k in siblings)}" if parent and siblings \
        else f"the groups are: {', '.join(groups)}"
    return f"{key} is not a config key; {guess}{known} (a new key needs a +: +{key}=...)"


def main() -> None:
    """Run the Hydra app: one experiment, or a sweep with `-m`."""
    import hydra

    stop_on_signals()
    register_resolvers()
    from lstmts.runs.sweep import finish_sweep

    sys.argv[1:] = default_experiment(sys.argv[1:])
    try:
        check_overrides(sys.argv[1:])
    except UserError as error:
        fail(str(error))
    app = hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")(_task)
    stopped = None
    try:
        app()
    except SystemExit as ended:
        # A stop signal that landed inside Hydra (composing the next job) surfaces as Hydra's error
        # and its exit 1: it is still an interruption. (A job's own interruption exits 128 + n.)
        stopped = stop_received() if ended.code == 1 else None
        if stopped is None:
            raise
    finally:
        # Hydra skips the end-of-sweep callback once a job raised: summarize here in any case.
        failed = finish_sweep()
    if stopped is not None:
        name, code = stopped
        fail(f"interrupted by {name}; the jobs that finished are in their folders", code=code)
    if failed:
        fail(f"{failed} job(s) of the sweep failed; see summary.csv in the sweep folder", code=1)
