"""Finding MovieLens-100K on disk, or fetching it once into the user cache.

`sessionrec demo` must work on a fresh machine and also offline, so the data is looked for
where a user would have put it (``--data``, ``$SESSIONREC_DATA``), then in the cache, and only
then downloaded. A download is checked against the published checksum *before* anything is
unpacked, and it only becomes visible in the cache by one atomic rename, so an interrupted or
tampered download never leaves a folder that a later run would mistake for the data set.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import stat
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from sessionrec.errors import ConfigError, DataError, SessionrecError

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "ML100K_CHECKSUM",
    "ML100K_DIRNAME",
    "ML100K_MD5",
    "ML100K_SHA256",
    "ML100K_URL",
    "DownloadError",
    "cache_dir",
    "is_movielens_100k",
    "locate_movielens_100k",
]

logger = logging.getLogger(__name__)

ML100K_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
ML100K_DIRNAME = "ml-100k"
# GroupLens publishes the MD5 next to the archive, in
# https://files.grouplens.org/datasets/movielens/ml-100k.zip.md5, whose text is
# "MD5 (ml-100k.zip) = 0e33842e24a9c977be4e0107933c0723". GroupLens publishes no SHA-256; the
# one below is the SHA-256 of that same 4,924,029-byte archive as pinned, together with the MD5
# above, by several independent public projects (download scripts that assert both digests
# of the GroupLens file). The data set has been frozen since 1998, so pinning is safe.
ML100K_MD5 = "0e33842e24a9c977be4e0107933c0723"
ML100K_SHA256 = "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"
ML100K_CHECKSUM = f"sha256:{ML100K_SHA256}"

DEFAULT_TIMEOUT_S = 30.0
"""Seconds to wait for the server to connect or send the next block before giving up."""

_CHUNK_BYTES = 64 * 1024
# Files whose presence tells that a folder is ML-100K, for the project's two loaders: the
# RecBole atomic export and the raw GroupLens release.
_MARKER_FILES = ("ml-100k.inter", "u.data")
_DIGEST_LENGTHS = {"md5": 32, "sha256": 64}


class DownloadError(SessionrecError):
    """The data set could not be fetched, or what was fetched cannot be trusted.

    The message names the URL and says how to go on without the network.
    """

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(message)


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """Return the folder where sessionrec keeps downloads between runs.

    ``$SESSIONREC_CACHE`` wins so tests and shared machines can redirect it; otherwise the
    XDG base-directory rule applies (``$XDG_CACHE_HOME/sessionrec``, else
    ``~/.cache/sessionrec``). An empty variable counts as unset, as XDG asks.
    """
    env = os.environ if env is None else env
    if own := env.get("SESSIONREC_CACHE"):
        return Path(own).expanduser()
    if xdg := env.get("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "sessionrec"
    return Path.home() / ".cache" / "sessionrec"


def is_movielens_100k(folder: Path) -> bool:
    """Tell whether a loader can read ``folder`` as MovieLens-100K (atomic or raw form)."""
    return folder.is_dir() and any((folder / name).is_file() for name in _MARKER_FILES)


def locate_movielens_100k(
    data: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    download: bool = True,
    url: str = ML100K_URL,
    checksum: str = ML100K_CHECKSUM,
    timeout: float = DEFAULT_TIMEOUT_S,
    console: Console | None = None,
    show_progress: bool = True,
) -> Path:
    """Return a folder the loaders can read as MovieLens-100K, downloading it if need be.

    Looked for in this order, so what the user names always beats what was cached:
    ``data``, ``$SESSIONREC_DATA``, ``cache_dir()/ml-100k``. Each of the first two may be the
    data folder itself or a folder holding ``ml-100k/``. When none has it and ``download`` is
    true, the GroupLens zip is fetched into the cache (progress on ``console``, stderr by
    default) and checked against ``checksum`` (``"sha256:<hex>"``, ``"md5:<hex>"`` or bare hex).

    Raises:
        DataError: ``data`` is missing or is not MovieLens-100K, ``$SESSIONREC_DATA`` names a
            path that does not exist, or nothing was found and ``download`` is false.
        DownloadError: the download failed, its checksum did not match, or the archive is
            unsafe or has no ``ml-100k/`` folder.
        ConfigError: ``checksum`` is not in one of the forms above.
    """
    env = os.environ if env is None else env
    algorithm, expected = _parse_checksum(checksum)

    if data is not None:
        return _from_user_path(Path(data).expanduser())

    if env_data := env.get("SESSIONREC_DATA"):
        found = _from_env_path(Path(env_data).expanduser())
        if found is not None:
            return found

    cache = cache_dir(env)
    cached = cache / ML100K_DIRNAME
    if is_movielens_100k(cached):
        logger.info("using cached MovieLens-100K at %s", cached)
        return cached

    if not download:
        raise DataError(
            f"MovieLens-100K was not found (looked at $SESSIONREC_DATA and {cached}) and "
            "downloading is turned off; pass --data PATH or set SESSIONREC_DATA to a folder "
            "holding ml-100k/"
        )

    progress_console = console if console is not None else Console(stderr=True)
    return _download_into_cache(
        cache,
        url=url,
        algorithm=algorithm,
        expected=expected,
        timeout=timeout,
        console=progress_console,
        show_progress=show_progress,
    )


def _find_in(folder: Path) -> Path | None:
    """Accept both the data folder itself and its parent, as people point at either."""
    if is_movielens_100k(folder):
        return folder
    nested = folder / ML100K_DIRNAME
    if is_movielens_100k(nested):
        return nested
    return None


def _from_user_path(data: Path) -> Path:
    """Resolve an explicit ``--data``; a wrong one is an error, never a silent download."""
    expected = (
        f"a MovieLens-100K folder (with {' or '.join(_MARKER_FILES)}) "
        f"or a folder holding {ML100K_DIRNAME}/"
    )
    if not data.exists():
        raise DataError(f"does not exist; expected {expected}", path=data)
    found = _find_in(data)
    if found is None:
        raise DataError(f"is not MovieLens-100K; expected {expected}", path=data)
    logger.info("using MovieLens-100K at %s (from --data)", found)
    return found


def _from_env_path(root: Path) -> Path | None:
    """Resolve ``$SESSIONREC_DATA``, which may legitimately hold only other data sets."""
    if not root.exists():
        # A path that is not there is a typo; going on to download would hide it.
        raise DataError(
            "named by SESSIONREC_DATA does not exist; point it at a folder holding "
            f"{ML100K_DIRNAME}/ or unset it",
            path=root,
        )
    found = _find_in(root)
    if found is None:
        logger.info("SESSIONREC_DATA=%s holds no %s/; looking further", root, ML100K_DIRNAME)
        return None
    logger.info("using MovieLens-100K at %s (from SESSIONREC_DATA)", found)
    return found


def _parse_checksum(checksum: str) -> tuple[str, str]:
    """Split ``"algo:hex"`` (or bare hex, told apart by its length) into its two parts."""
    algorithm, sep, digest = checksum.strip().lower().rpartition(":")
    if not sep:
        by_length = {length: name for name, length in _DIGEST_LENGTHS.items()}
        algorithm = by_length.get(len(digest), "")
    length = _DIGEST_LENGTHS.get(algorithm)
    if length is None or len(digest) != length or any(c not in "0123456789abcdef" for c in digest):
        raise ConfigError(
            f"checksum {checksum!r} is not 'sha256:<64 hex>', 'md5:<32 hex>' or bare hex of "
            "either length"
        )
    return algorithm, digest


def _offline_hint(url: str) -> str:
    return (
        f"to work offline, fetch {url} elsewhere, unzip it and set SESSIONREC_DATA to the "
        f"folder holding {ML100K_DIRNAME}/, or pass --data PATH"
    )


def _network_error(url: str, exc: BaseException, timeout: float) -> DownloadError:
    """Turn whatever urllib raised into one line that says what happened and what to do."""
    reason: object = exc
    if isinstance(exc, urllib.error.HTTPError):
        reason = f"HTTP {exc.code} {exc.reason}"
        exc.close()  # the error carries the open response; release its socket now
    elif isinstance(exc, urllib.error.URLError):
        reason = exc.reason
    if isinstance(reason, TimeoutError):
        reason = f"no answer within {timeout:g} s"
    return DownloadError(
        f"could not download {url}: {reason}; {_offline_hint(url)}",
        url=url,
    )


def _content_length(response: http.client.HTTPResponse) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _download_into_cache(
    cache: Path,
    *,
    url: str,
    algorithm: str,
    expected: str,
    timeout: float,
    console: Console,
    show_progress: bool,
) -> Path:
    """Fetch, verify, unpack and publish; only the final rename makes the result visible."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / ML100K_DIRNAME
    # Unique names, so two processes downloading at once do not write into each other.
    handle, part_name = tempfile.mkstemp(dir=cache, prefix="ml-100k.", suffix=".zip.part")
    os.close(handle)
    part = Path(part_name)
    staging: Path | None = None
    try:
        actual = _fetch(
            url,
            part,
            algorithm=algorithm,
            timeout=timeout,
            console=console,
            show_progress=show_progress,
        )
        if actual != expected:
            raise DownloadError(
                f"checksum mismatch for {url}: expected {algorithm} {expected}, got {actual}; "
                f"the download was deleted and nothing was unpacked; {_offline_hint(url)}",
                url=url,
            )
        logger.info("checksum %s of %s verified", algorithm, url)
        staging = Path(tempfile.mkdtemp(dir=cache, prefix=".ml-100k.unpack-"))
        unpacked = _extract(part, staging, url=url)
        _publish(unpacked, target)
    finally:
        part.unlink(missing_ok=True)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    logger.info("MovieLens-100K is ready at %s", target)
    return target


