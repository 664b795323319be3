"""The web view's file routes (northbound.web): redirects, files from memory, ETags, and
nothing outside the shipped files."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.northbound.web import STATIC_DIR, StaticSite, load_static


@pytest.fixture
def site(tmp_path: Path) -> StaticSite:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "index.html").write_text(
        '<!doctype html><title>x</title><script src="vendor/lib.js"></script>'
        '<script src="app.js"></script>'
    )
    (tmp_path / "vendor" / "LICENSE.md").write_text("the licence")
    (tmp_path / "app.js").write_text("console.log(1)")
    (tmp_path / "vendor" / "lib.js").write_text("var lib = 1;")
    return StaticSite(load_static(tmp_path))


@pytest.mark.parametrize("path", ["", "/", "/ui"])
def test_the_root_redirects_to_the_view(site: StaticSite, path: str) -> None:
    r = site.handle("GET", path)
    assert r is not None and r.status == 302 and r.headers["Location"] == "/ui/"


def test_files_with_types_and_security_headers(site: StaticSite) -> None:
    index = site.handle("GET", "/ui/")
    assert index is not None and index.status == 200
    assert index.content_type.startswith("text/html") and index.body.startswith(b"<!doctype")
    assert "default-src 'self'" in index.headers["Content-Security-Policy"]
    js = site.handle("GET", "/ui/vendor/lib.js")
    assert js is not None and js.status == 200 and js.content_type.startswith("text/javascript")
    assert site.page_files() == ["index.html", "vendor/lib.js", "app.js"]
    assert site.weight() == sum(len(b) for b in (index.body, js.body, b"console.log(1)"))
    notes = site.handle("GET", "/ui/vendor/LICENSE.md")
    assert notes is not None and notes.content_type.startswith("text/plain")


def test_etag_revalidation_and_head(site: StaticSite) -> None:
    first = site.handle("GET", "/ui/app.js")
    assert first is not None
    again = site.handle("GET", "/ui/app.js", first.headers["ETag"])
    assert again is not None and again.status == 304 and again.body == b""
    head = site.handle("HEAD", "/ui/app.js")
    assert head is not None and head.status == 200 and head.body == b""


@pytest.mark.parametrize(
    "path",
    ["/ui/missing.js", "/ui/../web.py", "/ui/%2e%2e/web.py", "/ui//etc/passwd", "/ui/vendor"],
)
def test_only_shipped_files_are_served(site: StaticSite, path: str) -> None:
    r = site.handle("GET", path)
    assert r is not None and r.status == 404


def test_writes_are_refused_and_other_paths_are_not_ours(site: StaticSite) -> None:
    r = site.handle("POST", "/ui/app.js")
    assert r is not None and r.status == 405 and r.headers["Allow"] == "GET, HEAD"
    assert site.handle("GET", "/v1/health") is None
    assert site.handle("GET", "/metrics") is None


def test_the_package_ships_the_view() -> None:
    files = load_static(STATIC_DIR)
    assert "index.html" in files, f"no index.html in {STATIC_DIR}"
    index = files["index.html"].body.decode()
    for name in files:
        if name.endswith((".js", ".css")) and not name.startswith("vendor/"):
            assert name in index, f"{name} shipped but not loaded by index.html"
    assert "<script>" not in index and "http://" not in index and "https://" not in index
