"""``dawn act``: record events in the project's outbox and deliver the actions they trigger.

Both commands run in a project folder (or below it) and read the ``[[action]]`` tables
of its ``dawn.toml``.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from dawn.cli._output import console, print_json

act_app = typer.Typer(
    name="act",
    help="Trigger actions (webhooks, commands, retraining) from events, through the outbox.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _project_actions() -> tuple[Any, list]:
    """The project around the current folder and its declared actions."""
    from dawn.act import actions_from_config
    from dawn.app.config import load_config
    from dawn.errors import SourceNotFoundError
    from dawn.store import Project, find_root

    root = find_root(Path.cwd())
    if root is None or not (root / "dawn.toml").is_file():
        raise SourceNotFoundError(f"no dawn.toml in {str(Path.cwd())!r} or any folder above it; "
                                  "run `dawn act` in a project folder whose dawn.toml declares "
                                  "[[action]] tables.")
    config = load_config(root / "dawn.toml")
    actions = actions_from_config(config.raw.get("action", []), config.base_dir)
    return Project.open(root), actions


@act_app.command("emit")
def emit(
    event: Annotated[str, typer.Argument(
        help="Event name: drift, performance, prediction, explanation or your own.")],
    payload: Annotated[str, typer.Option(
        "--payload", help="Event data as a JSON object, e.g. '{\"value\": 0.71}'.")] = "{}",
    key: Annotated[str | None, typer.Option(
        "--key", help="Identifies this occurrence: the same event and key are queued once "
        "(default: a hash of the payload).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Record EVENT in the outbox for every action table it triggers (delivered by `deliver`)."""
    from dawn.act import emit as emit_event
    from dawn.errors import ConfigError

    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--payload is not valid JSON ({exc.msg} at character {exc.pos}); "
                          "give an object such as '{\"value\": 0.71}'.") from None
    project, actions = _project_actions()
    with project:
        result = emit_event(project, event, data, actions=actions, key=key)
    if as_json:
        print_json({"event": event, **result.to_dict()})
        return
    if not actions:
        console.print("[yellow]no \\[\\[action]] tables in dawn.toml[/]: nothing to trigger.")
    elif not result and not result.suppressed:
        console.print(f"event [bold]{event}[/] triggers none of the {len(actions)} actions.",
                      highlight=False)
    for item in result.enqueued:
        console.print(f"queued outbox item {item}", highlight=False)
    for item in result.duplicates:
        console.print(f"already queued: outbox item {item} (same event and key)",
                      highlight=False)
    for name, why in result.suppressed.items():
        console.print(f"[yellow]suppressed[/] {name}: {why.replace('_', ' ')}", highlight=False)


@act_app.command("deliver")
def deliver(
    once: Annotated[bool, typer.Option(
        "--once", help="Deliver what is pending (with retries) and exit; without it, keep "
        "delivering until interrupted.")] = False,
    lease: Annotated[float, typer.Option(
        "--lease", help="Seconds an item is reserved for this worker; another worker takes "
        "it over after that if this one dies.")] = 60.0,
    poll: Annotated[float, typer.Option(
        "--poll", help="Seconds between looks at the outbox when nothing is due.")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Perform the actions waiting in the project's outbox (the delivery worker)."""
    from dawn.act import deliver as deliver_items

    project, actions = _project_actions()
    stop = threading.Event()
    with project:
        if not once and not as_json:
            console.print(f"delivering actions of {project.root} (Ctrl-C to stop)",
                          highlight=False)
        try:
            stats = deliver_items(project, actions, once=once, lease=lease, poll=poll, stop=stop)
        except KeyboardInterrupt:
            stop.set()
            raise typer.Exit(130) from None
        failed = project.outbox.items("failed", limit=stats.failed) if stats.failed else []
    if as_json:
        print_json({**stats.to_dict(),
                    "failures": [{"id": i.id, "error": i.last_error} for i in failed]})
        return
    console.print(f"delivered {stats.delivered}, retried {stats.retried}, "
                  f"failed {stats.failed}", highlight=False)
    if stats.failed:
        for item in failed[:5]:
            console.print(f"[red]failed[/] item {item.id}: {item.last_error}", highlight=False)
