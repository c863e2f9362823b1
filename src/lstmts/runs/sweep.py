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
    from lstmts.runs.comparison import best_predictions, column_priority, comparison_frame, ranking_metric
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
    frame = comparison_frame(records, keys, sort_by)
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


# Longer override texts are cut in a job folder's name, with a hash of the whole that keeps names apart.
MAX_NAME = 80


def job_folder_name(number, overrides: str) -> str:
    """Return a job folder's name, `<number>_<overrides>`, safe as one path component.

    Path separators and control characters become `_`; a name longer than MAX_NAME characters
    keeps its start and gets a short hash of the whole (data.path=/a/long/path.csv).
    """
    name = re.sub(r"[/\\\x00-\x1f\x7f]", "_", str(overrides))
    if len(name) > MAX_NAME:
        name = f"{name[:MAX_NAME - 9]}~{hashlib.sha256(str(overrides).encode()).hexdigest()[:8]}"
    return f"{number}_{name}"


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
