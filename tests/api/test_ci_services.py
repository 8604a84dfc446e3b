"""CI must run the PostgreSQL half of the suite: fail (not skip) when it is not configured."""

from __future__ import annotations

import os


def test_ci_runs_the_postgres_suite() -> None:
    in_ci = os.environ.get("CI", "").lower() in {"true", "1"}
    postgres_url = os.environ.get("MESCC_TEST_POSTGRES_URL", "")
    if in_ci:
        assert postgres_url, (
            "CI=true but MESCC_TEST_POSTGRES_URL is not set, so the API suite ran on SQLite "
            "only. Start the services with scripts/services.sh and export the URL it prints: "
            'export MESCC_TEST_POSTGRES_URL="$(bash scripts/services.sh | tail -n 1)"'
        )
