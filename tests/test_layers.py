"""The layers of docs/ARCHITECTURE.md hold: no module imports a layer above its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "sessionrec"

LAYERS: dict[str, int] = {
    "errors": 0,
    "metrics": 0,
    "openai_protocol": 1,
    "data": 1,
    "text": 2,
    "llm": 2,
    "train": 3,
    "models": 4,
    "artifact": 5,
    "index": 5,
    "eval": 6,
    "engine": 7,
    "store": 7,
    "interactive": 8,
    "service": 9,
    "workflows": 10,
    "cli": 11,
    "__main__": 12,
}
"""Rank of each top-level module or package; `testing` imports anything and is imported by
tests alone, and the package's `__init__` holds only the version."""


def _part(module: str) -> str:
    return module.split(".")[1] if module.startswith("sessionrec.") else ""


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, imported sessionrec module) of every import in the file, nested ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return [(line, name) for line, name in found if name.startswith("sessionrec.")]


def layered_files() -> list[Path]:
    return sorted(
        p
        for p in PACKAGE.rglob("*.py")
        if p.relative_to(PACKAGE).parts[0] not in ("testing", "__init__.py")
    )


def test_every_top_level_module_has_a_layer() -> None:
    names = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in layered_files()}
    assert names <= set(LAYERS), sorted(names - set(LAYERS))


@pytest.mark.parametrize("path", layered_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    upward = [
        f"line {line}: {name}"
        for line, name in imports_of(path)
        if _part(name) != own
        and _part(name) not in ("", "testing")
        and LAYERS[_part(name)] >= LAYERS[own]
    ]
    assert not upward, f"{own} (layer {LAYERS[own]}) imports a layer at or above its own: {upward}"


def test_nothing_but_tests_imports_the_testing_kit() -> None:
    users = [
        str(p.relative_to(PACKAGE))
        for p in layered_files()
        if any(_part(name) == "testing" for _, name in imports_of(p))
    ]
    assert not users
