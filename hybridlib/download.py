"""Downloads: resumable, cached, verified, mirror-able.

- **Cache.** ``<cache>/<host>/<path>`` (``HYBRIDLIB_CACHE``, default ``<home>/cache``). A file in the cache is
  complete and verified: a download goes to ``<file>.part`` and is renamed only after its size and sha256
  match the registry.
- **Resume.** A ``.part`` left by a killed process is continued with an HTTP Range request; a transfer that
  stops short is retried (resuming) up to 3 times, then the ``.part`` is deleted and the error names the file.
- **Verify.** A sha256 mismatch deletes the download and raises an error naming the file and both hashes.
  ``allow_unverified`` keeps it instead and records it in ``<cache>/unverified.json`` (run records copy that).
- **Mirror.** ``HYBRIDLIB_MIRROR=http://host:port[/prefix]`` (or the profile's ``mirror`` key) maps every
  ``https://HOST/PATH`` to ``MIRROR/HOST/PATH``: for institutional mirrors and for the offline tests.
- **Offline.** Files that cannot be fetched are collected into one error listing every missing URL and the
  cache path to place each file by hand.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from hybridlib import storage
from hybridlib.registry import RemoteFile

CHUNK = 1 << 20
RETRIES = 3


class DownloadError(RuntimeError):
    """One or more files could not be fetched; the message lists each URL and where to put it by hand."""


def cache_path(entry: RemoteFile, cache_dir: Path) -> Path:
    parts = urlsplit(entry.url)
    return Path(cache_dir) / parts.netloc / parts.path.lstrip("/")


def mirrored(url: str, mirror: str | None) -> str:
    """``https://HOST/PATH`` -> ``MIRROR/HOST/PATH`` when a mirror is set."""
    if not mirror:
        return url
    parts = urlsplit(url)
    return f"{mirror.rstrip('/')}/{parts.netloc}{parts.path}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(entry: RemoteFile, cache_dir: Path, *, mirror: str | None = None, allow_unverified: bool = False) -> Path:
    """Return the verified cached copy of `entry`, downloading (and resuming) it if needed.

    Args:
        entry: the registry entry (URL, pinned size and sha256).
        cache_dir: the download cache; the file lands at `cache_path` only once verified (``.part`` until then).
        mirror: ``http://host:port/prefix`` to fetch ``https://HOST/PATH`` from ``MIRROR/HOST/PATH`` instead.
        allow_unverified: keep a file whose size or sha256 differs from the pin, recording it in
            ``<cache>/unverified.json``, instead of removing it and raising `DownloadError`.

    Returns:
        The cached file's path.
    """
    target = cache_path(entry, cache_dir)
    if target.exists():
        return target
    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    url = mirrored(entry.url, mirror)
    for _ in range(RETRIES):
        complete = _transfer(url, part)
        if complete:
            break
    else:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{entry.name}: {url} stopped short {RETRIES} times (truncated download); partial file removed, rerun to retry")
    _verify(entry, part, cache_dir, allow_unverified)
    os.replace(part, target)
    if entry.sha256 is None:
        record_pin(entry, target, cache_dir)
    return target


