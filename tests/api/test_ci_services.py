"""CI must run the PostgreSQL half of the suite: fail (not skip) when it is not configured."""

from __future__ import annotations

import os


def test_ci_runs_the_postgres_suite() -> None:
    if os.environ.get("CI", "").lower() in {"true", "1"}:
        assert os.environ.get("MESCC_TEST_POSTGRES_URL"), (
            "CI=true but MESCC_TEST_POSTGRES_URL is not set, so the API suite ran on SQLite "
            "only. Start the services with scripts/services.sh and export the URL it prints: "
            'export MESCC_TEST_POSTGRES_URL="$(bash scripts/services.sh | tail -n 1)"'
        )
