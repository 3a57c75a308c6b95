"""The `sessionrec` command: the CLI's output layer (the only place that prints).

Heavy libraries (torch, pandas, the models, the service) are imported inside the commands
that use them, so `sessionrec --help` answers at once; `tests/test_cli_startup.py` checks
that importing this module loads none of them.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from rich.console import Console

from sessionrec import __version__
from sessionrec.errors import ConfigError, SessionrecError, unknown_choice
from sessionrec.workflows.defaults import (
    DEFAULT_HOLDOUT_SHARE,
    DEFAULT_MIN_HOLDOUT,
    DEFAULT_RETRAIN_METRIC,
    DEFAULT_TRAIN_MODEL,
    DEMO_MODELS,
    DEMO_TRAIN_SECONDS,
    RETRAIN_METRICS,
)

if TYPE_CHECKING:
    from rich.progress import Progress

    from sessionrec.data.loaders import CatalogueMapping, ColumnMapping
    from sessionrec.eval.protocols import PreparedEvaluation
    from sessionrec.eval.report import EvaluationReport
    from sessionrec.metrics import TiePolicy
    from sessionrec.models.settings import Setting
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

MODEL_NAMES = ("pop", "sknn", "vsknn", "stan", "vstan", "sr", "gru4rec", "transformer", "hybrid")
"""The registry's model names, spelt out so that --help need not import the models
(`tests/test_cli_startup.py` keeps the two in step)."""

JsonOption = Annotated[Path | None, typer.Option("--json", help="Write results as JSON here.")]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Model option \\[model.]name=value, repeatable (epochs=20, transformer.dropout=0.3).",
    ),
]
CatalogueOption = Annotated[
    Path | None,
    typer.Option(
        help="Item file (CSV, TSV, Parquet, JSON Lines; or RecBole .item, MovieLens movies) "
        "with an id and the items' title, text and categories, read by the models that use "
        "item text; replaces any catalogue beside the events."
    ),
]
CatalogueColumnsOption = Annotated[
    str | None,
    typer.Option(
        help="Column mapping for --catalogue, e.g. 'item_id=sku,title=label'. Recognised "
        "without one: item_id/id/product_id/sku, title/name, text/description, "
        "categories/category/genres/tags (a list, or '|' or ',' separated); other columns "
        "become attributes."
    ),
]
ENCODER_CHOICES = ("default", "multilingual")
"""The text encoders named by a word in `text.registry`, spelt out so that --help need not
import numpy (`tests/test_cli_startup.py` keeps the two in step)."""
EncoderOption = Annotated[
    str | None,
    typer.Option(
        "--encoder",
        help="Text encoder of the models that read item text (transformer, hybrid): "
        f"{' or '.join(ENCODER_CHOICES)} (the English all-MiniLM-L6-v2, or "
        "multilingual-e5-small for requests in about 100 languages; both bundled, offline), "
        "or st:PATH, hf:PATH, e5:PATH, openai:MODEL@URL. Same as --set text_encoder=SPEC.",
    ),
]
LLMOption = Annotated[
    str | None,
    typer.Option(
        "--llm",
        help="A generative model that reads typed requests, re-ranks the top of the slate and "
        "explains each item: openai:MODEL@URL, any OpenAI-compatible chat endpoint (vLLM, "
        "Ollama, llama.cpp), its key from $SESSIONREC_LLM_API_KEY or $OPENAI_API_KEY. "
        "Unreachable at start-up: a warning, and recommendations without it.",
    ),
]
LLMBudgetOption = Annotated[
    int,
    typer.Option(
        "--llm-budget-ms",
        help="Milliseconds the --llm model may take per request, all its calls together; "
        "past them the built-in path answers.",
    ),
]
LLM_BUDGET_MS = 2000
"""The per-request time the generative model gets unless told otherwise."""
IndexOption = Annotated[
    str | None,
    typer.Option(
        "--index",
        help="How item vectors are searched: auto (exact below 200,000 items, FAISS above), "
        "exact, hnsw or ivf (FAISS at any size). Same as $SESSIONREC_INDEX; the size where "
        "auto switches is $SESSIONREC_EXACT_BELOW.",
    ),
]


RetentionOption = Annotated[
    float | None,
    typer.Option(
        "--retention-days",
        help="Delete sessions inactive (no event, feedback or slate) for longer than this many "
        "days, by the server's clock: at start and then hourly, in every process (sweeps by "
        "several processes are harmless). Leave out to keep sessions forever. Same as "
        "$SESSIONREC_RETENTION_DAYS.",
    ),
]


def use_index(choice: str | None) -> None:
    """Check an --index choice and hand it to the engines of this process and its
    workers (through the environment they inherit)."""
    if choice is None:
        return
    from sessionrec.index.sized import ENV_INDEX, index_builder

    index_builder(choice)  # a ConfigError names the choices
    os.environ[ENV_INDEX] = choice


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a problem the user can fix into one line on stderr and exit status 2."""
    try:
        yield
    except SessionrecError as exc:
        stderr.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


