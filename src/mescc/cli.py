"""Command line: ``mescc assess | instruments | dose | kb check | batch`` (+ web commands).

Each command calls one library function and presents its result; no clinical logic here.
Invalid input exits 2 with every problem on stderr and no traceback (patient files and
standard input are read by the strict reader, ``mescc.loading``). Heavy imports (polars,
the web stack) happen inside the commands that need them, to keep the cold start low.
Every line written to stderr has its control and bidi characters made visible.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from mescc.errors import DefinitionError, InputError

_APP_SETTINGS: dict[str, Any] = {
    "name": "mescc",
    "help": "Decision support for radiotherapy of malignant epidural spinal cord compression.",
    "no_args_is_help": True,
    "add_completion": False,
    "pretty_exceptions_enable": False,
    # click's plain help wraps every line and never cuts one (rich's panels cut option names
    # and help at 80 columns: "--no-allow-unveri..."); errors are plain lines too.
    "rich_markup_mode": None,
}
app = typer.Typer(**_APP_SETTINGS)
kb_app = typer.Typer(
    help="Knowledge-base tools (site-supplied tables).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(kb_app, name="kb")


class Format(StrEnum):
    text = "text"
    json = "json"


class AssessFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"
    fhir = "fhir"


class Detail(StrEnum):
    summary = "summary"
    full = "full"


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
    from mescc.text_safety import neutralise

    for line in lines:
        typer.echo(neutralise(line, keep_layout=False), err=True)
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
    """The JSON values of one patient file (``-``: standard input), read strictly.

    ``.json`` files are JSON; anything else (and standard input) is YAML, whose restricted
    rules read JSON too. Raises ``InputError`` for anything the strict reader refuses.
    """
    from mescc.loading import MAX_INPUT_BYTES, load_patient

    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with Path(path).open("rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        from mescc.errors import Problem

        message = f"{path}: cannot read ({exc.strerror or exc})"
        raise InputError([Problem(path, None, "a readable file", message)]) from None
    source = "stdin" if path == "-" else path
    return load_patient(data, source=source, syntax="json" if path.endswith(".json") else "yaml")


@app.command()
def assess(
    files: Annotated[
        list[str] | None, typer.Argument(help="Patient JSON/YAML file(s); - for stdin.")
    ] = None,
    fmt: Annotated[
        AssessFormat,
        typer.Option("--format", help="text, markdown, json or fhir (R4 Bundle)"),
    ] = AssessFormat.text,
    detail: Annotated[
        Detail,
        typer.Option("--detail", help="summary (the board summary) or full (everything)"),
    ] = Detail.summary,
    allow_unverified: Annotated[
        bool,
        typer.Option(help="Let unverified instruments decide (the output says so)."),
    ] = False,
    fhir: Annotated[
        Path | None, typer.Option("--fhir", help="Read the patient from an R4 Bundle (JSON).")
    ] = None,
    fhir_server: Annotated[
        str | None, typer.Option("--fhir-server", help="Read the patient from a FHIR R4 server.")
    ] = None,
    patient: Annotated[
        str | None, typer.Option("--patient", help="FHIR Patient id (--fhir-server, --fhir).")
    ] = None,
    fhir_token: Annotated[
        str | None,
        typer.Option(envvar="MESCC_FHIR_TOKEN", help="Bearer token for --fhir-server."),
    ] = None,
    max_age_days: Annotated[
        float | None,
        typer.Option(
            envvar="MESCC_FHIR_MAX_AGE_DAYS",
            min=0,
            help="Freshness window of current findings read from FHIR (docs/fhir.md).",
        ),
    ] = None,
    kb_overlay: OverlayOpt = None,
) -> None:
    """Assess patient(s): the board summary (--detail full: every instrument and the plan)."""
    try:
        _assess(
            files,
            fmt,
            detail,
            allow_unverified,
            kb_overlay,
            fhir=fhir,
            fhir_server=fhir_server,
            patient=patient,
            fhir_token=fhir_token,
            max_age_days=max_age_days,
        )
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:  # a bug, not bad input: one line, exit 1, never a traceback
        _fail([f"mescc: internal error ({type(exc).__name__}); please report it"], code=1)


def _assess(
    files: list[str] | None,
    fmt: AssessFormat,
    detail: Detail,
    allow_unverified: bool,
    kb_overlay: Path | None,
    *,
    fhir: Path | None,
    fhir_server: str | None,
    patient: str | None,
    fhir_token: str | None,
    max_age_days: float | None,
) -> None:
    """Assess every source; a refused file is reported on stderr (naming it when several are
    given) while the others are still printed; exit 2 if any was refused."""
    from mescc.document import assessment_document

    sources = [bool(files), fhir is not None, fhir_server is not None]
    if sum(sources) != 1:
        _fail(["assess: give patient FILE(s), or --fhir BUNDLE, or --fhir-server URL --patient ID"])
    kb = _kb(kb_overlay)
    names: list[str] = []
    docs: list[dict[str, Any] | None] = []
    if fhir is not None or fhir_server is not None:
        names.append(str(fhir or fhir_server))
        docs.append(
            _fhir_document(
                fhir, fhir_server, patient, fhir_token, max_age_days, kb, allow_unverified
            )
        )
    several = len(files or []) > 1
    for path in files or []:
        source = "stdin" if path == "-" else path
        names.append(source)
        try:
            data = _read_patient(path)
            docs.append(assessment_document(data, kb=kb, allow_unverified=allow_unverified))
        except InputError as exc:
            docs.append(None)
            _report([_prefixed(p.message, path, source, several) for p in exc.problems])
    if not several and docs[0] is None:
        raise typer.Exit(2)
    _print_documents(names, docs, fmt, detail, several, kb)
    if any(doc is None for doc in docs):
        raise typer.Exit(2)


def _prefixed(message: str, path: str, source: str, several: bool) -> str:
    """A problem of one of several files names the file (unless it already does)."""
    whole_file = message.startswith((f"{source}: ", f"{path}: "))
    return f"{path}: {message}" if several and not whole_file else message


def _report(lines: list[str]) -> None:
    from mescc.text_safety import neutralise

    for line in lines:
        typer.echo(neutralise(line, keep_layout=False), err=True)


def _json_text(doc: dict[str, Any] | None, detail: Detail) -> Any:
    """The JSON value printed for one document at ``detail`` (None: a refused file).

    The one place the JSON view is chosen: the default is the summary view of
    ``mescc.render.json_view`` (contract keys, ``summary``, a ``references`` table and an
    ``omitted`` map naming what ``--detail full`` adds); ``full`` is the whole document.
    """
    if doc is None:
        return None
    from mescc.render.json_view import json_view

    return json_view(doc, detail.value)


def _md_name(name: str) -> str:
    from mescc.text_safety import neutralise

    return neutralise(name, keep_layout=False).replace("`", "'")


def _print_documents(
    names: list[str],
    docs: list[dict[str, Any] | None],
    fmt: AssessFormat,
    detail: Detail,
    several: bool,
    kb: Any,
) -> None:
    if fmt == AssessFormat.fhir:
        from mescc.adapters.fhir_out import assessment_bundle
        from mescc.document import instruments_document

        meta = instruments_document(kb=kb)
        bundles = [assessment_bundle(doc, meta) if doc is not None else None for doc in docs]
        typer.echo(json.dumps(bundles if several else bundles[0], indent=2, ensure_ascii=False))
        return
    if fmt == AssessFormat.json:
        from mescc.render.json_view import compact_json

        views = [_json_text(doc, detail) for doc in docs]
        value = views if several else views[0]
        # the summary view is printed compact (one line: < 40 KB for the bundled examples);
        # the full document keeps its indented form
        if detail == Detail.summary:
            typer.echo(compact_json(value))
        else:
            typer.echo(json.dumps(value, indent=2, ensure_ascii=False))
        return
    if fmt == AssessFormat.markdown:
        from mescc.render.markdown import render_markdown

        parts = [
            (f"# {_md_name(name)}\n\n" if several else "") + render_markdown(doc, detail.value)
            for name, doc in zip(names, docs, strict=True)
            if doc is not None
        ]
        typer.echo("\n".join(parts), nl=False)
        return
    from rich.console import Console
    from rich.rule import Rule
    from rich.text import Text

    from mescc.text_safety import neutralise

    console = Console()
    for name, doc in zip(names, docs, strict=True):
        if doc is None:
            continue
        if several:
            console.print(Rule(Text(neutralise(name, keep_layout=False)), align="left"))
        if detail == Detail.full:
            from mescc.render.text import render_text

            render_text(doc, console)
        else:
            from mescc.render.summary_text import render_summary

            render_summary(doc, console)


def _fhir_document(
    bundle_path: Path | None,
    server: str | None,
    patient_id: str | None,
    token: str | None,
    max_age_days: float | None,
    kb: Any,
    allow_unverified: bool,
) -> dict[str, Any]:
    """Import the patient from a Bundle file or a FHIR server and assess it (exit 2 on error)."""
    from mescc.adapters import fhir_in

    try:
        if server is not None:
            from mescc.adapters.fhir_server import FhirServerError, fetch, prefetch_resources

            if not patient_id:
                _fail(["--patient: missing; allowed: the FHIR Patient id to read"])
            try:
                found = fetch(server, patient_id, token=token)
            except FhirServerError as exc:
                _fail([f"--fhir-server: {exc}"])
            imported = fhir_in.import_resources(
                prefetch_resources(found),
                patient_id=patient_id,
                max_age_days=max_age_days,
                origin=server,
            )
        else:
            assert bundle_path is not None
            try:
                bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
            except OSError as exc:
                _fail([f"{bundle_path}: cannot read ({exc.strerror})"])
            except json.JSONDecodeError as exc:
                _fail([f"{bundle_path}: not valid JSON: {exc}"])
            imported = fhir_in.import_bundle(
                bundle, patient_id=patient_id, max_age_days=max_age_days, origin=str(bundle_path)
            )
    except fhir_in.FhirImportError as exc:
        _fail([p.message for p in exc.problems])
    for issue in imported.issues:
        typer.echo(f"fhir: {issue.kind}: {issue.message}", err=True)
    return fhir_in.fhir_assessment_document(imported, kb=kb, allow_unverified=allow_unverified)


@app.command()
def instruments(
    fmt: Annotated[Format, typer.Option("--format")] = Format.text,
    kb_overlay: OverlayOpt = None,
) -> None:
    """List every instrument: id, name, outcome, verification, computable or skeleton.

    The JSON adds each one's citation, inputs, groups and notes.
    """
    import shutil

    from mescc.document import instruments_document
    from mescc.render.instruments_text import DEFAULT_WIDTH, instruments_text

    kb = _kb(kb_overlay)
    rows = instruments_document(kb=kb)
    if fmt == Format.json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    width = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    typer.echo("\n".join(instruments_text(rows, kb.version, width)))


@app.command()
def dose(
    fractions: Annotated[int, typer.Option("--fractions", help="Number of fractions")],
    dose_per_fraction: Annotated[
        float, typer.Option("--dose-per-fraction", help="Dose per fraction (Gy)")
    ],
    alpha_beta: Annotated[
        float, typer.Option("--alpha-beta", help="alpha/beta (Gy); tumour 10")
    ] = 10.0,
    fmt: Annotated[Format, typer.Option("--format")] = Format.text,
) -> None:
    """BED and EQD2 of a regimen (linear-quadratic model, no time factor).

    Each value is checked against its range in the field table (``mescc.fields``): an
    impossible regimen (0 Gy, inf, 10^20 fractions) exits 2 with the allowed range.
    """
    from mescc.document import dose_document

    try:
        doc = dose_document(fractions, dose_per_fraction, alpha_beta)
    except InputError as exc:
        _fail([_DOSE_OPTIONS[p.field] + p.message[len(p.field) :] for p in exc.problems])
    if fmt == Format.json:
        typer.echo(json.dumps(doc, allow_nan=False))
        return
    typer.echo(
        f"{fractions} x {dose_per_fraction:g} Gy = {doc['total_dose_gy']:g} Gy; "
        f"alpha/beta {alpha_beta:g} Gy: BED {doc['bed_gy']:.2f} Gy, EQD2 {doc['eqd2_gy']:.2f} Gy"
        f"\n({doc['model']})"
    )


#: The option that gave each checked value of ``mescc dose``.
_DOSE_OPTIONS = {
    "fractions": "--fractions",
    "dose_per_fraction_gy": "--dose-per-fraction",
    "alpha_beta": "--alpha-beta",
}


@kb_app.command("check")
def kb_check(
    file: Annotated[Path, typer.Argument(help="Site-supplied instrument table (YAML).")],
    kb_overlay: OverlayOpt = None,
) -> None:
    """Validate a site-supplied table against the published constraints of its skeleton.

    Every problem is listed at once (``file:line path: message``), then exit 2.
    """
    from mescc.kb.loader import load_kb
    from mescc.kb.overlay import overlay_problems

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        _fail([f"{file}: cannot read ({exc.strerror})"])
    except UnicodeDecodeError as exc:
        _fail([f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})"])
    kb = load_kb(None)
    inst, problems = overlay_problems(text, str(file), kb.instruments)
    if problems or inst is None:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        _fail([*(str(p) for p in problems), f"{file}: rejected ({count})"])
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


def build_app(command: str | None = None) -> typer.Typer:
    """The ``mescc`` app to run.

    With ``command`` naming a command (or group) of this module, an app holding only that one
    (and the global options): building the others' click commands is cold-start time that a
    ``mescc assess`` never uses. Otherwise every command, the web service's ones included.
    """
    built = typer.Typer(**_APP_SETTINGS)
    built.registered_callback = app.registered_callback
    commands = [c for c in app.registered_commands if _name(c) == command]
    groups = [g for g in app.registered_groups if g.name == command]
    if commands or groups:
        built.registered_commands, built.registered_groups = commands, groups
    else:
        built.registered_commands = list(app.registered_commands)
        built.registered_groups = list(app.registered_groups)
        from mescc.api.cli import register

        register(built)
    _whole_short_help(built)
    return built


def _name(info: Any) -> str:
    name: str = info.name or info.callback.__name__.replace("_", "-")
    return name


def _whole_short_help(typer_app: typer.Typer) -> None:
    """Give every command its whole first paragraph as the line a command list shows (click
    cuts a docstring's to fit the width: "List every instrument: id, name, outcome,...")."""
    for info in typer_app.registered_commands:
        if info.short_help is None and info.callback is not None and info.callback.__doc__:
            first = info.callback.__doc__.strip().split("\n\n")[0]
            info.short_help = " ".join(first.split())
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _whole_short_help(group.typer_instance)


def main() -> None:
    """Entry point of ``python -m mescc`` (the ``mescc`` script starts in ``mescc._start``)."""
    build_app()()


if __name__ == "__main__":  # pragma: no cover
    main()
