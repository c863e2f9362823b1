"""Tests of lstmts.runs.shards: merged means and shares by hand, and shard sets that must not be merged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lstmts.runs.records import RunRecord
from lstmts.runs.shards import merge_shards, merged_metrics


def _part(shard: int, shards: int = 2) -> dict:
    return {"status": "ok", "kind": "collection", "updates": 10, "train_seconds": 1.0,
            "collection": {"name": "tiny", "split": "test", "shard": shard, "shards": shards, "series_total": 4,
                           "baseline_seconds": 0.5}}


def _table(series: list[str], lstm: list[float], naive: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"series": series, "status": "scored", "lstm_smape": lstm, "lstm_mase": 1.0, "lstm_rmse": 1.0,
                         "naive_smape": naive, "naive_mase": 1.0, "naive_rmse": 1.0})


def test_a_merged_share_counts_strict_wins_only():
    # Series a: LSTM wins; b: a tie (not a win); c: it loses; d: it wins.
    tables = [_table(["a", "b"], [1.0, 4.0], [2.0, 4.0]), _table(["c", "d"], [6.0, 1.0], [5.0, 3.0])]
    metrics, table = merged_metrics(tables, [_part(0), _part(1)])
    assert list(table["series"]) == ["a", "b", "c", "d"]
    assert metrics["baselines"]["naive"]["share_beaten_by_lstm"] == pytest.approx(2 / 4)
    assert metrics["test_smape"] == pytest.approx(3.0) and metrics["baselines"]["naive"]["test_smape"] == pytest.approx(3.5)
    assert metrics["collection"]["scored"] == 4 and metrics["updates"] == 20 and metrics["train_seconds"] == 2.0
    assert metrics["collection"]["baseline_seconds"] == 1.0 and metrics["collection"]["shards"] == 2


def test_a_skipped_series_counts_in_the_merged_table_but_not_in_the_means():
    skipped = pd.DataFrame({"series": ["z"], "status": "skipped: too short"})
    metrics, table = merged_metrics([_table(["a"], [1.0], [2.0]), skipped], [_part(0), _part(1)])
    assert len(table) == 2 and metrics["collection"]["scored"] == 1 and metrics["collection"]["skipped"] == 1
    assert metrics["test_smape"] == 1.0 and metrics["baselines"]["naive"]["share_beaten_by_lstm"] == 1.0


def _record(tmp_path: Path, folder: str, shard: int, shards: int = 2) -> RunRecord:
    path = tmp_path / folder
    path.mkdir()
    _table([f"{folder}-x"], [1.0], [2.0]).to_csv(path / "series.csv", index=False)
    return RunRecord(path=path, metrics=_part(shard, shards), config={"data.shards": shards, "data.shard": shard})


def test_a_shard_set_with_one_shard_twice_and_one_missing_is_not_merged(tmp_path):
    twice = [_record(tmp_path, "first", 0), _record(tmp_path, "again", 0)]
    kept, notes, tables = merge_shards(twice)
    assert kept == twice and tables == {}
    assert notes == ["collection tiny in 2 shards: found shard(s) [0, 0], missing [1], shard(s) [0] twice;"
                     " shown one by one, not merged"]
    three = [_record(tmp_path, "s0", 0, 3), _record(tmp_path, "s0-again", 0, 3), _record(tmp_path, "s2", 2, 3)]
    kept, notes, _ = merge_shards(three)
    assert kept == three and "missing [1], shard(s) [0] twice" in notes[0]
    beyond = [_record(tmp_path, "b0", 0), _record(tmp_path, "b1", 1), _record(tmp_path, "b2", 2)]
    assert merge_shards(beyond)[1] == ["collection tiny in 2 shards: found shard(s) [0, 1, 2], shard(s) [2] not among"
                                       " 0 .. 1; shown one by one, not merged"]
    whole = [_record(tmp_path, "w0", 0), _record(tmp_path, "w1", 1)]
    kept, notes, tables = merge_shards(whole)
    assert notes == [] and len(kept) == 1 and kept[0].metrics["collection"]["scored"] == 2


def test_shards_merge_whatever_their_hydra_settings_and_from_their_metrics_alone(tmp_path):
    first, second = _record(tmp_path, "h0", 0), _record(tmp_path, "h1", 1)
    first.config["hydra.job.num"], second.config["hydra.job.num"] = 0, 1
    del second.config["data.shard"]  # the shard number is then read from metrics.json
    kept, notes, _ = merge_shards([first, second])
    assert notes == [] and len(kept) == 1 and kept[0].config["data.shard"] == "all"


def test_unsharded_collection_runs_are_never_merged(tmp_path):
    runs = [_record(tmp_path, "one", 0, shards=1), _record(tmp_path, "other", 0, shards=1)]
    assert merge_shards(runs) == (runs, [], {})
