"""Command line: ``mescc assess | instruments | dose | kb check | batch`` (+ web commands).

Each command calls one library function and presents its result; no clinical logic here.
Invalid input exits 2 with every problem on stderr and no traceback. Heavy imports (polars,
the web stack) happen inside the commands that need them, to keep the cold start low.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from mescc.errors import DefinitionError, InputError, MesccError

app = typer.Typer(
    name="mescc",
    help="Decision support for radiotherapy of malignant epidural spinal cord compression.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
kb_app = typer.Typer(help="Knowledge-base tools (site-supplied tables).", no_args_is_help=True)
app.add_typer(kb_app, name="kb")


class Format(StrEnum):
    text = "text"
    json = "json"


OverlayOpt = Annotated[
    Path | None,
    typer.Option(
        "--kb-overlay",
        envvar="MESCC_KB_OVERLAY",
        help="Folder of site-supplied instrument tables (checked before use).",
    ),
]
_state: dict[str, Any] = {}


def _fail(lines: list[str], code: int = 2) -> NoReturn:
    for line in lines:
        typer.echo(line, err=True)
    raise typer.Exit(code)


def _kb(overlay: Path | None) -> Any:
    from mescc.kb.loader import load_kb

    overlay = overlay or _state.get("overlay")
    try:
        return load_kb(overlay)
    except DefinitionError as exc:
        _fail([f"knowledge base: {exc}"])


@app.callback()
def _main(kb_overlay: OverlayOpt = None) -> None:
    """mescc: cited instruments, one scoring engine, an explained treatment plan."""
    _state["overlay"] = kb_overlay


def _read_patient(path: str) -> Any:
    import yaml

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        _fail([f"{path}: cannot read ({exc.strerror})"])
    try:
        if path.endswith(".json"):
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        _fail([f"{path}: not valid JSON/YAML: {exc}"])


@app.command()
def assess(
    files: Annotated[list[str], typer.Argument(help="Patient JSON/YAML file(s); - for stdin.")],
    fmt: Annotated[Format, typer.Option("--format", help="text (default) or json")] = Format.text,
    allow_unverified: Annotated[
        bool,
        typer.Option(help="Let unverified instruments decide (the output says so)."),
    ] = False,
    kb_overlay: OverlayOpt = None,
) -> None:
    """Assess patient(s): every instrument, then the treatment plan."""
    from mescc.document import assessment_document

    kb = _kb(kb_overlay)
    docs = []
    problems: list[str] = []
    for path in files:
        data = _read_patient(path)
        try:
            docs.append(assessment_document(data, kb=kb, allow_unverified=allow_unverified))
        except InputError as exc:
            prefix = f"{path}: " if len(files) > 1 else ""
            problems += [prefix + p.message for p in exc.problems]
    if problems:
        _fail(problems)
    if fmt == Format.json:
        out = docs[0] if len(docs) == 1 else docs
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    from rich.console import Console

    from mescc.render.text import render_text

    console = Console()
    for doc in docs:
        render_text(doc, console)


@app.command()
def instruments(
    fmt: Annotated[Format, typer.Option("--format")] = Format.text,
    kb_overlay: OverlayOpt = None,
) -> None:
    """List every instrument with id, name, outcome, citation and verification level."""
    from mescc.document import instruments_document

    kb = _kb(kb_overlay)
    rows = instruments_document(kb=kb)
    if fmt == Format.json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Instruments (knowledge base {kb.version})", show_lines=True)
    for col in ("id", "name / outcome", "verification", "needs", "citation"):
        table.add_column(col)
    for r in rows:
        needs = ", ".join(r["inputs"]) or "-"
        if r["status_note"]:
            needs = f"[yellow]{r['status_note']}[/yellow]\n{needs}"
        table.add_row(
            r["id"],
            f"{r['name']}\n[dim]{r['outcome_text']}[/dim]",
            r["verification"],
            needs,
            r["citation"],
        )
    Console().print(table)


@app.command()
def dose(
    fractions: Annotated[int, typer.Option("--fractions", min=1, help="Number of fractions")],
    dose_per_fraction: Annotated[
        float, typer.Option("--dose-per-fraction", min=0.0, help="Dose per fraction (Gy)")
    ],
    alpha_beta: Annotated[
        float, typer.Option("--alpha-beta", min=0.01, help="alpha/beta (Gy); tumour 10")
    ] = 10.0,
    fmt: Annotated[Format, typer.Option("--format")] = Format.text,
) -> None:
    """BED and EQD2 of a regimen (linear-quadratic model, no time factor)."""
    from mescc.document import dose_document

    doc = dose_document(fractions, dose_per_fraction, alpha_beta)
    if fmt == Format.json:
        typer.echo(json.dumps(doc))
        return
    typer.echo(
        f"{fractions} x {dose_per_fraction:g} Gy = {doc['total_dose_gy']:g} Gy; "
        f"alpha/beta {alpha_beta:g} Gy: BED {doc['bed_gy']:.2f} Gy, EQD2 {doc['eqd2_gy']:.2f} Gy"
        f"\n({doc['model']})"
    )


@kb_app.command("check")
def kb_check(
    file: Annotated[Path, typer.Argument(help="Site-supplied instrument table (YAML).")],
    kb_overlay: OverlayOpt = None,
) -> None:
    """Validate a site-supplied table against the published constraints of its skeleton."""
    from mescc.kb.loader import load_kb
    from mescc.kb.overlay import check_overlay

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        _fail([f"{file}: cannot read ({exc.strerror})"])
    kb = load_kb(None)
    try:
        inst = check_overlay(text, str(file), kb.instruments)
    except MesccError as exc:
        _fail([f"rejected: {exc}"])
    typer.echo(
        f"{file}: accepted as site-supplied table for {inst.id} "
        f"(verified by {inst.site.verified_by if inst.site else '?'}, "
        f"{inst.site.verified_on if inst.site else '?'}; source: "
        f"{inst.site.source if inst.site else '?'})"
    )


class Engine(StrEnum):
    polars = "polars"
    spark = "spark"


@app.command()
def batch(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help=".csv or .parquet")],
    output: Annotated[Path, typer.Option("-o", "--output", help=".csv or .parquet")],
    strict: Annotated[bool, typer.Option(help="Any bad row fails the run (exit 2).")] = False,
    decisive_unknowns: Annotated[
        bool,
        typer.Option(
            help="Add decisive_unknowns_count (the plan's what-if search, about 1 ms per "
            "distinct patient)."
        ),
    ] = False,
    engine: Annotated[
        Engine, typer.Option(help="polars (default) or spark (local mode; OUTPUT is a folder).")
    ] = Engine.polars,
    kb_overlay: OverlayOpt = None,
) -> None:
    """Score a table of patients: every instrument and the plan's columns per row."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from mescc.batch import count_rows, run_batch

    kb = _kb(kb_overlay)
    err = Console(stderr=True, soft_wrap=True)
    try:
        if engine == Engine.spark:
            from mescc.batch.spark_run import run_spark

            if strict or decisive_unknowns:
                _fail(["--engine spark: --strict and --decisive-unknowns need the polars engine"])

            summary = run_spark(input_path, output, kb_overlay or _state.get("overlay"))
        else:
            total = count_rows(input_path)
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err,
                disable=total < 100_000 or not err.is_terminal,
            ) as progress:
                task = progress.add_task("scoring", total=total)
                summary = run_batch(
                    input_path,
                    output,
                    kb,
                    strict=strict,
                    decisive_unknowns=decisive_unknowns,
                    progress=lambda n: progress.advance(task, n),
                )
    except InputError as exc:
        _fail([p.message for p in exc.problems])
    except Exception as exc:  # a reader or writer failure the checks did not foresee
        if isinstance(exc, typer.Exit | KeyboardInterrupt):
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        _fail([f"batch: {input_path.name} could not be processed ({type(exc).__name__}: {first})"])
    for line in summary.lines():
        err.print(line, markup=False, highlight=False)


def main() -> None:
    """Entry point of the ``mescc`` script."""
    from mescc.api.cli import register

    register(app)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