# -- logging: plain lines on stderr -------------------------------------------------------


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time (a progress bar may redirect it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # always the current sys.stderr


class _LineFormatter(logging.Formatter):
    """'12:03:04 message', with 'warning: ' or 'error: ' before the message where due."""

    def format(self, record: logging.LogRecord) -> str:
        clock = time.strftime("%H:%M:%S", time.localtime(record.created))
        if record.levelno >= logging.ERROR:
            kind = "error: "
        elif record.levelno >= logging.WARNING:
            kind = "warning: "
        else:
            kind = ""
        line = f"{clock} {kind}{record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(verbose: bool = False, quiet: bool = False) -> None:
    """sessionrec's progress (INFO) and everyone's warnings, as plain lines on stderr."""
    handler = _StderrHandler()
    handler.setFormatter(_LineFormatter())
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True
    )
    own = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.getLogger("sessionrec").setLevel(own)


# -- output ---------------------------------------------------------------------------------


def progress_bars(
    verb: str = "evaluating",
) -> tuple[Progress, Callable[[str, int], Callable[[int], None]]]:
    """A progress display on stderr and the factory `eval.experiment.run` (and the
    simulator) expects: one bar per model (or mode), "VERB NAME"."""
    from rich import progress as bars

    progress = bars.Progress(
        bars.TextColumn("{task.description}"),
        bars.BarColumn(),
        bars.MofNCompleteColumn(),
        bars.TimeElapsedColumn(),
        console=stderr,
        disable=not stderr.is_terminal,  # a log file gets no bar, nor its blank line
        transient=True,
    )

    def factory(name: str, total: int) -> Callable[[int], None]:
        task = progress.add_task(f"{verb} {name}", total=total)
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
    exclude_seen: bool = False,
) -> None:
    """Run the models with progress bars, print the table, write the JSON if asked."""
    from sessionrec.eval.experiment import run

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
            exclude_seen=exclude_seen,
        )
    show(report, json_path)


def say(text: str) -> None:
    """One result line on stdout, as written: never wrapped (paths and URLs stay whole)."""
    stdout.print(text, markup=False, highlight=False, soft_wrap=True)


def show(report: EvaluationReport, json_path: Path | None) -> None:
    """The results: a rich table on a terminal wide enough for it, else plain columns."""
    table = report.table()
    # Measured without the terminal's limit (rich would report a squeezed width).
    wanted = stdout.measure(table, options=stdout.options.update_width(10_000)).maximum
    if stdout.is_terminal and wanted <= stdout.width:
        stdout.print(table)
    else:
        # A pipe, a log file or a narrow terminal: rich would cut figures to "0.00…".
        say(report.plain(stdout.width))
    if json_path is not None:
        report.write_json(json_path)
        say(f"results written to {json_path}")


def version_callback(value: bool) -> None:
    if value:
        stdout.print(f"sessionrec {__version__}")
        raise typer.Exit()


