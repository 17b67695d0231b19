"""The `taskstream` command: run the system, manage it, and use it as a person would."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import httpx
import typer
from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from taskstream.settings import Settings

if TYPE_CHECKING:
    from taskstream.bootstrap import EmbeddedContainer

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
user_app = typer.Typer(help="Manage accounts directly in the database.", no_args_is_help=True)
tasks_app = typer.Typer(help="Your tasks, through the API.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(tasks_app, name="tasks")
console = Console()
errors = Console(stderr=True)


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, max=64, help="Processes serving HTTP (default: TASKSTREAM_WORKERS, 1)."
        ),
    ] = None,
) -> None:
    """Run the embedded shape: the whole system on one port, in one process or several."""
    from taskstream.bootstrap import build
    from taskstream.entrypoints.api.app import create_app
    from taskstream.entrypoints.server import serve, serve_workers

    settings = Settings()
    host = settings.host if host is None else host
    port = settings.port if port is None else port
    workers = settings.workers if workers is None else workers
    console.print(f"taskstream on http://{host}:{port} (OpenAPI: /api/v1/openapi.json)")
    if workers == 1:
        serve(create_app(build(settings)), host, port, settings)
        return
    if settings.metrics_port is not None:
        _fail("TASKSTREAM_METRICS_PORT serves one process's metrics: leave it empty with workers.")
    if ":memory:" in settings.sqlalchemy_url() or settings.sqlalchemy_url().endswith("://"):
        _fail("Workers share the database: give TASKSTREAM_DATABASE_URL a file, not memory.")
    # Done once, before the workers start: each would race to do it.
    settings.signing_secret()
    asyncio.run(_migrate(settings))
    serve_workers(
        "taskstream.entrypoints.api.app:worker_app", host, port, settings, workers=workers
    )


async def _migrate(settings: Settings) -> None:
    from taskstream.adapters.db.database import Database

    database = Database(settings.sqlalchemy_url())
    try:
        await database.migrate()
    finally:
        await database.dispose()


class ServiceName(StrEnum):
    API = "api"
    RECURRING = "recurring"
    REMINDERS = "reminders"
    NOTIFIER = "notifier"
    AUDIT = "audit"
    SYNC = "sync"


@app.command()
def serve(
    service: Annotated[ServiceName, typer.Argument(help="The service to run.")],
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Run one service of the distributed shape, next to its Dapr sidecar.

    Needs TASKSTREAM_DAPR_HTTP_PORT; the JWT secret and the database URL come from the Dapr
    secret store (keys jwt-secret and database-url). `scripts/distributed.sh up` runs
    every service this way."""
    from taskstream.bootstrap import SQL_SERVICES, build_service
    from taskstream.entrypoints.api.app import create_app
    from taskstream.entrypoints.server import serve as serve_app

    settings = Settings()
    if settings.dapr_http_port is None:
        _fail("Set TASKSTREAM_DAPR_HTTP_PORT to the HTTP port of this service's Dapr sidecar.")
    if settings.app_api_token is None:
        _fail(
            "Set TASKSTREAM_APP_API_TOKEN (the sidecar's APP_API_TOKEN): without it anyone "
            "could call the routes only the sidecar may call."
        )
    settings = _with_secrets(settings, needs_database=service.value in SQL_SERVICES)
    host = settings.host if host is None else host
    port = settings.port if port is None else port
    container = build_service(settings, service.value)
    console.print(f"taskstream {service.value} on http://{host}:{port}")
    serve_app(create_app(container, migrate=service is ServiceName.API), host, port, settings)


def _with_secrets(settings: Settings, *, needs_database: bool) -> Settings:
    """`settings` with the JWT secret and database URL read from the Dapr secret store."""
    from taskstream.adapters.dapr import DaprError, Sidecar

    assert settings.dapr_http_port is not None
    keys = ["jwt-secret", "database-url"] if needs_database else ["jwt-secret"]
    token = settings.dapr_api_token

    async def read() -> dict[str, str]:
        sidecar = Sidecar(settings.dapr_http_port or 0, token.get_secret_value() if token else None)
        try:
            return await sidecar.secrets(settings.secret_store_name, keys)
        finally:
            await sidecar.close()

    try:
        found = asyncio.run(read())
    except (DaprError, httpx.HTTPError) as exc:
        _fail(f"Could not read {', '.join(keys)} from the secret store: {exc}")
    update: dict[str, Any] = {"jwt_secret": SecretStr(found["jwt-secret"])}
    if needs_database:
        update["database_url"] = found["database-url"]
    return settings.model_copy(update=update)


