"""Where a run's time goes: import, data, baselines, compile, train, score, write.

A run records its phases in `metrics.json` (`phases`, seconds) and one line of them in
`lstmts.log`, so that a run that got slower shows at once which step it was.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from lstmts import backend
from lstmts.errors import raise_stop_if_swallowed

NAMES = ("import", "data", "baselines", "compile", "train", "score", "write")


def since_start() -> float:
    """Return the seconds since this process first imported lstmts (Python's own start-up, some 50 ms, is before)."""
    import lstmts

    return max(0.0, time.perf_counter() - lstmts.STARTED)


class Phases:
    """Seconds per phase of one run. TensorFlow's import counts as import, whichever phase triggers it.

    `import` starts as the seconds since lstmts was first imported when the run begins (Hydra, lstmts' own modules).
    """

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(NAMES, 0.0)
        self.seconds["import"] = since_start()

    @contextmanager
    def phase(self, name: str):
        """Count the block's seconds as `name` (less TensorFlow's import, if the block did it)."""
        started, loaded = time.perf_counter(), backend.load_seconds()
        try:
            yield
            raise_stop_if_swallowed()
        finally:
            importing = backend.load_seconds() - loaded
            self.seconds[name] += time.perf_counter() - started - importing
            self.seconds["import"] += importing

    def move(self, source: str, target: str, seconds: float) -> None:
        """Count `seconds` already counted as `source` as `target` instead (the first epoch's compile)."""
        seconds = min(max(seconds, 0.0), self.seconds[source])
        self.seconds[source] -= seconds
        self.seconds[target] += seconds

    def rounded(self) -> dict[str, float]:
        """Return {phase: seconds} rounded to milliseconds, in the order of NAMES, with their total."""
        table = {name: round(self.seconds[name], 3) for name in NAMES}
        table["total"] = round(sum(self.seconds.values()), 3)
        return table

    def line(self) -> str:
        """Return the phases as one log line: `phases (s): import 2.104, data 0.031, ..., total 4.2`."""
        return "phases (s): " + ", ".join(f"{name} {seconds:.3f}" for name, seconds in self.rounded().items())