def _transfer(url: str, part: Path) -> bool:
    """Append `url`'s remaining bytes to `part`; True when the server's full length arrived."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the .part already holds every byte
            return True
        raise
    with response:
        if have and response.status != 206:  # the server ignored Range: start over
            have = 0
        length = response.headers.get("Content-Length")
        expected = have + int(length) if length is not None else None
        with part.open("ab" if have else "wb") as f:
            try:
                for block in iter(lambda: response.read(CHUNK), b""):
                    f.write(block)
            except (OSError, http.client.HTTPException):
                return False  # connection dropped: resume on the next attempt
    return expected is None or part.stat().st_size >= expected


def _verify(entry: RemoteFile, part: Path, cache_dir: Path, allow_unverified: bool) -> None:
    size = part.stat().st_size
    if entry.size is not None and size != entry.size and not allow_unverified:
        part.unlink()
        raise DownloadError(f"{entry.name}: got {size} bytes, the registry pins {entry.size} ({entry.url}); partial or wrong file removed, rerun to retry")
    if entry.sha256 is None:
        return
    got = sha256_of(part)
    if got == entry.sha256:
        return
    if not allow_unverified:
        part.unlink()
        raise DownloadError(
            f"{entry.name}: sha256 mismatch: expected {entry.sha256}, got {got} ({entry.url}); file removed. "
            "If the publisher changed the file on purpose, rerun with --allow-unverified"
        )
    log = Path(cache_dir) / "unverified.json"
    record = storage.read_json(log) if log.exists() else {}
    record[entry.name] = {"url": entry.url, "expected_sha256": entry.sha256, "sha256": got, "bytes": size}
    storage.write_json(log, record)
    print(f"WARNING {entry.name}: sha256 {got} differs from the registry's {entry.sha256}; kept (--allow-unverified)")


def record_pin(entry: RemoteFile, path: Path, cache_dir: Path) -> None:
    """Record size and sha256 of an unpinned file at first download (``<cache>/pins.json``).

    Args:
        entry: the registry entry, whose upstream publishes no checksum.
        path: the downloaded file.
        cache_dir: the download cache holding ``pins.json``.
    """
    log = Path(cache_dir) / "pins.json"
    pins = storage.read_json(log) if log.exists() else {}
    pins[entry.name] = {"url": entry.url, "bytes": path.stat().st_size, "sha256": sha256_of(path)}
    storage.write_json(log, pins)
    print(f"NOTE {entry.name} is unpinned upstream; recorded bytes={pins[entry.name]['bytes']} sha256={pins[entry.name]['sha256']}")


def fetch_all(entries: list[RemoteFile], cache_dir: Path, *, mirror: str | None = None, allow_unverified: bool = False) -> dict[str, Path]:
    """Fetch every entry; unreachable ones are reported together in one `DownloadError` that lists each URL and
    the cache path to place it at by hand.

    Args:
        entries: the registry entries to fetch.
        cache_dir: the download cache, as in `fetch`.
        mirror: as in `fetch`.
        allow_unverified: as in `fetch`.

    Returns:
        {entry name: cached path}.
    """
    paths, missing = {}, []
    for entry in entries:
        try:
            paths[entry.name] = fetch(entry, cache_dir, mirror=mirror, allow_unverified=allow_unverified)
        except (urllib.error.URLError, OSError) as e:
            if isinstance(e, urllib.error.HTTPError) and e.code not in (404, 403):
                raise DownloadError(f"{entry.name}: {mirrored(entry.url, mirror)} answered HTTP {e.code}") from e
            missing.append((entry, e))
    if missing:
        lines = [f"  {mirrored(e.url, mirror)}  ->  place it at {cache_path(e, cache_dir)}  ({err})" for e, err in missing]
        raise DownloadError(f"{len(missing)} file(s) could not be downloaded (offline?):\n" + "\n".join(lines))
    return paths


def lay_out_mirror(entries: list[RemoteFile], folders: list[Path], out: Path) -> list[RemoteFile]:
    """Copy local copies of `entries` into a mirror folder (``<out>/<host>/<path>``, what ``HYBRIDLIB_MIRROR`` reads
    from), for machines that cannot reach the publishers. A file is taken only where its size and sha256 are the
    registry's, whatever its name; unpinned entries are matched by their file name.

    Args:
        entries: the registry entries wanted (`registry.files_for`).
        folders: where to look for the files, recursively.
        out: the mirror's root folder.

    Returns:
        The entries no file was found for.
    """
    import shutil

    sizes = {e.size for e in entries if e.size}
    candidates = [p for folder in folders for p in sorted(Path(folder).rglob("*")) if p.is_file()]
    by_hash = {}
    for path in candidates:
        if path.stat().st_size in sizes:
            by_hash.setdefault(sha256_of(path), path)
    missing = []
    for entry in entries:
        name = Path(urlsplit(entry.url).path).name
        found = by_hash.get(entry.sha256) if entry.sha256 else next((p for p in candidates if p.name == name), None)
        if found is None:
            missing.append(entry)
            continue
        target = cache_path(entry, out)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found, target)
    return missing
