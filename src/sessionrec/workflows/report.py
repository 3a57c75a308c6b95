"""One self-contained HTML page from the JSON of `evaluate` and `simulate` runs.

Every input becomes a section: an evaluation shows a table of metrics per model, bars of
HR@K and NDCG@K, of coverage and popularity, and of cold against warm targets when the run
had them; a simulation shows its SR@T curves per mode and a table of the turn metrics.
Evaluations of one protocol with and without `--exclude-seen` get a section comparing the
two. Charts are PNGs drawn with matplotlib (Agg) and embedded as data URIs, the style sheet
is inline: the file opens anywhere, offline, and links to nothing.

matplotlib is imported inside the functions that draw, so importing this module (as the
CLI does for `--help`) loads no plotting library.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sessionrec import __version__
from sessionrec.errors import ConfigError, DataError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

EVALUATE_COLUMNS = (
    "HR@10",
    "NDCG@10",
    "MRR@10",
    "HR@20",
    "NDCG@20",
    "MRR@20",
    "COV@20",
    "POP@20",
)
"""The metrics an evaluation table shows, in order, where any model has them."""

SIMULATE_COLUMNS = (
    "AT",
    "hDCG",
    "clicks",
    "diversity",
    "coverage",
    "abandoned",
    "leaks_dropped",
)
"""The turn metrics a simulation table shows after SR@1 and SR@T."""

SUBSETS = ("cold", "warm")
_SERIES_COLOURS = {
    "all": "#9aa5b1",
    "cold": "#3b6ea8",
    "warm": "#e0803a",
    "history ranked": "#9aa5b1",
    "history excluded": "#3b6ea8",
}
"""Fixed colours for the series of the cold/warm and exclude-seen charts, apart from the
per-model palette so a series is never mistaken for a model."""
_AT_K = re.compile(r"^(?P<name>[A-Za-z]+)@(?P<k>\d+)$")
_PALETTE = (
    "#3b6ea8",
    "#e0803a",
    "#4f9d69",
    "#c44e52",
    "#8172b3",
    "#937860",
    "#da8bc3",
    "#8c8c8c",
    "#ccb974",
    "#64b5cd",
)


@dataclass(frozen=True)
class _Input:
    path: Path
    kind: str  # "evaluate" or "simulate"
    data: dict[str, Any]


def write_report(inputs: Sequence[Path], out: Path) -> Path:
    """Write the HTML report of `inputs` (evaluate or simulate JSON files) to `out`.

    Raises `DataError` naming the file for an input that cannot be read, is not JSON, or
    is neither kind of run; `ConfigError` when no input is given. Returns `out`.
    """
    if not inputs:
        raise ConfigError("a report needs at least one evaluate or simulate JSON file")
    loaded = [_load(Path(path)) for path in inputs]
    sections: list[str] = []
    for index, item in enumerate(loaded, 1):
        body = _evaluate_section(item) if item.kind == "evaluate" else _simulate_section(item)
        sections.append(f"<div id='run-{index}'>{body}</div>")
    sections.extend(_exclude_seen_sections(loaded))
    page = _page(loaded, sections)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


# Reading -----------------------------------------------------------------------------------


def _load(path: Path) -> _Input:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError("no such file", path=path) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot be read ({error})", path=path) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"not JSON ({error.msg})", path=path, line=error.lineno) from None
    if not isinstance(data, dict):
        raise DataError(_NEITHER, path=path)
    if isinstance(data.get("results"), dict):
        _check_evaluate(data, path)
        return _Input(path, "evaluate", data)
    if isinstance(data.get("modes"), dict):
        _check_table(data["modes"], "mode", path)
        return _Input(path, "simulate", data)
    raise DataError(_NEITHER, path=path)


_NEITHER = "neither an evaluate JSON (no 'results' object) nor a simulate JSON (no 'modes' object)"


def _check_evaluate(data: dict[str, Any], path: Path) -> None:
    _check_table(data["results"], "model", path)
    for subset in SUBSETS:
        key = f"results_{subset}"
        if key in data:
            if not isinstance(data[key], dict):
                raise DataError(f"{key!r} is not an object", path=path)
            _check_table(data[key], "model", path, where=f" in {key!r}")


def _check_table(table: dict[str, Any], row: str, path: Path, where: str = "") -> None:
    """Every row (model or mode) is an object whose figures are numbers or null."""
    if not table:
        raise DataError(f"no {row}s{where}", path=path)
    for name, figures in table.items():
        if not isinstance(figures, dict):
            raise DataError(f"{row} {name!r}{where} is not an object", path=path)
        for key, value in figures.items():
            if value is not None and not _is_number(value):
                raise DataError(
                    f"{row} {name!r}{where}: {key!r} is not a number ({value!r:.40})", path=path
                )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(figures: dict[str, Any], key: str) -> float:
    value = figures.get(key)
    if not isinstance(value, int | float) or not math.isfinite(value):
        return math.nan
    return float(value)


def _present(table: dict[str, dict[str, Any]], columns: Sequence[str]) -> list[str]:
    return [c for c in columns if any(_is_number(row.get(c)) for row in table.values())]


def _at_k(table: dict[str, dict[str, Any]], metric: str) -> list[int]:
    """The cut-offs K for which some row has `metric`@K, ascending."""
    ks = set()
    for row in table.values():
        for key in row:
            match = _AT_K.match(key)
            if match and match["name"] == metric and _is_number(row[key]):
                ks.add(int(match["k"]))
    return sorted(ks)


# Sections ----------------------------------------------------------------------------------


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: object, digits: int = 4) -> str:
    if not _is_number(value):
        return "—"
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{number:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], caption: str) -> str:
    """An HTML table; `header` and the first cell of each row are escaped here, the other
    cells are numbers already formatted."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join(
        "<tr><th scope='row'>"
        + _esc(row[0])
        + "</th>"
        + "".join(f"<td>{_esc(cell)}</td>" for cell in row[1:])
        + "</tr>"
        for row in rows
    )
    return (
        f"<table><caption>{_esc(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<figure><img src="data:image/png;base64,{data}" alt="{_esc(alt)}"></figure>'


def _evaluate_title(data: dict[str, Any]) -> str:
    seen = "history excluded" if data.get("exclude_seen") else "history ranked"
    return f"Evaluation: {data.get('protocol', 'unknown protocol')} — {seen}"


def _source(item: _Input) -> str:
    return f"<p class='source'>from <code>{_esc(item.path)}</code></p>"


def _evaluate_section(item: _Input) -> str:
    data = item.data
    results: dict[str, dict[str, Any]] = data["results"]
    title = _evaluate_title(data)
    parts = [f"<section class='evaluate'><h2>{_esc(title)}</h2>", _source(item)]
    dataset = data.get("dataset")
    if isinstance(dataset, dict) and dataset:
        stats = " · ".join(f"{_esc(k)} {_esc(_fmt(v))}" for k, v in dataset.items())
        parts.append(f"<p class='stats'>{stats}</p>")

    columns = _present(results, EVALUATE_COLUMNS)
    timings = _present(results, ("train_seconds", "eval_seconds"))
    header = ["model", *columns, *(t.replace("_seconds", " s") for t in timings)]
    rows = [
        [name, *(_fmt(f.get(c)) for c in columns), *(_fmt(f.get(t), 2) for t in timings)]
        for name, f in results.items()
    ]
    parts.append(_table(header, rows, f"Metrics per model ({len(results)} models)"))

    charts = []
    accuracy = [f"{metric}@{k}" for k in _at_k(results, "HR") for metric in ("HR", "NDCG")] + [
        f"NDCG@{k}" for k in _at_k(results, "NDCG") if k not in _at_k(results, "HR")
    ]
    if accuracy:
        charts.append(
            _image(
                _grouped_bars(results, accuracy, "HR@K and NDCG@K per model"),
                f"{title}: HR@K and NDCG@K per model",
            )
        )
    spread = [f"COV@{k}" for k in _at_k(results, "COV")] + [
        f"POP@{k}" for k in _at_k(results, "POP")
    ]
    if spread:
        charts.append(
            _image(
                _panels(results, spread, "Coverage and popularity of the top K"),
                f"{title}: coverage and popularity per model",
            )
        )

    subsets = {s: data[f"results_{s}"] for s in SUBSETS if f"results_{s}" in data}
    if subsets:
        sub_columns = _present(
            {f"{m} {s}": f for s, table in subsets.items() for m, f in table.items()},
            EVALUATE_COLUMNS,
        )
        sub_rows = [
            [f"{model} · {subset}", *(_fmt(f.get(c)) for c in sub_columns)]
            for model in results
            for subset, table in subsets.items()
            if model in table
            for f in (table[model],)
        ]
        parts.append(_table(["model · targets", *sub_columns], sub_rows, "Cold and warm targets"))
        headline = [c for c in ("HR@10", "NDCG@10", "HR@20", "NDCG@20") if c in sub_columns][:2]
        if headline:
            series = {"all": results, **subsets}
            charts.append(
                _image(
                    _subset_bars(list(results), series, headline),
                    f"{title}: cold against warm targets",
                )
            )
    parts.append(f"<div class='charts'>{''.join(charts)}</div></section>")
    return "".join(parts)


def _simulate_section(item: _Input) -> str:
    data = item.data
    modes: dict[str, dict[str, Any]] = data["modes"]
    facts = [
        f"{_esc(_fmt(data[key]))} {label}"
        for key, label in (("users", "users"), ("turns", "turns"), ("k", "items a slate"))
        if _is_number(data.get(key))
    ]
    turns = _at_k(modes, "SR")
    parts = [
        "<section class='simulate'><h2>Simulation: success by turn per mode</h2>",
        _source(item),
    ]
    if facts:
        parts.append(f"<p class='stats'>{' · '.join(facts)}</p>")
    sr_columns = [f"SR@{t}" for t in (turns[:1] + turns[-1:] if len(turns) > 1 else turns)]
    columns = sr_columns + _present(modes, SIMULATE_COLUMNS)
    rows = [[mode, *(_fmt(f.get(c)) for c in columns)] for mode, f in modes.items()]
    parts.append(_table(["mode", *columns], rows, f"Turn metrics per mode ({len(modes)} modes)"))
    if turns:
        parts.append(
            "<div class='charts'>"
            + _image(_sr_curves(modes, turns), "SR@T curves per mode")
            + "</div>"
        )
    parts.append("</section>")
    return "".join(parts)


def _exclude_seen_sections(loaded: Sequence[_Input]) -> list[str]:
    """For each protocol evaluated both with and without `--exclude-seen`: the headline
    metrics side by side, per model."""
    by_protocol: dict[str, dict[bool, dict[str, dict[str, Any]]]] = {}
    for item in loaded:
        if item.kind == "evaluate":
            protocol = str(item.data.get("protocol", "unknown protocol"))
            seen = bool(item.data.get("exclude_seen"))
            by_protocol.setdefault(protocol, {}).setdefault(seen, item.data["results"])
    sections = []
    for protocol, runs in by_protocol.items():
        if len(runs) < 2:
            continue
        ranked, excluded = runs[False], runs[True]
        models = [m for m in ranked if m in excluded]
        both = {**{f"r {m}": ranked[m] for m in models}, **{f"e {m}": excluded[m] for m in models}}
        headline = [
            c
            for c in ("HR@10", "NDCG@10", "HR@20", "NDCG@20")
            if c in _present(both, EVALUATE_COLUMNS)
        ][:2]
        if not models or not headline:
            continue
        header = ["model", *(f"{c} {w}" for c in headline for w in ("ranked", "excluded"))]
        rows = [
            [m, *(_fmt(run[m].get(c)) for c in headline for run in (ranked, excluded))]
            for m in models
        ]
        title = f"{protocol}: history ranked against history excluded"
        series = {"history ranked": ranked, "history excluded": excluded}
        sections.append(
            f"<section class='compare'><h2>{_esc(title)}</h2>"
            + _table(header, rows, "With and without --exclude-seen")
            + "<div class='charts'>"
            + _image(_subset_bars(models, series, headline), title)
            + "</div></section>"
        )
    return sections


# Charts ------------------------------------------------------------------------------------


def _figure(width: float, height: float) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _rc() -> Any:
    import matplotlib

    # Names come from the JSON: "$" in one must not start a formula.
    return matplotlib.rc_context(
        {
            "text.parse_math": False,
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "axes.grid.axis": "y",
            "grid.alpha": 0.3,
            "axes.axisbelow": True,
        }
    )


def _grouped_bars(table: dict[str, dict[str, Any]], metrics: Sequence[str], title: str) -> bytes:
    """One group of bars per metric, one bar per row of `table`."""
    with _rc():
        figure = _figure(max(5.0, 1.2 * len(metrics) + 0.3 * len(table) + 2), 3.4)
        axes = figure.add_subplot()
        _bars(axes, list(metrics), {name: table[name] for name in table}, metrics)
        axes.set_title(title)
        axes.set_ylabel("score")
        axes.legend(fontsize=8, frameon=False, ncols=min(len(table), 4))
        return _png(figure)


def _bars(
    axes: Any,
    groups: list[str],
    series: dict[str, dict[str, Any]],
    keys: Sequence[str],
) -> None:
    """Bars of `series` (label ► figures) per group: group i shows `keys[i]` of each."""
    count = max(len(series), 1)
    width = 0.8 / count
    for index, (label, figures) in enumerate(series.items()):
        xs = [g + (index - (count - 1) / 2) * width for g in range(len(groups))]
        values = [_number(figures, key) for key in keys]
        axes.bar(xs, values, width=width * 0.95, label=label, color=_PALETTE[index % 10])
    axes.set_xticks(range(len(groups)), groups)


def _panels(table: dict[str, dict[str, Any]], metrics: Sequence[str], title: str) -> bytes:
    """One small chart per metric, one bar per row of `table`."""
    names = list(table)
    with _rc():
        figure = _figure(max(5.0, 2.4 * len(metrics)), 3.2)
        figure.suptitle(title)
        for i, metric in enumerate(metrics):
            axes = figure.add_subplot(1, len(metrics), i + 1)
            values = [_number(table[n], metric) for n in names]
            colours = [_PALETTE[j % 10] for j in range(len(names))]
            axes.bar(range(len(names)), values, color=colours)
            axes.set_xticks(range(len(names)), names, rotation=30 if len(names) > 3 else 0)
            axes.set_title(metric)
            axes.set_ylim(0, max([1.0, *(v for v in values if math.isfinite(v))]))
        return _png(figure)


def _subset_bars(
    models: list[str], series: dict[str, dict[str, dict[str, Any]]], metrics: Sequence[str]
) -> bytes:
    """Per metric a chart: one group per model, one bar per series (all/cold/warm, or
    history ranked/excluded)."""
    with _rc():
        figure = _figure(max(5.0, 1.4 * len(models) * len(metrics) + 1.5), 3.4)
        for i, metric in enumerate(metrics):
            axes = figure.add_subplot(1, len(metrics), i + 1)
            count = len(series)
            width = 0.8 / count
            for index, (label, table) in enumerate(series.items()):
                xs = [m + (index - (count - 1) / 2) * width for m in range(len(models))]
                values = [_number(table.get(model, {}), metric) for model in models]
                colour = _SERIES_COLOURS.get(label, _PALETTE[index % 10])
                axes.bar(xs, values, width=width * 0.95, label=label, color=colour)
            axes.set_xticks(range(len(models)), models)
            axes.set_title(metric)
            if i == 0:
                axes.legend(fontsize=8, frameon=False)
        return _png(figure)


def _sr_curves(modes: dict[str, dict[str, Any]], turns: Sequence[int]) -> bytes:
    """SR@T against T, one line per mode."""
    with _rc():
        figure = _figure(7.0, 3.8)
        axes = figure.add_subplot()
        markers = "osD^vP*Xh<>"
        for index, (mode, figures) in enumerate(modes.items()):
            values = [_number(figures, f"SR@{t}") for t in turns]
            axes.plot(
                list(turns),
                values,
                marker=markers[index % len(markers)],
                markersize=4,
                label=mode,
                color=_PALETTE[index % 10],
            )
        axes.set_xlabel("turn T")
        axes.set_ylabel("SR@T (share of users who found a target)")
        axes.set_title("Success rate by turn")
        axes.set_ylim(0, 1)
        axes.set_xticks(list(turns) if len(turns) <= 20 else list(turns)[:: len(turns) // 10])
        axes.grid(True, axis="both", alpha=0.3)
        axes.legend(fontsize=8, frameon=False, loc="lower right")
        return _png(figure)


# Page --------------------------------------------------------------------------------------

_CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --band: #f5f7fa; --accent: #3b6ea8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: var(--ink); background: #fff; }
header { padding: 24px 40px 16px; border-bottom: 3px solid var(--accent); background: var(--band); }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: var(--muted); }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
nav ul { margin: 8px 0 0; padding-left: 18px; }
main { padding: 8px 40px 40px; max-width: 1200px; }
section { margin-top: 28px; padding-bottom: 12px; border-bottom: 1px solid var(--line); }
h2 { font-size: 18px; margin: 0 0 2px; }
.source, .stats { margin: 0 0 8px; color: var(--muted); font-size: 12px; }
code { font-size: 12px; }
table { border-collapse: collapse; margin: 12px 0; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); }
thead th { background: var(--band); text-align: right; font-weight: 600; }
thead th:first-child, tbody th { text-align: left; }
tbody th { font-weight: 500; }
td { text-align: right; }
tbody tr:hover { background: #f0f4f8; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; }
img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
footer { padding: 16px 40px; color: var(--muted); font-size: 12px; }
"""


def _page(loaded: Sequence[_Input], sections: Sequence[str]) -> str:
    files = "".join(
        f"<li><a href='#run-{index}'>{_esc(item.kind)}: <code>{_esc(item.path.name)}</code></a>"
        "</li>"
        for index, item in enumerate(loaded, 1)
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>sessionrec report</title>"
        f"<style>{_CSS}</style></head><body>"
        "<header><h1>sessionrec report</h1>"
        f"<p>{len(loaded)} run{'s' if len(loaded) != 1 else ''}</p>"
        f"<nav><ul>{files}</ul></nav></header>"
        f"<main>{''.join(sections)}</main>"
        f"<footer>Written by sessionrec {_esc(__version__)}.</footer>"
        "</body></html>\n"
    )
