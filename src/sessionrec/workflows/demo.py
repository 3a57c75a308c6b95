"""The demo's model: trained once per data set into the user cache, then reused.

The cache key is a digest of the event file (and of the catalogue file, where one is
given), so a different copy of the data gets its own model and a retrain is never mistaken
for the old one. Training writes into a temporary folder that becomes visible by one
rename, so an interrupted run never leaves a bundle a later run would load.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from sessionrec.artifact import read_manifest
from sessionrec.data.download import cache_dir
from sessionrec.data.loaders import CatalogueMapping, DataOptions
from sessionrec.errors import DataError
from sessionrec.workflows.defaults import DEMO_MODEL, DEMO_THREADS, DEMO_TRAIN_SECONDS
from sessionrec.workflows.train import train_to_artifact

_EVENT_FILES = ("ml-100k.inter", "u.data")


def file_digest(path: Path) -> str:
    """A short sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def data_digest(folder: Path) -> str:
    """A short sha256 of the data set's event file (what the model is trained on)."""
    for name in _EVENT_FILES:
        path = folder / name
        if path.is_file():
            return file_digest(path)
    raise DataError(f"no event file ({' or '.join(_EVENT_FILES)}) in the data folder", path=folder)


def cached_artifact_path(
    folder: Path,
    root: Path | None = None,
    catalogue: Path | None = None,
    catalogue_columns: CatalogueMapping | None = None,
    encoder: str | None = None,
) -> Path:
    """Where the demo keeps the model trained on `folder` (with `catalogue`'s items, and
    `encoder`'s text vectors where it is not the default)."""
    base = root if root is not None else cache_dir() / "artifacts"
    name = f"ml-100k-{DEMO_MODEL}-{data_digest(folder)}"
    if catalogue is not None:
        items = file_digest(catalogue)
        if catalogue_columns is not None:
            mapping = hashlib.sha256(repr(catalogue_columns).encode()).hexdigest()[:8]
            items += f"-{mapping}"
        name += f"-items-{items}"
    spec = _encoder_spec(encoder)
    if spec is not None:
        name += f"-encoder-{hashlib.sha256(spec.encode()).hexdigest()[:8]}"
    return base / name


def _encoder_spec(encoder: str | None) -> str | None:
    """The spec of a chosen encoder; None for the default, however it was written."""
    spec = (encoder or "").strip()
    return None if spec in ("", "default") else spec


def is_usable(artifact: Path) -> bool:
    """Whether a complete, intact bundle is there."""
    try:
        read_manifest(artifact)
    except DataError:
        return False
    return True


def demo_artifact(
    folder: Path,
    root: Path | None = None,
    max_seconds: float = DEMO_TRAIN_SECONDS,
    threads: int = DEMO_THREADS,
    progress: bool = True,
    catalogue: Path | None = None,
    catalogue_columns: CatalogueMapping | None = None,
    encoder: str | None = None,
) -> tuple[Path, bool]:
    """The cached model for `folder`, trained first when missing; True when just trained.

    `catalogue` replaces MovieLens' own item file (one with plots, say); `encoder` is the
    text encoder spec (None: the bundled MiniLM), and each one gets its own cached model.
    """
    if catalogue is not None and not catalogue.is_file():
        raise DataError("no such catalogue file", path=catalogue)
    target = cached_artifact_path(folder, root, catalogue, catalogue_columns, encoder)
    if is_usable(target):
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".training-", dir=target.parent))
    try:
        overrides = {"threads": threads, "max_seconds": max_seconds}
        options = DataOptions(data=folder, catalogue=catalogue, catalogue_columns=catalogue_columns)
        train_to_artifact(
            options,
            DEMO_MODEL,
            staging,
            progress=progress,
            overrides=overrides,
            encoder=_encoder_spec(encoder),
        )
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, True
