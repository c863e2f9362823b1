"""One collection job: the series scored at one origin, or cross-validated over several."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from lstmts.runs import collection, collection_cv, runner


def run_collection(cfg: DictConfig, out_dir: Path, *, choices: dict | None = None, console=None) -> dict:
    """Run a collection experiment into out_dir with the run folder's usual guarantees.

    collection.cross_validation.origins > 1 scores every series at that many origins
    (runs.collection_cv); otherwise at the end of each training part (runs.collection).
    """
    body = collection_cv.cross_validate if collection_cv.settings_of(cfg)[0] > 1 else collection.score_collection
    return runner.run(cfg, out_dir, choices=choices, console=console, body=body)
