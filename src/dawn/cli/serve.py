"""``dawn serve``: the project's models over HTTP (FastAPI + uvicorn)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dawn.cli._output import console


def serve(
    host: Annotated[str | None, typer.Option(
        "--host", help="Address to listen on (default: [serve] host or 127.0.0.1); anything "
        "but loopback needs DAWN_API_KEY.")] = None,
    port: Annotated[int | None, typer.Option(
        "--port", help="Port to listen on (default: [serve] port or 8000).")] = None,
    project: Annotated[Path, typer.Option(
        "--project", help="The project folder (default: this one or the nearest above).")
    ] = Path("."),
) -> None:
    """Serve the project's models until Ctrl-C: predict, explain, drift, actions.

    With DAWN_API_KEY set, /v1 needs 'Authorization: Bearer <key>'; without it the server
    only listens on a loopback address.
    """
    from dawn.serve.app import run
    from dawn.serve.auth import api_key_from_env, check_listen
    from dawn.serve.service import ServeSettings

    settings = ServeSettings.from_project(project)
    host = host or settings.host
    port = settings.port if port is None else port
    key = api_key_from_env()
    check_listen(host, key)
    shown = f"[{host}]" if ":" in host else host
    console.print(f"serving [bold]{project.resolve()}[/] at http://{shown}:{port} "
                  f"(API docs at /docs; {'API key required' if key else 'no API key'}); "
                  "Ctrl-C stops", highlight=False)
    run(project, host=host, port=port, api_key=key)
