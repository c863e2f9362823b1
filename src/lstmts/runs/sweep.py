"""Hydra callbacks: the output folder is checked before a run, and a sweep ends with its summary.

The summary (summary.csv and comparison.png at the sweep root) lists failed jobs too.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import OmegaConf

from lstmts.errors import UserError, fail


def summarize_sweep(sweep_dir: Path, columns: list[str] | None = None, tensorboard: bool = True) -> int:
    """Write summary.csv and comparison.png for every job folder of a sweep; return the failed-job count.

    `columns` (report.columns) picks the printed table's columns; by default those that fit the terminal.
    With `tensorboard` (report.tensorboard), the sweep's HParams config goes beside its jobs' event files.
    """
    from lstmts.report import files
    from lstmts.report.plots import plot_comparison
    from lstmts.report.ranking import ranking_title
    from lstmts.report.tables import check_columns, print_table, wide_console
    from lstmts.runs.comparison import (add_p_vs_first, best_predictions, column_priority, comparison_frame,
                                        ranking_metric)
    from lstmts.runs.records import display_columns, read_run
    from lstmts.runs.shards import merge_shards

    records = [read_run(job) for job in job_folders(sweep_dir)]
    if not records:
        return 0
    # A sweep over data.shard: the whole collection's result is a row of its own, beside its shards.
    merged_records, _, merged = merge_shards(records)
    records += [r for r in merged_records if r.path in merged]
    for path, series in merged.items():
        files.write_csv(sweep_dir / "series-merged.csv", series)
    keys = display_columns(records)
    sort_by = ranking_metric(records)
    frame = add_p_vs_first(comparison_frame(records, keys, sort_by))
    frame["run"] = [Path(run).name for run in frame["run"]]
    files.write_csv(sweep_dir / "summary.csv", frame)
    ok = [r for r in records if r.ok]
    console = wide_console(stderr=True)
    if ok:
        plot_frame = comparison_frame(ok, keys, sort_by)
        best, notes = best_predictions(plot_frame)
        for note in notes:
            console.print(f"not plotted {note}", highlight=False, soft_wrap=True)
        plot_comparison(sweep_dir / "comparison.png", plot_frame, keys, best)
        if tensorboard:
            from lstmts.report.tensorboard import write_sweep

            write_sweep(sweep_dir, plot_frame.to_dict("records"), keys)
    failed = sum(1 for r in records if not r.ok)
    if columns is not None:
        try:
            check_columns(columns, frame)
        except UserError as error:
            console.print(f"lstmts: {error}; the table shows the columns that fit instead", highlight=False,
                          soft_wrap=True)
            columns = None
    print_table(frame, f"sweep {sweep_dir}: {len(records)} job(s), {failed} failed; {ranking_title(sort_by)}",
                console, priority=column_priority(frame, keys, sort_by), chosen=columns, config_keys=keys,
                csv_path=sweep_dir / "summary.csv")
    console.print(f"wrote {sweep_dir / 'summary.csv'}", highlight=False, soft_wrap=True)
    return failed


# A job folder's name past its number is at most this long: longer values are cut from the start
# (the end of a path tells files apart) and the name ends with a hash of the whole.
MAX_NAME = 80
# In the sweep folder: which keys the sweep varies and which overrides every job shares.
SWEEP_OVERRIDES = "overrides.txt"


def sweep_overrides(overrides, params=None, excluded=()) -> tuple[list[str], list[str]]:
    """Return the keys a sweep varies and the overrides every job shares, from its command line and
    `hydra.sweeper.params` (the command line wins), keys as Hydra writes them in each job's overrides.

    A sweep over one value (`seed=choice(1)`) is shared; `excluded` keys (`resume`) are in neither.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    texts = [f"{key}={value}" for key, value in (params or {}).items()] + [str(o) for o in overrides]
    by_key: dict[str, str | None] = {}  # key -> the shared override, None when swept
    for override in OverridesParser.create().parse_overrides(texts):
        key = override.get_key_element()
        if key.lstrip("+~") in excluded:
            continue
        one_value = override.is_discrete_sweep() and len(list(override.sweep_string_iterator())) == 1
        by_key.pop(key, None)  # the command line's after hydra.sweeper.params'
        by_key[key] = None if override.is_sweep_override() and not one_value else override.input_line
    return [k for k, v in by_key.items() if v is None], [v for v in by_key.values() if v is not None]


def write_sweep_overrides(sweep_dir: Path, swept: list[str], shared: list[str]) -> None:
    """Write the sweep folder's overrides.txt: a `swept:` line per varied key, a `same:` line per shared override."""
    lines = ["# The keys this sweep varies (each job folder is named by their values), then the overrides every",
             "# job shares (left out of the job folders' names).", *[f"swept: {key}" for key in swept],
             *[f"same: {override}" for override in shared]]
    (Path(sweep_dir) / SWEEP_OVERRIDES).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_swept_keys(sweep_dir: Path) -> list[str] | None:
    """Return the swept keys that the sweep folder's overrides.txt lists; None without the file."""
    try:
        text = (Path(sweep_dir) / SWEEP_OVERRIDES).read_text(encoding="utf-8")
    except OSError:
        return None
    return [line.removeprefix("swept:").strip() for line in text.splitlines() if line.startswith("swept:")]


