"""Tests for finding or downloading MovieLens-100K.

Downloads go to a real HTTP server on 127.0.0.1 that this module starts, serving zips it
builds itself, so the code under test runs its true urllib path without ever touching the
network or the user's real cache.
"""

from __future__ import annotations

import hashlib
import io
import re
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rich.console import Console

from sessionrec.data.download import (
    ML100K_CHECKSUM,
    ML100K_DIRNAME,
    ML100K_MD5,
    ML100K_SHA256,
    ML100K_URL,
    DownloadError,
    cache_dir,
    is_movielens_100k,
    locate_movielens_100k,
)
from sessionrec.errors import ConfigError, DataError, SessionrecError

U_DATA = b"196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n"
U_ITEM = b"242|Kolya (1996)|24-Jan-1997||http://us.imdb.com/M/title-exact?Kolya%20(1996)|0\n"


def build_zip(members: dict[str, bytes]) -> bytes:
    """Build an in-memory zip with exactly the given member names and contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


GOOD_ZIP = build_zip({"ml-100k/u.data": U_DATA, "ml-100k/u.item": U_ITEM})
GOOD_SHA256 = hashlib.sha256(GOOD_ZIP).hexdigest()
GOOD_MD5 = hashlib.md5(GOOD_ZIP).hexdigest()


@dataclass
class Route:
    """What the fake server answers on one path."""

    body: bytes
    status: int = 200
    # Claimed length; larger than the body to simulate a server hanging up early.
    content_length: int | None = None
    # Runs in the server thread before the body is sent.
    before_body: Callable[[], object] | None = None


@dataclass
class FakeServer:
    """A local HTTP server with per-path answers and a request log."""

    base_url: str
    routes: dict[str, Route]
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def count(self, path: str) -> int:
        return self.requests.count(path)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    """Serve GOOD_ZIP at /ml-100k.zip from a thread; other routes are added per test."""
    routes: dict[str, Route] = {"/ml-100k.zip": Route(GOOD_ZIP)}
    log: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            log.append(self.path)
            route = routes.get(self.path)
            if route is None:
                self.send_error(404, "Not Found")
                return
            if route.before_body is not None:
                route.before_body()
            self.send_response(route.status)
            length = len(route.body) if route.content_length is None else route.content_length
            self.send_header("Content-Length", str(length))
            self.send_header("Content-Type", "application/zip")
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    host, port = httpd.server_address[:2]
    try:
        yield FakeServer(f"http://{host!s}:{port}", routes, log)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test away from the real ~/.cache and from the caller's data variables."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("SESSIONREC_CACHE", "SESSIONREC_DATA", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SESSIONREC_CACHE under tmp_path (not created: the code must create it)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("SESSIONREC_CACHE", str(folder))
    return folder


def quiet() -> Console:
    return Console(file=io.StringIO(), width=100)


def leftovers(folder: Path) -> list[str]:
    """Everything in the cache, so tests can say it holds no partial state."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def make_raw(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "u.data").write_bytes(U_DATA)
    return folder


def make_atomic(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "ml-100k.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n"
    )
    return folder


# --- the published checksum ------------------------------------------------------------


def test_published_checksum_constants_are_well_formed() -> None:
    assert ML100K_URL == "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
    assert ML100K_MD5 == "0e33842e24a9c977be4e0107933c0723"
    assert ML100K_SHA256 == "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"
    assert ML100K_CHECKSUM.split(":") == ["sha256", ML100K_SHA256]


# --- cache_dir ---------------------------------------------------------------------------


