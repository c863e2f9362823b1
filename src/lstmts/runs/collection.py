"""One experiment over a collection of series: local or global LSTMs against the competitions' baselines.

Each series is scaled on its own training part (a log when every training value is positive, then
its mean and standard deviation), so that one network can learn from series of any level. With
`collection.normalise=window` each window is further taken relative to its last input value, so
the network forecasts changes from the forecast origin rather than levels.

- global: one network trained on the windows of every series, forecasting all `h` steps at once.
- local: one network per series (the same architecture, so the engine's traced graph is reused).

Forecasts are `h` steps from the end of each training part, scored with sMAPE, MASE and RMSE,
beside the baselines on exactly the same series; a series without a MASE (its training part
repeats exactly) is skipped, so that every mean is over the same series. `collection.validation=true` moves every series'
last `h` training values into its test part and never reads the real test part: that is the
score to choose configurations on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from lstmts.config import layer_units, with_preset
from lstmts.data.collection import Collection, Member, load_collection
from lstmts.errors import UserError
from lstmts.evaluation import competition
from lstmts.evaluation import intervals as intervals_module
from lstmts.models.engines.base import OWN_VALUE_LOSSES
from lstmts.report import files, plots
from lstmts.report.ranking import baseline_label
from lstmts.runs import collection_covariates, collection_intervals, collection_levels, ensemble, runner
from lstmts.runs.collection_windows import PanelWindows, SeriesValues

log = logging.getLogger(__name__)

OUTPUTS = ("series.csv", "forecasts.csv", "errors.png", "series.png", "models.npz", "models.json", "intervals.json")


@dataclass(frozen=True)
class SeriesScale:
    """How one series is put on a common scale: an optional log, then (value - shift) / scale."""

    log: bool
    shift: float
    scale: float

    @classmethod
    def fit(cls, train: np.ndarray, log: bool | str, by: str = "std", season_length: int = 1) -> SeriesScale:
        """Fit on the training part only: log when asked (auto: when every value is positive), then the mean and a scale.

        by=std divides by the standard deviation; by=steps by the mean absolute change from one
        value to the next, and by=seasonal_steps from one season to the next (MASE's scale, on the
        log when there is one). A series' steps do not grow with its length as its spread does
        when it trends, so short and long series get changes of one size.
        """
        use_log = bool(np.all(train > 0)) if log == "auto" else bool(log)
        if use_log and not np.all(train > 0):
            raise UserError("collection.log=true needs positive values in every series; use collection.log=auto")
        values = np.log(train) if use_log else np.asarray(train, float)
        lag = int(season_length) if by == "seasonal_steps" else 1
        if by != "std" and len(values) > lag:
            scale = float(np.mean(np.abs(values[lag:] - values[:-lag])))
        else:
            scale = float(np.std(values))
        return cls(use_log, float(np.mean(values)), scale if scale > 1e-12 else 1.0)

    def forward(self, values: np.ndarray) -> np.ndarray:
        values = np.log(values) if self.log else np.asarray(values, float)
        return (values - self.shift) / self.scale

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        values = np.asarray(scaled, float) * self.scale + self.shift
        # exp of an extreme output would overflow to inf: a forecast 1e30 times the series' level is wrong anyway
        return np.exp(np.clip(values, -700, 700)) if self.log else values


def series_scale(cfg: DictConfig, member: Member) -> SeriesScale:
    """Return how a series is scaled under cfg (collection.log and collection.scale), fitted on its training part."""
    return SeriesScale.fit(member.train, cfg.collection.log, cfg.collection.get("scale", "std"), member.season_length)


def windows(scaled: np.ndarray, look_back: int, horizon: int, relative: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return (inputs [n, look_back], targets [n, horizon]) of every window of a scaled training part.

    Window i takes values i .. i+look_back-1 as inputs and the next `horizon` values as targets.
    relative: both are taken minus the window's last input value.
    """
    scaled = np.asarray(scaled, dtype=float)
    count = len(scaled) - look_back - horizon + 1
    if count < 1:
        return np.empty((0, look_back)), np.empty((0, horizon))
    index = np.arange(count)[:, None]
    inputs = scaled[index + np.arange(look_back)]
    targets = scaled[index + look_back + np.arange(horizon)]
    if relative:
        anchor = inputs[:, -1:]
        inputs, targets = inputs - anchor, targets - anchor
    return inputs, targets


def origin_input(scaled: np.ndarray, look_back: int, relative: bool) -> tuple[np.ndarray, float]:
    """Return the last window of a scaled training part (the forecast origin's input) and its anchor."""
    last = scaled[-look_back:]
    anchor = float(last[-1]) if relative else 0.0
    return last - anchor, anchor


