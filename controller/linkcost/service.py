"""Link cost: port counters -> rates -> features -> the model -> per-link weights.

Also the measured side: echo round trips and LLDP travel times give each link's one-way
delay (the ``latency`` metric, and the model's label). Every figure reaches the graph
through :meth:`NetworkGraph.update_link`, which re-weighs the edge.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

import numpy as np

from controller.config import Config
from controller.linkcost.batch import feature_matrix, switch_overload
from controller.linkcost.features import FEATURE_NAMES, TREND_SAMPLES
from controller.linkcost.latency import LatencyEstimator, echo_payload, echo_sent_at
from controller.linkcost.layout import Layout, current_layout
from controller.linkcost.model import (
    CostModel,
    LoadCurve,
    ModelError,
    cost_from_latency,
    idle_rows,
)
from controller.linkcost.quality import LiveQuality
from controller.linkcost.rings import DelayRing
from controller.linkcost.stats import PortCounters, TrafficStats
from controller.network.graph import NetworkGraph
from controller.network.model import LinkKey, LinkState
from controller.network.weights import cost_weight_array, link_weight
from controller.southbound.messages import EchoRequest, Message, PortStatsRequest
from controller.sweep import Sweep

log = logging.getLogger("controller.linkcost")
OTHERS_NOISE = 0.1
"""Other traffic below this share of a link's capacity is noise to re-optimization."""
DEFAULT_CURVE = LoadCurve(base_ms=0.5, gain=1.0)
"""What-if delays without a model: M/M/1 with a 1000-byte packet, 0.5 ms idle."""
UNMEASURED_MS = 1.0
"""Delay assumed for a link with neither a prediction nor a measurement."""

Edge = tuple[int, int]


