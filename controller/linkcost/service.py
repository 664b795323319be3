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
from controller.linkcost.features import (
    FEATURE_NAMES,
    link_features,
    load_features,
    switch_overload_bps,
)
from controller.linkcost.latency import LatencyEstimator, echo_payload, echo_sent_at
from controller.linkcost.model import CostModel, ModelError, cost_from_latency
from controller.linkcost.stats import PortCounters, TrafficStats
from controller.network.graph import NetworkGraph
from controller.network.model import LinkKey, LinkState
from controller.network.weights import link_weight
from controller.southbound.messages import EchoRequest, Message, PortStatsRequest

log = logging.getLogger("controller.linkcost")
OTHERS_NOISE = 0.1
"""Other traffic below this share of a link's capacity is noise to re-optimization."""


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
        """One port-stats request per switch (sent each stats interval)."""
        return [PortStatsRequest(d) for d in self.graph.switches()]

    def echo_requests(self, now: float) -> list[Message]:
        """Timestamped echo requests: the control RTT that latency estimates subtract."""
        return [EchoRequest(d, echo_payload(now)) for d in self.graph.switches()]

    def on_port_stats(self, dpid: int, counters: list[PortCounters], now: float) -> list[LinkKey]:
        """Counters of ``dpid``'s ports: update the links leaving it. Returns the cables
        that carried traffic (sent here, received at the far end, recently)."""
        if not self.graph.has_switch(dpid):
            return []
        self.traffic.update(dpid, counters, now)
        fresh = 2 * self.config.stats_interval
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
        """Features for every link from the latest counters, then one batch prediction.

        Links without features (fewer than two samples) or outside the model's training
        range get no prediction: their ``cost`` weight falls back as configured.
        Returns how many links were predicted.
        """
        g = self.graph
        overload = {
            d: switch_overload_bps(
                [t for p in g.ports(d) if (t := self.traffic.get(d, p)) is not None]
            )
            for d in g.switches()
        }
        edges = [(u, v, data["state"]) for u, v, data in g.graph.edges(data=True)]
        figures: dict[tuple[int, int], dict[str, Any]] = {}
        rows, rows_of = [], []
        for u, v, st in edges:
            feats = link_features(
                self.traffic.get(u, st.src_port),
                self.traffic.get(v, st.dst_port),
                st.capacity_bps,
                overload[u],
            )
            figures[(u, v)] = {
                "features": feats,
                "features_at": now if feats is not None else None,
                "predicted_cost": None,
                "predicted_latency_ms": None,
            }
            if feats is not None:
                rows.append(feats)
                rows_of.append((u, v))
        predicted = 0
        if self.model is not None and rows:
            x = np.asarray(rows, dtype=np.float64)
            ok = self.model.in_range(x)
            if ok.any():
                ms = self.model.predict_latency_ms(x[ok])
                chosen = (e for e, good in zip(rows_of, ok, strict=True) if good)
                for edge, value in zip(chosen, ms, strict=True):
                    figures[edge]["predicted_latency_ms"] = float(value)
                    figures[edge]["predicted_cost"] = cost_from_latency(
                        float(value), self.config.cost_ms_per_hop
                    )
                    predicted += 1
        for (u, v), values in figures.items():
            g.update_link(u, v, **values)
        if predicted:
            self.last_prediction_at = now
        self.predicted_links = predicted
        return predicted

    def what_if(
        self, metric: str, src: int, dst: int, add_bps: float, remove_bps: float = 0.0
    ) -> float:
        """The weight of link src->dst under ``metric`` as if ``remove_bps`` of its traffic
        left and ``add_bps`` arrived (re-optimization moves a pair's own load in thought).
        Under ``cost`` the model predicts the link from that load alone
        (:func:`load_features`); otherwise the weight is recomputed from the changed
        utilization."""
        st = self.graph.edge(src, dst)
        if st is None:
            return math.inf
        if (
            metric == "cost"
            and st.cost_override is None
            and st.predicted_cost is not None
            and self.model is not None
        ):
            offered = self._others(st, remove_bps) + add_bps / st.capacity_bps
            x = np.asarray([load_features(st.capacity_bps, offered)], dtype=np.float64)
            if self.model.in_range(x)[0]:
                ms = float(self.model.predict_latency_ms(x)[0])
                return cost_from_latency(ms, self.config.cost_ms_per_hop)
        u = min(self._others(st, remove_bps) + add_bps / st.capacity_bps, 1.0)
        loaded = dataclasses.replace(st, utilization=u, tx_bps=st.tx_bps + add_bps - remove_bps)
        if metric == "cost" and st.cost_override is None and st.predicted_cost is not None:
            # Out of the model's range once loaded: priced like that full a link would be.
            return link_weight(loaded, "utilization")
        return link_weight(loaded, metric, self.config.model_fallback)

    @staticmethod
    def _others(st: LinkState, remove_bps: float) -> float:
        """The link's utilization without ``remove_bps``; below OTHERS_NOISE it counts as
        none (flow and port counters are sampled at different moments, and a flow that
        fills a link would otherwise see phantom traffic beside it)."""
        others = st.utilization - remove_bps / st.capacity_bps
        return others if others >= OTHERS_NOISE else 0.0

    def status(self, now: float | None = None) -> dict[str, object]:
        """The model's state and every link's prediction (the REST model view)."""
        m = self.model
        links = []
        for key in self.graph.links():
            st = self.graph.link(key)
            links.append(
                {
                    "src": f"{key.src:016x}",
                    "dst": f"{key.dst:016x}",
                    "predicted_latency_ms": st.predicted_latency_ms,
                    "predicted_cost": st.predicted_cost,
                    "measured_latency_ms": st.latency_ms,
                    "cost_override": st.cost_override,
                }
            )
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
            "links": links,
        }
