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
def _main(
    kb_overlay: OverlayOpt = None,
    allow_site_derived: Annotated[
        bool,
        typer.Option(
            "--allow-site-derived",
            help="Let site-derived tables (mescc derive) decide the plan; every output says "
            "so (same as MESCC_ALLOW_SITE_DERIVED=true).",
        ),
    ] = False,
) -> None:
    """mescc: cited instruments, one scoring engine, an explained treatment plan."""
    _state["overlay"] = kb_overlay
    if allow_site_derived:
        import os

        from mescc.kb.overlay import ALLOW_SITE_DERIVED_ENV

        os.environ[ALLOW_SITE_DERIVED_ENV] = "true"


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
    if inst.derived is not None:
        from mescc.kb.overlay import describe_accepted

        typer.echo(f"{file}: {describe_accepted(inst, kb.instruments)}")
        return
    typer.echo(
        f"{file}: accepted as site-supplied table for {inst.id} "
        f"(verified by {inst.site.verified_by if inst.site else '?'}, "
        f"{inst.site.verified_on if inst.site else '?'}; source: "
        f"{inst.site.source if inst.site else '?'})"
    )


@app.command()
def batch(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help=".csv or .parquet")],
    output: Annotated[Path, typer.Option("-o", "--output", help=".csv or .parquet")],
    strict: Annotated[bool, typer.Option(help="Any bad row fails the run (exit 2).")] = False,
    kb_overlay: OverlayOpt = None,
) -> None:
    """Score a table of patients: every instrument and the recommended regimen per row."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from mescc.batch import count_rows, run_batch

    kb = _kb(kb_overlay)
    if not input_path.exists():
        _fail([f"INPUT: {input_path} does not exist"])
    total = count_rows(input_path)
    err = Console(stderr=True)
    try:
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
                progress=lambda n: progress.advance(task, n),
            )
    except InputError as exc:
        _fail([p.message for p in exc.problems])
    for line in summary.lines():
        err.print(line, markup=False, highlight=False)


# --------------------------------------------------------------------------- registry mode
# validate / derive / synth (issue 12): each calls one library function in mescc.registry.

TimeUnitOpt = Annotated[
    str, typer.Option("--time-unit", help="Unit of the time column: months, weeks, days, years.")
]


def _outcomes(time: str, event: str, ambulatory_after: str | None, time_unit: str) -> Any:
    from mescc.registry.cohort import MONTHS_PER, OutcomeColumns

    if time_unit not in MONTHS_PER:
        _fail([f"--time-unit: {time_unit} is not a unit; allowed: {', '.join(MONTHS_PER)}"])
    return OutcomeColumns(time, event, ambulatory_after, time_unit)  # type: ignore[arg-type]


def _step_progress(total: int, label: str) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    err = Console(stderr=True)
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
        transient=True,
    )


@app.command()
def validate(
    cohort: Annotated[Path, typer.Argument(metavar="COHORT", help=".csv or .parquet")],
    time: Annotated[str, typer.Option("--time", help="Column: time to death or censoring.")],
    event: Annotated[str, typer.Option("--event", help="Column: true = died, false = censored.")],
    ambulatory_after: Annotated[
        str | None,
        typer.Option("--ambulatory-after", help="Column: ambulatory after RT (true/false)."),
    ] = None,
    time_unit: TimeUnitOpt = "months",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="HTML report (default: COHORT.validation.html)."),
    ] = None,
    json_output: Annotated[
        Path | None, typer.Option("--json", help="JSON summary (default: beside the report).")
    ] = None,
    instrument: Annotated[
        list[str] | None, typer.Option("--instrument", help="Only these instruments.")
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", help="Other columns to leave out.")
    ] = None,
    kb_overlay: OverlayOpt = None,
) -> None:
    """Validate every instrument on a registry cohort: HTML report and JSON summary."""
    from mescc.registry.validate import run_validation

    kb = _kb(kb_overlay)
    outcomes = _outcomes(time, event, ambulatory_after, time_unit)
    out = output or cohort.with_name(cohort.stem + ".validation.html")
    steps = len(instrument or kb.instruments) + 1
    try:
        with _step_progress(steps, "validating") as progress:
            task = progress.add_task("validating", total=steps)
            report = run_validation(
                cohort,
                outcomes,
                out,
                kb,
                json_output=json_output,
                instruments=instrument,
                ignore=ignore or (),
                progress=lambda name: progress.update(task, advance=1, description=name),
            )
    except (InputError, DefinitionError) as exc:
        _fail([p.message for p in exc.problems] if isinstance(exc, InputError) else [str(exc)])
    c = report.summary["cohort"]
    label = "SYNTHETIC cohort (never evidence): " if report.summary["synthetic"] else ""
    typer.echo(
        f"{label}{c['rows']} rows, {c['rows_with_input_errors']} with input errors, "
        f"{c['rows_with_survival_outcome']} with a survival outcome; report {out}, summary "
        f"{json_output or out.with_suffix('.json')}"
    )


@app.command()
def derive(
    cohort: Annotated[Path, typer.Argument(metavar="COHORT", help=".csv or .parquet")],
    instrument: Annotated[str, typer.Option("--instrument", help="Skeleton instrument id.")],
    time: Annotated[str, typer.Option("--time", help="Column: time to death or censoring.")],
    event: Annotated[str, typer.Option("--event", help="Column: true = died, false = censored.")],
    categories: Annotated[
        Path, typer.Option("--categories", help="The site's category definitions (YAML).")
    ],
    registry: Annotated[str, typer.Option("--registry", help="Registry name (provenance).")],
    derived_by: Annotated[str, typer.Option("--derived-by", help="Who derives the table.")],
    cohort_from: Annotated[str, typer.Option("--cohort-from", help="First date, YYYY-MM-DD.")],
    cohort_to: Annotated[str, typer.Option("--cohort-to", help="Last date, YYYY-MM-DD.")],
    ambulatory_after: Annotated[
        str | None,
        typer.Option("--ambulatory-after", help="Column: ambulatory after RT (true/false)."),
    ] = None,
    time_unit: TimeUnitOpt = "months",
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Overlay folder to write the table into.")
    ] = Path("site-overlay"),
    holdout: Annotated[float, typer.Option(help="Held-out fraction for validation.")] = 0.3,
    seed: Annotated[int, typer.Option(help="Seed of the derivation/validation split.")] = (
        20240601
    ),
    rounding: Annotated[str, typer.Option(help="nearest (halves up), floor or ceil.")] = (
        "nearest"
    ),
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", help="Other columns to leave out.")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing table.")] = False,
) -> None:
    """Derive a site table for a skeleton by its published method (labelled site-derived)."""
    from datetime import date

    from mescc.registry.derive import Provenance, run_derive

    dates = []
    for opt, value in (("--cohort-from", cohort_from), ("--cohort-to", cohort_to)):
        try:
            dates.append(date.fromisoformat(value))
        except ValueError:
            _fail([f"{opt}: {value} is not a date; allowed: YYYY-MM-DD"])
    outcomes = _outcomes(time, event, ambulatory_after, time_unit)
    try:
        with _step_progress(3, "deriving") as progress:
            task = progress.add_task("deriving", total=3)
            result = run_derive(
                cohort,
                outcomes,
                instrument,
                categories,
                output,
                Provenance(registry, derived_by, dates[0], dates[1]),
                holdout=holdout,
                seed=seed,
                rounding=rounding,
                ignore=ignore or (),
                overwrite=overwrite,
                progress=lambda name: progress.update(task, advance=1, description=name),
            )
    except (InputError, DefinitionError) as exc:
        _fail([p.message for p in exc.problems] if isinstance(exc, InputError) else [str(exc)])
    label = "SYNTHETIC cohort (never evidence): " if result.synthetic else ""
    typer.echo(
        f"{label}site-derived table {result.table} ({result.derivation_n} derivation, "
        f"{result.validation_n} held out); {result.range_statement}; validation report "
        f"{result.report_html}. Not the published table: results are labelled site-derived."
    )


@app.command()
def synth(
    n: Annotated[int, typer.Option("--n", help="Number of patients.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")],
    output: Annotated[Path, typer.Option("-o", "--output", help=".csv or .parquet")],
) -> None:
    """Write a SYNTHETIC cohort from published marginals (demonstrations and tests only)."""
    from mescc.registry.synth import write_synthetic

    try:
        result = write_synthetic(n, seed, output)
    except InputError as exc:
        _fail([p.message for p in exc.problems])
    typer.echo(
        f"SYNTHETIC cohort (never evidence): {result.rows} patients in {result.cohort}; "
        f"marginals and sources in {result.sidecar}; planted category definitions in "
        f"{result.categories}"
    )


def main() -> None:
    """Entry point of the ``mescc`` script."""
    from mescc.api.cli import register

    register(app)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
