"""The web view's static files and the non-JSON routes (``/``, ``/ui/...``, ``/metrics``).

Plain logic, like :mod:`controller.northbound.api`: ``northbound.rest`` adapts Ryu's WSGI
requests to it. The files ship inside the package (``northbound/static``) and are read
once at start: a request can only name a file that was there, never a path on disk.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
UI_PREFIX = "/ui/"
INDEX = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".LICENSE": "text/plain; charset=utf-8",
}
SECURITY_HEADERS = {
    # Everything the page loads comes from the controller itself; no inline script.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class RawReply:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: str


def load_static(root: Path = STATIC_DIR) -> dict[str, StaticFile]:
    """Every file under ``root`` by its relative path (``vendor/x.js``), read now."""
    files: dict[str, StaticFile] = {}
    if not root.is_dir():
        return files
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        body = path.read_bytes()
        ctype = CONTENT_TYPES.get(path.suffix) or (
            mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        )
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        files[rel] = StaticFile(body, ctype, etag)
    return files


class StaticSite:
    """The web view's files, served from memory with ETags."""

    def __init__(self, files: dict[str, StaticFile] | None = None) -> None:
        self.files = load_static() if files is None else files

    def page_files(self) -> list[str]:
        """The page and the files it loads (its ``src``/``href`` references): what a
        browser fetches, without the vendored licences and notes."""
        index = self.files.get(INDEX)
        if index is None:
            return []
        refs = re.findall(r'(?:src|href)="([^"#?:]+)"', index.body.decode("utf-8", "replace"))
        return [INDEX, *dict.fromkeys(r for r in refs if r in self.files)]

    def weight(self) -> int:
        """Bytes a browser fetches to show the page (uncompressed)."""
        return sum(len(self.files[name].body) for name in self.page_files())

    def handle(self, method: str, path: str, if_none_match: str = "") -> RawReply | None:
        """The reply for ``/``, ``/ui`` or ``/ui/<file>``; None for any other path."""
        if path in ("", "/", "/ui"):
            return RawReply(
                302, "text/plain; charset=utf-8", b"see /ui/\n", {"Location": UI_PREFIX}
            )
        if not path.startswith(UI_PREFIX):
            return None
        if method not in ("GET", "HEAD"):
            return RawReply(405, "text/plain; charset=utf-8", b"method not allowed\n",
                            {"Allow": "GET, HEAD"})  # fmt: skip
        name = path[len(UI_PREFIX) :] or INDEX
        found = self.files.get(name)
        if found is None:
            return RawReply(404, "text/plain; charset=utf-8", f"no file {name!r}\n".encode())
        headers = {**SECURITY_HEADERS, "ETag": found.etag, "Cache-Control": "no-cache"}
        if if_none_match and found.etag in {t.strip() for t in if_none_match.split(",")}:
            return RawReply(304, found.content_type, b"", headers)
        body = b"" if method == "HEAD" else found.body
        return RawReply(200, found.content_type, body, headers)
