"""``python -m mescc.api``: the service's commands (``serve``, ``users``, ``tokens``) alone."""

from __future__ import annotations

import typer

from mescc.api.cli import register

app = typer.Typer(help="mescc web service", no_args_is_help=True)
register(app)

if __name__ == "__main__":
    app()
