"""Tests of the configs in conf/ and of lstmts.config: defaults, the five presets, validation."""

from __future__ import annotations

import shlex

import pytest
from omegaconf import OmegaConf

from lstmts.commands.run import check_overrides
from lstmts.config import airline_csv, check_horizons, check_stateful_batches, layer_units, validate
from lstmts.data.series import load_series
from lstmts.errors import UserError, override

PRESETS = ["regression", "window", "timesteps", "stateful", "stacked_stateful"]

# The tutorial's table: look_back, lags as, LSTM units per layer, stateful.
TUTORIAL = {
    "regression": (1, "features", [4], False),
    "window": (3, "features", [4], False),
    "timesteps": (3, "timesteps", [4], False),
    "stateful": (3, "timesteps", [4], True),
    "stacked_stateful": (3, "timesteps", [4, 4], True),
}


def _plain(cfg) -> dict:
    container = OmegaConf.to_container(cfg, resolve=True)
    container.pop("experiment", None)
    return container


def test_defaults_are_the_tutorial_regression(compose_config):
    cfg = compose_config()
    assert cfg.seed == 7
    assert cfg.training.epochs == 100
    assert cfg.training.batch_size == 1
    assert cfg.training.learning_rate == 0.001
    assert cfg.training.optimizer == "adam"
    assert cfg.training.loss == "mse"
    assert cfg.training.shuffle is True
    assert cfg.training.repeats == 1
    assert cfg.split.train_fraction == 0.67
    assert cfg.framing.name == "regression"
    assert cfg.framing.look_back == 1
    assert cfg.framing.lags_as == "features"
    assert layer_units(cfg.model) == [4]
    assert cfg.model.stateful is False
    assert cfg.season_length == "auto"
    assert cfg.data.path is None
    assert cfg.data.column == "Passengers"


def test_default_protocol_keeps_the_tutorial_quirks(compose_config):
    protocol = compose_config().protocol
    assert protocol.name == "tutorial"
    assert protocol.scaler_sees_test is True
    assert protocol.drop_last_sample is True
    assert protocol.test_windows_inside_split is True
    assert list(protocol.transforms) == ["minmax"]


def test_honest_protocol_turns_every_quirk_off(compose_config):
    protocol = compose_config("protocol=honest").protocol
    assert (protocol.scaler_sees_test, protocol.drop_last_sample, protocol.test_windows_inside_split) == (False, False, False)


def test_default_config_is_valid(compose_config):
    validate(compose_config())


@pytest.mark.parametrize("preset", PRESETS)
def test_each_preset_has_the_tutorial_settings(compose_config, preset):
    cfg = compose_config(f"experiment=tutorial_{preset}")
    look_back, lags_as, units, stateful = TUTORIAL[preset]
    assert cfg.framing.look_back == look_back
    assert cfg.framing.lags_as == lags_as
    assert layer_units(cfg.model) == units
    assert cfg.model.stateful is stateful
    assert (cfg.training.epochs, cfg.training.batch_size, cfg.training.learning_rate) == (100, 1, 0.001)
    assert cfg.seed == 7
    assert cfg.split.train_fraction == 0.67
    assert cfg.protocol.name == "tutorial"
    validate(cfg)


def test_preset_is_the_same_config_as_its_groups(compose_config):
    by_groups = compose_config("framing=timesteps", "model=stacked_stateful")
    by_preset = compose_config("experiment=tutorial_stacked_stateful")
    assert _plain(by_groups) == _plain(by_preset)
    assert _plain(by_preset) != _plain(compose_config())


