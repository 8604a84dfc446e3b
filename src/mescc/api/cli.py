"""The service's commands: ``serve``, ``users``, ``tokens``, ``audit verify`` and ``db``.

``register(app)`` adds them to the main ``mescc`` typer app. FastAPI, SQLAlchemy and uvicorn are
imported inside the commands, so the rest of the CLI starts fast. Every failure is one line on
stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from mescc.settings import Settings


def _fail(command: str, message: str) -> None:
    typer.echo(f"mescc {command}: {message}", err=True)
    raise typer.Exit(2)


def _settings(database_url: str | None = None) -> Settings:
    from mescc.settings import Settings

    if database_url:
        os.environ["MESCC_DATABASE_URL"] = database_url
    return Settings()


@contextmanager
def _database(
    command: str, *, migrate_now: bool | None = None
) -> Iterator[tuple[Engine, Session, Settings]]:
    """Engine and session of the configured database (migrated); failures are one line."""
    from sqlalchemy.exc import SQLAlchemyError

    from mescc.api import accounts
    from mescc.api.database import StartupError, create_db_engine, create_session_factory, migrate

    settings = _settings()
    try:
        engine = create_db_engine(settings.database_url)
    except OSError as error:
        _fail(command, f"cannot create the database: {error.strerror or error}")
        raise AssertionError("unreachable") from None
    try:
        if settings.migrate_at_start if migrate_now is None else migrate_now:
            migrate(
                engine,
                audit_key=settings.audit_chain_key(),
                token_max_age_days=settings.token_max_age_days,
            )
        factory = create_session_factory(engine, audit_key=settings.audit_chain_key())
        with factory() as session:
            yield engine, session, settings
    except (accounts.AccountError, StartupError) as error:
        _fail(command, str(error))
    except SQLAlchemyError as error:
        first = str(getattr(error, "orig", None) or error).strip().splitlines()
        _fail(command, f"database error: {first[0] if first else type(error).__name__}")
    finally:
        engine.dispose()


def _raise_open_file_limit(wanted: int) -> int:
    """Raise this process's open-file limit towards ``wanted`` (idle connections each hold a
    descriptor); the limit in force."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return wanted
    capped = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    # Above the hard limit needs privileges (root); otherwise up to the hard limit.
    for limits in ((wanted, max(hard, wanted)), (capped, hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, limits)
            return limits[0]
        except (ValueError, OSError):
            continue
    return soft


def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to bind  [default: MESCC_HOST, else 127.0.0.1]", show_default=False
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(help="Port  [default: MESCC_PORT, else 8000]", show_default=False),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="SQLAlchemy URL  [default: MESCC_DATABASE_URL, else the SQLite file "
            "mescc.sqlite3 in MESCC_DATA_DIR (default mescc-data)]",
            show_default=False,
        ),
    ] = None,
    access_log: Annotated[
        bool, typer.Option(help="Log each request line (path without query string; no bodies)")
    ] = True,
    limit_concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Answer 503 at once beyond this many requests in progress, instead of "
            "queueing work whose client may have given up  [default: no limit]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the web app and REST API (uvicorn, with the header limits of mescc.api.server)."""
    import uvicorn

    from mescc.api.database import StartupError, prepare_database
    from mescc.api.server import GuardedHttpToolsProtocol, install_access_log_redaction

    settings = _settings(database_url)
    try:
        engine, _chain = prepare_database(settings)  # once, before the workers start
    except StartupError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    engine.dispose()
    try:
        settings.session_secret()  # create the key files once, before the workers race
        settings.audit_chain_key()
    except OSError as error:
        _fail("serve", f"cannot write the key files in {settings.data_dir}: {error.strerror}")
    os.environ["MESCC_START_CHECKS_DONE"] = "true"  # the workers skip migrate + verify
    if database_url:
        os.environ["MESCC_DATABASE_URL"] = database_url
    limit = _raise_open_file_limit(settings.max_connections + 256)
    os.environ.setdefault("MESCC_MAX_CONNECTIONS", str(min(settings.max_connections, limit - 256)))
    bind_host = host or settings.host
    bind_port = port or settings.port
    typer.echo(f"mescc: serving on http://{bind_host}:{bind_port}", err=True)
    install_access_log_redaction()
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
        http=GuardedHttpToolsProtocol,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        backlog=4096,
        log_config=_log_config(),
    )


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, with the access log's filter that drops query strings."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {**LOGGING_CONFIG}
    config["filters"] = {"redact": {"()": "mescc.api.server.AccessLogRedaction"}}
    handlers = {name: dict(handler) for name, handler in LOGGING_CONFIG["handlers"].items()}
    handlers["access"]["filters"] = ["redact"]
    config["handlers"] = handlers
    return config


