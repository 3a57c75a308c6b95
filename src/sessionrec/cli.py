"""The `sessionrec` command: the CLI's output layer (the only place that prints)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sessionrec import __version__
from sessionrec.data.download import ML100K_CHECKSUM, ML100K_URL, locate_movielens_100k
from sessionrec.data.loaders import ColumnMapping
from sessionrec.errors import ConfigError, SessionrecError
from sessionrec.eval.experiment import DataOptions, parse_protocol, parse_ties, prepare, run
from sessionrec.eval.metrics import TiePolicy
from sessionrec.eval.protocols import PreparedEvaluation, ProtocolName
from sessionrec.eval.report import EvaluationReport
from sessionrec.jobs import DEFAULT_TRAIN_MODEL, train_to_artifact
from sessionrec.models.registry import MODELS, parse_model_list
from sessionrec.models.settings import Setting, check_settings, parse_settings
from sessionrec.service.demo import DEMO_TRAIN_SECONDS, demo_artifact
from sessionrec.service.settings import ServiceSettings

app = typer.Typer(
    name="sessionrec",
    help="Session-based, interactive recommendation driven by language models.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stdout = Console()
stderr = Console(stderr=True)

DEMO_MODELS = "pop,sr,sknn,vsknn"

JsonOption = Annotated[Path | None, typer.Option("--json", help="Write results as JSON here.")]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Model option [model.]name=value, repeatable (epochs=20, transformer.dropout=0.3).",
    ),
]


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a problem the user can fix into one line on stderr and exit status 2."""
    try:
        yield
    except SessionrecError as exc:
        stderr.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def progress_bars() -> tuple[Progress, Callable[[str, int], Callable[[int], None]]]:
    """A progress display on stderr and the factory `eval.experiment.run` expects."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    )

    def factory(name: str, total: int) -> Callable[[int], None]:
        task = progress.add_task(f"evaluating {name}", total=total)
        return lambda n: progress.advance(task, n)

    return progress, factory


def evaluate_and_show(
    prepared: PreparedEvaluation,
    names: list[str],
    ties: TiePolicy,
    json_path: Path | None,
    cold_items: float = 0.0,
    seed: int = 0,
    model_settings: Sequence[Setting] = (),
) -> None:
    """Run the models with progress bars, print the table, write the JSON if asked."""
    progress, factory = progress_bars()
    with progress:
        report = run(
            prepared,
            names,
            ties=ties,
            progress=factory,
            cold_items=cold_items,
            seed=seed,
            model_settings=model_settings,
        )
    show(report, json_path)


def show(report: EvaluationReport, json_path: Path | None) -> None:
    stdout.print(report.table())
    if json_path is not None:
        report.write_json(json_path)
        stdout.print(f"results written to {json_path}", highlight=False)


def version_callback(value: bool) -> None:
    if value:
        stdout.print(f"sessionrec {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Show version."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
) -> None:
    """Session-based, interactive recommendation driven by language models."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)


