"""The README's `sessionrec evaluate` examples run as written (on the shared data)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sessionrec.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_commands() -> list[str]:
    """The README's `sessionrec evaluate` examples that write JSON, continuations joined.

    Those are the quick baseline examples; the neural ones train for minutes and are
    exercised by the benchmarks instead.
    """
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.DOTALL)
    commands = []
    for block in blocks:
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("sessionrec evaluate") and "--json" in line:
                commands.append(line)
    return commands


def test_the_readme_has_both_protocol_examples() -> None:
    commands = readme_commands()
    assert any("--protocol next-item" in c for c in commands)
    assert any("--protocol leave-one-out" in c for c in commands)


@pytest.mark.shared_data
@pytest.mark.parametrize("command", readme_commands())
def test_readme_example_runs(command: str, shared_data: Path, tmp_path: Path) -> None:
    args = shlex.split(command)[1:]
    args = [a.replace("../shared/data", str(shared_data)) for a in args]
    args = [a.replace("results/", f"{tmp_path}/") for a in args]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stdout + result.stderr
    out = Path(args[args.index("--json") + 1])
    report = json.loads(out.read_text())
    assert report["results"], report
    assert all(r["HR@20"] > 0.05 for r in report["results"].values())