def column_mapping(text: str | None) -> ColumnMapping | None:
    from sessionrec.data.loaders import ColumnMapping

    return ColumnMapping.parse(text) if text else None


def catalogue_mapping(text: str | None) -> CatalogueMapping | None:
    from sessionrec.data.loaders import CatalogueMapping

    return CatalogueMapping.parse(text) if text else None


def model_list(spec: str) -> list[str]:
    from sessionrec.models.registry import parse_model_list

    return parse_model_list(spec)


# -- commands -------------------------------------------------------------------------------


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Show version."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details too.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Log only warnings, not progress.")
    ] = False,
) -> None:
    """Session-based, interactive recommendation driven by language models.

    Progress and warnings are logged to stderr, one plain line each; results go to stdout.
    """
    configure_logging(verbose, quiet)


@app.command()
def evaluate(
    protocol: Annotated[
        str,
        typer.Option(
            help="next-item (session-rec/GRU4Rec), leave-one-out (RecBole), or requests "
            "(cases through the interactive engine: --artifact and --cases)."
        ),
    ] = "next-item",
    models: Annotated[
        str, typer.Option(help=f"Comma-separated models: {', '.join(MODEL_NAMES)}.")
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
    catalogue: CatalogueOption = None,
    catalogue_columns: CatalogueColumnsOption = None,
    session_gap: Annotated[
        float, typer.Option(help="Minutes of inactivity that end a session (user logs).")
    ] = 30.0,
    cold_items: Annotated[
        float,
        typer.Option(help="Share of items removed from training, reported apart (0 = off)."),
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed for the cold-item draw.")] = 0,
    exclude_seen: Annotated[
        bool,
        typer.Option(
            "--exclude-seen",
            help="Remove every item before a target (the whole history) from every "
            "model's ranking; a target already seen counts as a miss.",
        ),
    ] = False,
    artifact: Annotated[
        Path | None,
        typer.Option(help="With --protocol requests: the trained artifact the engine serves."),
    ] = None,
    cases: Annotated[
        Path | None,
        typer.Option(
            help="With --protocol requests: JSON Lines of {events, query?, targets} "
            "(`sessionrec cases` writes them)."
        ),
    ] = None,
    json_out: JsonOption = None,
    set_options: SetOption = None,
) -> None:
    """Train and evaluate models under one of the peers' protocols, and print the table."""
    if protocol == REQUESTS_PROTOCOL:
        evaluate_requests_and_show(artifact, cases, json_out)
        return
    with user_errors():
        if artifact is not None or cases is not None:
            raise ConfigError(f"--artifact and --cases go with --protocol {REQUESTS_PROTOCOL}")
        from sessionrec.data.loaders import DataOptions
        from sessionrec.eval.experiment import parse_protocol, parse_ties, prepare
        from sessionrec.models.settings import check_settings, parse_settings

        model_settings = parse_settings(set_options or [])
        chosen = parse_protocol(protocol)
        tie_policy = parse_ties(ties)
        names = model_list(models)
        if session_gap <= 0 or test_days <= 0:
            raise ConfigError("--session-gap and --test-days must be positive")
        options = DataOptions(
            data,
            train,
            test,
            format,
            test_days * 86_400.0,
            column_mapping(columns),
            session_gap * 60.0,
            catalogue,
            catalogue_mapping(catalogue_columns),
        )
        check_settings(names, model_settings)
        evaluate_and_show(
            prepare(chosen, options),
            names,
            tie_policy,
            json_out,
            cold_items,
            seed,
            model_settings,
            exclude_seen,
        )


REQUESTS_PROTOCOL = "requests"


def evaluate_requests_and_show(
    artifact: Path | None, cases: Path | None, json_path: Path | None
) -> None:
    """The requests protocol: each case through the engine, with and without its request."""
    with user_errors():
        if artifact is None or cases is None:
            raise ConfigError(
                f"--protocol {REQUESTS_PROTOCOL} needs --artifact DIR (from sessionrec train) "
                "and --cases FILE (from sessionrec cases)"
            )
        from sessionrec.engine import Engine
        from sessionrec.eval.cases import read_cases
        from sessionrec.interactive.requests import evaluate_requests

        requests = read_cases(cases)
        engine = Engine.from_artifact(artifact)
        report = evaluate_requests(engine, requests, source=str(cases))
        show(report, json_path)


@app.command("cases")
def write_request_cases(
    data: Annotated[Path, typer.Option(help="The log (file or folder) to build cases from.")],
    out: Annotated[Path, typer.Option(help="JSON Lines file to write.")],
    catalogue: CatalogueOption = None,
    catalogue_columns: CatalogueColumnsOption = None,
    format: Annotated[
        str, typer.Option("--format", help="auto, recbole, movielens, csv, tsv, parquet, jsonl.")
    ] = "auto",
    kind: Annotated[
        str, typer.Option(help="category, exclusion, era, or none (no request).")
    ] = "category",
    language: Annotated[str, typer.Option(help="en or zh: the language of the requests.")] = "en",
    history: Annotated[int, typer.Option(help="Events of each user's history a case keeps.")] = 50,
    max_cases: Annotated[
        int | None, typer.Option(help="A seeded sample of this many users (default: all).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample.")] = 0,
) -> None:
    """Write requests-protocol cases: each user's held-out last item as the target, a request
    built only from the target's categories and attributes."""
    with user_errors():
        from sessionrec.data.loaders import load_dataset
        from sessionrec.eval.cases import build_cases, write_cases

        dataset = load_dataset(data, format, None, catalogue, catalogue_mapping(catalogue_columns))
        if dataset.catalogue is None:
            raise ConfigError(
                f"{data} has no item catalogue, and requests are built from the items' "
                "categories and attributes: give one with --catalogue FILE"
            )
        built = build_cases(
            dataset.interactions, dataset.catalogue, kind, language, history, max_cases, seed
        )
        if not built:
            raise ConfigError(f"no case could be built with --kind {kind} from {data}")
        written = write_cases(built, out)
        say(f"wrote {written} cases to {out}")


@app.command()
def simulate(
    data: Annotated[
        Path, typer.Option(help="A MovieLens-style log with a catalogue of item categories.")
    ],
    artifact: Annotated[
        Path, typer.Option(help="The engine's artifact, trained on the users' prefixes only.")
    ],
    train_first: Annotated[
        bool,
        typer.Option(
            "--train", help="First train a transformer on the users' prefixes into --artifact."
        ),
    ] = False,
    users: Annotated[int, typer.Option(help="Simulated users (a seeded sample).")] = 500,
    turns: Annotated[int, typer.Option(help="Slates each user sees at most.")] = 15,
    k: Annotated[int, typer.Option(help="Items per slate.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the sample and of the users' choices.")] = 0,
    targets: Annotated[
        int,
        typer.Option(help="Items each user looks for: its last N events, held out of training."),
    ] = 1,
    language: Annotated[
        str, typer.Option(help="Language of the typed requests in feedback+query: en or zh.")
    ] = "en",
    json_out: JsonOption = None,
) -> None:
    """Simulated users against the engine, turn by turn, in five modes (static, feedback,
    feedback+query, feedback+interests, feedback+explore): success by turn and more."""
    with user_errors():
        import json

        import torch

        from sessionrec.eval.cases import Language
        from sessionrec.workflows.simulate import (
            TRAIN_SETTINGS,
            simulate_checked,
            train_on_prefixes,
        )

        if users < 1 or turns < 1 or k < 1 or targets < 1:
            raise ConfigError("--users, --turns, --k and --targets must be at least 1")
        if language not in {lang.value for lang in Language}:
            raise unknown_choice("language", language, [lang.value for lang in Language])
        if train_first:
            seconds = train_on_prefixes(data, artifact, TRAIN_SETTINGS, targets)
            say(f"trained on the users' prefixes in {seconds:.1f} s; artifact in {artifact}")
        torch.set_num_threads(1)  # a slate is small matrix products: one thread each
        progress, factory = progress_bars("simulating")
        with progress:
            result = simulate_checked(
                artifact, data, users, turns, k, seed, targets, Language(language), factory
            )
        modes: dict[str, dict[str, float]] = result["modes"]
        names = list(modes)
        width = max(len(n) for n in names)
        say(f"{result['users']} users, {result['turns']} turns, k={result['k']}")
        rows = [f"SR@{t}" for t in range(1, result["turns"] + 1)]
        keys = [*rows, "AT", "hDCG", "clicks", "diversity", "abandoned", "leaks_dropped"]
        label = max(len(key) for key in keys)
        say(" " * label + "  " + "  ".join(f"{n:>{width}}" for n in names))
        for key in keys:
            say(f"{key:<{label}}  " + "  ".join(f"{modes[n][key]:>{width}.3f}" for n in names))
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
            say(f"results written to {json_out}")


@app.command()
def report(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="JSON files written by `evaluate --json` or `simulate --json`."),
    ],
    out: Annotated[Path, typer.Option(help="The HTML file to write (self-contained).")],
) -> None:
    """One self-contained HTML page of evaluate and simulate runs: tables and charts."""
    with user_errors():
        from sessionrec.workflows.report import write_report

        say(f"report written to {write_report(inputs, out)}")