def _shape(inputs: np.ndarray, lags_as: str) -> np.ndarray:
    """[n, look_back] -> [n, look_back, 1] (lags as time steps) or [n, 1, look_back] (lags as features)."""
    return inputs[:, :, None] if lags_as == "timesteps" else inputs[:, None, :]


def without_mase(member: Member) -> str | None:
    """Return why a series has no MASE, or None.

    MASE divides by the training part's in-sample seasonal naive error: a series that repeats
    exactly there (all zeros, a constant) has none. Such a series is left out of every mean, so
    that the mean sMAPE, MASE and RMSE are over the same series.
    """
    if np.isfinite(competition.mase_scale(member.train, member.season_length)):
        return None
    return ("skipped: no MASE (the seasonal naive error of its training part is 0: it repeats exactly);"
            " left out of every mean")


def _spec(cfg: DictConfig, look_back: int, outputs: int, loss: str = "mse", extra: int = 0,
          quantiles: tuple[float, ...] = ()):
    """Return the network of one member: extra = covariate channels beside the series' value at each step.

    quantiles: one output per quantile and step (`outputs` steps each), trained on their pinball loss.
    """
    from lstmts.models.network import ModelSpec

    timesteps = cfg.framing.lags_as == "timesteps"
    if extra and not timesteps:
        raise UserError("covariates of a collection need framing=timesteps (each input step carries its covariates);"
                        " set framing=timesteps")
    return ModelSpec(units=tuple(layer_units(cfg.model)), time_steps=look_back if timesteps else 1,
                     features=1 + extra if timesteps else look_back, stateful=False,
                     batch_size=int(cfg.training.batch_size), outputs=outputs * max(len(quantiles), 1), loss=loss,
                     quantiles=tuple(quantiles))


