"""TensorBoard event files: each run's losses and final metrics, and a sweep's HParams summary.

A run writes its scalars with TensorFlow's own summary writer and `tf.summary.write`, tagged for
TensorBoard's scalars plugin, so it needs nothing more: `tf.summary.scalar` itself lives in the
tensorboard package and fails without it. The HParams summaries, which give `tensorboard --logdir SWEEP` its table and
parallel-coordinates view, are TensorBoard's protocol buffers: they are written when the
`tensorboard` extra is installed (the viewer needs it anyway) and skipped without it.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

from lstmts.report import files

EVENT_GLOB = "events.out.tfevents.*"


def _has_tensorboard() -> bool:
    try:
        return importlib.util.find_spec("tensorboard.plugins.hparams") is not None
    except ModuleNotFoundError:
        return False


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def final_scalars(metrics: dict) -> dict[str, float]:
    """Return the run's final metrics as TensorBoard tags: metrics/test_rmse, baselines/sarima/test_rmse, ..."""
    scalars = {f"metrics/{key}": float(value) for key, value in metrics.items()
               if key.endswith(("_rmse", "_mae", "_mase", "_ratio_to_persistence")) and _finite(value)}
    for name, scores in (metrics.get("baselines") or {}).items():
        for key, value in (scores.items() if isinstance(scores, dict) else ()):
            if _finite(value):
                scalars[f"baselines/{name}/{key}"] = float(value)
    return scalars


def hparam_values(flat_config: dict) -> dict:
    """Return the config values TensorBoard can show as hyperparameters (lists become their text)."""
    values = {}
    for key, value in flat_config.items():
        if key.startswith("hydra"):
            continue
        if isinstance(value, (list, tuple)):
            value = str(list(value))
        if isinstance(value, (bool, int, float, str)):
            values[key] = value
    return values


def _scalar_writer(tf):
    """Return write(tag, value, step): one scalar summary as TensorBoard's scalars plugin reads it."""
    metadata = tf.compat.v1.SummaryMetadata(
        plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="scalars")).SerializeToString()

    def write(tag: str, value: float, step: int) -> None:
        tf.summary.write(tag, tf.constant(float(value), dtype=tf.float32), step=step, metadata=metadata)

    return write


def write_run(out_dir: Path, losses: dict[int, list[float]], validation_losses: dict[int, list[float]],
              metrics: dict, hparams: dict) -> None:
    """Write the run's loss per epoch (train, and validation when there is one), final metrics and hparams."""
    from lstmts.backend import load

    _, tf = load()
    out_dir = Path(out_dir)
    for old in out_dir.glob(EVENT_GLOB):  # a run folder written again holds only the new run
        old.unlink()
    writer = tf.summary.create_file_writer(str(out_dir))
    scalar = _scalar_writer(tf)
    with writer.as_default():
        for seed, history in losses.items():
            prefix = "" if len(losses) == 1 else f"seed_{seed}/"
            for split, values in (("train", history), ("validation", validation_losses.get(seed) or [])):
                for epoch, value in enumerate(values, start=1):
                    scalar(f"{prefix}loss/{split}", value, epoch)
        for tag, value in final_scalars(metrics).items():
            scalar(tag, value, 0)
        if _has_tensorboard():
            from tensorboard.plugins.hparams import summary_v2

            pb = summary_v2.hparams_pb(hparams, trial_id=out_dir.name)
            tf.summary.experimental.write_raw_pb(pb.SerializeToString(), step=0)
    writer.close()
    files.record_written(*out_dir.glob(EVENT_GLOB))


def write_sweep(sweep_dir: Path, rows: list[dict], keys: list[str]) -> bool:
    """Write the sweep's HParams config (its differing values and metrics) at its root; False without tensorboard.

    `rows` are the jobs' summary rows; the hyperparameters are the `keys` that differ between jobs.
    Needs no TensorFlow: the sweep's own process may not have loaded it.
    """
    if not _has_tensorboard():
        return False
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.hparams import summary_v2 as hp
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    hparams = []
    for key in keys:
        values = sorted({v for row in rows if (v := row.get(key)) is not None and isinstance(v, (bool, int, float, str))
                         and not (isinstance(v, float) and math.isnan(v))}, key=str)
        if values and all(isinstance(v, str) for v in values):
            hparams.append(hp.HParam(key, hp.Discrete(values)))
        else:
            hparams.append(hp.HParam(key))
    tags = sorted({f"metrics/{name}" for row in rows for name in ("validation_rmse", "test_rmse", "train_rmse")
                   if _finite(row.get(name))})
    pb = hp.hparams_config_pb(hparams=hparams, metrics=[hp.Metric(tag) for tag in tags])
    for old in Path(sweep_dir).glob(EVENT_GLOB):
        old.unlink()
    writer = EventFileWriter(str(sweep_dir))
    writer.add_event(event_pb2.Event(summary=pb))
    writer.close()
    files.record_written(*Path(sweep_dir).glob(EVENT_GLOB))
    return True