@app.command()
def train(
    data: Annotated[
        Path | None, typer.Option(help="The log (file or folder) to learn from.")
    ] = None,
    train_file: Annotated[
        Path | None, typer.Option("--train", help="Same as --data, for a train file.")
    ] = None,
    model: Annotated[
        str, typer.Option(help=f"One of: {', '.join(MODEL_NAMES)}.")
    ] = DEFAULT_TRAIN_MODEL,
    out: Annotated[
        Path, typer.Option(help="Folder for the artifact (new, empty, or an old artifact).")
    ] = Path("artifact"),
    format: Annotated[str, typer.Option("--format", help="Input format (auto-detected).")] = "auto",
    columns: Annotated[str | None, typer.Option(help="Column mapping for generic files.")] = None,
    catalogue: CatalogueOption = None,
    catalogue_columns: CatalogueColumnsOption = None,
    seed: Annotated[int, typer.Option(help="Seed for initialisation and shuffling.")] = 0,
    set_options: SetOption = None,
    encoder: EncoderOption = None,
    nproc: Annotated[
        int,
        typer.Option(
            help="Training processes on this machine (PyTorch DDP through torchrun: gloo on "
            "CPUs, NCCL on GPUs); transformer and hybrid only."
        ),
    ] = 1,
) -> None:
    """Train a model on all the data and write an artifact (weights, vocabulary, manifest).

    With --nproc N, N processes each train on 1/N of every batch. On several machines,
    start torchrun yourself: torchrun --nnodes M --nproc-per-node N -m sessionrec train ...
    """
    with user_errors():
        from sessionrec.data.loaders import DataOptions
        from sessionrec.models.settings import parse_settings
        from sessionrec.train import distributed
        from sessionrec.workflows.train import train_to_artifact

        model_settings = parse_settings(set_options or [])
        model_list(model)
        distributed.check_processes(nproc)
        if nproc > 1 and not distributed.launched_by_torchrun():
            launch_training(model, nproc, out)
            return
        workers = distributed.start()
        if not workers.leader:
            logging.getLogger("sessionrec").setLevel(logging.WARNING)
        options = DataOptions(
            data=data,
            train=train_file,
            format=format,
            columns=column_mapping(columns),
            catalogue=catalogue,
            catalogue_columns=catalogue_mapping(catalogue_columns),
        )
        try:
            fitted, folder = train_to_artifact(
                options,
                model,
                out,
                seed,
                progress=workers.leader,
                model_settings=model_settings,
                encoder=encoder,
            )
        finally:
            distributed.stop()
        if workers.leader:
            say(f"trained {fitted.name} on {fitted.n_items:,} items; artifact written to {folder}")