def test_command_line_value_overrides_a_preset(compose_config):
    cfg = compose_config("experiment=tutorial_window", "framing.look_back=5", "training.epochs=2")
    assert cfg.framing.look_back == 5
    assert cfg.framing.lags_as == "features"
    assert cfg.training.epochs == 2


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("framing.look_back=0", "framing.look_back"),
        ("framing.look_back=-2", "framing.look_back"),
        ("framing.lags_as=channels", "framing.lags_as"),
        ("model.units=0", "model.units"),
        ("model.units=[4,0]", "model.units"),
        ("model.layers=0", "model.layers"),
        ("training.epochs=0", "training.epochs"),
        ("training.epochs=2.5", "training.epochs"),
        ("training.batch_size=0", "training.batch_size"),
        ("training.repeats=0", "training.repeats"),
        ("training.learning_rate=0", "training.learning_rate"),
        ("training.engine=turbo", "training.engine"),
        ("training.jit_compile=sometimes", "training.jit_compile"),
        ("training.jit_compile=1", "training.jit_compile"),
        ("training.lr_schedule=linear", "training.lr_schedule"),
        ("training.lr_schedule=cosine training.engine=keras", "training.lr_schedule"),
        ("split.train_fraction=0", "split.train_fraction"),
        ("split.train_fraction=1", "split.train_fraction"),
        ("split.train_fraction=1.5", "split.train_fraction"),
        ("season_length=0", "season_length"),
        ("data.missing=zero", "data.missing"),
        ("season_length=weekly", "season_length"),
        ("data.dayfirst=maybe", "data.dayfirst"),
        ("data.date_format=dd/mm/yyyy", "data.date_format"),
        ("data=csv data.path=x.csv data.column=y data.decimal=ab", "data.decimal"),
        ("data=csv data.path=x.csv data.column=y data.thousands=ab", "data.thousands"),
        ("data=csv data.path=x.csv data.column=y data.thousands=.", "data.thousands and data.decimal"),
        ("data=csv data.path=x.csv data.column=y data.sep=''", "data.sep"),
        ("baselines.sarima=null", "baselines.sarima"),
        ("baselines.sarima.order=[0,1]", "baselines.sarima"),
        ("baselines.holt_winters.seasonal=cubic", "baselines.holt_winters"),
        ("baselines.methods=[prophet]", "baselines.methods"),
        ("baselines.time_limit=0", "baselines.time_limit"),
        ("baselines.second_season=1", "baselines.second_season"),
        ("baselines.second_season=true", "baselines.second_season"),
        ("baselines.second_season=week", "baselines.second_season"),
        ("baselines.second_season=2.5", "baselines.second_season"),
        ("baselines.second_season=-168", "baselines.second_season"),
        ("baselines.year=yearly", "baselines.year"),
        ("baselines.year=true", "baselines.year"),
        ("baselines.year=1", "baselines.year"),
        ("intervals.levels=[1.5]", "intervals.levels"),
        ("intervals.steps=0", "intervals.steps"),
        ("intervals.steps=10000000", "intervals.steps"),
        ("framing.strategy=sideways", "framing.strategy"),
        ("framing.horizon=0", "framing.horizon"),
        ("+evaluation=backtest evaluation.window=rolling", "evaluation.window"),
        ("+evaluation=backtest evaluation.refit_every=0", "evaluation.refit_every"),
    ],
)
def test_validate_rejects_an_impossible_value_naming_its_key(compose_config, override, key):
    cfg = compose_config(*override.removeprefix("+").split())
    with pytest.raises(UserError, match=key.replace(".", r"\.")):
        validate(cfg)


def test_validate_rejects_units_list_not_matching_layers(compose_config):
    cfg = compose_config("model.units=[4,8]")  # model.layers is 1
    with pytest.raises(UserError, match=r"model\.units lists 2 values but model\.layers is 1"):
        validate(cfg)


def test_units_list_gives_one_value_per_layer(compose_config):
    cfg = compose_config("model=stacked", "model.units=[8,4]")
    validate(cfg)
    assert layer_units(cfg.model) == [8, 4]
    assert layer_units(compose_config("model=stacked").model) == [4, 4]


def test_stateful_batch_size_must_divide_the_training_samples():
    with pytest.raises(UserError, match=r"training\.batch_size=5") as error:
        check_stateful_batches(5, 92)
    assert "[1, 2, 4, 23, 46]" in str(error.value)
    check_stateful_batches(4, 92)
    check_stateful_batches(1, 94)


# --- values Hydra reads only in quotes ------------------------------------------------------

@pytest.mark.parametrize("value", ["1949", "true", "null", "Größe", "Umsatz €", "日本", ",", ";", "it's", 'say "hi"'])
def test_override_quotes_a_text_so_that_a_shell_and_hydra_pass_it_on_unchanged(compose_config, value):
    cfg = compose_config("data=csv", "data.path=x.csv", *shlex.split(override("data.column", value)))
    assert cfg.data.column == value