def _fetch(
    url: str,
    part: Path,
    *,
    algorithm: str,
    timeout: float,
    console: Console,
    show_progress: bool,
) -> str:
    """Stream ``url`` into ``part`` under a progress bar and return its hex digest."""
    digest = hashlib.new(algorithm)
    request = urllib.request.Request(url, headers={"User-Agent": "sessionrec"})
    logger.info("downloading %s", url)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _network_error(url, exc, timeout) from exc
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    received = 0
    with (
        response,
        part.open("wb") as sink,
        Progress(*columns, console=console, disable=not show_progress) as progress,
    ):
        total = _content_length(response)
        task = progress.add_task(f"MovieLens-100K {url.rsplit('/', 1)[-1]}", total=total)
        while True:
            try:
                block = response.read(_CHUNK_BYTES)
            except (OSError, http.client.HTTPException) as exc:
                raise _network_error(url, exc, timeout) from exc
            if not block:
                break
            sink.write(block)
            digest.update(block)
            received += len(block)
            progress.update(task, advance=len(block))
    # http.client returns b"" rather than raising when the server hangs up early.
    if total is not None and received != total:
        raise _network_error(
            url, ConnectionError(f"connection closed after {received} of {total} bytes"), timeout
        )
    return digest.hexdigest()


def _safe_member_path(info: zipfile.ZipInfo, url: str) -> PurePosixPath:
    """Refuse members that would land outside the unpack folder or create links."""
    path = PurePosixPath(info.filename.replace("\\", "/"))
    escapes = path.is_absolute() or ".." in path.parts or ":" in info.filename
    if escapes or stat.S_ISLNK(info.external_attr >> 16):
        raise DownloadError(
            f"refusing to unpack {url}: unsafe archive member {info.filename!r}; "
            f"{_offline_hint(url)}",
            url=url,
        )
    return path


