"""Fixtures of the plan tests: the packaged knowledge base, evidence, plan rules and helpers.

* ``plan_of(data, **kw)``: the plan (``Plan``) of a raw patient mapping, through ``assess``;
* ``example(name)``: the raw patient mapping of ``examples/<name>.yaml``;
* ``kb``, ``evidence``, ``rules``, ``citer``: the packaged knowledge base and plan data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from mescc.assessment import assess
from mescc.kb.evidence import Evidence, load_evidence
from mescc.kb.loader import KnowledgeBase, load_kb
from mescc.plan import Plan
from mescc.plan.reasons import Citer
from mescc.plan.rules import PlanRules, checked_rules

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_kb(None)


@pytest.fixture(scope="session")
def evidence() -> Evidence:
    return load_evidence()


@pytest.fixture(scope="session")
def rules(kb: KnowledgeBase, evidence: Evidence) -> PlanRules:
    return checked_rules(kb, evidence)


@pytest.fixture(scope="session")
def citer(kb: KnowledgeBase, evidence: Evidence) -> Citer:
    return Citer(evidence, kb)


def load_example(name: str) -> dict[str, Any]:
    data = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="session")
def example() -> Callable[[str], dict[str, Any]]:
    return load_example


@pytest.fixture(scope="session")
def plan_of(kb: KnowledgeBase) -> Callable[..., Plan]:
    def build(data: Mapping[str, Any], **kw: Any) -> Plan:
        plan = assess(dict(data), kb, **kw).plan
        assert plan is not None
        return plan

    return build