@app.command()
def migrate() -> None:
    """Apply the database migrations."""
    asyncio.run(_migrate(Settings()))
    console.print("[green]Database is up to date.[/green]")


@user_app.command("create")
def user_create(
    email: str,
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    password: Annotated[
        str | None, typer.Option(help="Asked for when not given (or TASKSTREAM_PASSWORD).")
    ] = None,
) -> None:
    """Create an account."""
    from taskstream.bootstrap import build
    from taskstream.domain.errors import DomainError

    secret = password or os.environ.get("TASKSTREAM_PASSWORD") or getpass.getpass("Password: ")

    async def run() -> str:
        container = build(Settings())
        try:
            await container.database.migrate()
            user = await container.auth.sign_up(email, secret, timezone)
            return user.id
        finally:
            await container.database.dispose()

    try:
        user_id = asyncio.run(run())
    except DomainError as exc:
        _fail(exc.message)
    console.print(f"Created {escape(email)} ({user_id}).")


# --- talking to the API ------------------------------------------------------------------


def _credentials_path() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "taskstream" / "credentials.json"


def _fail(message: str) -> NoReturn:
    errors.print(escape(message), style="red")
    raise typer.Exit(1)


class _Api:
    """An API client that keeps its tokens on disk and refreshes them when they expire."""

    def __init__(self) -> None:
        self.url = Settings().api_url.rstrip("/")
        self.http = httpx.Client(base_url=f"{self.url}/api/v1", timeout=30)
        path = _credentials_path()
        self.saved: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def save(self, tokens: dict[str, Any]) -> None:
        path = _credentials_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.saved[self.url] = tokens
        path.touch(mode=0o600)
        path.write_text(json.dumps(self.saved))

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        tokens = self.saved.get(self.url)
        if tokens is None:
            _fail("Log in first: taskstream login EMAIL")
        response = self._send(method, path, tokens["access_token"], **kwargs)
        if response.status_code == 401:
            refreshed = self.http.post(
                "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
            if refreshed.status_code != 200:
                _fail("Your session has ended: taskstream login EMAIL")
            self.save(refreshed.json())
            response = self._send(method, path, refreshed.json()["access_token"], **kwargs)
        return _body(response)

    def _send(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(
                method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs
            )
        except httpx.TransportError:
            _fail(f"No taskstream answers at {self.url}; start it with: taskstream up")


def _body(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            problem = response.json()
        except ValueError:
            _fail(f"The server answered {response.status_code}: {response.text[:200]}")
        details = "; ".join(f"{e['field']}: {e['message']}" for e in problem.get("errors") or [])
        _fail(problem.get("detail", response.text) + (f" ({details})" if details else ""))
    return response.json() if response.content else None


@app.command()
def login(
    email: str,
    password: Annotated[str | None, typer.Option(help="Asked for when not given.")] = None,
) -> None:
    """Log in and keep the tokens for the other commands."""
    api = _Api()
    secret = password or os.environ.get("TASKSTREAM_PASSWORD") or getpass.getpass("Password: ")
    try:
        response = api.http.post("/auth/login", json={"email": email, "password": secret})
    except httpx.TransportError:
        _fail(f"No taskstream answers at {api.url}; start it with: taskstream up")
    api.save(_body(response))
    console.print(f"Logged in as {email}.")


@app.command()
def logout() -> None:
    """Forget the saved tokens and end the session on the server."""
    api = _Api()
    tokens = api.saved.pop(api.url, None)
    if tokens is not None:
        _credentials_path().write_text(json.dumps(api.saved))
        try:
            api.http.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})
        except httpx.TransportError:
            _fail(f"Forgot the tokens, but no taskstream answers at {api.url} to end the session.")
    console.print("Logged out.")


def _parse_due(text: str, timezone: str) -> dict[str, str]:
    """'2026-12-01' (all day), '2026-12-01 17:30', or words the planner reads: 'tomorrow 6pm'."""
    try:
        if " " in text.strip() or "T" in text:
            moment = datetime.fromisoformat(text.strip())
            return {"due_date": moment.date().isoformat(), "due_time": moment.strftime("%H:%M")}
        return {"due_date": date.fromisoformat(text.strip()).isoformat()}
    except ValueError:
        read = _understood(f"task {text}", timezone) or {}
        if "due_date" in read:
            return {k: read[k] for k in ("due_date", "due_time") if k in read}
        _fail(f"'{text}' is not a due date like 2026-12-01, 2026-12-01 17:30 or 'friday 3pm'.")


@tasks_app.command("add")
def tasks_add(
    text: Annotated[
        str, typer.Argument(help='The task, in plain words: "call mom tomorrow 6pm #family p2".')
    ],
    due: Annotated[
        str | None, typer.Option(help="2026-12-01, '2026-12-01 17:30' or words: 'friday 3pm'.")
    ] = None,
    priority: Annotated[str | None, typer.Option(help="none, low, medium, high or urgent.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag; repeat for several.")] = None,
    repeat: Annotated[str | None, typer.Option(help="An RRULE, e.g. FREQ=WEEKLY;BYDAY=MO.")] = None,
    description: str = "",
    literal: Annotated[
        bool, typer.Option("--literal", help="Take the text as the title, word for word.")
    ] = False,
) -> None:
    """Add a task; dates, priorities, tags and repeats in the text are understood."""
    api = _Api()
    timezone = api.call("GET", "/users/me")["timezone"]
    body: dict[str, Any] = {"title": text}
    if not literal:
        body = _understood(text, timezone) or body
    if due:
        body |= _parse_due(due, timezone)
    if priority:
        body["priority"] = priority
    if tag:
        body["tags"] = [*body.get("tags", []), *tag]
    if repeat:
        body["recurrence"] = {"rule": repeat}
    if description:
        body["description"] = description
    task = api.call("POST", "/tasks", json=body)
    console.print(f"Added [bold]{escape(task['title'])}[/bold] ({task['id'][:8]}).")
    understood = _described(task, timezone)
    if understood:
        console.print(f"[dim]Understood: {escape(understood)}.[/dim]")


def _understood(text: str, timezone: str) -> dict[str, Any] | None:
    """The add_task arguments the offline planner reads in `text`, if it reads a task."""
    from taskstream.chat.offline import plan
    from taskstream.chat.plan import PlanContext

    context = PlanContext(now=datetime.now(UTC), timezone=timezone)
    for said in (text, f"add {text}"):
        planned = plan(said, context)
        if len(planned.calls) == 1 and planned.calls[0].name == "add_task":
            return dict(planned.calls[0].arguments)
    return None


def _described(task: dict[str, Any], timezone: str) -> str:
    from zoneinfo import ZoneInfo

    from taskstream.chat.answers import details
    from taskstream.entrypoints.api.schemas import TaskPublic

    public = TaskPublic.model_validate(task)
    return ", ".join(details(public, ZoneInfo(timezone), datetime.now(UTC)))


@tasks_app.command("list")
def tasks_list(
    status: Annotated[str | None, typer.Option(help="open or done.")] = "open",
    tag: Annotated[list[str] | None, typer.Option(help="Only tasks with all these tags.")] = None,
    search: Annotated[str | None, typer.Option("--search", "-s", help="Words to find.")] = None,
    sort: Annotated[str, typer.Option(help="due, priority, created, updated or title.")] = "due",
) -> None:
    """List your tasks."""
    params: dict[str, Any] = {"sort": sort, "limit": 200}
    if status and status != "all":
        params["status"] = status
    if tag:
        params["tags_all"] = tag
    if search:
        params["q"] = search
    page = _Api().call("GET", "/tasks", params=params)
    table = Table("id", "title", "priority", "due", "tags", "status")
    for task in page["data"]:
        due = task["due_date"] or ""
        if task["due_time"]:
            due += " " + task["due_time"][:5]
        style = "red" if task["overdue"] else None
        cells = (task["id"][:8], task["title"], task["priority"], due, ", ".join(task["tags"]))
        table.add_row(*(Text(cell) for cell in (*cells, task["status"])), style=style)
    console.print(table)


@tasks_app.command("done")
def tasks_done(
    task_id: Annotated[str, typer.Argument(help="The id, or its first characters.")],
) -> None:
    """Mark a task done."""
    api = _Api()
    full_id = _resolve(api, task_id)
    task = api.call("POST", f"/tasks/{full_id}/complete")
    console.print(f"Done: [bold]{escape(task['title'])}[/bold].")


def _resolve(api: _Api, prefix: str) -> str:
    if len(prefix) == 36:
        return prefix
    matches: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200, "status": "open"}
        if cursor:
            params["cursor"] = cursor
        page = api.call("GET", "/tasks", params=params)
        matches += [t["id"] for t in page["data"] if t["id"].startswith(prefix)]
        cursor = page["next_cursor"]
        if not cursor:
            break
    if len(matches) != 1:
        _fail(f"'{prefix}' matches {len(matches)} open tasks; give more of the id.")
    return matches[0]