def _settings(cfg: DictConfig, spec, seed: int, jit_compile) -> dict:
    """Return train()'s settings for one network of a collection (the epochs, the budget's samples per epoch)."""
    epochs = int(cfg.training.epochs)
    budget = cfg.collection.get("max_updates")
    # A panel with more windows than the budget allows visits a fresh random subset of them each epoch.
    per_epoch = max(1, int(budget) // max(epochs, 1)) * spec.batch_size if budget else None
    return {"epochs": epochs, "shuffle": bool(cfg.training.shuffle), "seed": seed,
            "learning_rate": float(cfg.training.learning_rate), "engine": "fast", "jit_compile": jit_compile,
            "samples_per_epoch": per_epoch, "lr_schedule": cfg.training.get("lr_schedule", "constant")}


def _fit_predict(cfg, spec, inputs, targets, origins, seed: int, jit_compile,
                 keep: list | None = None, about: dict | None = None, epochs: int | None = None,
                 ) -> tuple[np.ndarray, int, float]:
    """Train one network of `spec` and return (its outputs for `origins`, updates, training seconds).

    inputs, targets: arrays, or a PanelWindows and None (the windows are built as training visits them).
    keep: where to append the trained network's weights (with `about` it), for forecasts past the data.
    epochs: train that many epochs (early stopping's choice) instead of training.epochs, each the same size.
    """
    from lstmts.models.network import forward
    from lstmts.models.training import train

    settings = _settings(cfg, spec, seed, jit_compile)
    if epochs is not None:
        # The schedule stays the one of the full training, cut where early stopping stopped.
        settings.update(schedule_epochs=settings["epochs"], epochs=int(epochs))
    trained = train(spec, inputs, targets, **settings)
    outputs = np.asarray(forward(trained.model)(origins.astype(np.float32))).reshape(len(origins), -1)
    if keep is not None:
        keep.append({**(about or {}), "weights": [np.asarray(w) for w in trained.model.get_weights()]})
    if not np.all(np.isfinite(outputs)):
        raise UserError("the network's forecasts are not finite (training diverged);"
                        " lower training.learning_rate or use collection.normalise=window")
    return outputs, trained.updates, trained.seconds


def best_epochs(cfg: DictConfig, spec, adjusted: list[np.ndarray], look_back: int, horizon: int, seed: int,
                covariates=None, members: list[Member] | None = None,
                values_of: SeriesValues | None = None) -> tuple[int | None, int, float]:
    """Return (the epoch early stopping chooses, updates, seconds) of one global network, by validation windows.

    The network trains on every series less its last horizon, and after each epoch forecasts that
    held-back horizon from each series (the validation windows: one per series that has one);
    training stops once their mean squared error (on the scaled series) has not improved for
    `collection.early_stopping.patience` epochs. None when no series can give up a horizon.
    """
    from lstmts.models.training import train

    relative = cfg.collection.normalise == "window"
    usable = [k for k, z in enumerate(adjusted) if len(z) > horizon + 1]
    if not usable:
        return None, 0, 0.0
    shortened = [z[:-horizon] if len(z) > horizon + 1 else z[:0] for z in adjusted]
    alphas = collection_levels.alphas_for(cfg, shortened)  # fitted without the held-back horizon
    panel = PanelWindows(shortened, look_back, horizon, relative, cfg.framing.lags_as, covariates, members, values_of,
                         alphas)
    if not len(panel):
        return None, 0, 0.0
    chosen = [shortened[k] for k in usable]
    inputs, anchors = origin_inputs(cfg, chosen, look_back, covariates,
                                    [members[k] for k in usable] if members else None, horizon,
                                    None if alphas is None else alphas[usable])
    targets = np.stack([adjusted[k][-horizon:] for k in usable]) - anchors[:, None]
    settings = _settings(cfg, spec, seed, cfg.training.jit_compile)
    patience = int(cfg.collection.early_stopping.get("patience") or 3)
    trained = train(spec, panel, None, validation=(inputs.astype(np.float32), targets), patience=patience, **settings)
    return trained.best_epoch, trained.updates, trained.seconds


def seasons_of(cfg: DictConfig, members: list[Member], scales: list[SeriesScale]) -> list[ensemble.Season | None]:
    """Return each series' season (fitted on its scaled training part) where the config deseasonalises, else None."""
    if not cfg.collection.get("deseasonalise"):
        return [None] * len(members)
    window = cfg.collection.get("season_window")
    return [ensemble.Season.fit(s.forward(m.train), m.season_length, window) for m, s in zip(members, scales)]


def series_values(members: list[Member], scales: list[SeriesScale],
                  seasons: list[ensemble.Season | None]) -> SeriesValues:
    """Return what turns every series' adjusted values back into its own (the smape and mase losses need it)."""
    return SeriesValues(log=np.array([s.log for s in scales], bool), shift=np.array([s.shift for s in scales]),
                        scale=np.array([s.scale for s in scales]),
                        mase_scale=np.array([competition.mase_scale(m.train, m.season_length) for m in members]),
                        seasons=list(seasons))


def adjusted_values(values: np.ndarray, scale: SeriesScale, season: ensemble.Season | None) -> np.ndarray:
    """Return a series' values as the network sees them: scaled, less its season from position 0 on."""
    scaled = scale.forward(values)
    return scaled - season.at(0, len(scaled)) if season is not None else scaled


def origin_inputs(cfg: DictConfig, adjusted: list[np.ndarray], look_back: int, covariates=None,
                  members: list[Member] | None = None, horizon: int = 0,
                  alphas: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (the network inputs at each series' end, their anchors): padded in front where a series is short.

    With covariates (collection_covariates.Channels), each input step also carries its series' channels.
    alphas (collection_levels.alphas_for): anchor each series at its smoothed level, not its last value.
    """
    starts = np.stack([ensemble.padded_input(z, look_back)[0] for z in adjusted])
    anchors = starts[:, -1].copy() if cfg.collection.normalise == "window" else np.zeros(len(starts))
    if alphas is not None and cfg.collection.normalise == "window":
        anchors = collection_levels.last_levels(adjusted, alphas)
    inputs = _shape(starts - anchors[:, None], cfg.framing.lags_as)
    if covariates is not None:
        extra = [collection_covariates.channels(covariates, m, np.array([len(z) - look_back]), look_back, horizon)
                 for m, z in zip(members, adjusted)]
        inputs = np.concatenate([inputs, np.concatenate(extra)], axis=2)
    return inputs, anchors


def combine(cfg: DictConfig, outputs: list[np.ndarray], look_backs: list[int] | None = None,
            lengths: list[int] | None = None) -> np.ndarray:
    """Return the ensemble's forecast from its members' outputs ([member][series, ...]): the median
    with `collection.ensemble`, else the mean.

    With `collection.ensemble.skip_padded`, a series' median leaves out the members whose look_back
    is longer than its `lengths` values (their input was padded), unless every member's was.
    """
    if not cfg.collection.get("ensemble"):
        return np.mean(outputs, axis=0)
    stacked = np.stack(outputs)
    if look_backs is None or not cfg.collection.ensemble.get("skip_padded", False):
        return np.median(stacked, axis=0)
    full = np.asarray(lengths)[None, :] >= np.asarray(look_backs)[:, None]  # [member, series]
    full[:, ~full.any(axis=0)] = True
    mask = np.broadcast_to(full.reshape(full.shape + (1,) * (stacked.ndim - 2)), stacked.shape)
    combined = np.nanmedian(np.where(mask, stacked, np.nan), axis=0)
    # A kept member's NaN stays a NaN (np.median's way), not a forecast quietly made without it.
    combined[np.any(np.isnan(stacked) & mask, axis=0)] = np.nan
    return combined


def quantile_networks(networks: list[ensemble.Member]) -> list[ensemble.Member]:
    """Return the quantile networks of an ensemble: one per look_back, its first member's seed, the pinball loss."""
    firsts: dict[int, ensemble.Member] = {}
    for network in networks:
        firsts.setdefault(network.look_back, ensemble.Member(network.look_back, "pinball", network.seed))
    return list(firsts.values())


def _forecast_global(cfg: DictConfig, members: list[Member], scales: list[SeriesScale], progress,
                     keep: list | None = None, calibrating: bool = False,
                     quantiles: tuple[float, ...] = ()) -> tuple[list, dict]:
    """Forecast every series with one network per ensemble member, trained on the windows of all of them.

    A series shorter than a member's look_back is forecast from an input padded in front; the
    members' forecasts are combined by their median (`collection.ensemble`), or by the mean of
    the `training.repeats` seeds without one. keep: where to put each trained network's weights.
    calibrating: the series are shortened by a horizon, so a member whose look_back leaves no
    training window is left out of this ensemble (the others still make it).
    quantiles: train quantile networks instead (`quantile_networks`: pinball loss, one output per
    quantile and step); each series' forecast is then [quantile, step], the median over networks.
    """
    relative = cfg.collection.normalise == "window"
    horizon = max(m.horizon for m in members)
    seasons = seasons_of(cfg, members, scales)
    adjusted = [adjusted_values(m.train, scale, season) for m, scale, season in zip(members, scales, seasons)]
    networks = ensemble.members(cfg, horizon)
    if quantiles:
        networks = quantile_networks(networks)
    covariates = collection_covariates.fit(members)
    extra = covariates.count(horizon) if covariates is not None else 0
    outputs, updates, seconds, window_count, stopped, used = [], 0, 0.0, 0, [], []
    values_of = series_values(members, scales, seasons) if any(n.loss in OWN_VALUE_LOSSES for n in networks) else None
    alphas = collection_levels.alphas_for(cfg, adjusted)
    for number, network in enumerate(networks, start=1):
        own = values_of if network.loss in OWN_VALUE_LOSSES else None
        # Built batch by batch as training visits them: the panel's windows are never all held at once.
        panel = PanelWindows(adjusted, network.look_back, horizon, relative, cfg.framing.lags_as, covariates, members,
                             own, alphas)
        if not len(panel) and calibrating and (number < len(networks) or outputs):
            progress(f"member {number}/{len(networks)} ({network.describe()}): no training window, left out")
            continue
        if not len(panel):
            raise UserError(f"no series has the look_back + horizon = {network.look_back} + {horizon} training"
                            f" values that a training window needs; lower framing.look_back"
                            f" (or collection.ensemble.look_backs)")
        origins, anchors = origin_inputs(cfg, adjusted, network.look_back, covariates, members, horizon, alphas)
        spec = _spec(cfg, network.look_back, horizon, network.loss, extra, quantiles)
        what = f"member {number}/{len(networks)} ({network.describe()})" if len(networks) > 1 else f"seed {network.seed}"
        progress(f"global model, {what}: {len(panel)} windows from {len(members)} series")
        chosen_epochs = {}
        if cfg.collection.get("early_stopping") and not quantiles:
            best, count, took = best_epochs(cfg, spec, adjusted, network.look_back, horizon, network.seed,
                                            covariates, members, own)
            updates, seconds = updates + count, seconds + took
            if best is not None:
                chosen_epochs = {"epochs": best}
                stopped.append(best)
                progress(f"global model, {what}: early stopping chose {best} of {cfg.training.epochs} epochs")
        out, count, took = _fit_predict(cfg, spec, panel, None, origins, network.seed, cfg.training.jit_compile,
                                        keep, {"look_back": network.look_back, "loss": network.loss,
                                               "seed": network.seed, "outputs": horizon, "extra": extra},
                                        **chosen_epochs)
        outputs.append(out + anchors[:, None])
        used.append(network.look_back)
        updates, seconds, window_count = updates + count, seconds + took, window_count + len(panel)
        del panel  # before the next member builds its own
    if not outputs:
        raise UserError(f"no series has the look_back + horizon training values that a training window needs;"
                        f" lower framing.look_back (or collection.ensemble.look_backs)")
    # Quantile networks: the median of each quantile over the networks; an ensemble: `combine`.
    combined = np.median(outputs, axis=0) if quantiles else combine(cfg, outputs, used,
                                                                    [len(m.train) for m in members])
    forecasts = []
    for i, (member, scale, season) in enumerate(zip(members, scales, seasons)):
        paths = combined[i].reshape(max(len(quantiles), 1), horizon)[:, :member.horizon]
        if season is not None:
            paths = paths + season.at(len(member.train), member.horizon)
        # The scale's inverse is increasing, so quantiles stay quantiles; sorted, none crosses another.
        forecasts.append(np.sort(scale.inverse(paths), axis=0) if quantiles else scale.inverse(paths[0]))
    longest = max(n.look_back for n in networks)
    info = {"windows": int(window_count // len(networks)), "updates": updates, "train_seconds": round(seconds, 3),
            "models": len(networks), "padded": int(sum(len(m.train) < longest for m in members)),
            "deseasonalised": int(sum(season is not None for season in seasons))}
    if stopped:
        info["early_stopping_epochs"] = stopped
    if cfg.collection.get("ensemble"):
        info["ensemble"] = {"members": [n.describe() for n in networks], "combined_by": "median",
                            "train_seconds": round(seconds, 3)}
    info["_inputs"] = [_input_note(len(m.train), longest) for m in members]
    return forecasts, info


def _input_note(train_values: int, look_back: int) -> str:
    """Return what a series' LSTM input was: `full`, or how much of it was padding."""
    if train_values >= look_back:
        return "full"
    return f"padded: {train_values} of {look_back} values real"


def _forecast_local(cfg: DictConfig, members: list[Member], scales: list[SeriesScale], progress,
                    keep: list | None = None, calibrating: bool = False) -> tuple[list, dict]:
    """Forecast each series with a network of its own.

    A series too short for a training window at `framing.look_back` gets the longest look_back its
    training part allows (its training values less the horizon); one without even a window of
    look_back 1 gets its seasonal naive forecast, named in series.csv.
    """
    if collection_covariates.fit(members) is not None:
        raise UserError("covariates of a collection are inputs of its global model; use collection=global")
    look_back = int(cfg.framing.look_back)
    relative = cfg.collection.normalise == "window"
    seeds = [int(cfg.seed) + k for k in range(int(cfg.training.repeats))]
    # Both engines pad a fit's windows to a power-of-two capacity: series of different lengths share
    # a handful of traced (or compiled) epochs.
    jit_compile = cfg.training.jit_compile
    from lstmts.backend import load

    load()  # TensorFlow's import is the process's start-up, not a cost per series
    forecasts, notes, updates, seconds, started = [], [], 0, 0.0, time.perf_counter()
    for number, (member, scale) in enumerate(zip(members, scales), start=1):
        own = min(look_back, len(member.train) - member.horizon)
        if own < 1:
            forecasts.append(competition.seasonal_naive(member.train, member.horizon, member.season_length))
            notes.append(f"fallback: seasonal naive ({len(member.train)} training values, no training window)")
            continue
        notes.append("full" if own == look_back else f"look_back shortened to {own}")
        scaled = scale.forward(member.train)
        inputs, targets = windows(scaled, own, member.horizon, relative)
        start, anchor = origin_input(scaled, own, relative)
        spec = _spec(cfg, own, member.horizon)
        outputs = []
        for seed in seeds:
            out, count, took = _fit_predict(cfg, spec, _shape(inputs, cfg.framing.lags_as), targets,
                                            _shape(start[None, :], cfg.framing.lags_as), seed, jit_compile, keep,
                                            {"series": member.id, "look_back": own, "loss": "mse", "seed": seed,
                                             "outputs": member.horizon})
            outputs.append(out[0])
            updates, seconds = updates + count, seconds + took
        forecasts.append(scale.inverse(np.mean(outputs, axis=0) + anchor))
        if number % 25 == 0 or number == len(members):
            progress(f"local models: {number}/{len(members)} series, {time.perf_counter() - started:.0f} s")
    # loop_seconds against train_seconds: what the per-series work around training costs.
    trained = sum(not note.startswith("fallback") for note in notes)
    return forecasts, {"updates": updates, "train_seconds": round(seconds, 3), "models": len(seeds) * trained,
                       "loop_seconds": round(time.perf_counter() - started, 3),
                       "fallbacks": sum(note.startswith("fallback") for note in notes), "_inputs": notes}


def _series_table(members: list[Member], notes: list[str | None], per_method: dict[str, list[dict]],
                  used: list[int]) -> pd.DataFrame:
    rows = []
    position = {index: k for k, index in enumerate(used)}
    for index, (member, note) in enumerate(zip(members, notes)):
        row = {"series": member.id, "frequency": member.frequency, "season_length": member.season_length,
               "train_values": len(member.train), "horizon": member.horizon, "status": note or "scored"}
        if index in position:
            for method, scores in per_method.items():
                for metric, value in scores[position[index]].items():
                    row[f"{method}_{metric}"] = value
        rows.append(row)
    return pd.DataFrame(rows)


def _forecast_frame(members: list[Member], forecasts: dict[str, list[np.ndarray]],
                    bands: dict | None = None) -> pd.DataFrame:
    frames = []
    for k, member in enumerate(members):
        frame = {"series": member.id, "step": np.arange(1, member.horizon + 1), "actual": member.test}
        frame.update({method: values[k] for method, values in forecasts.items()})
        for method, per_series in (bands or {}).items():
            for level, (lower, upper) in per_series[k].items():
                frame[f"{method}_lower_{level}"], frame[f"{method}_upper_{level}"] = lower, upper
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)


def _progress(console):
    def say(text: str) -> None:
        log.info(text)
        if console is not None:
            console.print(text, highlight=False)
    return say


def score_collection(cfg: DictConfig, out_dir: Path, console) -> dict:
    """Score every series of the collection at the end of its training part; return the run's metrics."""
    settings = cfg.collection
    collection: Collection = load_collection(cfg.data)
    split = "validation" if settings.validation else "test"
    say = _progress(console)
    members = list(collection.members)
    if settings.validation:
        # A series needs more than two horizons of values to give up one to validation.
        members = [m for m in members if len(m.train) > 2 * m.horizon]
        if not members:
            raise UserError(f"no series of {collection.name} has more than two horizons of training values, as"
                            f" collection.validation=true needs; score on test (collection.validation=false)")
        members = [m.validation() for m in members]
    # Every series gets an LSTM forecast (a short one from a padded input, or named fallback);
    # only a series without a MASE is left out, of every method's mean alike.
    notes = [without_mase(m) for m in members]
    used = [i for i, note in enumerate(notes) if note is None]
    if not used:
        raise UserError(f"every series of {collection.name} repeats exactly in its training part, so none has a"
                        f" MASE; give series that change")
    _check_windows(cfg, [members[i] for i in used])
    # In the log only: the table's summary line says the same when the run ends.
    log.info("collection %s: %d series (of %d; shard %s of %s), %d scored on %s", collection.name, len(members),
             collection.total, cfg.data.shard, cfg.data.shards, len(used), split)
    chosen = [members[i] for i in used]
    # The baselines first: statsforecast forks worker processes, which must happen before TensorFlow
    # loads. They are fitted on every series (so that their cache serves any look_back) and scored
    # on the LSTM's series only.
    levels = interval_levels(cfg)
    started = time.perf_counter()
    fitted, baseline_seconds, baseline_bands, skipped = competition.baseline_forecasts(
        [m.train for m in members], [m.horizon for m in members], [m.season_length for m in members],
        list(settings.baselines), n_jobs=settings.get("n_jobs", -1), levels=[round(100 * level) for level in levels],
        on_fit=lambda method, count: say(f"fitting {baseline_label(method)} on {count} series (cached afterwards)"),
        time_limit=settings.get("baseline_time_limit"))
    for method, reason in skipped.items():
        say(f"{baseline_label(method)}: {reason}")
    baselines = {method: [forecasts[i] for i in used] for method, forecasts in fitted.items()}
    baseline_total = time.perf_counter() - started
    networks: list = []
    lstm, training = _forecast_by_frequency(cfg, chosen, say, keep=networks)
    inputs = training.pop("_inputs")
    save_networks(out_dir, networks)
    methods = {"lstm": lstm, **baselines}
    interval_metrics, bands = {}, {}
    if levels:
        interval_metrics, bands = _intervals(cfg, out_dir, chosen, lstm, levels, say,
                                             {method: {level: ([lower[i] for i in used], [upper[i] for i in used])
                                                       for level, (lower, upper) in by_level.items()}
                                              for method, by_level in baseline_bands.items()})
    per_method = {name: [competition.scores(m.test, f, m.train, m.season_length) for m, f in zip(chosen, values)]
                  for name, values in methods.items()}
    summary = competition.summarise(per_method)
    table = _series_table(members, notes, per_method, used)
    table["lstm_input"] = pd.Series(dict(zip(used, inputs))).reindex(range(len(members))).fillna("").to_numpy()
    files.write_csv(out_dir / "series.csv", table)
    files.write_csv(out_dir / "forecasts.csv", _forecast_frame(chosen, methods, bands))
    plots.plot_collection_errors(out_dir / "errors.png", {n: [r["smape"] for r in rows] for n, rows in per_method.items()},
                                 title=f"{collection.name}: sMAPE per series on {split} ({len(chosen)} series)")
    plots.plot_collection_series(out_dir / "series.png", chosen, methods,
                                 [r["smape"] for r in per_method["lstm"]])
    own = summary.pop("lstm")
    metrics = {
        "kind": "collection",
        f"{split}_smape": own["smape"], f"{split}_mase": own["mase"], f"{split}_rmse": own["rmse"],
        "baselines": {name: {f"{split}_smape": s["smape"], f"{split}_mase": s["mase"], f"{split}_rmse": s["rmse"],
                             "share_beaten_by_lstm": s.get("share_beaten_by_lstm"),
                             "seconds": round(baseline_seconds.get(name, 0.0), 3)}
                      for name, s in summary.items()} | {name: {"note": reason} for name, reason in skipped.items()},
        "collection": {
            "name": collection.name, "sha256": collection.sha256, "scope": str(settings.scope), "split": split,
            "path": data_path(cfg),
            "series_total": collection.total, "series": len(members), "scored": len(chosen),
            "skipped": len(members) - len(chosen), "shard": int(cfg.data.shard), "shards": int(cfg.data.shards),
            "too_short_to_validate": len(collection.members) - len(members),
            "normalise": str(settings.normalise), "baseline_seconds": round(baseline_total, 3),
        },
        **training,
    }
    if interval_metrics:
        metrics["intervals"] = interval_metrics
    return metrics


def data_path(cfg: DictConfig) -> str | None:
    """Return the absolute path of the collection's file or folder (None for competition data)."""
    return str(Path(str(cfg.data.path)).resolve()) if cfg.data.get("path") not in (None, "???") else None


def interval_levels(cfg: DictConfig) -> list[float]:
    """Return the interval levels (0-1) a collection run scores: intervals.levels ([] or none: no intervals)."""
    settings = cfg.get("intervals")
    return [float(level) for level in (settings.get("levels") or [])] if settings else []


def _intervals(cfg: DictConfig, out_dir: Path, members: list[Member], lstm: list[np.ndarray], levels: list[float],
               say, baseline_bands: dict) -> tuple[dict, dict]:
    """Calibrate the LSTM's intervals, write intervals.json and score them beside ETS's and ARIMA's.

    Returns (the metrics' `intervals`, {method: per series {level: (lower, upper)}} for forecasts.csv).
    """
    usable = sum(collection_intervals.can_calibrate(m) for m in members)
    if usable < intervals_module.needed(min(levels)):
        say(f"intervals: {usable} series have more than their horizon + 2 training values to calibrate on, and"
            f" {intervals_module.needed(min(levels))} are needed at {intervals_module.level_key(min(levels))} %;"
            f" no intervals")
        return {}, {}
    say(f"intervals: training the configuration again without each series' last horizon, to calibrate"
        f" {'/'.join(intervals_module.level_key(level) for level in levels)} % intervals")
    calibration = collection_intervals.calibrate(
        members, lambda held: _forecast_by_frequency(cfg, held, lambda text: log.info("calibration: %s", text),
                                                     calibrating=True)[0],
        levels)
    files.write_json(out_dir / "intervals.json", calibration.to_json())
    scales = [competition.mase_scale(m.train, m.season_length) for m in members]
    bands = {"lstm": [collection_intervals.bands(calibration, m, f, scale) for m, f, scale in zip(members, lstm, scales)]}
    for method, by_level in baseline_bands.items():
        bands[method] = [{level: (lower[k], upper[k]) for level, (lower, upper) in by_level.items()}
                         for k in range(len(members))]
    if cfg.collection.get("quantile_intervals"):
        say("intervals: training quantile networks (pinball loss), to score their bands beside the conformal ones")
        taus = quantile_levels(levels)
        paths, _ = _forecast_by_frequency(cfg, members, lambda text: log.info("quantiles: %s", text), quantiles=taus)
        bands["lstm_quantile"] = [quantile_bands(path, taus, levels) for path in paths]
    scored = collection_intervals.score(members, bands)
    return {"levels": [intervals_module.level_key(level) for level in levels], "calibration":
            {key: value for key, value in calibration.to_json().items() if key != "quantiles"}, **scored}, bands


def quantile_levels(levels: list[float]) -> tuple[float, ...]:
    """Return the quantiles whose pairs bound the central intervals at `levels`: 0.8 -> 0.1 and 0.9."""
    return tuple(sorted({round(q, 6) for level in levels for q in ((1 - level) / 2, (1 + level) / 2)}))


def quantile_bands(paths: np.ndarray, taus: tuple[float, ...], levels: list[float]) -> dict:
    """Return {level: (lower, upper)} of one series from its quantile paths [quantile, step] at `taus`."""
    row = {tau: k for k, tau in enumerate(taus)}
    return {intervals_module.level_key(level): (paths[row[round((1 - level) / 2, 6)]],
                                                paths[row[round((1 + level) / 2, 6)]]) for level in levels}


def as_saved(networks: list[dict]) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Return (what each network is, {"k/w": weights w of network k}): the form models.json and models.npz keep."""
    arrays = {f"{k}/{w}": weights for k, network in enumerate(networks) for w, weights in enumerate(network["weights"])}
    about = [{key: value for key, value in network.items() if key != "weights"} | {"weights": len(network["weights"])}
             for network in networks]
    return about, arrays


def save_networks(out_dir: Path, networks: list[dict]) -> None:
    """Write every trained network's weights (models.npz) and what each one is (models.json), for `lstmts forecast`."""
    if not networks:
        return
    about, arrays = as_saved(networks)
    files.write_npz(out_dir / "models.npz", arrays)
    files.write_json(out_dir / "models.json", about)


def preset_groups(cfg: DictConfig, members: list[Member]) -> dict[str, list[int]]:
    """Return the groups a run forecasts apart: each frequency's with `collection.presets`, else one group, "all"."""
    return frequency_groups(members) if cfg.collection.get("presets") else {"all": list(range(len(members)))}


def frequency_groups(members: list[Member]) -> dict[str, list[int]]:
    """Return {frequency: the positions of its members}, in the order the frequencies first appear."""
    groups: dict[str, list[int]] = {}
    for index, member in enumerate(members):
        groups.setdefault(member.frequency, []).append(index)
    return groups


def preset_for(cfg: DictConfig, frequency: str) -> DictConfig:
    """Return cfg with `collection.presets[frequency]` merged in (or `collection.presets.default`; cfg when none)."""
    presets = cfg.collection.get("presets")
    if not presets:
        return cfg
    chosen = presets.get(frequency) or presets.get("default")
    if chosen is None:
        return cfg
    return with_preset(cfg, chosen)


def _check_windows(cfg: DictConfig, members: list[Member]) -> None:
    """Raise UserError, before any fitting, when a frequency group's global model would get no training window."""
    groups = preset_groups(cfg, members)
    for frequency, positions in groups.items():
        group_cfg = preset_for(cfg, frequency) if frequency != "all" else cfg
        if group_cfg.collection.scope != "global":
            continue
        chosen = [members[i] for i in positions]
        horizon = max(m.horizon for m in chosen)
        look_back = min(n.look_back for n in ensemble.members(group_cfg, horizon))
        if not any(len(m.train) >= look_back + horizon for m in chosen):
            raise UserError(f"no series has the look_back + horizon = {look_back} + {horizon} training values that a"
                            f" training window needs; lower framing.look_back (or collection.ensemble.look_backs)")


def _forecast_by_frequency(cfg: DictConfig, members: list[Member], say, keep: list | None = None,
                           calibrating: bool = False, quantiles: tuple[float, ...] = ()) -> tuple[list, dict]:
    """Forecast each frequency group with its preset (`collection.presets`), or all members with cfg alone.

    keep: where to put every trained network's weights, each with its group's frequency.
    quantiles: forecast those quantiles with global quantile networks (`_forecast_global`).
    """
    groups = preset_groups(cfg, members)
    forecasts: list = [None] * len(members)
    inputs: list = [None] * len(members)
    info: dict = {}
    for frequency, positions in groups.items():
        group_cfg = preset_for(cfg, frequency) if frequency != "all" else cfg
        chosen = [members[i] for i in positions]
        if len(groups) > 1:
            horizon = max(m.horizon for m in chosen)
            look_backs = sorted({n.look_back for n in ensemble.members(group_cfg, horizon)})
            say(f"{frequency}: {len(chosen)} series, horizon {horizon}, look_back {'/'.join(map(str, look_backs))},"
                f" {group_cfg.model.units} units, {group_cfg.training.epochs} epochs"
                f"{', deseasonalised' if group_cfg.collection.get('deseasonalise') else ''}")
        scales = [series_scale(group_cfg, m) for m in chosen]
        kept: list | None = [] if keep is not None else None
        if group_cfg.collection.scope == "global":
            values, part = _forecast_global(group_cfg, chosen, scales, say, kept, calibrating, quantiles)
        elif quantiles:
            raise UserError("quantile intervals (collection.quantile_intervals=true) come from a global network;"
                            " use collection=global or drop collection.quantile_intervals")
        else:
            values, part = _forecast_local(group_cfg, chosen, scales, say, kept, calibrating)
        if keep is not None:
            keep += [{"frequency": frequency, **network} for network in kept]
        for i, value, note in zip(positions, values, part.pop("_inputs")):
            forecasts[i], inputs[i] = value, note
        for key, value in part.items():
            if key == "ensemble":  # every group's members, named by their group when there are several
                whole = info.setdefault("ensemble", {"members": [], "combined_by": "median", "train_seconds": 0.0})
                prefix = f"{frequency}: " if frequency != "all" and len(groups) > 1 else ""
                whole["members"] += [prefix + member for member in value["members"]]
                whole["train_seconds"] = round(whole["train_seconds"] + value["train_seconds"], 3)
            elif isinstance(value, (int, float)) and key in info:
                info[key] += value
            else:
                info.setdefault(key, value)
        if frequency != "all":
            info.setdefault("by_frequency", {})[frequency] = {"series": len(chosen), **part}
    info["_inputs"] = inputs
    return forecasts, info