def without_option(arguments: Sequence[str], option: str) -> list[str]:
    """`arguments` without `option` and its value (``--opt V`` or ``--opt=V``).

    The processes torchrun starts know their number from its environment, and torchrun
    itself would read ``--nproc`` as an ambiguous abbreviation of its own options.
    """
    kept: list[str] = []
    skip = False
    for argument in arguments:
        if skip:
            skip = False
        elif argument == option:
            skip = True
        elif not argument.startswith(option + "="):
            kept.append(argument)
    return kept


def launch_training(model: str, nproc: int, out: Path) -> None:
    """Run this `train` command as `nproc` DDP processes under torchrun, after the checks
    that need no data (so a mistake is one line, not one traceback per process)."""
    from sessionrec.models.registry import model_class
    from sessionrec.train import distributed
    from sessionrec.workflows.train import check_output_folder

    if not model_class(model).trains_in_parallel:
        raise ConfigError(
            f"--nproc {nproc}: {model} trains in one process; --nproc works for the "
            "transformer and the hybrid"
        )
    check_output_folder(out)
    arguments = without_option(sys.argv[1:], "--nproc")
    if "train" not in arguments:
        raise ConfigError("--nproc needs the sessionrec command line (sessionrec train ...)")
    status = distributed.launch(arguments, nproc)
    if status != 0:
        raise SessionrecError(
            f"distributed training failed (torchrun exit status {status}); the log above "
            "says which process stopped and why"
        )