def test_cache_dir_prefers_sessionrec_cache(tmp_path: Path) -> None:
    env = {"SESSIONREC_CACHE": str(tmp_path / "own"), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert cache_dir(env) == tmp_path / "own"


def test_cache_dir_falls_back_to_xdg(tmp_path: Path) -> None:
    env = {"SESSIONREC_CACHE": "", "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert cache_dir(env) == tmp_path / "xdg" / "sessionrec"


def test_cache_dir_defaults_to_home_cache(isolated_home: Path) -> None:
    assert cache_dir({}) == isolated_home / ".cache" / "sessionrec"
    assert cache_dir() == isolated_home / ".cache" / "sessionrec"


# --- downloading -------------------------------------------------------------------------


def test_download_lands_in_cache_and_is_not_repeated(server: FakeServer, cache: Path) -> None:
    url = server.url("/ml-100k.zip")
    console = quiet()

    first = locate_movielens_100k(url=url, checksum=f"sha256:{GOOD_SHA256}", console=console)

    assert first == cache / ML100K_DIRNAME
    assert (first / "u.data").read_bytes() == U_DATA
    assert (first / "u.item").read_bytes() == U_ITEM
    assert leftovers(cache) == [ML100K_DIRNAME]  # no .part, no unpack folder
    assert server.count("/ml-100k.zip") == 1
    assert "MovieLens-100K" in console.file.getvalue()  # type: ignore[attr-defined]

    second = locate_movielens_100k(url=url, checksum=f"sha256:{GOOD_SHA256}", console=quiet())

    assert second == first
    assert server.count("/ml-100k.zip") == 1


@pytest.mark.parametrize("checksum", [f"md5:{GOOD_MD5}", GOOD_MD5, GOOD_SHA256.upper()])
def test_md5_and_bare_digests_are_accepted(server: FakeServer, cache: Path, checksum: str) -> None:
    found = locate_movielens_100k(
        url=server.url("/ml-100k.zip"), checksum=checksum, show_progress=False
    )
    assert found == cache / ML100K_DIRNAME


def test_env_mapping_is_used_instead_of_os_environ(server: FakeServer, tmp_path: Path) -> None:
    cache = tmp_path / "from-env"
    found = locate_movielens_100k(
        env={"SESSIONREC_CACHE": str(cache)},
        url=server.url("/ml-100k.zip"),
        checksum=GOOD_SHA256,
        console=quiet(),
    )
    assert found == cache / ML100K_DIRNAME


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_wrong_checksum_raises_and_leaves_nothing(
    server: FakeServer, cache: Path, algorithm: str
) -> None:
    wrong = "0" * (64 if algorithm == "sha256" else 32)
    actual = hashlib.new(algorithm, GOOD_ZIP).hexdigest()

    with pytest.raises(DownloadError) as caught:
        locate_movielens_100k(
            url=server.url("/ml-100k.zip"), checksum=f"{algorithm}:{wrong}", console=quiet()
        )

    message = str(caught.value)
    assert wrong in message
    assert actual in message
    assert leftovers(cache) == []
    assert not list(cache.rglob("*.part"))


def test_http_404_names_the_url_and_the_offline_way(server: FakeServer, cache: Path) -> None:
    url = server.url("/missing.zip")

    with pytest.raises(DownloadError) as caught:
        locate_movielens_100k(url=url, checksum=GOOD_SHA256, console=quiet())

    message = str(caught.value)
    assert url in message
    assert "404" in message
    assert "SESSIONREC_DATA" in message
    assert "--data" in message
    assert caught.value.url == url
    assert isinstance(caught.value, SessionrecError)
    assert leftovers(cache) == []


def test_unreachable_port_raises_download_error(cache: Path) -> None:
    # A socket bound but not listening: connecting to it is refused, and no other process
    # can take the port while the test holds it.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        url = f"http://127.0.0.1:{port}/ml-100k.zip"

        with pytest.raises(DownloadError) as caught:
            locate_movielens_100k(url=url, checksum=GOOD_SHA256, console=quiet())

    assert url in str(caught.value)
    assert "SESSIONREC_DATA" in str(caught.value)
    assert leftovers(cache) == []


def test_silent_server_times_out(cache: Path) -> None:
    # Listening but never accepting: the connection opens, the answer never comes.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]

        with pytest.raises(DownloadError, match=r"no answer within 0\.3 s"):
            locate_movielens_100k(
                url=f"http://127.0.0.1:{port}/ml-100k.zip",
                checksum=GOOD_SHA256,
                timeout=0.3,
                console=quiet(),
            )

    assert leftovers(cache) == []


def test_early_hang_up_raises_download_error(server: FakeServer, cache: Path) -> None:
    server.routes["/short.zip"] = Route(GOOD_ZIP[:100], content_length=len(GOOD_ZIP))

    with pytest.raises(DownloadError, match=f"closed after 100 of {len(GOOD_ZIP)} bytes"):
        locate_movielens_100k(url=server.url("/short.zip"), checksum=GOOD_SHA256, console=quiet())

    assert leftovers(cache) == []


@pytest.mark.parametrize("evil", ["ml-100k/../evil", "../evil", "/tmp/evil", "C:/evil"])
def test_archive_escaping_its_folder_is_rejected(
    server: FakeServer, cache: Path, tmp_path: Path, evil: str
) -> None:
    bad = build_zip({"ml-100k/u.data": U_DATA, evil: b"pwned"})
    server.routes["/bad.zip"] = Route(bad)

    with pytest.raises(DownloadError, match="unsafe archive member"):
        locate_movielens_100k(
            url=server.url("/bad.zip"), checksum=hashlib.sha256(bad).hexdigest(), console=quiet()
        )

    assert leftovers(cache) == []
    assert not (tmp_path / "evil").exists()


def test_archive_with_symlink_is_rejected(server: FakeServer, cache: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ml-100k/u.data", U_DATA)
        link = zipfile.ZipInfo("ml-100k/u.item")
        link.external_attr = 0o120777 << 16  # a symlink, as unzip would create it
        archive.writestr(link, "/etc/passwd")
    bad = buffer.getvalue()
    server.routes["/link.zip"] = Route(bad)

    with pytest.raises(DownloadError, match=re.escape("unsafe archive member 'ml-100k/u.item'")):
        locate_movielens_100k(
            url=server.url("/link.zip"), checksum=hashlib.sha256(bad).hexdigest(), console=quiet()
        )

    assert leftovers(cache) == []


def test_archive_without_ml100k_folder_is_rejected(server: FakeServer, cache: Path) -> None:
    wrong = build_zip({"ml-1m/ratings.dat": b"1::1193::5::978300760\n"})
    server.routes["/wrong.zip"] = Route(wrong)

    with pytest.raises(DownloadError, match="has no ml-100k/ folder"):
        locate_movielens_100k(
            url=server.url("/wrong.zip"),
            checksum=hashlib.sha256(wrong).hexdigest(),
            console=quiet(),
        )

    assert leftovers(cache) == []


def test_body_that_is_not_a_zip_is_rejected(server: FakeServer, cache: Path) -> None:
    html = b"<html>captive portal</html>"
    server.routes["/portal"] = Route(html)

    with pytest.raises(DownloadError, match="not a valid zip"):
        locate_movielens_100k(
            url=server.url("/portal"), checksum=hashlib.md5(html).hexdigest(), console=quiet()
        )

    assert leftovers(cache) == []


def test_broken_leftover_in_cache_is_replaced(server: FakeServer, cache: Path) -> None:
    stale = cache / ML100K_DIRNAME
    stale.mkdir(parents=True)
    (stale / "README").write_text("half an old unpack")

    found = locate_movielens_100k(
        url=server.url("/ml-100k.zip"), checksum=GOOD_SHA256, console=quiet()
    )

    assert found == stale
    assert sorted(p.name for p in found.iterdir()) == ["u.data", "u.item"]


def test_copy_finished_by_another_process_is_kept(server: FakeServer, cache: Path) -> None:
    # Simulates a concurrent run publishing the data set while this one downloads.
    server.routes["/ml-100k.zip"].before_body = lambda: make_atomic(cache / ML100K_DIRNAME)

    found = locate_movielens_100k(
        url=server.url("/ml-100k.zip"), checksum=GOOD_SHA256, console=quiet()
    )

    assert found == cache / ML100K_DIRNAME
    assert sorted(p.name for p in found.iterdir()) == ["ml-100k.inter"]
    assert leftovers(cache) == [ML100K_DIRNAME]


def test_no_download_when_turned_off(server: FakeServer, cache: Path) -> None:
    with pytest.raises(DataError, match="downloading is turned off"):
        locate_movielens_100k(download=False, url=server.url("/ml-100k.zip"))

    assert server.requests == []
    assert leftovers(cache) == []


@pytest.mark.parametrize("checksum", ["", "sha1:abc", "md5:xyz", "sha256:" + "0" * 63, "f" * 40])
def test_malformed_checksum_is_a_config_error(checksum: str) -> None:
    with pytest.raises(ConfigError, match="checksum"):
        locate_movielens_100k(checksum=checksum, download=False)


# --- user-named data beats the cache -----------------------------------------------------


LAYOUTS = {
    "raw-itself": lambda root: make_raw(root / "data"),
    "raw-parent": lambda root: make_raw(root / "data" / ML100K_DIRNAME),
    "atomic-itself": lambda root: make_atomic(root / "data"),
    "atomic-parent": lambda root: make_atomic(root / "data" / ML100K_DIRNAME),
}


@pytest.fixture
def cached_copy(server: FakeServer, cache: Path) -> Path:
    """A valid cached data set, so precedence tests show the user's folder wins over it."""
    found = locate_movielens_100k(
        url=server.url("/ml-100k.zip"), checksum=GOOD_SHA256, console=quiet()
    )
    server.requests.clear()
    return found


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_data_argument_beats_cache(
    layout: str, tmp_path: Path, cached_copy: Path, server: FakeServer
) -> None:
    expected = LAYOUTS[layout](tmp_path)

    assert locate_movielens_100k(tmp_path / "data", url=server.url("/ml-100k.zip")) == expected
    assert locate_movielens_100k(str(tmp_path / "data")) == expected
    assert server.requests == []


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_sessionrec_data_beats_cache(
    layout: str,
    tmp_path: Path,
    cached_copy: Path,
    server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = LAYOUTS[layout](tmp_path)
    monkeypatch.setenv("SESSIONREC_DATA", str(tmp_path / "data"))

    assert locate_movielens_100k(url=server.url("/ml-100k.zip")) == expected
    assert server.requests == []


def test_data_argument_beats_sessionrec_data(tmp_path: Path) -> None:
    chosen = make_raw(tmp_path / "chosen")
    other = make_atomic(tmp_path / "other")

    found = locate_movielens_100k(chosen, env={"SESSIONREC_DATA": str(other)}, download=False)

    assert found == chosen


def test_sessionrec_data_without_ml100k_falls_through_to_cache(
    tmp_path: Path, cached_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "datasets"
    (shared / "ml-1m").mkdir(parents=True)
    monkeypatch.setenv("SESSIONREC_DATA", str(shared))

    assert locate_movielens_100k(download=False) == cached_copy


def test_sessionrec_data_that_does_not_exist_is_a_data_error(tmp_path: Path) -> None:
    missing = tmp_path / "typo"

    with pytest.raises(DataError, match="SESSIONREC_DATA") as caught:
        locate_movielens_100k(env={"SESSIONREC_DATA": str(missing)}, download=False)

    assert caught.value.path == str(missing)


def test_data_that_is_not_ml100k_names_the_path(tmp_path: Path, server: FakeServer) -> None:
    wrong = tmp_path / "wrong"
    (wrong / "ml-1m").mkdir(parents=True)
    (wrong / "ratings.csv").write_text("userId,movieId,rating\n")

    with pytest.raises(DataError) as caught:
        locate_movielens_100k(wrong, url=server.url("/ml-100k.zip"))

    message = str(caught.value)
    assert str(wrong) in message
    assert "u.data" in message
    assert "ml-100k.inter" in message
    assert caught.value.path == str(wrong)
    assert server.requests == []  # a wrong --data is reported, never papered over


def test_data_file_instead_of_folder_is_a_data_error(tmp_path: Path) -> None:
    a_file = tmp_path / "u.data"
    a_file.write_bytes(U_DATA)

    with pytest.raises(DataError, match="is not MovieLens-100K"):
        locate_movielens_100k(a_file)


def test_missing_data_path_is_a_data_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    with pytest.raises(DataError, match="does not exist") as caught:
        locate_movielens_100k(missing)

    assert caught.value.path == str(missing)


def test_is_movielens_100k(tmp_path: Path) -> None:
    assert is_movielens_100k(make_raw(tmp_path / "raw"))
    assert is_movielens_100k(make_atomic(tmp_path / "atomic"))
    assert not is_movielens_100k(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    assert not is_movielens_100k(tmp_path / "empty")
