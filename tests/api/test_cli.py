"""``mescc users add``, ``mescc tokens create`` (via ``register``) and ``serve``'s wiring."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from mescc.api.app import create_app
from mescc.api.cli import register
from mescc.settings import Settings


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "MESCC_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "MESCC_DATA_DIR": str(tmp_path),
        "MESCC_SECRET_KEY": "cli-test-secret",
    }


def test_register_adds_the_commands(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "users", "tokens"):
        assert command in result.output


def test_users_add_then_tokens_create_gives_a_working_token(
    cli: typer.Typer, env: dict[str, str]
) -> None:
    runner = CliRunner()
    added = runner.invoke(
        cli, ["users", "add", "alice", "--password-stdin"], input="s3cret-pass\n", env=env
    )
    assert added.exit_code == 0, added.output
    created = runner.invoke(cli, ["tokens", "create", "--user", "alice"], env=env)
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    assert token.startswith("mescc_")

    app = create_app(
        Settings(database_url=env["MESCC_DATABASE_URL"], data_dir=Path(env["MESCC_DATA_DIR"]))
    )
    with TestClient(
        app, base_url="https://testserver", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        assert client.get("/api/v1/assessments").status_code == 200
    app.state.engine.dispose()


def test_users_add_prompts_for_the_password(cli: typer.Typer, env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        cli, ["users", "add", "bob"], input="long-enough\nlong-enough\n", env=env
    )
    assert result.exit_code == 0, result.output


def test_duplicate_user_and_short_password_exit_2(cli: typer.Typer, env: dict[str, str]) -> None:
    runner = CliRunner()
    args = ["users", "add", "carol", "--password-stdin"]
    assert runner.invoke(cli, args, input="long-enough\n", env=env).exit_code == 0
    again = runner.invoke(cli, args, input="long-enough\n", env=env)
    assert again.exit_code == 2
    assert "already exists" in again.output
    short = runner.invoke(cli, ["users", "add", "dave", "--password-stdin"], input="x\n", env=env)
    assert short.exit_code == 2


def test_token_for_an_unknown_user_exits_2(cli: typer.Typer, env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["tokens", "create", "--user", "nobody"], env=env)
    assert result.exit_code == 2
    assert "no user" in result.output
