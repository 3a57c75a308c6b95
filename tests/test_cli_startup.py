"""`sessionrec --help` answers at once: the CLI module imports no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

from sessionrec.cli import ENCODER_CHOICES, MODEL_NAMES
from sessionrec.models.registry import MODELS
from sessionrec.text import registry

HEAVY = ("torch", "pandas", "numpy", "fastapi", "sentence_transformers", "sessionrec.models")


def imported_after(code: str) -> set[str]:
    """Which of `HEAVY` a fresh interpreter has loaded after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = set(json.loads(proc.stdout.splitlines()[-1]))
    return {name for name in HEAVY if name in loaded}


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert imported_after("import sessionrec.cli") == set()


def test_help_of_every_command_loads_no_heavy_library() -> None:
    for args in ([], ["evaluate"], ["train"], ["serve"], ["retrain"], ["demo"]):
        code = (
            "import sys\nfrom sessionrec.cli import app\n"
            f"sys.argv = ['sessionrec', *{args!r}, '--help']\n"
            "try:\n    app()\nexcept SystemExit:\n    pass"
        )
        assert imported_after(code) == set(), args


def test_the_cli_spells_the_model_names_as_the_registry_does() -> None:
    assert tuple(MODELS) == MODEL_NAMES


def test_the_cli_spells_the_encoder_choices_as_the_registry_does() -> None:
    assert registry.ENCODER_CHOICES == ENCODER_CHOICES
