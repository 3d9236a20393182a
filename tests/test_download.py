"""The download path against a loopback HTTP server: mirror, verify, resume, and every failure's message."""

from __future__ import annotations

import pytest
from fixtures import LoopbackServer, sha256

from hybridlib import download
from hybridlib.registry import RemoteFile

PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes


def entry(payload: bytes = PAYLOAD, name: str = "test/file", sha: str | None = "auto") -> RemoteFile:
    return RemoteFile(name, "https://files.example.org/pub/data.bin", len(payload), sha256(payload) if sha == "auto" else sha, "CC0", "-", "fixture")


@pytest.fixture
def served(tmp_path):
    """A mirror root serving files.example.org/pub/data.bin."""
    root = tmp_path / "mirror"
    (root / "files.example.org" / "pub").mkdir(parents=True)
    (root / "files.example.org" / "pub" / "data.bin").write_bytes(PAYLOAD)
    with LoopbackServer(root) as server:
        yield server


def no_partials(cache):
    return [p for p in cache.rglob("*") if p.is_file() and p.suffix == ".part"]


def test_mirror_maps_host_and_path():
    assert download.mirrored("https://a.org/x/y.json", "http://127.0.0.1:9/pre/") == "http://127.0.0.1:9/pre/a.org/x/y.json"
    assert download.mirrored("https://a.org/x", None) == "https://a.org/x"


def test_fetch_verifies_caches_and_reuses(served, tmp_path):
    cache = tmp_path / "cache"
    path = download.fetch(entry(), cache, mirror=served.url)
    assert path == cache / "files.example.org" / "pub" / "data.bin" and path.read_bytes() == PAYLOAD
    n = len(served.requests)
    assert download.fetch(entry(), cache, mirror=served.url) == path
    assert len(served.requests) == n, "a cached file is not downloaded again"


def test_sha_mismatch_names_file_and_both_hashes_and_leaves_nothing(served, tmp_path):
    cache = tmp_path / "cache"
    bad = entry(sha="0" * 64)
    with pytest.raises(download.DownloadError) as err:
        download.fetch(bad, cache, mirror=served.url)
    message = str(err.value)
    assert "test/file" in message and "0" * 64 in message and sha256(PAYLOAD) in message and "\n" not in message
    assert not download.cache_path(bad, cache).exists() and not no_partials(cache)
    # --allow-unverified keeps it, knowingly
    path = download.fetch(bad, cache, mirror=served.url, allow_unverified=True)
    assert path.exists() and "test/file" in (cache / "unverified.json").read_text()


def test_truncated_download_is_resumed_with_range(served, tmp_path):
    served.truncate["/files.example.org/pub/data.bin"] = 6000  # two attempts deliver everything
    path = download.fetch(entry(), tmp_path / "cache", mirror=served.url)
    assert path.read_bytes() == PAYLOAD
    assert [r for _, r in served.requests] == [None, "bytes=6000-"]


def test_persistently_truncated_download_errors_without_partial_file_and_rerun_succeeds(served, tmp_path):
    cache = tmp_path / "cache"
    served.truncate["/files.example.org/pub/data.bin"] = 1000  # 3 attempts reach only 3,000 bytes
    with pytest.raises(download.DownloadError, match=r"test/file: .* stopped short 3 times \(truncated download\)"):
        download.fetch(entry(), cache, mirror=served.url)
    assert not no_partials(cache) and not download.cache_path(entry(), cache).exists()
    served.truncate.clear()  # the fix: a healthy server
    assert download.fetch(entry(), cache, mirror=served.url).read_bytes() == PAYLOAD


def test_interrupted_part_file_is_continued(served, tmp_path):
    cache = tmp_path / "cache"
    target = download.cache_path(entry(), cache)
    target.parent.mkdir(parents=True)
    target.with_name(target.name + ".part").write_bytes(PAYLOAD[:4096])  # left by a killed process
    assert download.fetch(entry(), cache, mirror=served.url).read_bytes() == PAYLOAD
    assert served.requests[0][1] == "bytes=4096-"


def test_offline_lists_every_missing_url_and_where_to_put_it(served, tmp_path):
    cache = tmp_path / "cache"
    missing = RemoteFile("test/other", "https://files.example.org/pub/missing.bin", 3, "0" * 64, "CC0", "-", "x")
    with pytest.raises(download.DownloadError) as err:
        download.fetch_all([entry(), missing], cache, mirror=served.url)
    message = str(err.value)
    assert "1 file(s) could not be downloaded" in message and "pub/missing.bin" in message
    assert str(download.cache_path(missing, cache)) in message
    assert download.cache_path(entry(), cache).exists(), "reachable files are still fetched"
    unreachable = "http://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(download.DownloadError, match="could not be downloaded"):
        download.fetch_all([missing], tmp_path / "c2", mirror=unreachable)


def test_unpinned_file_records_its_hash_at_first_download(served, tmp_path):
    cache = tmp_path / "cache"
    unpinned = RemoteFile("test/unpinned", "https://files.example.org/pub/data.bin", None, None, "CC0", "-", "x")
    download.fetch(unpinned, cache, mirror=served.url)
    assert sha256(PAYLOAD) in (cache / "pins.json").read_text()


def test_mirror_lays_out_local_copies_by_hash_and_names_what_is_missing(tmp_path, capsys):
    from hybridlib.cli import main

    copies = tmp_path / "copies"
    (copies / "deep").mkdir(parents=True)
    wanted = [RemoteFile(f"x/{lang}", f"https://files.example.org/x/{lang}.json", len(data), sha256(data), "CC0", "-", "fixture")
              for lang, data in (("en", b'{"data": []}'), ("de", b'{"data": [1]}'))]
    (copies / "deep" / "any-name.json").write_bytes(b'{"data": []}')  # found by its hash, whatever its name
    (copies / "de.json").write_bytes(b'{"data": [2]}')  # right name, wrong bytes: not taken
    missing = download.lay_out_mirror(wanted, [copies], tmp_path / "mirror")
    assert [e.name for e in missing] == ["x/de"]
    assert download.cache_path(wanted[0], tmp_path / "mirror").read_bytes() == b'{"data": []}'
    assert not download.cache_path(wanted[1], tmp_path / "mirror").exists()
    assert main(["mirror", "--profile", "small", "--files", str(copies), "--out", str(tmp_path / "m2")]) == 2
    assert "0 of 13 files of profile small" in capsys.readouterr().out
