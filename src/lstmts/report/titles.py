"""Plot titles that say what a run was and whether it beat its best baseline."""

from __future__ import annotations

from lstmts.evaluation.scoring import choose_best_baseline
from lstmts.report.ranking import baseline_label


def run_title(cfg) -> str:
    """Return one line of the run's configuration: framing, look_back, model, protocol, transforms, epochs, repeats."""
    units = cfg.model.units
    units = list(units) if not isinstance(units, (int, str)) else units
    transforms = list(cfg.protocol.get("transforms") or [])
    parts = [
        f"{cfg.framing.name} look_back={cfg.framing.look_back}",
        f"{cfg.model.name} units={units}",
        f"protocol {cfg.protocol.name}" + (f" [{', '.join(map(str, transforms))}]" if transforms else ""),
        f"{cfg.training.epochs} epochs",
    ]
    if cfg.training.repeats > 1:
        parts.append(f"ensemble of {cfg.training.repeats} seeds from {cfg.seed}")
    else:
        parts.append(f"seed {cfg.seed}")
    return ", ".join(parts)


def score_title(metrics: dict) -> str:
    """Return the run's scores beside its best baseline, chosen on validation when the run has one."""
    validation = metrics.get("validation_rmse") is not None
    text = f"test RMSE {metrics['test_rmse']:.2f}"
    if validation:
        text += f", validation {metrics['validation_rmse']:.2f}"
    best = choose_best_baseline(metrics)
    if best is not None:
        scores = metrics["baselines"][best["name"]]
        text += f"; best baseline {baseline_label(best['name'])}: test {scores['test_rmse']:.2f}"
        if best["chosen_on"] == "validation":
            text += f", validation {scores['validation_rmse']:.2f}"
    return text
