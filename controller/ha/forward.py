"""A standby forwards an operator's write, and a read of the network, to the leader's
REST API (plain HTTP on the group's network, the caller's Authorization header passed
on) and answers with the leader's reply. Bounded: one request, ``TIMEOUT_S``, a reply of
at most ``MAX_REPLY``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

from controller.northbound.requests import Reply, Request

TIMEOUT_S = 3.0
MAX_REPLY = 32 << 20


def forward(leader_url: str, req: Request) -> Reply:
    url = leader_url.rstrip("/") + quote(req.path)
    if req.query:
        url += "?" + urlencode(req.query)
    headers = {"Content-Type": req.headers.get("content-type", "application/json")}
    if "authorization" in req.headers:
        headers["Authorization"] = req.headers["authorization"]
    request = urllib.request.Request(
        url, data=req.body or None, method=req.method.upper(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as resp:
            status, raw = resp.status, resp.read(MAX_REPLY)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read(MAX_REPLY)
    except (OSError, ValueError) as exc:
        return Reply(503, {"error": f"the leader at {leader_url} did not answer: {exc}"})
    try:
        body = json.loads(raw)
    except ValueError:
        return Reply(502, {"error": f"the leader at {leader_url} sent no JSON"})
    return Reply(status, body, {"X-SDN-Forwarded-To": leader_url})