# ---- users -----------------------------------------------------------------------------


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


RoleOption = Annotated[str, typer.Option(help="clinician, integration (read-only system) or admin")]
TeamOption = Annotated[
    str | None, typer.Option("--team", help="Care team: who may see each other's assessments")
]


def users_add(
    username: Annotated[str, typer.Argument(help="The new user's name")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    role: RoleOption = "clinician",
    team: TeamOption = None,
) -> None:
    """Add a user (password from a prompt, or one line of standard input)."""
    from mescc.api import accounts

    password = _read_password(password_stdin)
    with _database("users add") as (_engine, session, _settings):
        accounts.create_user(session, username, password, role=role, care_team=team)
    typer.echo(f"user {username!r} added ({role}, team {team or '-'})", err=True)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


def users_list() -> None:
    """Every user: role, care team, whether active, live tokens."""
    from mescc.api import accounts

    with _database("users list") as (_engine, session, _settings):
        users = accounts.list_users(session)
    typer.echo("username\trole\tteam\tactive\tlive tokens\tcreated")
    for u in users:
        typer.echo(
            f"{u.username}\t{u.role}\t{u.care_team or '-'}\t{'yes' if u.is_active else 'no'}"
            f"\t{u.active_tokens}\t{_when(u.created_at)}"
        )


def users_disable(username: Annotated[str, typer.Argument(help="The user's name")]) -> None:
    """Disable a user: no login, no token works, open sessions end now."""
    from mescc.api import accounts

    with _database("users disable") as (_engine, session, _settings):
        accounts.disable_user(session, username)
    typer.echo(f"user {username!r} disabled; their sessions ended", err=True)


def users_enable(username: Annotated[str, typer.Argument(help="The user's name")]) -> None:
    """Enable a disabled user again (their old sessions stay ended)."""
    from mescc.api import accounts

    with _database("users enable") as (_engine, session, _settings):
        accounts.enable_user(session, username)
    typer.echo(f"user {username!r} enabled", err=True)


def users_set_password(
    username: Annotated[str, typer.Argument(help="The user's name")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Set a new password; the user's open sessions end."""
    from mescc.api import accounts

    password = _read_password(password_stdin)
    with _database("users set-password") as (_engine, session, _settings):
        accounts.set_password(session, username, password)
    typer.echo(f"password of {username!r} changed; their sessions ended", err=True)


# ---- tokens ----------------------------------------------------------------------------


def tokens_create(
    user: Annotated[str, typer.Option("--user", help="The user the token acts for")],
    label: Annotated[str, typer.Option(help="A note to recognise the token by")] = "",
    days: Annotated[
        int | None,
        typer.Option(min=1, max=3650, help="Lifetime in days [default: MESCC_TOKEN_MAX_AGE_DAYS]"),
    ] = None,
) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    from mescc.api import accounts

    with _database("tokens create") as (_engine, session, settings):
        token = accounts.create_token(
            session, user, label, max_age_days=days or settings.token_max_age_days
        )
        lifetime = days or settings.token_max_age_days
    typer.echo(token)
    typer.echo(
        f"Store this token now: it is not shown again. It expires in {lifetime} days.", err=True
    )


def tokens_list(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens")] = None,
) -> None:
    """Every token: id, user, label, state, created, expires, last used."""
    from mescc.api import accounts

    with _database("tokens list") as (_engine, session, _settings):
        tokens = accounts.list_tokens(session, user)
    typer.echo("id\tuser\tlabel\tstate\tcreated\texpires\tlast used")
    for t in tokens:
        typer.echo(
            f"{t.id}\t{t.username}\t{t.label or '-'}\t{t.state}\t{_when(t.created_at)}"
            f"\t{_when(t.expires_at)}\t{_when(t.last_used_at)}"
        )


def tokens_revoke(
    token_id: Annotated[
        int | None, typer.Argument(help="The token's id (`mescc tokens list`)")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Revoke every token of this user")
    ] = None,
) -> None:
    """Revoke one token (by id) or every token of a user; it stops working at once."""
    from mescc.api import accounts

    if (token_id is None) == (user is None):
        _fail("tokens revoke", "give a token id or --user NAME (one of them)")
    with _database("tokens revoke") as (_engine, session, _settings):
        if token_id is not None:
            accounts.revoke_token(session, token_id)
            done = f"token {token_id} revoked"
        else:
            assert user is not None
            done = f"{accounts.revoke_user_tokens(session, user)} token(s) of {user!r} revoked"
    typer.echo(done, err=True)


# ---- audit -----------------------------------------------------------------------------


def audit_verify(
    expect_head: Annotated[
        str | None,
        typer.Option(help="A head printed earlier (`rows:id:hash`): the chain must still hold it"),
    ] = None,
) -> None:
    """Verify the audit trail's hash chain: exit 0 when intact, 2 naming the first broken row.

    Prints the head (`rows:last id:last hash`); record it elsewhere to detect a cut-off tail
    later with --expect-head.
    """
    from mescc.api.database import verify_audit_chain

    with _database("audit verify") as (engine, _session, settings):
        report = verify_audit_chain(engine, settings.audit_chain_key())
    if not report.intact:
        _fail("audit verify", f"the chain is broken at {report.broken} ({report.rows} rows read)")
    if expect_head is not None:
        rows, _, rest = expect_head.partition(":")
        head_id, _, digest = rest.partition(":")
        if not (rows.isdigit() and head_id.isdigit() and len(digest) == 64):
            _fail("audit verify", f"--expect-head {expect_head!r}: allowed: rows:id:hash")
        if int(rows) > report.rows:
            _fail("audit verify", f"rows are missing: {report.rows} now, {rows} recorded")
        if not _chain_holds(engine, settings.audit_chain_key(), int(head_id), digest):
            _fail("audit verify", f"the recorded head (row id {head_id}) is no longer in the chain")
    typer.echo(f"audit trail intact: {report.rows} rows; head {report.head}")


def _chain_holds(engine: Engine, key: bytes, head_id: int, digest: str) -> bool:
    from sqlalchemy import select

    from mescc.api.models import AssessmentRecord

    with engine.connect() as connection:
        stored = connection.execute(
            select(AssessmentRecord.row_sha256).where(AssessmentRecord.id == head_id)
        ).scalar_one_or_none()
    return stored == digest


# ---- db --------------------------------------------------------------------------------


def db_migrate() -> None:
    """Apply the migrations (run as the database owner when the app has an insert-only role)."""
    with _database("db migrate", migrate_now=True):
        pass
    typer.echo("database migrated to the newest revision", err=True)


def db_grant_app_role(
    role: Annotated[str, typer.Argument(help="The PostgreSQL role the service connects as")],
) -> None:
    """PostgreSQL: grant the service's role what it needs and no more (run as the owner):
    the audit table INSERT and SELECT only, so it cannot UPDATE, DELETE, ALTER it or disable
    its triggers."""
    from mescc.api.database import grant_app_role

    with _database("db grant-app-role") as (engine, _session, _unused):
        grant_app_role(engine, role)
    typer.echo(f"role {role!r} granted the service's privileges", err=True)


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``users``, ``tokens``, ``audit`` and ``db`` to the ``mescc`` command."""
    app.command("serve")(serve)
    groups: list[tuple[str, str, list[tuple[str, Callable[..., None]]]]] = [
        (
            "users",
            "Users of the web service.",
            [
                ("add", users_add),
                ("list", users_list),
                ("disable", users_disable),
                ("enable", users_enable),
                ("set-password", users_set_password),
            ],
        ),
        (
            "tokens",
            "API tokens.",
            [("create", tokens_create), ("list", tokens_list), ("revoke", tokens_revoke)],
        ),
        ("audit", "The audit trail.", [("verify", audit_verify)]),
        (
            "db",
            "The service's database.",
            [("migrate", db_migrate), ("grant-app-role", db_grant_app_role)],
        ),
    ]
    for name, help_text, commands in groups:
        group = typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode=None)
        for command_name, function in commands:
            group.command(command_name)(function)
        app.add_typer(group, name=name)