def _extract(archive_path: Path, staging: Path, *, url: str) -> Path:
    """Unpack into ``staging`` after checking every member, and return its ml-100k folder."""
    try:
        with zipfile.ZipFile(archive_path) as archive:
            members = [(info, _safe_member_path(info, url)) for info in archive.infolist()]
            for info, relative in members:
                destination = staging.joinpath(*relative.parts)
                if info.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source, destination.open("wb") as sink:
                    shutil.copyfileobj(source, sink, _CHUNK_BYTES)
    except zipfile.BadZipFile as exc:
        raise DownloadError(f"{url} is not a valid zip archive: {exc}", url=url) from exc
    unpacked = staging / ML100K_DIRNAME
    if not is_movielens_100k(unpacked):
        raise DownloadError(
            f"the archive from {url} has no {ML100K_DIRNAME}/ folder with "
            f"{' or '.join(_MARKER_FILES)}; {_offline_hint(url)}",
            url=url,
        )
    return unpacked


def _publish(unpacked: Path, target: Path) -> None:
    """Move the verified folder into place in one rename, replacing only a broken leftover."""
    if target.exists():
        if is_movielens_100k(target):
            # Another process finished first; its copy is as good as ours.
            logger.info("%s appeared while downloading; keeping it", target)
            return
        # The cache is ours, so a leftover that is not the data set (say from an older,
        # unsafe tool) may go; a link is removed, never what it points to.
        logger.warning("replacing %s, which is not a usable MovieLens-100K folder", target)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()
    unpacked.replace(target)
