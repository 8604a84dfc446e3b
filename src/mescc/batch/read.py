"""Open a batch input safely: every unreadable file is one clear ``InputError``, never a trace.

CSV is read with pyarrow's streaming reader, every column as text (the batch validator types
it), so a ragged row (fewer or more fields than the header), an unbalanced quote or bytes that
are not UTF-8 stop the run with the row's text named. The header is read first with the standard
``csv`` module: an empty file, a repeated column name or a missing header are refused before any
row is read. Parquet is read with polars; a column whose type cannot hold a patient value (lists,
maps, structs, binary, dates, durations ...) is refused by name and type.

Clinical trap guarded: a row with missing trailing fields is never read as "unknown" values.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mescc.errors import InputError, Problem

if TYPE_CHECKING:
    import polars as pl

SUFFIXES = (".csv", ".parquet")
_SHOWN = 80


def file_problem(label: str, path: Path | str, what: str, allowed: str) -> InputError:
    """One ``<INPUT|OUTPUT>: <name> <what>; allowed: <allowed>`` error."""
    name = Path(path).name if str(path) else str(path)
    return InputError(
        [Problem(label, str(path), allowed, f"{label}: {name} {what}; allowed: {allowed}")]
    )


def _shown(text: str) -> str:
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    return clean if len(clean) <= _SHOWN else clean[:_SHOWN] + "..."


def check_input_path(path: Path) -> None:
    """Refuse a missing path, a directory or an unsupported extension."""
    if not path.exists():
        raise file_problem("INPUT", path, "does not exist", "an existing .csv or .parquet file")
    if path.is_dir():
        raise file_problem("INPUT", path, "is a directory", "a .csv or .parquet file")
    if path.suffix not in SUFFIXES:
        raise file_problem("INPUT", path, "has an unsupported extension", ".csv or .parquet")


def check_output_path(output: Path, input_path: Path) -> None:
    """Refuse an unsupported extension, a missing directory, a directory, or the input itself."""
    if output.suffix not in SUFFIXES:
        raise file_problem("OUTPUT", output, "has an unsupported extension", ".csv or .parquet")
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        raise file_problem(
            "OUTPUT",
            output,
            f"is in a directory that does not exist ({parent})",
            "a file in an existing directory",
        )
    if output.is_dir():
        raise file_problem("OUTPUT", output, "is a directory", "a .csv or .parquet file")
    same = output.resolve() == input_path.resolve() or (
        output.exists() and output.samefile(input_path)
    )
    if same:
        raise file_problem(
            "OUTPUT",
            output,
            "is the input file (it would be overwritten)",
            "a different file than INPUT",
        )


def csv_header(path: Path) -> list[str]:
    """The header row of a CSV file (refused when empty, not UTF-8 or malformed)."""
    try:
        with path.open("r", encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh), None)
    except UnicodeDecodeError as exc:
        raise file_problem(
            "INPUT", path, f"is not UTF-8 text (byte {exc.start} of the header)", "a UTF-8 CSV file"
        ) from None
    except csv.Error as exc:
        raise file_problem(
            "INPUT", path, f"has a malformed header ({exc})", "a CSV header row"
        ) from None
    except OSError as exc:
        raise file_problem(
            "INPUT", path, f"cannot be read ({exc.strerror})", "a readable file"
        ) from None
    if not header or all(not h.strip() for h in header):
        raise file_problem(
            "INPUT", path, "is empty (no header row)", "a CSV file with a header row"
        )
    empty = [i + 1 for i, h in enumerate(header) if h == ""]
    if empty:
        raise file_problem(
            "INPUT",
            path,
            f"has an empty column name (column {empty[0]})",
            "a name for every column",
        )
    return header


def _csv_batches(path: Path, header: list[str], block_size: int) -> Iterator[pl.DataFrame]:
    import polars as pl
    import pyarrow as pa
    import pyarrow.csv as pacsv

    invalid: list[Any] = []

    def on_invalid(row: Any) -> str:
        invalid.append(row)
        return "error"

    names = [f"__c{i}" for i in range(len(header))]  # positional: duplicates are refused later
    reader: Any = None
    failure: str | None = None
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1, block_size=block_size, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield frame.rename(dict(zip(names, header, strict=True)))
    except pa.ArrowInvalid as exc:
        failure = str(exc)
    finally:
        if reader is not None:
            reader.close()
    if failure is None:
        return
    if invalid:
        row = invalid[0]
        raise file_problem(
            "INPUT",
            path,
            f"has a row with {row.actual_columns} field(s) where the header has "
            f"{row.expected_columns} (a ragged row or an unbalanced quote): "
            f"{_shown(row.text or '')}",
            "every row with the header's fields",
        )
    if "UTF8" in failure or "UTF-8" in failure:
        raise file_problem("INPUT", path, "is not UTF-8 text", "a UTF-8 CSV file")
    raise file_problem(
        "INPUT", path, f"is not a readable CSV file ({_shown(failure)})", "a CSV file"
    )


_ALLOWED_TYPES = "text, boolean, integer, floating-point, decimal or categorical columns"


def parquet_schema(path: Path) -> pl.Schema:
    """The schema of a parquet file (refused when unreadable or a column has another type)."""
    import polars as pl

    try:
        schema = pl.scan_parquet(path).collect_schema()
    except Exception as exc:  # polars raises several kinds for a damaged file
        raise file_problem(
            "INPUT",
            path,
            f"is not a readable parquet file ({_shown(str(exc).splitlines()[0])})",
            "a parquet file",
        ) from None
    problems = []
    for name, dtype in schema.items():
        ok = (
            dtype in (pl.String, pl.Boolean, pl.Null)
            or dtype.is_numeric()
            or isinstance(dtype, pl.Categorical | pl.Enum)
        )
        if not ok:
            problems.append(
                Problem(
                    name,
                    str(dtype),
                    _ALLOWED_TYPES,
                    f"{name}: column of type {dtype} cannot hold a patient value; "
                    f"allowed: {_ALLOWED_TYPES}",
                )
            )
    if problems:
        raise InputError(problems)
    return schema


def _parquet_batches(path: Path, chunk_rows: int) -> Iterator[pl.DataFrame]:
    import polars as pl

    try:
        yield from pl.scan_parquet(path).collect_batches(chunk_size=chunk_rows)
    except pl.exceptions.PolarsError as exc:
        raise file_problem(
            "INPUT",
            path,
            f"is not a readable parquet file ({_shown(str(exc).splitlines()[0])})",
            "a parquet file",
        ) from None
    except OSError as exc:
        raise file_problem("INPUT", path, f"cannot be read ({exc})", "a readable file") from None


def input_columns(path: Path) -> list[str]:
    """The column names of a batch input (its header or parquet schema)."""
    if path.suffix == ".csv":
        return csv_header(path)
    return list(parquet_schema(path))


def empty_frame(path: Path) -> pl.DataFrame:
    """A frame with the input's columns and no rows (for a header-only input)."""
    import polars as pl

    if path.suffix == ".csv":
        return pl.DataFrame(schema={c: pl.String for c in csv_header(path)})
    return pl.DataFrame(schema=parquet_schema(path))


