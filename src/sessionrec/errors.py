"""The exceptions sessionrec raises for problems a user can fix.

Every error a person can cause (a bad file, a wrong option, an unknown model) derives from
`SessionrecError`, so the CLI and the service can turn it into one clear line or a 4xx
response instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path


class SessionrecError(Exception):
    """A problem with the user's input or set-up, described well enough to fix it."""


class DataError(SessionrecError):
    """Input data that cannot be read or does not fit the schema.

    The message names the file and, where one applies, the line and the field.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.field = field
        where = ""
        if self.path is not None:
            where = self.path
            if line is not None:
                where += f", line {line}"
            where += ": "
        if field is not None:
            where += f"column {field!r}: "
        super().__init__(where + message)


class ConfigError(SessionrecError):
    """An option with a value sessionrec does not accept (unknown name, out of range)."""


def unknown_choice(kind: str, value: str, valid: list[str] | tuple[str, ...]) -> ConfigError:
    """Build the error for a name that is not among the valid ones, listing them."""
    return ConfigError(f"unknown {kind} {value!r}; valid: {', '.join(sorted(valid))}")
