"""The classroom page's browser files, from the npm registry when the CDN is out of reach.

Solara's server proxies its front-end files (Vuetify, RequireJS, Font
Awesome, ...) from the jsDelivr CDN, whose ``/npm/<package>@<version>/<file>``
paths are exactly the files of the npm package. On machines that reach
package registries but not CDNs (a school network, a CI sandbox), the page
would load blank. `use_npm_registry` makes the proxy read those files from
the npm registry instead: it downloads each package's tarball once (kept next
to Solara's own cache) and serves the file from it, the same bytes jsDelivr
serves, after checking it against the registry's checksum. If the registry
fails, Solara's own CDN fetch is tried as before. (``solara-assets``, which
bundles these files, exists only for older Solara versions than the one used.)
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import tarfile
import threading
import urllib.request
from pathlib import Path

logger = logging.getLogger("olsim.assets")
REGISTRY = "https://registry.npmjs.org"
JSDELIVR = re.compile(
    r"^https?://cdn\.jsdelivr\.net/npm/(?P<name>(@[^/@]+/)?[^/@]+)@(?P<version>[^/]+)(/(?P<file>.*))?$"
)


_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def _tarball(name: str, version: str, cache: Path) -> Path:
    """The package's tarball, downloaded once into ``cache``.

    The page asks for several files of one package at once (one thread each):
    one thread downloads, the others wait for it, and the file appears whole
    (a temporary file of this process and thread, then a rename).
    """
    local = cache / f"{name.replace('/', '__')}-{version}.tgz"
    with _locks_guard:
        lock = _locks.setdefault(local, threading.Lock())
    with lock:
        if not local.exists():
            data = _download(name, version)
            cache.mkdir(parents=True, exist_ok=True)
            tmp = local.with_name(f".{local.name}.{os.getpid()}-{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(local)
    return local


def _download(name: str, version: str) -> bytes:
    """The package's tarball from the registry, checked against the registry's own checksum
    (``dist.integrity``, sha512; else ``dist.shasum``, sha1). `ValueError` if it does not match."""
    with urllib.request.urlopen(f"{REGISTRY}/{name}/{version}", timeout=60) as response:
        dist = json.loads(response.read().decode("utf-8"))["dist"]
    logger.info("fetching %s", dist["tarball"])
    with urllib.request.urlopen(dist["tarball"], timeout=60) as response:
        data = response.read()
    integrity = dist.get("integrity", "")
    if integrity.startswith("sha512-"):
        ok = base64.b64encode(hashlib.sha512(data).digest()).decode() == integrity.removeprefix("sha512-")
    else:
        ok = hashlib.sha1(data).hexdigest() == dist.get("shasum")
    if not ok:
        raise ValueError(f"{name}@{version}: the downloaded tarball does not match the registry's checksum; not kept")
    return data


def file_from_npm(url: str, cache: Path) -> bytes | None:
    """The bytes jsDelivr would serve for ``url``, read from the npm tarball; None if ``url`` is not a jsDelivr npm URL."""
    m = JSDELIVR.match(url)
    if not m:
        return None
    name, version, file = m.group("name"), m.group("version"), (m.group("file") or "").split("?")[0]
    with tarfile.open(_tarball(name, version, cache), "r:gz") as tar:
        members = {member.name.split("/", 1)[1]: member for member in tar.getmembers() if "/" in member.name}
        if not file:  # a bare package: its browser entry point, as jsDelivr picks it
            meta = json.load(tar.extractfile(members["package.json"]))  # type: ignore[arg-type]  # a file in every npm package
            entry = next(
                (meta[k] for k in ("jsdelivr", "unpkg", "browser", "main") if isinstance(meta.get(k), str)), "index.js"
            )
            file = entry.lstrip("./")
            if file not in members and file + ".js" in members:
                file += ".js"
        member = members.get(file)
        if member is None or not member.isfile():
            raise FileNotFoundError(f"{file} is not in {name}@{version}")
        return tar.extractfile(member).read()  # type: ignore[union-attr]  # a regular file (checked above): not None


def use_npm_registry() -> bool:
    """Make Solara's CDN proxy fall back to the npm registry. Returns False if Solara's proxy is not there."""
    try:
        import solara.server.cdn_helper as cdn
        import solara.server.settings as settings
    except ImportError:  # pragma: no cover - solara is a dependency
        return False
    if getattr(cdn.fetch_from_cdn, "olsim_fallback", False):
        return True
    original = cdn.fetch_from_cdn
    cache = Path(settings.assets.proxy_cache_dir) / ".npm-tarballs"

    def fetch(url):
        try:
            data = file_from_npm(url, cache)
            if data is not None:
                return data
        except Exception as e:  # the registry failed too: let the CDN have its try and report
            logger.warning("npm registry fallback for %s failed: %s", url, e)
        return original(url)

    fetch.olsim_fallback = True  # type: ignore[attr-defined]  # marks the fallback as installed (checked above)
    cdn.fetch_from_cdn = fetch
    return True


__all__ = ["use_npm_registry", "file_from_npm"]