@pytest.mark.parametrize("column", ["Größe", "Umsatz €", "日本"])
def test_a_column_name_beyond_ascii_gets_the_quoting_that_reads_it(tmp_path, compose_config, column):
    path = tmp_path / "series.csv"
    path.write_text(f"date,{column}\n2000-01,1\n2000-02,3\n2000-03,2\n", encoding="utf-8")
    written = ["data=csv", f"data.path={path}", "data.date_column=date", f"data.column={column}"]
    with pytest.raises(UserError) as error:
        check_overrides(written)
    message = str(error.value)
    assert message.startswith(f"cannot read the override 'data.column={column}'") and "\n" not in message
    hint = message.rsplit("only in quotes: ", 1)[1]
    assert hint == f"data.column=\"'{column}'\""
    fixed = [*written[:-1], *shlex.split(hint)]
    check_overrides(fixed)
    cfg = compose_config(*fixed)
    validate(cfg)
    assert load_series(cfg.data, airline_csv()).values.tolist() == [1, 3, 2]


@pytest.mark.parametrize("bad, hint", [("data.thousands=,", "data.thousands=\"','\""), ("data.sep=;", "data.sep=\"';'\"")])
def test_a_bare_comma_or_semicolon_gets_the_quoting_that_reads_it(bad, hint):
    with pytest.raises(UserError) as error:
        check_overrides(["data=csv", "data.path=x.csv", "data.column=y", bad])
    assert str(error.value).endswith(f"only in quotes: {hint}")
    check_overrides(["data=csv", "data.path=x.csv", "data.column=y", *shlex.split(hint)])


def test_an_unclosed_bracket_still_gets_the_general_advice():
    with pytest.raises(UserError) as error:
        check_overrides(["seed=[1"])
    assert "write key=value" in str(error.value) and "only in quotes" not in str(error.value)


def test_horizons_may_reach_the_last_test_target_and_no_further():
    check_horizons([1, 3, 12], 12)
    check_horizons([], 0)
    with pytest.raises(UserError, match=r"horizons=\[1, 13\] reach 13 steps ahead, but the test period has 12 targets"):
        check_horizons([1, 13], 12)
    with pytest.raises(UserError, match=r"horizons=\[100000\] .*, or horizons=\[\] for none"):
        check_horizons([100000], 12)


def test_intervals_steps_are_capped_at_a_documented_maximum(compose_config):
    from lstmts.config import MAX_INTERVAL_STEPS

    assert MAX_INTERVAL_STEPS == 1000
    validate(compose_config(f"intervals.steps={MAX_INTERVAL_STEPS}"))
    with pytest.raises(UserError, match=r"intervals\.steps=10000000 is impossible; use a whole number from 1 to 1000,"):
        validate(compose_config("intervals.steps=10000000"))


# --- the composition check costs nothing where nothing can fail -------------------------------

def test_plain_group_choices_and_run_folders_pass_without_composing(monkeypatch):
    import hydra

    def composing(*args, **kwargs):
        raise AssertionError("composed")

    monkeypatch.setattr(hydra, "compose", composing)
    check_overrides(["experiment=tutorial_regression", "framing=timesteps", "hydra.run.dir=/tmp/x y"])
    # Anything else is still composed: a key, a missing option, an added group.
    for overrides in (["model.units=4"], ["experiment=tutorial_regresion"], ["+experiment=auto"],
                      ["experiment=tutorial_regression", "hydra.job.name=x"]):
        with pytest.raises(AssertionError, match="composed"):
            check_overrides(overrides)


def test_a_missing_option_still_gets_its_line_after_the_plain_choices_were_let_through():
    with pytest.raises(UserError, match=r"did you mean experiment=tutorial_regression\?"):
        check_overrides(["framing=timesteps", "experiment=tutorial_regresion"])


@pytest.mark.parametrize("name", ["a,b.csv", "sales, 2024.csv"])
def test_a_path_with_a_comma_gets_a_quoting_hint_that_reads_it_not_a_sweep(tmp_path, compose_config, name):
    path = tmp_path / name
    path.write_text("date,sales\n2000-01,1\n2000-02,3\n2000-03,2\n")
    written = ["data=csv", f"data.path={path}", "data.column=sales", "data.date_column=date"]
    with pytest.raises(UserError) as error:
        check_overrides(written)
    message = str(error.value)
    assert "-m" not in message and "\n" not in message
    hint = message.rsplit("one value: ", 1)[1]
    fixed = [written[0], *shlex.split(hint), *written[2:]]
    check_overrides(fixed)
    assert compose_config(*fixed).data.path == str(path)


def test_a_numeric_sweep_without_m_suggests_m_only():
    with pytest.raises(UserError, match=r"add -m: lstmts -m seed=1,2$"):
        check_overrides(["seed=1,2"])
    with pytest.raises(UserError, match=r"quote it: model.name=\"'a,b'\"\)$"):
        check_overrides(["model.name=a,b"])
