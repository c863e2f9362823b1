"""What to try when the LSTM loses to its best baseline, chosen by what the run saw."""

from __future__ import annotations

from lstmts.evaluation.scoring import choose_best_baseline, finite_number
from lstmts.report.ranking import baseline_label

AUTO = "experiment=auto, which chooses the look_back, the transforms and the model on a validation period"


def _pair(value) -> tuple[float | None, float | None]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return finite_number(value[0]), finite_number(value[1])
    return None, None


def _differenced(transforms) -> bool:
    return any(str(name).startswith(("diff", "level")) for name in transforms)


def what_to_try(metrics: dict) -> str | None:
    """Return one line that says what to try when the run's LSTM does not beat its best baseline, else None.

    Chosen by what the run saw (metrics["seen"]): test values beyond the training range with
    transforms that scale without differencing (a scaled LSTM cannot reach past what it was
    fitted on); else a season longer than the look_back (no input window spans a season); else
    the automatic LSTM. None when the LSTM wins, or when the run is the automatic LSTM itself.
    """
    best = choose_best_baseline(metrics)
    if metrics.get("kind") == "auto" or best is None or best["ratio"] is None or best["ratio"] < 1:
        return None
    lost = f"the LSTM does not beat {baseline_label(best['name'])}"
    seen = metrics.get("seen") if isinstance(metrics.get("seen"), dict) else {}
    low, high = _pair(seen.get("training_range"))
    test_low, test_high = _pair(seen.get("test_range"))
    transforms = list(seen.get("transforms") or [])
    if None not in (low, high, test_low, test_high) and not _differenced(transforms) \
            and (test_high > high or test_low < low):
        beyond = f"reach {test_high:.4g}, above" if test_high > high else f"fall to {test_low:.4g}, below"
        scaled = f"protocol.transforms=[{','.join(map(str, transforms))}]" if transforms else "no transform"
        return (f"{lost}: its test values {beyond} the training range {low:.4g} .. {high:.4g}, and {scaled} scales"
                f" without differencing; try 'protocol.transforms=[diff1,standard]' or {AUTO}")
    season, look_back = metrics.get("season_length"), seen.get("look_back")
    if isinstance(season, int) and isinstance(look_back, int) and season > look_back:
        return (f"{lost}: the season ({season} steps) is longer than framing.look_back={look_back}, so no input"
                f" spans a season; try framing.look_back={season}, or {AUTO}")
    return f"{lost}: try {AUTO}"