@app.command()
def evaluate(
    protocol: Annotated[
        str, typer.Option(help="next-item (session-rec/GRU4Rec) or leave-one-out (RecBole).")
    ] = "next-item",
    models: Annotated[
        str, typer.Option(help=f"Comma-separated models: {', '.join(MODELS)}.")
    ] = "pop,vsknn",
    data: Annotated[
        Path | None, typer.Option(help="One log (file or folder) to split by the protocol.")
    ] = None,
    train: Annotated[Path | None, typer.Option(help="Training file (next-item).")] = None,
    test: Annotated[Path | None, typer.Option(help="Test file (next-item).")] = None,
    format: Annotated[
        str,
        typer.Option(
            "--format", help="auto, recbole, movielens, gru4rec, csv, tsv, parquet, jsonl."
        ),
    ] = "auto",
    ties: Annotated[
        str,
        typer.Option(help="Rank of a target among equal scores: pessimistic, optimistic, average."),
    ] = "pessimistic",
    test_days: Annotated[
        float, typer.Option(help="With --data under next-item: days at the end that form the test.")
    ] = 1.0,
    columns: Annotated[
        str | None,
        typer.Option(help="Column mapping for generic files, e.g. 'item_id=sku,timestamp=when'."),
    ] = None,
    session_gap: Annotated[
        float, typer.Option(help="Minutes of inactivity that end a session (user logs).")
    ] = 30.0,
    cold_items: Annotated[
        float,
        typer.Option(help="Share of items removed from training, reported apart (0 = off)."),
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed for the cold-item draw.")] = 0,
    json_out: JsonOption = None,
    set_options: SetOption = None,
) -> None:
    """Train and evaluate models under one of the peers' protocols, and print the table."""
    with user_errors():
        model_settings = parse_settings(set_options or [])
        chosen = parse_protocol(protocol)
        tie_policy = parse_ties(ties)
        names = parse_model_list(models)
        if session_gap <= 0 or test_days <= 0:
            raise ConfigError("--session-gap and --test-days must be positive")
        options = DataOptions(
            data,
            train,
            test,
            format,
            test_days * 86_400.0,
            ColumnMapping.parse(columns) if columns else None,
            session_gap * 60.0,
        )
        check_settings(names, model_settings)
        evaluate_and_show(
            prepare(chosen, options), names, tie_policy, json_out, cold_items, seed, model_settings
        )


@app.command()
def train(
    data: Annotated[
        Path | None, typer.Option(help="The log (file or folder) to learn from.")
    ] = None,
    train_file: Annotated[
        Path | None, typer.Option("--train", help="Same as --data, for a train file.")
    ] = None,
    model: Annotated[str, typer.Option(help=f"One of: {', '.join(MODELS)}.")] = DEFAULT_TRAIN_MODEL,
    out: Annotated[Path, typer.Option(help="Folder for the artifact.")] = Path("artifact"),
    format: Annotated[str, typer.Option("--format", help="Input format (auto-detected).")] = "auto",
    columns: Annotated[str | None, typer.Option(help="Column mapping for generic files.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for initialisation and shuffling.")] = 0,
    set_options: SetOption = None,
) -> None:
    """Train a model on all the data and write an artifact (weights, vocabulary, manifest)."""
    with user_errors():
        model_settings = parse_settings(set_options or [])
        parse_model_list(model)
        options = DataOptions(
            data=data,
            train=train_file,
            format=format,
            columns=ColumnMapping.parse(columns) if columns else None,
        )
        fitted, folder = train_to_artifact(options, model, out, seed, model_settings=model_settings)
        stdout.print(
            f"trained {fitted.name} on {fitted.n_items:,} items; artifact written to {folder}",
            highlight=False,
        )


@app.command()
def serve(
    artifact: Annotated[
        Path, typer.Option(help="Trained artifact folder (from `sessionrec train`).")
    ],
    store: Annotated[
        str | None,
        typer.Option(
            help="Session store: sqlite:///PATH or redis://HOST:PORT/DB "
            "(default: sessions.db in the user cache)."
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (share the store).")] = 1,
    threads: Annotated[
        int, typer.Option(help="Torch/BLAS threads per worker (1 is fastest under load).")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Serve the HTTP API and the web page over a trained artifact."""
    with user_errors():
        settings = service_settings(artifact, store, threads)
        serve_forever(settings, host, port, workers, log_level)


def service_settings(artifact: Path, store: str | None, threads: int = 1) -> ServiceSettings:
    """Settings from the command line, the rest (API key) from the environment."""
    from_env = ServiceSettings.from_env()
    return replace(
        from_env, artifact=artifact, store_url=store or from_env.store_url, threads=threads
    )


def serve_forever(
    settings: ServiceSettings, host: str, port: int, workers: int, log_level: str
) -> None:
    from sessionrec.service.server import serve as run_server

    def announce(address: str) -> None:
        stdout.print(
            f"sessionrec is serving on {address}  (web page: {address}/, API: {address}/docs;"
            " Ctrl-C stops)",
            highlight=False,
        )

    run_server(settings, host, port, workers, log_level, announce)


@app.command()
def demo(
    data: Annotated[
        Path | None,
        typer.Option(help="MovieLens-100K folder (or a folder holding ml-100k/)."),
    ] = None,
    download: Annotated[
        bool, typer.Option(help="Download MovieLens-100K from GroupLens when not found.")
    ] = True,
    url: Annotated[
        str, typer.Option(help="Where to download MovieLens-100K from (a mirror, say).")
    ] = ML100K_URL,
    checksum: Annotated[
        str, typer.Option(help="Expected digest of the archive, 'sha256:HEX' or 'md5:HEX'.")
    ] = ML100K_CHECKSUM,
    serve: Annotated[
        bool, typer.Option(help="Start the service and web page (--no-serve: train/check only).")
    ] = True,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    store: Annotated[
        str | None, typer.Option(help="Session store URL (default: the user cache).")
    ] = None,
    train_seconds: Annotated[
        float, typer.Option(help="Training budget in seconds when no cached model exists.")
    ] = DEMO_TRAIN_SECONDS,
    evaluate: Annotated[
        bool,
        typer.Option(
            "--evaluate", help="Instead of serving, compare the baselines under leave-one-out."
        ),
    ] = False,
    models: Annotated[str, typer.Option(help="Models to compare (with --evaluate).")] = DEMO_MODELS,
    json_out: JsonOption = None,
) -> None:
    """Find (or download) MovieLens-100K, train the transformer once, serve the web page."""
    with user_errors():
        names = parse_model_list(models) if evaluate else []
        folder = locate_movielens_100k(
            data, download=download, url=url, checksum=checksum, console=stderr
        )
        stdout.print(f"MovieLens-100K: {folder}", highlight=False)
        if evaluate:
            prepared = prepare(ProtocolName.LEAVE_ONE_OUT, DataOptions(data=folder))
            evaluate_and_show(prepared, names, TiePolicy.PESSIMISTIC, json_out)
            return
        if train_seconds <= 0:
            raise ConfigError("--train-seconds must be positive")
        artifact, trained = demo_artifact(folder, max_seconds=train_seconds)
        verb = "trained" if trained else "cached"
        stdout.print(f"model ({verb}): {artifact}", highlight=False)
        if serve:
            serve_forever(service_settings(artifact, store), host, port, 1, "warning")


def main() -> None:
    """Console-script entry point."""
    app()
