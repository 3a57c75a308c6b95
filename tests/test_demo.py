"""`sessionrec demo`: finds or downloads MovieLens-100K, trains the transformer once into the
cache and serves it (`--no-serve` stops after that); `--evaluate` prints the baselines' table."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sessionrec.cli import app

GENRE_FLAGS = 19


def tiny_movielens_zip(n_users: int = 30, n_items: int = 25) -> bytes:
    """A GroupLens-shaped archive: ml-100k/u.data and ml-100k/u.item."""
    ratings = [
        f"{u}\t{(u * 3 + k) % n_items + 1}\t{1 + (u + k) % 5}\t{880000000 + 1000 * k + u}"
        for u in range(1, n_users + 1)
        for k in range(8)
    ]
    items = [
        f"{i}|Film {i} (199{i % 10})|01-Jan-199{i % 10}||http://example.invalid/{i}|"
        + "|".join("1" if g == i % GENRE_FLAGS else "0" for g in range(GENRE_FLAGS))
        for i in range(1, n_items + 1)
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ml-100k/u.data", "\n".join(ratings) + "\n")
        archive.writestr("ml-100k/u.item", ("\n".join(items) + "\n").encode("latin-1"))
    return buffer.getvalue()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A local HTTP server holding the archive; yields its URL and checksum."""
    root = tmp_path / "www"
    root.mkdir()
    payload = tiny_movielens_zip()
    (root / "ml-100k.zip").write_bytes(payload)
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        port = httpd.server_address[1]
        yield (
            f"http://127.0.0.1:{port}/ml-100k.zip",
            "sha256:" + hashlib.sha256(payload).hexdigest(),
        )
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("SESSIONREC_CACHE", str(cache))
    monkeypatch.delenv("SESSIONREC_DATA", raising=False)
    return cache


def test_demo_downloads_checks_and_evaluates(
    mirror: tuple[str, str], isolated: Path, tmp_path: Path
) -> None:
    url, checksum = mirror
    out = tmp_path / "demo.json"
    result = CliRunner().invoke(
        app, ["demo", "--evaluate", "--url", url, "--checksum", checksum, "--json", str(out)]
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert (isolated / "ml-100k" / "u.data").is_file()
    assert "leave-one-out" in result.stdout and "vsknn" in result.stdout
    report = json.loads(out.read_text())
    assert report["dataset"]["test_cases"] == 30
    assert set(report["results"]) == {"pop", "sr", "sknn", "vsknn"}


def test_demo_refuses_an_archive_with_the_wrong_checksum(
    mirror: tuple[str, str], isolated: Path
) -> None:
    url, _ = mirror
    result = CliRunner().invoke(app, ["demo", "--url", url, "--checksum", "sha256:" + "0" * 64])
    assert result.exit_code == 2
    assert "checksum" in result.stderr.lower()
    assert not (isolated / "ml-100k").exists()


def test_demo_without_data_and_without_download_says_how_to_proceed(isolated: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--no-download"])
    assert result.exit_code == 2
    assert "SESSIONREC_DATA" in result.stderr or "--data" in result.stderr


@pytest.mark.shared_data
def test_demo_on_the_shared_copy(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo.json"
    result = CliRunner().invoke(
        app,
        ["demo", "--evaluate", "--data", str(shared_data), "--models", "pop", "--json", str(out)],
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    pop = json.loads(out.read_text())["results"]["pop"]
    assert pop["HR@10"] == pytest.approx(0.0498, rel=0.02)


@pytest.mark.slow
def test_demo_trains_the_transformer_once_reuses_it_and_retrains_a_damaged_one(
    mirror: tuple[str, str], isolated: Path
) -> None:
    url, checksum = mirror
    command = ["demo", "--no-serve", "--url", url, "--checksum", checksum, "--train-seconds", "5"]
    first = CliRunner().invoke(app, command)
    assert first.exit_code == 0, first.stdout + first.stderr
    assert "model (trained)" in first.stdout
    (artifact,) = (isolated / "artifacts").iterdir()
    assert (artifact / "manifest.json").is_file()
    assert (artifact / "catalogue.jsonl").is_file()
    second = CliRunner().invoke(app, command)
    assert second.exit_code == 0, second.stdout + second.stderr
    assert "model (cached)" in second.stdout
    assert artifact.name in second.stdout.replace("\n", "")
    (artifact / "manifest.json").write_text("{not json")
    third = CliRunner().invoke(app, command)
    assert third.exit_code == 0, third.stdout + third.stderr
    assert "model (trained)" in third.stdout
    assert json.loads((artifact / "manifest.json").read_text())["model"] == "transformer"
    assert [p.name for p in (isolated / "artifacts").iterdir()] == [artifact.name]


def test_a_catalogue_gets_its_own_cached_model(tmp_path: Path) -> None:
    from sessionrec.data.loaders import CatalogueMapping
    from sessionrec.workflows.demo import cached_artifact_path

    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text("1\t1\t5\t880000000\n")
    plots = tmp_path / "plots.csv"
    plots.write_text("id,title,plot\n1,Toy Story,Toys come alive.\n")
    plain = cached_artifact_path(folder, tmp_path)
    with_plots = cached_artifact_path(folder, tmp_path, plots)
    mapped = cached_artifact_path(folder, tmp_path, plots, CatalogueMapping(text="plot"))
    assert plain.name.startswith("ml-100k-transformer-")
    assert len({plain, with_plots, mapped}) == 3
    plots.write_text("id,title,plot\n1,Toy Story,Toys come alive at night.\n")
    assert cached_artifact_path(folder, tmp_path, plots) != with_plots


def test_each_text_encoder_gets_its_own_cached_model(tmp_path: Path) -> None:
    from sessionrec.workflows.demo import cached_artifact_path

    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text("1\t1\t5\t880000000\n")
    plain = cached_artifact_path(folder, tmp_path)
    assert cached_artifact_path(folder, tmp_path, encoder="default") == plain
    assert cached_artifact_path(folder, tmp_path, encoder=" ") == plain
    multilingual = cached_artifact_path(folder, tmp_path, encoder="multilingual")
    other = cached_artifact_path(folder, tmp_path, encoder="e5:enpt")
    assert len({plain, multilingual, other}) == 3


def test_demo_refuses_a_missing_catalogue_before_training(
    mirror: tuple[str, str], isolated: Path, tmp_path: Path
) -> None:
    url, checksum = mirror
    missing = tmp_path / "plots.csv"
    result = CliRunner().invoke(
        app, ["demo", "--no-serve", "--url", url, "--checksum", checksum,
              "--catalogue", str(missing)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert str(missing) in result.stderr and "no such catalogue file" in result.stderr
    assert not (isolated / "artifacts").exists()
