"""The shipped example configuration is valid and lists every key with its default."""

import dataclasses
import tomllib
from pathlib import Path

from controller.config import Config, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "controller" / "config.example.toml"


def test_example_loads_and_equals_the_defaults() -> None:
    assert load_config(EXAMPLE) == Config()


def test_example_lists_every_key() -> None:
    keys = set(tomllib.loads(EXAMPLE.read_text())["controller"])
    assert keys == {f.name for f in dataclasses.fields(Config)}
