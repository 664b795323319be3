"""Config: defaults, validation that names the key, TOML loading and SDN_CONFIG."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest

from controller.config import (
    CONFIG_ENV,
    Config,
    ConfigError,
    config_from_mapping,
    load_config,
    parse_link_key,
)


@pytest.fixture(autouse=True)
def _no_env_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "sdn.toml"
    p.write_text(text)
    return p


# ---------------------------------------------------------------------- defaults
def test_defaults_need_no_configuration() -> None:
    cfg = Config()
    assert cfg.metric == "auto"  # cost once the model predicts, hop until then
    assert cfg.model_file() is not None and cfg.model_file().name == "linkcost.npz"
    assert cfg.link_timeout > cfg.lldp_interval > 0
    assert cfg.link_capacity_bps == {}
    assert config_from_mapping({}) == cfg
    assert load_config() == cfg


def test_every_field_has_a_default() -> None:
    for f in dataclasses.fields(Config):
        assert f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


# ---------------------------------------------------------------------- keys and types
def test_unknown_key_is_named() -> None:
    with pytest.raises(ConfigError, match="lldp_intervall") as exc:
        config_from_mapping({"lldp_intervall": 2.0})
    assert "lldp_interval" in str(exc.value)  # the valid keys are listed


@pytest.mark.parametrize(
    "key,value",
    [
        ("metric", 3),
        ("idle_timeout", "60"),
        ("idle_timeout", 1.5),
        ("idle_timeout", True),
        ("lldp_interval", "1s"),
        ("lldp_interval", False),
        ("default_capacity_bps", 1e9),
        ("link_capacity_bps", 10),
        ("link_capacity_bps", {"1-2": "fast"}),
        ("link_capacity_bps", {"1-2": 1.5}),
        ("reoptimize_interval", "5s"),
        ("reoptimize_holddown", True),
    ],
)
def test_wrong_type_is_named(key: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=key):
        config_from_mapping({key: value})


def test_integer_is_accepted_for_a_float() -> None:
    cfg = config_from_mapping({"lldp_interval": 2, "link_timeout": 7})
    assert cfg.lldp_interval == 2.0 and isinstance(cfg.lldp_interval, float)
    assert cfg.link_timeout == 7.0


@pytest.mark.parametrize(
    "key,value",
    [
        ("metric", "fastest"),
        ("idle_timeout", -1),
        ("idle_timeout", 65536),
        ("hard_timeout", 70000),
        ("flow_priority", 1),
        ("flow_priority", 65000),
        ("lldp_interval", 0.0),
        ("link_timeout", -1.0),
        ("stats_interval", 0.0),
        ("barrier_timeout", -0.5),
        ("default_capacity_bps", 0),
        ("reoptimize_interval", -1.0),
        ("reoptimize_interval", float("inf")),
        ("reoptimize_margin", 1.0),
        ("reoptimize_margin", -0.1),
        ("reoptimize_min_gain", -1.0),
        ("reoptimize_holddown", float("nan")),
        ("ha_etcd", "127.0.0.1:2379"),
        ("ha_etcd", "ftp://etcd:2379"),
        ("ha_group", ""),
        ("ha_group", "a/b"),
        ("ha_instance", "x" * 65),
        ("ha_lease_ttl", 1),
        ("ha_lease_ttl", 61),
        ("ha_advertise_url", "127.0.0.1:8080"),
    ],
)
def test_out_of_range_is_named(key: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=key):
        config_from_mapping({key: value})


def test_link_timeout_must_exceed_lldp_interval() -> None:
    with pytest.raises(ConfigError, match="link_timeout"):
        Config(lldp_interval=2.0, link_timeout=2.0)
    assert Config(lldp_interval=2.0, link_timeout=2.5).link_timeout == 2.5


@pytest.mark.parametrize("key", ["lldp_interval", "barrier_timeout", "stats_interval"])
def test_nan_is_rejected(key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        config_from_mapping({key: math.nan})


def test_negative_flood_dedup_window_is_rejected() -> None:
    with pytest.raises(ConfigError, match="flood_dedup_window"):
        config_from_mapping({"flood_dedup_window": -1.0})


# ---------------------------------------------------------------------- link capacities
@pytest.mark.parametrize(
    "key,expected",
    [("1-2", (1, 2)), ("0x1-0x2", (1, 2)), ("0x00000000000000ff-16", (255, 16))],
)
def test_link_key_forms(key: str, expected: tuple[int, int]) -> None:
    assert parse_link_key(key) == expected


@pytest.mark.parametrize("key", ["1", "1-2-3", "a-b", "", "1_2"])
def test_bad_link_key_is_named(key: str) -> None:
    with pytest.raises(ConfigError, match="link_capacity_bps"):
        config_from_mapping({"link_capacity_bps": {key: 1000}})


def test_link_capacity_must_be_positive() -> None:
    with pytest.raises(ConfigError, match=r"link_capacity_bps\.1-2"):
        config_from_mapping({"link_capacity_bps": {"1-2": 0}})


def test_capacity_override_is_per_direction() -> None:
    cfg = config_from_mapping({"link_capacity_bps": {"0x1-0x2": 10_000_000, "3-1": 5}})
    assert cfg.capacity_override(1, 2) == 10_000_000
    assert cfg.capacity_override(2, 1) is None
    assert cfg.capacity_override(3, 1) == 5


# ---------------------------------------------------------------------- files and SDN_CONFIG
def test_toml_file_with_controller_section(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [controller]
        metric = "latency"
        lldp_interval = 0.5
        link_timeout = 2
        idle_timeout = 30

        [controller.link_capacity_bps]
        "1-2" = 100000000
        "0x2-0x1" = 50000000

        [something_else]
        ignored = true
        """,
    )
    cfg = load_config(path)
    assert cfg.metric == "latency"
    assert cfg.lldp_interval == 0.5
    assert cfg.link_timeout == 2.0
    assert cfg.idle_timeout == 30
    assert cfg.capacity_override(1, 2) == 100_000_000
    assert cfg.capacity_override(2, 1) == 50_000_000
    assert load_config(str(path)) == cfg


def test_toml_file_without_section_is_read_at_top_level(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, 'metric = "cost"\n')).metric == "cost"


def test_errors_in_a_file_name_the_file_and_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[controller]\nidle_timout = 5\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(path) in str(exc.value) and "idle_timout" in str(exc.value)


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TOML"):
        load_config(write(tmp_path, "[controller\nmetric = \n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_controller_section_must_be_a_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="controller"):
        load_config(write(tmp_path, 'controller = "hop"\n'))


def test_sdn_config_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[controller]\nmetric = "utilization"\n')
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert load_config().metric == "utilization"
    # An explicit path wins over the environment.
    other = tmp_path / "other.toml"
    other.write_text('[controller]\nmetric = "cost"\n')
    assert load_config(other).metric == "cost"


def test_empty_sdn_config_means_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, "")
    assert load_config() == Config()


def test_sdn_config_pointing_nowhere_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        load_config()


def test_config_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().metric = "cost"  # type: ignore[misc]


def test_rest_token_reads_needs_a_token_and_a_boolean() -> None:
    with pytest.raises(ConfigError, match="rest_token_reads: needs rest_token"):
        config_from_mapping({"rest_token_reads": True})
    with pytest.raises(ConfigError, match="rest_token_reads: expected true or false"):
        config_from_mapping({"rest_token": "t", "rest_token_reads": "yes"})
    assert config_from_mapping({"rest_token": "t", "rest_token_reads": True}).rest_token_reads