class LinkCostService:
    def __init__(self, config: Config, graph: NetworkGraph) -> None:
        self.config = config
        self.graph = graph
        self.traffic = TrafficStats()
        self.latency = LatencyEstimator()
        self.model: CostModel | None = None
        self.model_error = ""
        self.last_prediction_at: float | None = None
        self.predicted_links = 0
        self.fallback_links = 0
        self.link_rounds = 0
        """Link-rounds so far: one per link per cost round (coverage's denominator)."""
        self.predicted_link_rounds = 0
        self.delays = DelayRing(TREND_SAMPLES)
        """Per directed link: its measured delay at each of the last cost rounds."""
        self._layout: Layout | None = None
        self._sweep = Sweep()
        self.quality = LiveQuality()
        self.load_model()

    def load_model(self) -> None:
        """Load the configured model; on failure run without one (and say why)."""
        path = self.config.model_file()
        self.model, self.model_error = None, ""
        if path is None:
            self.model_error = "no model configured (model_path is empty)"
            return
        try:
            self.model = CostModel.load(path)
        except ModelError as exc:
            self.model_error = str(exc)
            log.warning(
                "link-cost model not loaded: %s; cost falls back to %s",
                exc,
                self.config.model_fallback,
            )

    # ------------------------------------------------------------------ polling
    def stats_requests(self) -> list[Message]:
        """One port-stats request per switch each stats interval; or, when that is more
        than ``stats_max_requests_per_s`` allows, to the next share of the switches
        (every switch once per sweep of ``stats_period`` rounds)."""
        budget = int(self.config.stats_max_requests_per_s * self.config.stats_interval)
        return [PortStatsRequest(d) for d in self._sweep.share(list(self.graph.switches()), budget)]

    @property
    def stats_period(self) -> int:
        """Rounds a sweep of port-stats requests takes (see ``stats_requests``)."""
        return self._sweep.period

    def fresh_s(self) -> float:
        """How long a port's counters count as current: two polls of it."""
        return 2 * self.config.stats_interval * self.stats_period

    def echo_requests(self, now: float, only: set[int] | None = None) -> list[Message]:
        """Timestamped echo requests (to ``only`` these switches, if given): the control
        RTT that latency estimates subtract."""
        data = echo_payload(now)
        return [EchoRequest(d, data) for d in self.graph.switches() if only is None or d in only]

    def on_port_stats(self, dpid: int, counters: list[PortCounters], now: float) -> list[LinkKey]:
        """Counters of ``dpid``'s ports: update the links leaving it. Returns the cables
        that carried traffic (sent here, received at the far end, recently)."""
        if not self.graph.has_switch(dpid):
            return []
        ports = self.graph.ports(dpid)  # a reply's other ports would grow the rings
        self.traffic.update(dpid, [c for c in counters if c.port_no in ports], now)
        fresh = self.fresh_s()
        working = []
        for key in self.graph.cables_from(dpid):
            tx, rx = self.traffic.get(dpid, key.src_port), self.traffic.get(key.dst, key.dst_port)
            if (
                tx is not None
                and tx.current is not None
                and tx.current.tx_bps > 0
                and rx is not None
                and rx.current is not None
                and rx.current.rx_bps > 0
                and now - rx.current.at <= fresh
            ):
                working.append(key)
        for _, dst, data in self.graph.graph.out_edges(dpid, data=True):
            state = data["state"]
            t = self.traffic.get(dpid, state.src_port)
            if t is None or t.current is None:
                continue
            self.graph.update_link(
                dpid,
                dst,
                tx_bps=t.current.tx_bps,
                tx_pps=t.current.tx_pps,
                utilization=min(t.current.tx_bps / state.capacity_bps, 1.0),
            )
        return working

    def on_echo_reply(self, dpid: int, data: bytes, now: float) -> None:
        sent_at = echo_sent_at(data)
        if sent_at is not None and self.graph.has_switch(dpid):
            self.latency.on_echo_reply(dpid, sent_at, now)

    def on_probe(self, key: LinkKey, sent_at: float, now: float) -> None:
        """A probe crossed ``key``: its travel time updates the link's measured delay."""
        delay_ms = self.latency.on_probe(key, sent_at, now)
        state = self.graph.edge(key.src, key.dst)
        if (
            delay_ms is not None
            and state is not None
            and (state.src_port, state.dst_port) == (key.src_port, key.dst_port)
        ):
            self.graph.update_link(key.src, key.dst, latency_ms=delay_ms)

    def forget_switch(self, dpid: int) -> None:
        self.traffic.forget_switch(dpid)
        self.latency.forget_switch(dpid)

    # ------------------------------------------------------------------ prediction
    def update_costs(self, now: float) -> int:
        """Features for every link from the latest counters and measured delays, then one
        batch prediction; links the model cannot judge get a cost on the same scale.

        Links without features (fewer than two counter samples, no delay measured yet) or
        outside the model's training range get no prediction: under fallback ``delay``
        their cost is 1 + their measured delay / ``cost_ms_per_hop``, never below the
        highest idle predicted link's. Returns how many links were predicted.

        All on arrays (see :mod:`controller.linkcost.batch`), the cost weights too (the
        graph is told them with the figures): a few ms at 4,000 links.
        """
        lay = self._current_layout()
        states, n = lay.states, len(lay.edges)
        self.quality.begin_round()
        fig = lay.figures  # the links' columns (see LinkFigures): None is NaN there
        latency = np.array(fig.latency_ms, dtype=float)
        capacity = np.array(fig.capacity_bps, dtype=float)
        measured = ~np.isnan(latency)
        q_rows = lay.quality_rows
        self.quality.measured_rows(q_rows[measured], latency[measured])
        delay_rows = lay.delay_rows[measured]
        self.delays.push_rows(
            [lay.keys[i] for i in np.flatnonzero(measured)] if (delay_rows < 0).any() else [],
            now,
            latency[measured],
            delay_rows,
        )
        lay = self._current_layout()  # links measured for the first time have rows now
        x, ok = self._features(lay, capacity)
        predicted_ms = np.full(n, np.nan)
        floor_ms = 0.0  # the highest predicted delay of an idle link
        if self.model is not None and ok.any():
            chosen = np.flatnonzero(ok & self.model.in_range(x))
            if len(chosen):
                rows = x if len(chosen) == n else x[chosen]  # usually every link
                ms = self.model.predict_latency_ms(rows)
                idle = idle_rows(rows)
                if idle.any():
                    floor_ms = float(ms[idle].max())
                predicted_ms[chosen] = ms
                now_ms = rows[:, FEATURE_NAMES.index("delay_ms")]  # the latest measured
                self.quality.predicted_rows(q_rows[chosen], ms, now_ms)
        has = ~np.isnan(predicted_ms)
        ms_per_hop = self.config.cost_ms_per_hop
        predicted_cost = np.where(has, _costs(predicted_ms, ms_per_hop), np.nan)
        fallback_cost = np.full(n, np.nan)
        by_delay = self.config.model_fallback == "delay"
        if by_delay:
            base = np.where(measured, latency, UNMEASURED_MS)
            fallback_cost = np.where(has, np.nan, _costs(np.maximum(base, floor_ms), ms_per_hop))
        lay.features[...] = x  # each link's features: a view of its row (see Layout)
        features: list[np.ndarray | None] = list(lay.feature_rows)
        for i in np.flatnonzero(~ok).tolist():
            features[i] = None
        columns: dict[str, list[Any]] = {
            "features": features,
            "features_at": np.where(ok, now, np.nan).tolist(),  # NaN: not set
            "predicted_latency_ms": predicted_ms.tolist(),
            "predicted_cost": predicted_cost.tolist(),
            "fallback_cost": fallback_cost.tolist(),
        }
        if by_delay:  # every link's cost priced here, on the arrays
            override = np.array(fig.cost_override, dtype=float)
            cost = _cost_weights(override, predicted_cost, fallback_cost)
            self.graph.set_cost_round(lay.figures, columns, cost)
        else:  # the cost of links without a prediction follows another metric
            self.graph.update_links(lay.edges, None, states, **columns)  # NaN: None
        predicted = int(has.sum())
        if predicted:
            self.last_prediction_at = now
        self.predicted_links = predicted
        self.fallback_links = n - predicted
        if self.model is not None:
            self.link_rounds += n
            self.predicted_link_rounds += predicted
        return predicted

    def _current_layout(self) -> Layout:
        self._layout = current_layout(
            self._layout, self.graph, self.traffic.ring, self.delays, self.quality
        )
        return self._layout

    def _features(self, lay: Layout, capacity_bps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every link's feature vector (see :func:`~controller.linkcost.batch.feature_matrix`)."""
        ring = self.traffic.ring
        return feature_matrix(
            ring,
            self.delays,
            lay.tx_rows,
            lay.rx_rows,
            lay.delay_rows,
            capacity_bps,
            switch_overload(ring, lay.end_rows, lay.end_switch, lay.switches),
            lay.src_switch,
        )

    def what_if(
        self, metric: str, src: int, dst: int, add_bps: float, remove_bps: float = 0.0
    ) -> float:
        """The weight of link src->dst under ``metric`` as if ``remove_bps`` of its traffic
        left and ``add_bps`` arrived (re-optimization moves a pair's own load in thought).
        Under ``cost`` the link is priced from that load alone, on the cost scale, by the
        model's fitted load curve (see :class:`~controller.linkcost.model.LoadCurve`; a
        next-interval predictor cannot say what a load it never saw there would do);
        otherwise the weight is recomputed from the changed utilization."""
        st = self.graph.edge(src, dst)
        if st is None:
            return math.inf
        offered = self._others(st, remove_bps) + add_bps / st.capacity_bps
        if metric == "cost" and st.cost_override is None and self._curve_applies():
            curve = self.model.load_curve if self.model is not None else DEFAULT_CURVE
            ms = curve.delay_ms(st.capacity_bps, offered)
            return cost_from_latency(ms, self.config.cost_ms_per_hop)
        u = min(offered, 1.0)
        loaded = dataclasses.replace(st, utilization=u, tx_bps=st.tx_bps + add_bps - remove_bps)
        return link_weight(loaded, metric, self.config.model_fallback)

    def _curve_applies(self) -> bool:
        """Costs are on the delay scale: with a model, or with fallback ``delay``."""
        return self.model is not None or self.config.model_fallback == "delay"

    @staticmethod
    def _others(st: LinkState, remove_bps: float) -> float:
        """The link's utilization without ``remove_bps``; below OTHERS_NOISE it counts as
        none (flow and port counters are sampled at different moments, and a flow that
        fills a link would otherwise see phantom traffic beside it)."""
        others = st.utilization - remove_bps / st.capacity_bps
        return others if others >= OTHERS_NOISE else 0.0

    def status(self, now: float | None = None) -> dict[str, object]:
        """The model's state and every link's prediction (the REST model view)."""
        links = []
        quality = self.quality.links()
        for key in self.graph.links():
            st = self.graph.link(key)
            links.append(
                {
                    "src": f"{key.src:016x}",
                    "dst": f"{key.dst:016x}",
                    "predicted_latency_ms": st.predicted_latency_ms,
                    "predicted_cost": st.predicted_cost,
                    "fallback_cost": st.fallback_cost,
                    "measured_latency_ms": st.latency_ms,
                    "cost_override": st.cost_override,
                    "quality": quality.get((key.src, key.dst))
                    or self.quality.link((key.src, key.dst)),
                }
            )
        return {**self.summary(now), "links": links}

    def summary(self, now: float | None = None) -> dict[str, object]:
        """The model's state and live quality (``status`` without the per-link list)."""
        m = self.model
        return {
            "loaded": m is not None,
            "path": m.path if m is not None else self.config.model_path,
            "error": self.model_error or None,
            "features": list(FEATURE_NAMES),
            "target": "one-way link delay in the next stats interval, ms",
            "target_transform": m.target_transform if m is not None else None,
            "metrics": m.metrics if m is not None else None,
            "layers": m.net.layer_sizes if m is not None else None,
            "fallback": self.config.model_fallback,
            "cost_ms_per_hop": self.config.cost_ms_per_hop,
            "last_prediction_age_s": (
                None
                if self.last_prediction_at is None or now is None
                else round(now - self.last_prediction_at, 3)
            ),
            "predicted_links": self.predicted_links,
            "fallback_links": self.fallback_links,
            "fallback_share": (
                round(self.fallback_links / (self.fallback_links + self.predicted_links), 4)
                if self.fallback_links + self.predicted_links
                else None
            ),
            "live_quality": self.quality.overall(),
            "coverage": (
                round(self.predicted_link_rounds / self.link_rounds, 4)
                if self.link_rounds
                else None
            ),
        }


def _cost_weights(
    override: np.ndarray, predicted_cost: np.ndarray, fallback_cost: np.ndarray
) -> np.ndarray:
    """The links' weights under ``cost`` (fallback ``delay``) once the round has set these
    costs (NaN: none), as :func:`~controller.network.weights.link_weight` gives them."""
    return cost_weight_array(
        (override, ~np.isnan(override)),
        (predicted_cost, ~np.isnan(predicted_cost)),
        (fallback_cost, ~np.isnan(fallback_cost)),
    )


def _costs(latency_ms: np.ndarray, ms_per_hop: float) -> np.ndarray:
    """:func:`~controller.linkcost.model.cost_from_latency` of many delays."""
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(latency_ms) & (latency_ms >= 0)
    return 1.0 + np.where(ok, latency_ms, 0.0) / ms_per_hop  # the same operations
