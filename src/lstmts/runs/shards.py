"""Merging the shards of a collection run (data.shard of data.shards) back into one collection result.

A sharded run is a set of run folders whose configs differ only in data.shard. Their per-series
tables (series.csv) are joined and every mean and share is computed again over all scored series,
so the merged result equals what one unsharded run would have reported for the same forecasts.
A set with a shard missing (or twice) is not merged: its folders stay separate, with a note.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from lstmts.runs.records import RunRecord

_METRICS = ("smape", "mase", "rmse")


def _shard_key(record: RunRecord) -> str | None:
    about = record.metrics.get("collection")
    if record.metrics.get("kind") != "collection" or not isinstance(about, dict) or int(about.get("shards", 1)) < 2:
        return None
    config = {k: v for k, v in record.config.items() if k != "data.shard" and not k.startswith("hydra")}
    return json.dumps(config, sort_keys=True, default=str)


def merged_metrics(tables: list[pd.DataFrame], parts: list[dict]) -> tuple[dict, pd.DataFrame]:
    """Return (the metrics of the whole collection, its joined per-series table) from each shard's table and metrics."""
    table = pd.concat(tables, ignore_index=True)
    scored = table[table["status"] == "scored"]
    split = parts[0]["collection"]["split"]
    methods = [c.removesuffix("_smape") for c in table.columns if c.endswith("_smape")]
    means = {m: {metric: float(np.nanmean(scored[f"{m}_{metric}"])) if len(scored) else float("nan")
                 for metric in _METRICS} for m in methods}
    about = dict(parts[0]["collection"])
    about.update(series=int(len(table)), scored=int(len(scored)), skipped=int(len(table) - len(scored)),
                 shard=None, shards=len(parts), merged_shards=len(parts),
                 too_short_to_validate=sum(int(p["collection"].get("too_short_to_validate", 0)) for p in parts),
                 series_total=int(parts[0]["collection"].get("series_total", len(table))),
                 baseline_seconds=round(sum(p["collection"].get("baseline_seconds", 0.0) for p in parts), 3))
    own = means.pop("lstm")
    metrics = {
        "status": "ok", "kind": "collection",
        f"{split}_smape": own["smape"], f"{split}_mase": own["mase"], f"{split}_rmse": own["rmse"],
        "baselines": {m: {f"{split}_smape": s["smape"], f"{split}_mase": s["mase"], f"{split}_rmse": s["rmse"],
                          "share_beaten_by_lstm": float(np.mean(scored["lstm_smape"] < scored[f"{m}_smape"]))
                          if len(scored) else None}
                      for m, s in means.items()},
        "collection": about,
        "updates": sum(int(p.get("updates") or 0) for p in parts),
        "train_seconds": round(sum(float(p.get("train_seconds") or 0.0) for p in parts), 3),
    }
    return metrics, table


def merge_shards(records: list[RunRecord]) -> tuple[list[RunRecord], list[str], dict[Path, pd.DataFrame]]:
    """Return (records with each complete shard set replaced by one merged record, notes, merged tables by path)."""
    groups: dict[str, list[RunRecord]] = {}
    for record in records:
        key = _shard_key(record) if record.ok else None
        if key is not None:
            groups.setdefault(key, []).append(record)
    merged, notes, tables, replaced = [], [], {}, set()
    for group in groups.values():
        shards = int(group[0].metrics["collection"]["shards"])
        found = sorted(int(r.config.get("data.shard", r.metrics["collection"].get("shard", -1))) for r in group)
        name = group[0].metrics["collection"].get("name")
        if found != list(range(shards)):
            missing = sorted(set(range(shards)) - set(found))
            twice = sorted({shard for shard in found if found.count(shard) > 1})
            unknown = sorted(set(found) - set(range(shards)))
            problems = ([f"missing {missing}"] * bool(missing) + [f"shard(s) {twice} twice"] * bool(twice)
                        + [f"shard(s) {unknown} not among 0 .. {shards - 1}"] * bool(unknown))
            notes.append(f"collection {name} in {shards} shards: found shard(s) {found}, {', '.join(problems)};"
                         f" shown one by one, not merged")
            continue
        try:
            parts = sorted(group, key=lambda r: int(r.config.get("data.shard", 0)))
            frames = [pd.read_csv(r.path / "series.csv") for r in parts]
        except (OSError, ValueError) as error:
            notes.append(f"collection {name}: a shard's series.csv cannot be read ({error}); shown one by one")
            continue
        metrics, table = merged_metrics(frames, [r.metrics for r in parts])
        parent = Path(os.path.commonpath([r.path.resolve() for r in parts]))
        path = parent / f"{name} ({shards} shards merged)"
        merged.append(RunRecord(path=path, metrics=metrics, config={**parts[0].config, "data.shard": "all"},
                                overridden=set().union(*(r.overridden for r in parts))))
        tables[path] = table
        replaced.update(id(r) for r in parts)
    kept = [r for r in records if id(r) not in replaced]
    return kept + merged, notes, tables

