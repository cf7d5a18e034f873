"""Where the pages' templates and static files are, and how the static files are served.

The repository keeps ``templates/`` and ``static/`` at its top, beside ``live/``; the wheel
carries them inside this package (``pyproject.toml``'s force-include), so an installed
``mvoting`` serves its pages from any working directory. An editable install or a plain
checkout on ``PYTHONPATH`` finds them at the top of the repository instead.

Static files are read once, at start: each is served under a name that carries a hash of
its content (``/static/js/vote.3f9a0c1b2d4e.js``), which caches may keep for a year, and
under its plain name (``/static/js/vote.js``), which they keep for a few minutes and then
revalidate (for pages rendered before a new release). Pages link the hashed names through
``static_url`` (a template global). Text files are gzipped once, here, and sent so to a
client that accepts it; the ``GZipMiddleware`` of the app leaves such a response alone.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

_HERE = Path(__file__).resolve().parent
_CHECKOUT = _HERE.parents[1]


def _find(name: str) -> Path:
    for folder in (_HERE / name, _CHECKOUT / name):
        if folder.is_dir():
            return folder
    raise RuntimeError(f"mvoting is installed without its {name}/ folder (looked in {_HERE})")


TEMPLATES = _find("templates")
STATIC = _find("static")

#: A hashed name's cache rule: its content never changes.
IMMUTABLE = "public, max-age=31536000, immutable"
#: A plain name's: a few minutes, then ask again (an ``ETag`` makes that cheap).
SHORT = "public, max-age=300, must-revalidate"
HASH_LENGTH = 12
_HASHED = re.compile(rf"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{{{HASH_LENGTH}}})(?P<ext>\.[A-Za-z0-9]+)$")
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".md": "text/markdown; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
_COMPRESSIBLE = ("text/", "image/svg+xml", "application/json", "application/javascript")


@dataclass(frozen=True)
class Asset:
    path: str  #: relative to the static folder, with ``/``
    body: bytes
    gzipped: bytes | None  #: None when gzip would not make it smaller (or it is compressed)
    content_type: str
    digest: str  #: the first ``HASH_LENGTH`` hex digits of its SHA-256

    @property
    def hashed_path(self) -> str:
        folder, _, name = self.path.rpartition("/")
        stem, dot, ext = name.rpartition(".")
        hashed = f"{stem}.{self.digest}.{ext}" if dot and stem else f"{name}.{self.digest}"
        return f"{folder}/{hashed}" if folder else hashed

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'


def _content_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _read(folder: Path, file: Path) -> Asset:
    return asset_of(file.relative_to(folder).as_posix(), file.read_bytes())


def asset_of(rel: str, body: bytes) -> Asset:
    """A file served as the static ones are: its type by its name, gzipped once, hashed."""
    kind = _content_type(rel)
    packed = None
    if kind.startswith(_COMPRESSIBLE):
        # mtime=0: the same file gzips to the same bytes on every node and at every start.
        candidate = gzip.compress(body, compresslevel=9, mtime=0)
        packed = candidate if len(candidate) < len(body) else None
    digest = hashlib.sha256(body).hexdigest()[:HASH_LENGTH]
    return Asset(rel, body, packed, kind, digest)


class StaticAssets:
    """The static folder's files, read once, by plain and by hashed name."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, Asset] = {}
        self.by_hash: dict[str, Asset] = {}
        for file in sorted(folder.rglob("*")):
            if file.is_file() and not any(p.startswith(".") for p in file.parts[-1:]):
                asset = _read(folder, file)
                self.files[asset.path] = asset
                self.by_hash[asset.hashed_path] = asset

    def url(self, path: str) -> str:
        """The hashed URL of the static file ``path`` (``"js/vote.js"``)."""
        asset = self.files.get(path.lstrip("/"))
        if asset is None:
            raise LookupError(f"no static file {path!r} in {self.folder}")
        return f"/static/{asset.hashed_path}"

    def find(self, path: str) -> tuple[Asset, bool] | None:
        """The file a request names, and whether it was named by its current hash.

        A name with another hash (a page from before a release, or from a node still on
        the previous one) gets the current file, cached as briefly as a plain name."""
        if path in self.by_hash:
            return self.by_hash[path], True
        if path in self.files:
            return self.files[path], False
        folder, _, name = path.rpartition("/")
        stale = _HASHED.match(name)
        if stale is None:
            return None
        plain = f"{stale['stem']}{stale['ext']}"
        asset = self.files.get(f"{folder}/{plain}" if folder else plain)
        return None if asset is None else (asset, False)

    async def serve(self, request: Request) -> Response:
        found = self.find(request.path_params["path"])
        if found is None:
            return Response(b"Not Found", status_code=404, media_type="text/plain")
        return answer(request, *found)


def answer(request: Request, asset: Asset, current: bool) -> Response:
    """``asset``, cached for a year when named by its current hash, else briefly."""
    headers = {
        "Cache-Control": IMMUTABLE if current else SHORT,
        "ETag": asset.etag,
        "Vary": "Accept-Encoding",
    }
    if asset.etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and _accepts_gzip(request.headers.get("accept-encoding", "")):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=asset.content_type, headers=headers)


async def service_worker(request: Request) -> Response:
    """``static/sw.js`` at ``/sw.js``, so that its scope is the whole site (``/``);
    browsers ask again for it at least daily, and this says to always revalidate."""
    asset = static.files["sw.js"]
    headers = {"Cache-Control": "no-cache", "ETag": asset.etag, "Service-Worker-Allowed": "/"}
    if asset.etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.content_type, headers=headers)


def _etags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}


def _accepts_gzip(header: str) -> bool:
    """``gzip`` among the client's encodings, and not with ``q=0``."""
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            q = params.strip().lower()
            return not (q.startswith("q=") and _zero(q[2:]))
    return False


def _zero(q: str) -> bool:
    try:
        return float(q) == 0
    except ValueError:
        return False


#: The deployment's static files; templates link them with ``static_url``.
static = StaticAssets(STATIC)
static_url = static.url
