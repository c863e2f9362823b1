"""Shared fixtures: configs composed in-process, a quietly loaded Keras, a private XLA cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from lstmts.cli import _register_resolvers
from lstmts.config import conf_dir

@pytest.fixture(scope="session", autouse=True)
def private_xla_cache(tmp_path_factory) -> Path:
    """Point lstmts' persistent XLA cache at a folder of this test session, not at ~/.cache."""
    folder = tmp_path_factory.mktemp("xla-cache")
    saved = os.environ.get("LSTMTS_XLA_CACHE")
    os.environ["LSTMTS_XLA_CACHE"] = str(folder)
    yield folder
    if saved is None:
        os.environ.pop("LSTMTS_XLA_CACHE", None)
    else:
        os.environ["LSTMTS_XLA_CACHE"] = saved


@pytest.fixture(scope="session")
def compose_config():
    """Return a function that composes the lstmts config with Hydra overrides, as the CLI would."""
    _register_resolvers()

    def _compose(*overrides: str):
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            return compose(config_name="config", overrides=list(overrides))

    return _compose


@pytest.fixture(scope="session")
def keras():
    """Return keras, imported the way lstmts imports it (quiet, one thread)."""
    from lstmts.backend import load

    keras, _ = load()
    return keras
