"""The web view's static files: what the page's CSP allows, what they reference, the
vendored library's pinned hashes, and the REST fields app.js reads.

The browser test is tests/integration/test_web_view.py; this tier needs no browser.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from controller.northbound.web import SECURITY_HEADERS, STATIC_DIR, StaticSite

INDEX = STATIC_DIR / "index.html"
APP_JS = STATIC_DIR / "app.js"
VENDOR = STATIC_DIR / "vendor"
MAX_PAGE_BYTES = 600_000
CYTOSCAPE_STYLE_ID = "__________cytoscape_stylesheet"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_text.append(data)


@pytest.fixture(scope="module")
def tags() -> _Tags:
    parser = _Tags()
    parser.feed(INDEX.read_text(encoding="utf-8"))
    return parser


def test_index_has_nothing_inline_that_the_csp_refuses(tags: _Tags) -> None:
    names = [t for t, _ in tags.tags]
    assert "style" not in names
    assert tags.script_text == []
    for tag, attrs in tags.tags:
        assert "style" not in attrs, tag
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "script":
            assert attrs.get("src"), "every script is a file"
    assert "'unsafe-inline'" not in SECURITY_HEADERS["Content-Security-Policy"]


def test_every_file_the_page_references_is_served(tags: _Tags) -> None:
    site = StaticSite()
    refs = [
        attrs.get("src") or attrs.get("href")
        for tag, attrs in tags.tags
        if tag in ("script", "link", "img")
    ]
    local = [r for r in refs if r and not r.startswith("data:")]
    assert set(local) >= {"app.css", "app.js", "vendor/cytoscape.min.js"}
    for ref in local:
        assert not re.match(r"^[a-z]+:|^//", ref), f"{ref}: no external URLs (CSP 'self')"
        reply = site.handle("GET", "/ui/" + ref)
        assert reply is not None and reply.status == 200, ref


def test_cytoscape_finds_our_stylesheet_and_injects_no_inline_style(tags: _Tags) -> None:
    # cytoscape adds an inline <style> (refused by the CSP: a console error) unless an
    # element with this id exists; app.css carries its one rule instead.
    vendored = (VENDOR / "cytoscape.min.js").read_text(encoding="utf-8")
    assert CYTOSCAPE_STYLE_ID in vendored
    ids = [attrs.get("id") for tag, attrs in tags.tags if tag == "link"]
    assert CYTOSCAPE_STYLE_ID in ids
    assert ".__________cytoscape_container" in (STATIC_DIR / "app.css").read_text()


def test_vendored_files_match_the_pinned_hashes_and_version() -> None:
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+)` \| (\S+) \| (\S+) \|.*\| `([0-9a-f]{64})` \|$", readme, re.M)
    assert {r[0] for r in rows} == {p.name for p in VENDOR.iterdir() if p.name != "README.md"}
    for name, _package, _version, digest in rows:
        body = (VENDOR / name).read_bytes()
        assert hashlib.sha256(body).hexdigest() == digest, name
    version = next(r[2] for r in rows if r[0] == "cytoscape.min.js")
    assert f'version="{version}"' in (VENDOR / "cytoscape.min.js").read_text(encoding="utf-8")


def test_app_js_uses_only_ids_the_page_has_and_no_eval() -> None:
    html = INDEX.read_text(encoding="utf-8")
    js = APP_JS.read_text(encoding="utf-8")
    page_ids = set(re.findall(r'\bid="([^"]+)"', html))
    used = set(re.findall(r"\$\('([^']+)'\)", js))
    assert used, "app.js looks elements up with $('id')"
    assert used <= page_ids, sorted(used - page_ids)
    for forbidden in (
        "eval(",
        "new Function",
        "innerHTML",
        "document.write",
        "http://",
        "https://",
    ):
        assert forbidden not in js, forbidden


def test_app_js_reads_the_rest_fields_the_api_serves() -> None:
    """The JSON fields app.js relies on exist in the API's renderers (a rename breaks both)."""
    js = APP_JS.read_text(encoding="utf-8")
    sources = "".join(
        (STATIC_DIR.parent / f).read_text(encoding="utf-8")
        for f in ("api.py", "render.py", "requests.py")
    )
    sources += (STATIC_DIR.parents[1] / "linkcost" / "service.py").read_text(encoding="utf-8")
    sources += (STATIC_DIR.parents[1] / "linkcost" / "quality.py").read_text(encoding="utf-8")
    fields = (
        "utilization tx_bps capacity_bps latency_ms predicted_latency_ms predicted_cost "
        "fallback_cost cost_override weights total_cost hops links switches hosts "
        "active_metric counters path_cache available live_quality coverage fallback_share "
        "mae_ms persistence_mae_ms r2 persistence_r2 samples last_prediction_age_s ipv4 mac"
    ).split()
    for name in fields:
        assert re.search(rf"\b{name}\b", js), f"app.js does not read {name}"
        assert f'"{name}"' in sources, f"the API does not serve {name}"


def test_the_page_is_light() -> None:
    weight = StaticSite().weight()
    assert weight <= MAX_PAGE_BYTES, weight


def test_ui_serves_the_page_with_the_csp() -> None:
    reply = StaticSite().handle("GET", "/ui/")
    assert reply is not None and reply.status == 200
    assert reply.body == INDEX.read_bytes()
    assert reply.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_app_js_parses() -> None:
    out = subprocess.run(
        ["node", "--check", str(APP_JS)], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
