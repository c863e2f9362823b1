"""Where the configs live, and the checks of every user-facing value before any training."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from omegaconf import DictConfig, ListConfig

from lstmts.errors import UserError

_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def _packaged(name: str) -> Path | None:
    candidate = resources.files("lstmts") / name
    return Path(str(candidate)) if candidate.is_dir() or candidate.is_file() else None


def conf_dir() -> Path:
    """Return the config folder: inside the installed package, or `conf/` of a source checkout."""
    return _packaged("conf") or _SOURCE_ROOT / "conf"


def airline_csv() -> Path:
    """Return the path of the shipped airline-passengers.csv."""
    return _packaged("data/airline-passengers.csv") or _SOURCE_ROOT / "data" / "airline-passengers.csv"


def layer_units(model_cfg: DictConfig) -> list[int]:
    """Return the number of units of each LSTM layer, from `units` (one value or a list)."""
    layers = model_cfg.layers
    units = model_cfg.units
    if isinstance(units, (list, ListConfig)):
        units = list(units)
        if len(units) != layers:
            raise UserError(
                f"model.units lists {len(units)} values but model.layers is {layers}; "
                f"give one value per layer, e.g. model.units=[{','.join(['4'] * layers)}]"
            )
        return [int(u) for u in units]
    return [int(units)] * int(layers)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(cfg: DictConfig) -> None:
    """Raise UserError naming the first impossible config value and how to fix it."""
    look_back = cfg.framing.look_back
    _check(_is_int(look_back) and look_back >= 1,
           f"framing.look_back={look_back!r} is impossible; use a whole number >= 1, e.g. framing.look_back=3")
    _check(cfg.framing.lags_as in ("features", "timesteps"),
           f"framing.lags_as={cfg.framing.lags_as!r} is unknown; use features or timesteps")
    _check(_is_int(cfg.model.layers) and cfg.model.layers >= 1,
           f"model.layers={cfg.model.layers!r} is impossible; use a whole number >= 1")
    units = cfg.model.units
    for value in (list(units) if isinstance(units, (list, ListConfig)) else [units]):
        _check(_is_int(value) and value >= 1,
               f"model.units={units!r} is impossible; every layer needs a whole number of units >= 1, e.g. model.units=4")
    layer_units(cfg.model)
    training = cfg.training
    for key in ("epochs", "batch_size", "repeats"):
        value = training[key]
        _check(_is_int(value) and value >= 1,
               f"training.{key}={value!r} is impossible; use a whole number >= 1")
    _check(isinstance(training.learning_rate, (int, float)) and training.learning_rate > 0,
           f"training.learning_rate={training.learning_rate!r} is impossible; use a number > 0, e.g. 0.001")
    _check(training.optimizer == "adam",
           f"training.optimizer={training.optimizer!r} is not supported; use adam")
    _check(training.loss == "mse", f"training.loss={training.loss!r} is not supported; use mse")
    _check(training.engine in ("fast", "keras"),
           f"training.engine={training.engine!r} is unknown; use fast or keras")
    _check(isinstance(training.jit_compile, bool) or training.jit_compile == "auto",
           f"training.jit_compile={training.jit_compile!r} is unknown; use auto, true or false")
    fraction = cfg.split.train_fraction
    _check(isinstance(fraction, (int, float)) and 0 < fraction < 1,
           f"split.train_fraction={fraction!r} is impossible; use a number strictly between 0 and 1, e.g. 0.67")
    validation = cfg.split.get("validation_fraction", 0.0)
    _check(isinstance(validation, (int, float)) and 0 <= validation < 1,
           f"split.validation_fraction={validation!r} is impossible; use a number in [0, 1), e.g. 0.2")
    _check(_is_int(cfg.seed) and cfg.seed >= 0, f"seed={cfg.seed!r} is impossible; use a whole number >= 0, e.g. seed=7")
    horizons = cfg.get("horizons") or []
    _check(isinstance(horizons, (list, ListConfig)) and all(_is_int(h) and h >= 1 for h in horizons),
           f"horizons={horizons!r} is impossible; use a list of whole numbers >= 1, e.g. horizons=[1,3,6,12], or []")
    _check(_is_int(cfg.season_length) and cfg.season_length >= 1,
           f"season_length={cfg.season_length!r} is impossible; use a whole number >= 1 (12 for monthly data)")
    _check(cfg.data.missing in ("error", "interpolate", "drop"),
           f"data.missing={cfg.data.missing!r} is unknown; use error, interpolate or drop")


def check_stateful_batches(batch_size: int, train_samples: int) -> None:
    """Raise UserError when a stateful model cannot use batch_size with the training sample count."""
    if train_samples % batch_size:
        divisors = [d for d in range(1, min(train_samples, 64) + 1) if train_samples % d == 0]
        raise UserError(
            f"training.batch_size={batch_size} does not divide the {train_samples} training samples, "
            f"which a stateful model needs (fixed batch shape); use one of {divisors}"
        )
