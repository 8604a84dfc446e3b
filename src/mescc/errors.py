"""Errors mescc raises on purpose.

Every problem with patient input is reported, not only the first, in one sentence shape:
``<field>: <value as given> <what is wrong>; allowed: <what is allowed>``. The same lines
appear on the CLI's stderr, in the API's 422 body and in batch's ``input_error`` column.
Errors pickle, so a multi-process batch run can carry them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mescc.text_safety import neutralise


class MesccError(Exception):
    """Base of every error mescc raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad input field: which field, the value given, what is allowed and the sentence."""

    field: str
    value: Any
    allowed: str
    message: str

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "value": self.value,
            "allowed": self.allowed,
            "message": self.message,
        }


#: At most this many problems are listed; the rest are counted in one closing line, so that
#: a record with thousands of bad keys cannot produce a megabyte of error text.
MAX_PROBLEMS_LISTED = 50


def _capped(problems: list[Problem]) -> list[Problem]:
    if len(problems) <= MAX_PROBLEMS_LISTED + 1:
        return problems
    more = len(problems) - MAX_PROBLEMS_LISTED
    fields = ", ".join(sorted({p.field.split(".")[0].split("[")[0] for p in problems[-more:]}))
    shown_fields = neutralise(fields if len(fields) <= 200 else fields[:200] + "...")
    return [
        *problems[:MAX_PROBLEMS_LISTED],
        Problem(
            "...",
            more,
            f"at most {MAX_PROBLEMS_LISTED} problems are listed",
            f"...: and {more} more problems not listed (in {shown_fields}); allowed: at most "
            f"{MAX_PROBLEMS_LISTED} problems are listed, fix these and run again",
        ),
    ]


class InputError(MesccError, ValueError):
    """One or more patient fields are not allowed; ``.problems`` lists every one, up to
    :data:`MAX_PROBLEMS_LISTED` (then one closing problem counts the rest)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = _capped(list(problems))
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(p.message for p in self.problems)

    def __reduce__(self) -> tuple[Any, ...]:
        return (InputError, (self.problems,))


class DefinitionError(MesccError, ValueError):
    """A knowledge-base file is malformed; carries ``.file``, ``.line`` and ``.path``."""

    def __init__(self, file: str, path: str, message: str, line: int | None = None) -> None:
        self.file = file
        self.path = path
        self.line = line
        self.detail = message
        super().__init__(file, path, message, line)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        path = f" {self.path}" if self.path else ""
        return f"{where}{path}: {self.detail}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (DefinitionError, (self.file, self.path, self.detail, self.line))


class OverlayError(DefinitionError):
    """A site-supplied table breaks the published constraints of its skeleton."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (OverlayError, (self.file, self.path, self.detail, self.line))
