"""End-of-sweep summary: summary.csv and comparison.png at the sweep root, failures included."""

from __future__ import annotations

from pathlib import Path

from hydra.experimental.callback import Callback


def summarize_sweep(sweep_dir: Path) -> int:
    """Write summary.csv and comparison.png for every job folder of a sweep; return the failed-job count."""
    from lstmts import report
    from lstmts.compare import comparison_frame, plot_comparison, print_table, wide_console
    from lstmts.runs import differing_keys, read_run

    jobs = sorted((p for p in sweep_dir.iterdir() if p.is_dir() and (p / ".hydra").is_dir()),
                  key=lambda p: (int(p.name.split("_")[0]) if p.name.split("_")[0].isdigit() else 1 << 30, p.name))
    records = [read_run(job) for job in jobs]
    if not records:
        return 0
    keys = differing_keys(records)
    frame = comparison_frame(records, keys)
    frame["run"] = [Path(run).name for run in frame["run"]]
    report.write_csv(sweep_dir / "summary.csv", frame)
    ok = [r for r in records if r.ok]
    if ok:
        plot_frame = comparison_frame(ok, keys)
        plot_comparison(sweep_dir / "comparison.png", plot_frame, ok)
    failed = sum(1 for r in records if not r.ok)
    console = wide_console(stderr=True)
    print_table(frame, f"sweep {sweep_dir}: {len(records)} job(s), {failed} failed", console)
    console.print(f"wrote {sweep_dir / 'summary.csv'}", highlight=False)
    return failed


class SweepSummaryCallback(Callback):
    """Writes the sweep summary when the sweep ends; remembers the sweep for the failure path."""

    sweep_dir: Path | None = None
    summarized = False
    failed = 0

    def on_multirun_start(self, config, **kwargs) -> None:
        SweepSummaryCallback.sweep_dir = Path(str(config.hydra.sweep.dir))
        SweepSummaryCallback.summarized = False

    def on_multirun_end(self, config, **kwargs) -> None:
        finish_sweep()


def finish_sweep() -> int:
    """Summarize the current sweep once (the callback, or the CLI when Hydra stopped early); return failures."""
    cls = SweepSummaryCallback
    if cls.sweep_dir is None or cls.summarized or not cls.sweep_dir.is_dir():
        return cls.failed
    cls.summarized = True
    cls.failed = summarize_sweep(cls.sweep_dir)
    return cls.failed