@app.command()
def chat(
    conversation: Annotated[
        str | None, typer.Option(help="Go on with this conversation (its id).")
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Say this one thing, then stop.")
    ] = None,
) -> None:
    """Talk to the assistant: it acts on your tasks and says what it did.

    Each answer is followed by the tool calls it made. Type /new for a new conversation,
    /history to see this one again, /quit (or Ctrl-D) to leave."""
    api = _Api()
    if conversation:
        _show_history(api, conversation)
    if message is not None:
        _say(api, message, conversation)
        return
    console.print("[dim]Talk to taskstream (/new, /history, /quit).[/dim]")
    while True:
        try:
            said = console.input("[bold]you>[/bold] ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if not said:
            continue
        if said in {"/quit", "/exit"}:
            return
        if said == "/new":
            conversation = None
            console.print("[dim]A new conversation.[/dim]")
        elif said == "/history":
            if conversation:
                _show_history(api, conversation)
        else:
            conversation = _say(api, said, conversation)


def _say(api: _Api, message: str, conversation: str | None) -> str:
    answer = api.call("POST", "/chat", json={"message": message, "conversation_id": conversation})
    _show_answer(answer["response"], answer["tool_calls"])
    return str(answer["conversation_id"])


def _show_answer(response: str, calls: list[dict[str, Any]]) -> None:
    console.print(f"[bold cyan]taskstream>[/bold cyan] {escape(response)}")
    for call in calls:
        arguments = ", ".join(f"{k}={json.dumps(v)}" for k, v in call["arguments"].items())
        error = call.get("error")
        outcome = f"refused: {error['code']}" if error else "ok"
        console.print(f"[dim]  · {escape(call['name'])}({escape(arguments)}) → {outcome}[/dim]")


def _show_history(api: _Api, conversation: str) -> None:
    for message in api.call("GET", f"/conversations/{conversation}/messages")["data"]:
        if message["role"] == "user":
            console.print(f"[bold]you>[/bold] {escape(message['content'])}")
        else:
            _show_answer(message["content"], message["tool_calls"])


@app.command()
def mcp(
    token: Annotated[
        str | None,
        typer.Option(
            envvar="TASKSTREAM_TOKEN",
            help="A personal access token (POST /api/v1/tokens); or set TASKSTREAM_TOKEN.",
        ),
    ] = None,
) -> None:
    """Serve the assistant's tools to a desktop MCP client over stdio."""
    from taskstream.domain.errors import Unauthorized
    from taskstream.entrypoints.mcp import serve_stdio

    if not token:
        _fail("Give a personal access token: --token, or TASKSTREAM_TOKEN.")
    try:
        asyncio.run(serve_stdio(Settings(), token))
    except Unauthorized as exc:
        _fail(exc.message)


@app.command()
def openapi() -> None:
    """Print the OpenAPI document of the HTTP API (every service's routes) as JSON."""
    from taskstream.entrypoints.api.app import openapi_document

    typer.echo(json.dumps(openapi_document(), indent=2, sort_keys=True))


def main() -> None:
    app()


# --- dead letters ------------------------------------------------------------------------

dead_letters_app = typer.Typer(
    help="Messages that kept failing: look at them and deliver them again.",
    no_args_is_help=True,
)
app.add_typer(dead_letters_app, name="dead-letters")


@dead_letters_app.command("list")
def dead_letters_list(
    replayed: Annotated[bool, typer.Option(help="Also show those replayed already.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
) -> None:
    """List the dead letters, oldest first."""
    from taskstream.app.ports import DeadLetter
    from taskstream.bootstrap import build

    async def run() -> list[DeadLetter]:
        container = build(Settings())
        try:
            await container.database.migrate()
            return await container.dead_letters.list(include_replayed=replayed, limit=limit)
        finally:
            await container.database.dispose()

    letters = asyncio.run(run())
    if not letters:
        console.print("No dead letters.")
        return
    table = Table()
    headers = ["id", "subscription", "event", "type", "attempts", "failed at", "error"]
    for header in [*headers, "replayed at"] if replayed else headers:
        table.add_column(header, overflow="fold")  # ids in full: they are what replay takes
    for letter in letters:
        cells = [
            letter.id,
            letter.subscription,
            letter.event.id,
            letter.event.type.value,
            str(letter.attempts),
            letter.failed_at.isoformat(timespec="seconds"),
            letter.error.splitlines()[0][:120] if letter.error else "",
        ]
        if replayed:
            at = letter.replayed_at
            cells.append(at.isoformat(timespec="seconds") if at else "")
        table.add_row(*(Text(cell) for cell in cells))
    console.print(table)


@dead_letters_app.command("replay")
def dead_letters_replay(
    letter_id: Annotated[str | None, typer.Argument(help="The dead letter's id.")] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
) -> None:
    """Deliver dead letters again to the subscriber that failed on them.

    In the distributed shape (TASKSTREAM_DAPR_HTTP_PORT set to a sidecar's port, e.g. the
    api's) the event is published again to its topic: its consumers take it again, and
    those that handled it already skip it."""
    from taskstream.adapters.dapr import DaprError, DaprEventBus, Sidecar
    from taskstream.bootstrap import build

    if (letter_id is None) == (not replay_all):
        _fail("Give one dead letter's id, or --all.")
    settings = Settings()
    distributed = settings.dapr_http_port is not None
    if distributed:
        settings = _with_secrets(settings, needs_database=True)

    async def republish(container: EmbeddedContainer, letter_id: str) -> bool:
        assert settings.dapr_http_port is not None
        token = settings.dapr_api_token
        sidecar = Sidecar(settings.dapr_http_port, token.get_secret_value() if token else None)
        try:
            letter = await container.dead_letters.get(letter_id)
            if letter is None:
                return False
            await DaprEventBus(sidecar, settings.pubsub_name, "cli").publish(letter.event)
        except (DaprError, httpx.HTTPError) as exc:
            errors.print(f"Publishing {letter_id} failed: {exc}")
            return False
        finally:
            await sidecar.close()
        await container.dead_letters.mark_replayed(letter_id)
        return True

    async def run() -> tuple[list[str], list[str]]:
        container = build(settings)
        try:
            await container.database.migrate()
            # The handlers only: events they write are relayed by the running server.
            for service in container.services:
                for handles in service.subscriptions():
                    container.bus.subscribe(
                        handles.name, handles.topic, handles.types, handles.handler
                    )
            if replay_all:
                ids = [letter.id for letter in await container.dead_letters.list(limit=100_000)]
            else:
                assert letter_id is not None
                letter = await container.dead_letters.get(letter_id)
                if letter is None or letter.replayed_at is not None:
                    _fail(f"There is no dead letter {letter_id} waiting for a replay.")
                ids = [letter.id]
            handled: list[str] = []
            failed: list[str] = []
            for one in ids:
                if distributed:
                    ok = await republish(container, one)
                else:
                    try:
                        ok = await container.bus.replay(one)
                    except KeyError:  # no subscriber of that name in this version
                        ok = False
                (handled if ok else failed).append(one)
            return handled, failed
        finally:
            await container.database.dispose()

    handled, failed = asyncio.run(run())
    for one in handled:
        console.print(f"Replayed {one}.")
    if failed:
        _fail(f"Still failing: {', '.join(failed)}.")
    if not handled:
        console.print("No dead letters.")
