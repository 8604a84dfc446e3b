"""The service's commands: ``serve``, ``users add`` and ``tokens create``.

``register(app)`` adds them to the main ``mescc`` typer app. FastAPI, SQLAlchemy and uvicorn are
imported inside the commands, so the rest of the CLI starts fast.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind [default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: 8000]")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    database_url: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy URL (default: MESCC_DATABASE_URL or the SQLite file)"),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log each request line (no bodies)")] = True,
    limit_concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Answer 503 at once beyond this many requests in progress, instead of "
            "queueing work whose client may have given up",
        ),
    ] = None,
) -> None:
    """Run the web app and REST API (uvicorn)."""
    import uvicorn

    from mescc.api.database import create_db_engine, migrate
    from mescc.settings import Settings

    if database_url:
        os.environ["MESCC_DATABASE_URL"] = database_url
    settings = Settings()
    engine = create_db_engine(settings.database_url)
    migrate(engine)  # once, before the workers start
    engine.dispose()
    settings.session_secret()  # create the key file once, before the workers race for it
    bind_host = host or settings.host
    bind_port = port or settings.port
    typer.echo(f"mescc: serving on http://{bind_host}:{bind_port}", err=True)
    uvicorn.run(
        "mescc.api.app:create_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        access_log=access_log,
        proxy_headers=False,
        server_header=False,
        limit_concurrency=limit_concurrency,
    )


def users_add(
    username: Annotated[str, typer.Argument(help="The new user's name")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Add a user (password from a prompt, or one line of standard input)."""
    from mescc.api import accounts
    from mescc.api.database import create_db_engine, create_session_factory, migrate
    from mescc.settings import Settings

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = create_db_engine(Settings().database_url)
    try:
        migrate(engine)
        with create_session_factory(engine)() as session:
            accounts.create_user(session, username, password)
    except accounts.AccountError as error:
        typer.echo(f"mescc users add: {error}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(f"user {username!r} added", err=True)


def tokens_create(
    user: Annotated[str, typer.Option("--user", help="The user the token acts for")],
    label: Annotated[str, typer.Option(help="A note to recognise the token by")] = "",
) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    from mescc.api import accounts
    from mescc.api.database import create_db_engine, create_session_factory, migrate
    from mescc.settings import Settings

    engine = create_db_engine(Settings().database_url)
    try:
        migrate(engine)
        with create_session_factory(engine)() as session:
            token = accounts.create_token(session, user, label)
    except accounts.AccountError as error:
        typer.echo(f"mescc tokens create: {error}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(token)
    typer.echo("Store this token now: it is not shown again.", err=True)


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``users add`` and ``tokens create`` to the ``mescc`` command."""
    app.command("serve")(serve)
    users = typer.Typer(help="Users of the web service.", no_args_is_help=True)
    users.command("add")(users_add)
    app.add_typer(users, name="users")
    tokens = typer.Typer(help="API tokens.", no_args_is_help=True)
    tokens.command("create")(tokens_create)
    app.add_typer(tokens, name="tokens")
