"""Shared fixtures of the registry tests: synthetic cohorts written once per session.

SYNTHETIC DATA - NEVER EVIDENCE: the cohorts come from ``mescc synth`` (planted model, cited
marginals); they test the machinery, never an instrument.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mescc.registry.synth import write_synthetic


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4,000 synthetic patients (parquet), with sidecar and planted categories beside it."""
    out = tmp_path_factory.mktemp("small") / "cohort.parquet"
    write_synthetic(4000, 11, out)
    return out


@pytest.fixture(scope="session")
def large_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40,000 synthetic patients (parquet), for recovering the planted points."""
    out = tmp_path_factory.mktemp("large") / "cohort.parquet"
    write_synthetic(40_000, 5, out)
    return out
