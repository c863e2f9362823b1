"""The live progress of a run: fitting the baselines, compiling, then epochs with the time left."""

from __future__ import annotations

import time
from contextlib import nullcontext

# Below this many seconds left, an estimate says nothing worth reading.
ESTIMATE_FROM_SECONDS = 5.0


def seconds_left(first_epoch_end: float, now: float, done: int, total: int) -> float | None:
    """Return the estimated seconds until epoch `total`, from the epochs after the first (which compiles).

    None until two epochs after the first have finished.
    """
    after_first = done - 1
    if after_first < 2 or done >= total:
        return None
    return (now - first_epoch_end) / after_first * (total - done)


def _left_text(seconds: float | None) -> str:
    if seconds is None or seconds < ESTIMATE_FROM_SECONDS:
        return ""
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"about {minutes} min {rest:02d} s left" if minutes else f"about {rest} s left"


class RunProgress:
    """A rich progress display with phases; does nothing without a terminal console."""

    def __init__(self, console) -> None:
        self.progress = None
        if console is not None and console.is_terminal:  # no bar, and no stray blank line, in pipes and logs
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[loss]}"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[left]}"),
                console=console,
                transient=True,
            )

    def __enter__(self) -> RunProgress:
        if self.progress is not None:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def phase(self, description: str):
        """Return a context that shows `description` (no count) while its block runs."""
        if self.progress is None:
            return nullcontext()
        progress = self.progress

        class _Phase:
            def __enter__(self):
                self.task = progress.add_task(description, total=None, loss="", left="")
                progress.refresh()

            def __exit__(self, *exc):
                progress.remove_task(self.task)

        return _Phase()

    def training(self, label: str, epochs: int, compiling: bool):
        """Add a task of `epochs` epochs, shown as compiling until the first epoch ends; return its epoch callback."""
        if self.progress is None:
            return None
        progress = self.progress
        first = "compiling (XLA)" if compiling else "preparing the graph"
        task = progress.add_task(f"{label}: {first}", total=epochs, loss="", left="")
        progress.refresh()
        first_epoch_end: list[float] = []

        def on_epoch(epoch: int, loss: float) -> None:
            now = time.perf_counter()
            if not first_epoch_end:
                first_epoch_end.append(now)
                progress.update(task, description=label, refresh=True)
            left = seconds_left(first_epoch_end[0], now, epoch + 1, epochs)
            progress.update(task, completed=epoch + 1, loss=f"loss {loss:.5f}", left=_left_text(left))

        return on_epoch