def _short_keys(keys: list[str]) -> dict[str, str]:
    """Return each key's last part (`framing.look_back` -> `look_back`), or the whole key where two would clash."""
    last = {key: key.lstrip("+~").rpartition(".")[2] for key in keys}
    clashes = {name for name in last.values() if list(last.values()).count(name) > 1}
    return {key: key.lstrip("+~") if name in clashes else name for key, name in last.items()}


def job_folder_name(number, overrides: list[str], swept=None) -> str:
    """Return a job folder's name, `<number>_<swept values>` (`3_look_back=6,units=8`), safe as one path component.

    `overrides` are the job's own (`framing.look_back=6`); only the `swept` keys' values are named
    (all of them when `swept` is None), each key by its last part. Path separators and control
    characters become `_`. Past MAX_NAME characters the longest values keep their ends, and a
    short hash of the named overrides keeps names apart.
    """
    named = [str(o) for o in overrides if swept is None or str(o).partition("=")[0] in swept]
    pairs = [override.partition("=")[::2] for override in named]
    short = _short_keys([key for key, _ in pairs])
    pairs = [(short[key], re.sub(r"[/\\\x00-\x1f\x7f]", "_", value)) for key, value in pairs]
    if not pairs:
        return str(number)

    def joined(longest: int) -> str:
        return ",".join(f"{key}={value if len(value) <= longest else '~' + value[1 - longest:]}"
                        for key, value in pairs)

    name = joined(MAX_NAME)
    if len(name) > MAX_NAME:
        digest = hashlib.sha256(",".join(named).encode()).hexdigest()[:8]
        longest = max(len(value) for _, value in pairs)
        while longest > 6 and len(joined(longest)) > MAX_NAME - 9:
            longest -= 1
        name = f"{joined(longest)[:MAX_NAME - 9]}~{digest}"
    return f"{number}_{name}"


def job_folder_resolver(number, overrides, sweep_dir) -> str:
    """Return the job folder's name for `hydra.sweep.subdir`, naming the keys the sweep's overrides.txt lists."""
    return job_folder_name(number, list(overrides), read_swept_keys(Path(str(sweep_dir))))


def job_folders(sweep_dir: Path) -> list[Path]:
    """Return the job folders under a sweep folder, whatever their names and depth, by job number.

    A job folder is one with Hydra's `.hydra/` or a `metrics.json`; its number comes from
    `.hydra/hydra.yaml` (hydra.job.num), else from the start of its name.
    """
    found = {p.parent for p in sweep_dir.rglob(".hydra") if p.is_dir()}
    found |= {p.parent for p in sweep_dir.rglob("metrics.json") if ".hydra" not in p.relative_to(sweep_dir).parts}
    found.discard(sweep_dir)

    def number(folder: Path) -> tuple[int, str]:
        head = folder.name.split("_")[0]
        return (int(head) if head.isdigit() else 1 << 30, str(folder))

    return sorted(found, key=number)


def unwritable_reason(folder: Path) -> str | None:
    """Return why `folder` cannot be created or written to, or None if it can (it then exists)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except FileExistsError:
        return "a file of that name is in the way"
    except OSError as error:
        return error.strerror or str(error)
    return None


def check_output_folder(folder: Path, key: str) -> None:
    """Exit with one line when the run or sweep folder cannot be written or another live run holds it.

    Called before Hydra writes anything there; the folder stays this process's until it ends.
    """
    from lstmts.report.files import hold_folder

    reason = unwritable_reason(folder)
    if reason:
        fail(f"cannot write the output folder {folder}: {reason}; choose another with {key}=PATH")
    try:
        hold_folder(folder, key)
    except UserError as error:
        fail(str(error))


class RunFoldersCallback(Callback):
    """Checks the output folder before a run or sweep; writes the sweep summary when a sweep ends."""

    sweep_dir: Path | None = None
    columns: list[str] | None = None
    tensorboard = True
    summarized = False
    failed = 0

    def on_run_start(self, config, **kwargs) -> None:
        check_output_folder(Path(str(config.hydra.run.dir)), "hydra.run.dir")

    def on_multirun_start(self, config, **kwargs) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        check_output_folder(sweep_dir, "hydra.sweep.dir")
        RunFoldersCallback.sweep_dir = sweep_dir
        excluded = OmegaConf.select(config, "hydra.job.config.override_dirname.exclude_keys", default=[]) or []
        params = OmegaConf.select(config, "hydra.sweeper.params", default=None)
        write_sweep_overrides(sweep_dir, *sweep_overrides(
            list(config.hydra.overrides.task), OmegaConf.to_container(params) if params is not None else None,
            excluded=[str(key) for key in excluded]))
        columns = OmegaConf.select(config, "report.columns")
        RunFoldersCallback.columns = None if columns is None else [str(c) for c in columns]
        RunFoldersCallback.tensorboard = bool(OmegaConf.select(config, "report.tensorboard", default=True))
        RunFoldersCallback.summarized = False

    def on_multirun_end(self, config, **kwargs) -> None:
        finish_sweep()


def finish_sweep() -> int:
    """Summarize the current sweep once (the callback, or the CLI when Hydra stopped early); return failures."""
    cls = RunFoldersCallback
    if cls.sweep_dir is None or cls.summarized or not cls.sweep_dir.is_dir():
        return cls.failed
    cls.summarized = True
    cls.failed = summarize_sweep(cls.sweep_dir, cls.columns, cls.tensorboard)
    return cls.failed
