"""The demo's model: trained once per data set into the user cache, then reused.

The cache key is a digest of the event file, so a different copy of the data gets its own
model and a retrain is never mistaken for the old one. Training writes into a temporary
folder that becomes visible by one rename, so an interrupted run never leaves a bundle a
later run would load.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from sessionrec.artifact import read_manifest
from sessionrec.data.download import cache_dir
from sessionrec.errors import DataError
from sessionrec.eval.experiment import DataOptions
from sessionrec.jobs import train_to_artifact

DEMO_MODEL = "transformer"
DEMO_TRAIN_SECONDS = 150.0
"""Training budget: the demo must be up within a few minutes on a 2-core machine."""
DEMO_THREADS = 2
_EVENT_FILES = ("ml-100k.inter", "u.data")


def data_digest(folder: Path) -> str:
    """A short sha256 of the data set's event file (what the model is trained on)."""
    for name in _EVENT_FILES:
        path = folder / name
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as source:
                for block in iter(lambda: source.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest()[:16]
    raise DataError(f"no event file ({' or '.join(_EVENT_FILES)}) in the data folder", path=folder)


def cached_artifact_path(folder: Path, root: Path | None = None) -> Path:
    """Where the demo keeps the model trained on `folder`."""
    base = root if root is not None else cache_dir() / "artifacts"
    return base / f"ml-100k-{DEMO_MODEL}-{data_digest(folder)}"


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
) -> tuple[Path, bool]:
    """The cached model for `folder`, trained first when missing; True when just trained."""
    target = cached_artifact_path(folder, root)
    if is_usable(target):
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".training-", dir=target.parent))
    try:
        overrides = {"threads": threads, "max_seconds": max_seconds}
        train_to_artifact(
            DataOptions(data=folder), DEMO_MODEL, staging, progress=progress, overrides=overrides
        )
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, True
