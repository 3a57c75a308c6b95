"""Reading delimited text into string columns, with read errors turned into DataErrors."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from sessionrec.data.validate import require_file
from sessionrec.errors import DataError


def read_delimited(
    path: Path,
    sep: str,
    *,
    names: list[str] | None = None,
    encoding: str = "utf-8",
    quoting: int = csv.QUOTE_MINIMAL,
) -> pd.DataFrame:
    """All cells as strings (ids stay opaque: "007" is not 7); header unless `names` given.

    A multi-character separator (MovieLens-1M's '::') is rewritten to a tab first, so the
    fast C parser still reads the file.
    """
    require_file(path)
    try:
        if len(sep) > 1:
            text = path.read_text(encoding=encoding).replace(sep, "\t")
            source: Path | io.StringIO = io.StringIO(text)
            sep = "\t"
        else:
            source = path
        return pd.read_csv(
            source,
            sep=sep,
            header=None if names is not None else 0,
            names=names,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding=encoding,
            quoting=quoting,
            skipinitialspace=False,
        )
    except UnicodeDecodeError as exc:
        raise DataError(
            f"not {encoding} text (byte {exc.start}): is this the right file and format?",
            path=path,
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError("file is empty", path=path) from None
    except pd.errors.ParserError as exc:
        raise DataError(f"cannot parse as delimited text: {exc}", path=path) from None
    except OSError as exc:
        raise DataError(f"cannot read file: {exc.strerror or exc}", path=path) from None


def split_title_year(title: str) -> tuple[str, str]:
    """'Toy Story (1995)' → ('Toy Story', '1995'); titles without a year come back whole."""
    text = title.strip()
    if len(text) >= 7 and text.endswith(")") and text[-6] == "(" and text[-5:-1].isdigit():
        return text[:-6].rstrip(), text[-5:-1]
    return text, ""
