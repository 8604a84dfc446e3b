"""What changed between two assessment documents (for re-running a stored assessment).

A generic structural diff: it knows nothing about what the fields mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    kind: ChangeKind
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "before": self.before, "after": self.after}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def diff_documents(before: Any, after: Any, path: str = "") -> list[Change]:
    """Every leaf that differs, with a dotted path (``plan.radiotherapy[0].regimen``)."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[Change] = []
        for key in before:
            sub = _join(path, str(key))
            if key not in after:
                changes.append(Change(sub, "removed", before[key], None))
            else:
                changes.extend(diff_documents(before[key], after[key], sub))
        for key in after:
            if key not in before:
                changes.append(Change(_join(path, str(key)), "added", None, after[key]))
        return changes
    if isinstance(before, list) and isinstance(after, list):
        changes = []
        for index in range(max(len(before), len(after))):
            sub = f"{path}[{index}]"
            if index >= len(after):
                changes.append(Change(sub, "removed", before[index], None))
            elif index >= len(before):
                changes.append(Change(sub, "added", None, after[index]))
            else:
                changes.extend(diff_documents(before[index], after[index], sub))
        return changes
    if before == after and type(before) is type(after):
        return []
    numbers = (int, float)
    if (
        isinstance(before, numbers)
        and isinstance(after, numbers)
        and not isinstance(before, bool)
        and not isinstance(after, bool)
        and before == after
    ):
        return []
    return [Change(path or "(document)", "changed", before, after)]
