"""A trained model bundle on disk: weights, vocabulary, config, and a manifest.

The manifest records what made the bundle (versions, a hash of the training data) and a
sha256 of every file, so a truncated, edited or mixed-up bundle is refused before anything
is loaded: no partially loaded model ever serves.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sessionrec import __version__
from sessionrec.data.schema import (
    ATTRIBUTES,
    CATALOGUE_COLUMNS,
    CATEGORIES,
    ITEM_ID,
    TEXT,
    TITLE,
    Catalogue,
    Interactions,
    make_catalogue,
)
from sessionrec.errors import DataError
from sessionrec.models.base import Recommender
from sessionrec.models.registry import model_class

MANIFEST_FILE = "manifest.json"
CATALOGUE_FILE = "catalogue.jsonl"
"""Titles, texts, categories and attributes the engine shows and explains with (optional)."""
FORMAT_VERSION = 1
"""Bumped whenever the layout changes; older or newer bundles are refused, not guessed at."""


def data_hash(interactions: Interactions) -> str:
    """sha256 over the events a model was trained on (order, ids, times, types)."""
    frame = interactions.frame
    hashed = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def _file_digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST_FILE
    }


def _versions() -> dict[str, str]:
    found = {"sessionrec": __version__, "python": platform.python_version()}
    for package in ("numpy", "torch", "safetensors"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def _json_value(value: Any) -> Any:
    """A catalogue cell as plain JSON: numpy scalars unwrapped, NaN as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_json_value(v) for v in value]
    return value


def write_catalogue(catalogue: Catalogue, path: Path) -> None:
    """One JSON object per item, in catalogue order (a format any tool can read)."""
    with path.open("w", encoding="utf-8") as out:
        for record in catalogue.frame[list(CATALOGUE_COLUMNS)].to_dict("records"):
            row = {str(k): _json_value(v) for k, v in record.items()}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_catalogue(path: Path) -> Catalogue:
    """Inverse of `write_catalogue`; a malformed line is a `DataError` naming it."""
    ids: list[str] = []
    titles: list[str] = []
    texts: list[str] = []
    categories: list[list[str]] = []
    attributes: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                row = json.loads(line)
                ids.append(str(row[ITEM_ID]))
                titles.append(str(row.get(TITLE) or ""))
                texts.append(str(row.get(TEXT) or ""))
                categories.append([str(c) for c in row.get(CATEGORIES) or []])
                attributes.append(dict(row.get(ATTRIBUTES) or {}))
            except (ValueError, KeyError, TypeError) as exc:
                raise DataError(f"bad catalogue row: {exc}", path=path, line=number) from None
    return make_catalogue(ids, titles, texts, categories, attributes, source=str(path))


def save_artifact(
    model: Recommender,
    folder: str | Path,
    train: Interactions,
    extra: dict[str, Any] | None = None,
    catalogue: Catalogue | None = None,
) -> Path:
    """Write the model and its manifest into `folder` (created; an old bundle is replaced).

    With a catalogue, the bundle carries it too (checksummed like every file), so whatever
    serves the model can show titles and explain slates without the training data.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST_FILE).unlink(missing_ok=True)
    (out / CATALOGUE_FILE).unlink(missing_ok=True)
    model.save(out)
    if catalogue is not None:
        write_catalogue(catalogue, out / CATALOGUE_FILE)
    manifest = {
        "format_version": FORMAT_VERSION,
        "model": model.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": _versions(),
        "data_hash": data_hash(train),
        "n_items": model.n_items,
        "files": _file_digests(out),
        **(extra or {}),
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return out


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest, checked against the files beside it."""
    path = Path(folder)
    if not path.exists():
        raise DataError(
            "no such artifact folder (train one with `sessionrec train --out FOLDER`)", path=path
        )
    if not path.is_dir():
        raise DataError("is a file, not an artifact folder", path=path)
    try:
        manifest: dict[str, Any] = json.loads((path / MANIFEST_FILE).read_text())
    except FileNotFoundError:
        raise DataError("not a sessionrec artifact (no manifest.json)", path=path) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"unreadable manifest.json: {exc}", path=path) from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise DataError(
            f"artifact format {manifest.get('format_version')!r}, this sessionrec reads "
            f"{FORMAT_VERSION}: retrain with `sessionrec train`",
            path=path,
        )
    expected = manifest.get("files", {})
    actual = _file_digests(path)
    for name, digest in expected.items():
        if name not in actual:
            raise DataError(f"artifact is incomplete: {name} is missing", path=path)
        if actual[name] != digest:
            raise DataError(f"artifact is corrupted: {name} does not match its checksum", path=path)
    return manifest


def load_artifact(folder: str | Path) -> Recommender:
    """The model in `folder`, after the manifest has vouched for every file."""
    manifest = read_manifest(folder)
    return model_class(str(manifest.get("model"))).load(folder)


def load_artifact_catalogue(folder: str | Path) -> Catalogue | None:
    """The catalogue saved with the model, checked by the manifest; None if it has none."""
    read_manifest(folder)
    path = Path(folder) / CATALOGUE_FILE
    return read_catalogue(path) if path.is_file() else None
