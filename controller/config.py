"""One validated configuration for the controller.

Every tunable lives in :class:`Config` with its type and default; a TOML file (path in
the ``SDN_CONFIG`` environment variable, or passed explicitly) overrides any of them.
Unknown keys and wrong types fail at start with a message that names the key.
Defaults work with no configuration at all.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

METRICS = ("hop", "latency", "utilization", "cost")
METRIC_CHOICES = ("auto", *METRICS)
"""``auto``: ``cost`` once the model has predicted link costs, ``hop`` until then."""
FALLBACKS = ("delay", "hop", "latency", "utilization")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "controller/models/linkcost.npz"
CONFIG_ENV = "SDN_CONFIG"


class ConfigError(ValueError):
    """A configuration value is unknown, of the wrong type or out of range."""


@dataclass(frozen=True)
class Config:
    """All controller tunables. Times are in seconds, capacities in bit/s."""

    metric: str = "auto"
    """Routing metric: auto, hop, latency, utilization or cost."""
    idle_timeout: int = 60
    """Idle timeout of installed path flows."""
    hard_timeout: int = 0
    """Hard timeout of installed path flows (0: none)."""
    flow_priority: int = 100
    lldp_interval: float = 1.0
    """Seconds between LLDP probes on each switch port."""
    lldp_max_probes_per_s: float = 2000.0
    """LLDP probes sent per second at most: on a network with more ports than that per
    ``lldp_interval``, each round probes the next share of the ports (every port once
    per sweep) and ``link_timeout`` stretches to as many rounds as a sweep takes, so a
    large network is probed at a rate the controller can answer instead of swamping it."""
    link_timeout: float = 3.5
    """A link not seen by LLDP for this long is removed."""
    probe_max_age: float = 2.0
    """An LLDP probe counts only this long after it was sent (and only once)."""
    host_port_quiet: float = 5.0
    """A port where a host frame arrived this recently is not believed as a link end."""
    former_link_hold: float = 30.0
    """A port whose link LLDP lost (while the port stayed up) is no access port this long."""
    stats_interval: float = 1.0
    """Seconds between port-statistics requests to each switch."""
    stats_max_requests_per_s: float = 1000.0
    """Port-stats requests sent per second at most: on a network with more switches than
    that per ``stats_interval``, each round asks the next share of the switches (every
    switch once per sweep); rates use the real time between two replies, and a port's
    counters count as fresh for as many rounds as a sweep takes."""
    barrier_timeout: float = 2.0
    """Give up a path installation when a switch does not answer a barrier in time."""
    flood_dedup_window: float = 0.5
    """A broadcast seen again within this window (e.g. via an undiscovered link) is dropped."""
    model_path: str = DEFAULT_MODEL
    """Link-cost model (.npz from training/train_model.py); a relative path is relative to
    the project root; "" runs without a model."""
    model_fallback: str = "delay"
    """Cost of a link the model cannot predict (no model, too few samples, out of range):
    ``delay``: on the predicted cost's own scale, from its measured delay, never below an
    idle predicted link's; or the weight of another metric (hop, latency, utilization;
    not on that scale)."""
    cost_ms_per_hop: float = 1.0
    """Predicted cost = 1 + predicted delay / cost_ms_per_hop."""
    rest_token: str = ""
    """When set, REST write routes need ``Authorization: Bearer <token>``. Required when
    the REST server listens on anything but loopback (``--wsapi-host``)."""
    rest_token_reads: bool = False
    """Reads (GET) need the token too."""
    host_timeout: float = 300.0
    """A host silent this long, with no installed route, is forgotten."""
    max_hosts: int = 100_000
    """Host table limit: new MACs beyond it are ignored (and counted) until hosts age out."""
    max_pairs: int = 100_000
    """Pair table limit: a new host pair beyond it is not installed (and counted) until
    pairs idle out; one host sending to every other cannot grow it without end."""
    max_macs_per_port: int = 64
    """MACs learned on one access port at most; more are refused (a MAC flood on one port
    cannot fill the table)."""
    packet_in_rate: float = 200.0
    """Host packet-ins looked at per access port per second (burst: twice that); more are
    dropped before parsing, so one flooding host cannot starve LLDP or other hosts."""
    miss_meters: bool = True
    """Enforce ``packet_in_rate`` in the switches too, where they have meters: a table-miss
    entry per port through a meter of its own, so a flood is dropped in the switch and
    never reaches the controller (see controller.discovery.miss_meter)."""
    host_move_quiet: float = 2.0
    """A known MAC seen at another port is believed to have moved only when its old port
    is down, or it sent nothing there (no packet-in, no traffic on its routes) this long."""
    static_hosts: dict[str, str] = field(default_factory=dict)
    """IPv4 -> MAC bindings no ARP can change ("10.0.0.1" = "00:00:00:00:00:01")."""
    default_capacity_bps: int = 1_000_000_000
    """Capacity of a link whose port reports no speed and that has no configured capacity."""
    reoptimize_interval: float = 5.0
    """Seconds between re-evaluations of installed pairs (0: never move installed pairs).
    Also run at once after a metric change, a cost override or a link coming up."""
    reoptimize_margin: float = 0.2
    """Move only when the best path is cheaper than the current one by this fraction..."""
    reoptimize_min_gain: float = 0.5
    """...and by at least this much (in the metric's units), so idle noise moves nothing."""
    reoptimize_holddown: float = 20.0
    """A pair moved for a better path is not moved again for this many seconds."""
    link_capacity_bps: dict[str, int] = field(default_factory=dict)
    """Per-link capacity overrides, keyed "SRC_DPID-DST_DPID" (decimal or 0x-hex dpids)."""
    ha_etcd: str = ""
    """High availability: the etcd endpoint (http://host:port) of the controller group.
    Empty: this controller runs alone (no election, no shared state)."""
    ha_group: str = "default"
    """Instances with the same etcd and group elect one leader and share operator state."""
    ha_instance: str = ""
    """This instance's id in the group (empty: host name and process id)."""
    ha_lease_ttl: int = 3
    """Seconds the leader's lease lives without a keep-alive: the failover bound's base."""
    ha_advertise_url: str = ""
    """The REST URL other instances forward writes to (empty: from --wsapi-host/port)."""

    def __post_init__(self) -> None:
        if self.metric not in METRIC_CHOICES:
            raise ConfigError(f"metric: {self.metric!r} is not one of {', '.join(METRIC_CHOICES)}")
        if self.model_fallback not in FALLBACKS:
            raise ConfigError(
                f"model_fallback: {self.model_fallback!r} is not one of {', '.join(FALLBACKS)}"
            )
        if not (math.isfinite(self.cost_ms_per_hop) and self.cost_ms_per_hop > 0):
            raise ConfigError("cost_ms_per_hop: must be a finite number > 0")
        for name in ("idle_timeout", "hard_timeout"):
            if not 0 <= getattr(self, name) <= 65535:
                raise ConfigError(f"{name}: must be between 0 and 65535 seconds")
        if not 2 <= self.flow_priority <= 64999:
            raise ConfigError(
                "flow_priority: must be between 2 and 64999 (0 and 1 are table-miss entries, "
                "65000 the LLDP entry)"
            )
        for name in (
            "lldp_interval",
            "lldp_max_probes_per_s",
            "link_timeout",
            "probe_max_age",
            "host_port_quiet",
            "host_move_quiet",
            "packet_in_rate",
            "stats_interval",
            "stats_max_requests_per_s",
            "barrier_timeout",
            "former_link_hold",
            "host_timeout",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name}: must be a finite number > 0, got {value!r}")
        if not (math.isfinite(self.flood_dedup_window) and self.flood_dedup_window >= 0):
            raise ConfigError(
                f"flood_dedup_window: must be a finite number >= 0, got {self.flood_dedup_window!r}"
            )
        if not (math.isfinite(self.reoptimize_interval) and self.reoptimize_interval >= 0):
            raise ConfigError(
                "reoptimize_interval: must be a finite number >= 0 (0 turns re-optimization "
                f"off), got {self.reoptimize_interval!r}"
            )
        if not (math.isfinite(self.reoptimize_margin) and 0 <= self.reoptimize_margin < 1):
            raise ConfigError(
                f"reoptimize_margin: must be >= 0 and < 1, got {self.reoptimize_margin!r}"
            )
        for name in ("reoptimize_min_gain", "reoptimize_holddown"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name}: must be a finite number >= 0, got {value!r}")
        if self.link_timeout <= self.lldp_interval:
            raise ConfigError("link_timeout: must be longer than lldp_interval")
        if self.max_hosts < 1:
            raise ConfigError("max_hosts: must be >= 1")
        if self.max_macs_per_port < 1:
            raise ConfigError("max_macs_per_port: must be >= 1")
        if self.max_pairs < 1:
            raise ConfigError("max_pairs: must be >= 1")
        for ip, mac in self.static_hosts.items():
            if not (_is_ipv4(ip) and _is_mac(mac)):
                raise ConfigError(f"static_hosts: {ip!r} = {mac!r} is not IPv4 = MAC")
        if self.default_capacity_bps <= 0:
            raise ConfigError("default_capacity_bps: must be > 0")
        if self.ha_etcd and not re.fullmatch(
            r"https?://[A-Za-z0-9.\-\[\]:]+(:\d+)?/?", self.ha_etcd
        ):
            raise ConfigError(f"ha_etcd: {self.ha_etcd!r} is not http(s)://host:port")
        for name in ("ha_group", "ha_instance"):
            value = getattr(self, name)
            if value and not re.fullmatch(r"[A-Za-z0-9_.:\-]{1,64}", value):
                raise ConfigError(f"{name}: {value!r} must be 1-64 of A-Z a-z 0-9 _ . : -")
        if not self.ha_group:
            raise ConfigError("ha_group: must not be empty")
        if not 2 <= self.ha_lease_ttl <= 60:
            raise ConfigError(f"ha_lease_ttl: must be 2 to 60 seconds, got {self.ha_lease_ttl!r}")
        if self.ha_advertise_url and not re.fullmatch(r"https?://\S+", self.ha_advertise_url):
            raise ConfigError(f"ha_advertise_url: {self.ha_advertise_url!r} is not an http(s) URL")
        if self.rest_token_reads and not self.rest_token:
            raise ConfigError("rest_token_reads: needs rest_token to be set")
        capacities = {}
        for key, value in self.link_capacity_bps.items():
            capacities[parse_link_key(key)] = value
            if value <= 0:
                raise ConfigError(f"link_capacity_bps.{key}: must be > 0")
        # Parsed once (a frozen dataclass: set past __setattr__; not a field, so not compared).
        object.__setattr__(self, "_capacities", capacities)

    def model_file(self) -> Path | None:
        """The model path resolved against the project root (None: no model)."""
        if not self.model_path:
            return None
        p = Path(self.model_path)
        return p if p.is_absolute() else PROJECT_ROOT / p

    def capacity_override(self, src: int, dst: int) -> int | None:
        capacity: int | None = self._capacities.get((src, dst))  # type: ignore[attr-defined]
        return capacity


def parse_link_key(key: str) -> tuple[int, int]:
    """ "1-2" or "0x1-0x2" -> (1, 2)."""
    try:
        a, b = key.split("-")
        return int(a, 0), int(b, 0)
    except ValueError:
        raise ConfigError(f"link_capacity_bps: key {key!r} is not 'SRC_DPID-DST_DPID'") from None


def _is_ipv4(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


def _is_mac(text: str) -> bool:
    parts = text.split(":")
    return len(parts) == 6 and all(
        len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts
    )


def _check_type(name: str, value: Any, expected: Any) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{name}: expected an integer, got {type(value).__name__} {value!r}")
    if expected is bool and not isinstance(value, bool):
        raise ConfigError(f"{name}: expected true or false, got {type(value).__name__}")
    if expected in (float, str) and not isinstance(value, expected):
        raise ConfigError(f"{name}: expected {expected.__name__}, got {type(value).__name__}")
    if expected in (dict[str, int], dict[str, str]):
        inner = int if expected == dict[str, int] else str
        if not isinstance(value, Mapping):
            raise ConfigError(f"{name}: expected a table of {inner.__name__} values")
        for k, v in value.items():
            _check_type(f"{name}.{k}", v, inner)
        return dict(value)
    return value


def config_from_mapping(values: Mapping[str, Any]) -> Config:
    """Build a :class:`Config` from plain values, rejecting unknown keys and wrong types."""
    fields = {f.name: f for f in dataclasses.fields(Config)}
    hints = {
        name: eval(f.type, globals()) if isinstance(f.type, str) else f.type
        for name, f in fields.items()
    }
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown configuration key(s): {', '.join(unknown)}; "
            f"valid keys: {', '.join(sorted(fields))}"
        )
    checked = {name: _check_type(name, value, hints[name]) for name, value in values.items()}
    return Config(**checked)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load from ``path`` (or ``$SDN_CONFIG``); defaults when neither is given."""
    if path is None:
        path = os.environ.get(CONFIG_ENV) or None
    if path is None:
        return Config()
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {p}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    section = data.get("controller", data)
    if not isinstance(section, Mapping):
        raise ConfigError(f"{p}: [controller] must be a table")
    try:
        return config_from_mapping(section)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