@app.command()
def serve(
    artifact: Annotated[
        Path, typer.Option(help="Trained artifact folder (from `sessionrec train`).")
    ],
    store: Annotated[
        str | None,
        typer.Option(
            help="Session store: sqlite:///relative/path.db (three slashes: relative to the "
            "working directory), sqlite:////absolute/path.db (four), or redis://HOST:PORT/DB "
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
    llm: LLMOption = None,
    llm_budget_ms: LLMBudgetOption = LLM_BUDGET_MS,
    index: IndexOption = None,
    retention_days: RetentionOption = None,
) -> None:
    """Serve the HTTP API and the web page over a trained artifact.

    Example: sessionrec serve --artifact artifact --store sqlite:///sessions.db
    """
    with user_errors():
        use_index(index)
        settings = service_settings(
            artifact, store, threads, llm, llm_budget_ms, retention_days=retention_days
        )
        serve_forever(settings, host, port, workers, log_level)


def service_settings(
    artifact: Path,
    store: str | None,
    threads: int = 1,
    llm: str | None = None,
    llm_budget_ms: int = LLM_BUDGET_MS,
    retention_days: float | None = None,
) -> ServiceSettings:
    """Settings from the command line, the rest (API key) from the environment."""
    from dataclasses import replace

    from sessionrec.service.settings import ServiceSettings

    from_env = ServiceSettings.from_env()
    return replace(
        from_env,
        artifact=artifact,
        store_url=store or from_env.store_url,
        threads=threads,
        llm=llm or from_env.llm,
        llm_budget_ms=llm_budget_ms,
        retention_days=retention_days if retention_days is not None else from_env.retention_days,
    )


def serve_forever(
    settings: ServiceSettings, host: str, port: int, workers: int, log_level: str
) -> None:
    from sessionrec.service.server import serve as run_server

    def announce(address: str) -> None:
        say(
            f"sessionrec is serving on {address}  (web page: {address}/, API: {address}/docs;"
            " Ctrl-C stops)"
        )

    run_server(settings, host, port, workers, log_level, announce)


EXIT_KEPT = 3
"""`sessionrec retrain`: the new model scored worse than the served one; nothing written."""
EXIT_RELOAD_FAILED = 4
"""`sessionrec retrain --reload`: the new artifact is written, but the service did not
reload it."""
ADMIN_KEY_ENV = ("SESSIONREC_ADMIN_KEY", "SESSIONREC_API_KEY")
"""Where `retrain --reload` finds the service's admin key, in this order (the second is the
variable the service itself reads, so one environment can serve both)."""


@app.command(
    epilog="Exit status: 0 the new artifact is written (not worse, or unjudged under "
    f"--force); {EXIT_KEPT} the new model scored worse and nothing is written; "
    f"{EXIT_RELOAD_FAILED} written, but --reload failed; 2 bad input or too few sessions "
    "to judge by."
)
def retrain(
    store: Annotated[
        str,
        typer.Option(help="The session store the service writes to (a URL, as for `serve`)."),
    ],
    artifact: Annotated[
        Path, typer.Option(help="The artifact in service (the champion), from `train`.")
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="Folder for the new artifact, replaced atomically when the new model is not "
            "worse. Give the folder the service serves (it may be --artifact itself): the "
            "service reloads its own folder, by --reload or by noticing the new manifest."
        ),
    ],
    data: Annotated[
        Path | None,
        typer.Option(help="The log the artifact was trained on (default: its manifest's)."),
    ] = None,
    format: Annotated[str, typer.Option("--format", help="Format of --data (auto).")] = "auto",
    columns: Annotated[str | None, typer.Option(help="Column mapping for --data.")] = None,
    holdout_share: Annotated[
        float,
        typer.Option(help="Share of the exported sessions, the most recently active, held out."),
    ] = DEFAULT_HOLDOUT_SHARE,
    min_holdout: Annotated[
        int,
        typer.Option(help="Fewest sessions held out; with fewer, no judgement (see --force)."),
    ] = DEFAULT_MIN_HOLDOUT,
    metric: Annotated[
        str,
        typer.Option(help=f"What decides, on the held-out sessions: {', '.join(RETRAIN_METRICS)}."),
    ] = DEFAULT_RETRAIN_METRIC,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="With too few sessions to judge by, learn from all of them and write the "
            "new model unjudged.",
        ),
    ] = False,
    retention_days: Annotated[
        float | None,
        typer.Option(
            "--retention-days",
            help="First delete sessions inactive for longer than this many days from the store.",
        ),
    ] = None,
    reload: Annotated[
        str | None,
        typer.Option(
            "--reload",
            help="Base URL of a running service to reload once the artifact is written "
            "(POST /v1/admin/reload; the admin key from $SESSIONREC_ADMIN_KEY, else "
            "$SESSIONREC_API_KEY).",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the new model (default: the artifact's).")
    ] = None,
    warm_start: Annotated[
        bool,
        typer.Option(
            help="Start the new model from the artifact's weights (transformer, hybrid; "
            "--no-warm-start: from scratch, e.g. to change embedding_size with --set)."
        ),
    ] = True,
    set_options: SetOption = None,
    json_out: JsonOption = None,
) -> None:
    """Learn from the sessions the service has served: export them from the store, train a
    new model on the artifact's data plus those sessions, warm-started from the artifact
    (transformer, hybrid), and replace the artifact only when the new model does at least
    as well on the most recent sessions, held out.

    Deleted sessions never reach the export; dislikes and skips are left out. The figures
    go to the new manifest's "retrain" (and to --json).
    """
    with user_errors():
        import json

        from sessionrec.models.settings import parse_settings
        from sessionrec.workflows.retrain import (
            REJECTED,
            ReloadFailedError,
            RetrainOptions,
            check_reload_url,
            request_reload,
            retrain_artifact,
        )

        options = RetrainOptions(
            data=data,
            format=format,
            columns=column_mapping(columns),
            holdout_share=holdout_share,
            min_holdout=min_holdout,
            metric=metric,
            seed=seed,
            force=force,
            warm_start=warm_start,
            retention_days=retention_days,
            settings=parse_settings(set_options or []),
        )
        key = None
        if reload is not None:  # checked before minutes of training
            check_reload_url(reload)
            key = next((os.environ[v] for v in ADMIN_KEY_ENV if os.environ.get(v)), None)
            if key is None:
                raise ConfigError(
                    "--reload needs the service's admin key in $SESSIONREC_ADMIN_KEY (or "
                    "$SESSIONREC_API_KEY)"
                )
        result = retrain_artifact(store, artifact, out, options)
        report = result.report
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            summary = {"out": None if result.out is None else str(result.out), **report}
            json_out.write_text(json.dumps(summary, indent=2) + "\n")
        figures = ""
        if report["champion"] is not None:
            name = report["metric"]
            figures = (
                f"{name} {report['challenger'][name]:.4f} against the served model's "
                f"{report['champion'][name]:.4f} on {report['held_out_cases']} cases from "
                f"{report['held_out_sessions']} held-out sessions"
            )
        if result.decision == REJECTED:
            say(f"kept the served model: the new one scores {figures}; nothing written")
            raise typer.Exit(EXIT_KEPT)
        judged = f"the new model scores {figures}" if figures else "not judged (--force)"
        say(f"{judged}; artifact written to {result.out}")
        if reload is None or key is None:
            return
        try:
            answer = request_reload(reload, key)
        except ReloadFailedError as exc:
            stderr.print(
                f"[bold red]error:[/] the artifact is written to {result.out}, but the "
                f"service did not reload it: {exc}",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_RELOAD_FAILED) from None
        served = str(answer.get("artifact", ""))
        say(f"{reload} reloaded {served} ({answer.get('n_items', '?')} items)")
        if result.out is not None and Path(served).absolute() != result.out.absolute():
            logging.getLogger("sessionrec").warning(
                "the service serves %s, not %s: unless that is the same folder (a path from "
                "the service's working directory), it still serves its old model; give "
                "--out the folder it serves",
                served,
                result.out,
            )


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
        str | None,
        typer.Option(help="Where to download MovieLens-100K from (default: GroupLens)."),
    ] = None,
    checksum: Annotated[
        str | None,
        typer.Option(
            help="Expected digest of the archive, 'sha256:HEX' or 'md5:HEX' "
            "(default: that of the GroupLens archive)."
        ),
    ] = None,
    catalogue: CatalogueOption = None,
    catalogue_columns: CatalogueColumnsOption = None,
    serve: Annotated[
        bool, typer.Option(help="Start the service and web page (--no-serve: train/check only).")
    ] = True,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    store: Annotated[
        str | None, typer.Option(help="Session store URL, as for `serve` (default: user cache).")
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
    encoder: EncoderOption = None,
    llm: LLMOption = None,
    llm_budget_ms: LLMBudgetOption = LLM_BUDGET_MS,
) -> None:
    """Find (or download) MovieLens-100K, train the transformer once, serve the web page."""
    with user_errors():
        from sessionrec.data.download import ML100K_CHECKSUM, ML100K_URL, locate_movielens_100k
        from sessionrec.data.loaders import DataOptions
        from sessionrec.eval.experiment import prepare
        from sessionrec.eval.protocols import ProtocolName
        from sessionrec.metrics import TiePolicy
        from sessionrec.workflows.demo import demo_artifact

        names = model_list(models) if evaluate else []
        items_mapping = catalogue_mapping(catalogue_columns)
        folder = locate_movielens_100k(
            data,
            download=download,
            url=url or ML100K_URL,
            checksum=checksum or ML100K_CHECKSUM,
            console=stderr,
        )
        say(f"MovieLens-100K: {folder}")
        if evaluate:
            options = DataOptions(data=folder, catalogue=catalogue, catalogue_columns=items_mapping)
            prepared = prepare(ProtocolName.LEAVE_ONE_OUT, options)
            evaluate_and_show(prepared, names, TiePolicy.PESSIMISTIC, json_out)
            return
        if train_seconds <= 0:
            raise ConfigError("--train-seconds must be positive")
        artifact, trained = demo_artifact(
            folder,
            max_seconds=train_seconds,
            catalogue=catalogue,
            catalogue_columns=items_mapping,
            encoder=encoder,
        )
        verb = "trained" if trained else "cached"
        say(f"model ({verb}): {artifact}")
        if serve:
            settings = service_settings(artifact, store, 1, llm, llm_budget_ms)
            serve_forever(settings, host, port, 1, "warning")


def main() -> None:
    """Console-script entry point."""
    app()
