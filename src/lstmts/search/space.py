"""The automatic LSTM's search space: season-aware candidates, tried one dimension at a time.

No Keras here: a candidate is a handful of config values, applied to a copy of the run's config.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from omegaconf import DictConfig, OmegaConf

from lstmts.data.transforms import Pipeline


@dataclass(frozen=True)
class Candidate:
    """One LSTM configuration of the search."""

    transforms: tuple[str, ...]
    look_back: int
    lags_as: str = "timesteps"  # timesteps: [samples, look_back, 1]; features: [samples, 1, look_back]
    units: int = 32
    layers: int = 1
    strategy: str = "recursive"  # recursive or direct

    @property
    def warmup(self) -> int:
        """Return how many leading values the transforms use up (differences, local levels, autoregressions)."""
        return Pipeline(list(self.transforms)).warmup

    def describe(self) -> str:
        """Return the candidate in a few words: `log,diff12,standard lb24 timesteps 32x1 recursive`."""
        return (f"{','.join(self.transforms)} lb{self.look_back} {self.lags_as} {self.units}x{self.layers}"
                f" {self.strategy}")

    def overrides(self) -> list[str]:
        """Return the Hydra overrides that set this configuration on the command line."""
        framing = "timesteps" if self.lags_as == "timesteps" else "window"
        model = "vanilla" if self.layers == 1 else "stacked"
        return [f"framing={framing}", f"model={model}", f"'protocol.transforms=[{','.join(self.transforms)}]'",
                f"framing.look_back={self.look_back}", f"framing.strategy={self.strategy}",
                f"model.units={self.units}", f"model.layers={self.layers}"]

    def apply(self, cfg: DictConfig, **settings) -> DictConfig:
        """Return a copy of cfg with this configuration (and `settings`: dotted keys to values) set."""
        changed = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
        OmegaConf.set_struct(changed, False)
        changed.protocol.transforms = list(self.transforms)
        changed.framing.name = "timesteps" if self.lags_as == "timesteps" else "window"
        changed.framing.look_back = int(self.look_back)
        changed.framing.lags_as = self.lags_as
        changed.framing.strategy = self.strategy
        changed.framing.horizon = None
        changed.model.name = "vanilla" if self.layers == 1 else "stacked"
        changed.model.units = int(self.units)
        changed.model.layers = int(self.layers)
        changed.model.stateful = False
        for key, value in settings.items():
            OmegaConf.update(changed, key, value, merge=False)
        return changed


def ar_lags(season: int) -> int:
    """Return the lags of the hybrid's linear model: a season and one more (2 without a season), at most 60."""
    return max(2, min(season + 1, 60)) if season > 1 else 2


def transform_options(positive: bool, season: int, level: bool = False, hybrid: bool = False,
                      second: int | None = None) -> list[tuple[str, ...]]:
    """Return the transforms to try. Every option differences the series or takes it relative to
    its local level, so no forecast is held to the training range.

    With `level` and a season, one more: each value less the mean of the season before it
    (`level<season>`), the ES-RNN way of giving the network a deseasonalised, level-free input.
    With `hybrid`, one more: the network learns what a linear autoregression of the first
    differences (fitted on the training part only) leaves (`diff1,ar<lags>`).
    With `second` (a longer cycle: a week of half-hours, 52 weeks of days), one more, second: the change
    from a cycle before, differenced again (`diff<second>,diff1`), so the network forecasts how
    this step's change departs from the same step's a week (or a year) earlier.
    """
    log = ("log",) if positive else ()
    options = [(*log, "diff1", "standard")]
    if second:
        # Second: a series with such a cycle is long (two cycles before validation: 672 half-hours, 728
        # days), its search is the one the budget cuts, and no baseline models this cycle (theirs is
        # the day of intraday values, the week of daily ones).
        options.append((*log, f"diff{second}", "diff1", "standard"))
    if season > 1:
        options += [(*log, f"diff{season}", "standard"), (*log, f"diff{season}", "diff1", "standard")]
    if positive:
        # Without the log before the newer options: the one to fall back on when a log candidate fails.
        options.append(("diff1", "standard"))
    if level and season > 1:
        options.append((*log, f"level{season}", "standard"))
    if hybrid:
        options.append((*log, "diff1", f"ar{ar_lags(season)}", "standard"))
    return options


def base_look_back(season: int, horizon: int) -> int:
    """Return the first look_back tried: a season, and at least the horizon (and 4)."""
    return max(4, season, horizon)


def stages(first: Candidate, season: int, horizon: int, positive: bool, level: bool = False,
           hybrid: bool = False, options: list[tuple[str, ...]] | None = None) -> list[tuple[str, list]]:
    """Return the dimensions in the order they are searched, each with the values to try beside the current best.

    `options`: the transform options to try (the user's auto.transforms); None: transform_options'.
    """
    look_back = first.look_back
    longer = [2 * look_back]
    shorter = [look_back // 2] if look_back // 2 >= 2 else []
    return [
        ("transforms", list(options) if options is not None else transform_options(positive, season, level, hybrid)),
        ("look_back", shorter + longer),
        ("strategy", ["direct"] if horizon > 1 else []),
        ("lags_as", ["features"]),
        ("units", [16, 64]),
        ("layers", [2]),
    ]


def neighbours(best: Candidate, dimension: str, values: list) -> list[Candidate]:
    """Return best with `dimension` set to each of `values` (best itself left out)."""
    field = "transforms" if dimension == "transforms" else dimension
    return [replace(best, **{field: value}) for value in values if getattr(best, field) != value]