def read_chunks(path: Path, chunk_rows: int) -> Iterator[pl.DataFrame]:
    """The input's rows as frames of at most about ``chunk_rows`` rows."""
    import polars as pl

    if path.suffix == ".parquet":
        yield from _parquet_batches(path, chunk_rows)
        return
    header = csv_header(path)
    pending: list[pl.DataFrame] = []
    n = 0
    for frame in _csv_batches(path, header, block_size=8 << 20):
        pending.append(frame)
        n += frame.height
        if n >= chunk_rows:
            whole = pl.concat(pending, rechunk=False)
            for start in range(0, (whole.height // chunk_rows) * chunk_rows, chunk_rows):
                yield whole.slice(start, chunk_rows)
            rest = whole.slice((whole.height // chunk_rows) * chunk_rows)
            pending, n = ([rest], rest.height) if rest.height else ([], 0)
    if pending:
        whole = pl.concat(pending, rechunk=False)
        if whole.height:
            yield whole


def count_rows(path: Path) -> int:
    """Number of data rows of a CSV or parquet file (for the progress bar)."""
    import polars as pl

    check_input_path(path)
    if path.suffix == ".parquet":
        parquet_schema(path)
        try:
            return int(pl.scan_parquet(path).select(pl.len()).collect().item())
        except pl.exceptions.PolarsError:
            return 0
    csv_header(path)
    with path.open("rb") as fh:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    return max(0, lines - 1)
