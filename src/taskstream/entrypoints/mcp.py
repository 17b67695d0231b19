"""The assistant's tools over MCP (the official SDK's `MCPServer`).

- Streamable HTTP at `/mcp` on the API (stateless, JSON answers, so any `api` process
  serves any request), as an OAuth resource server: the bearer token is the user's access
  token or a personal access token, checked by `ApiTokenVerifier`; the protected-resource
  metadata is served at `/.well-known/oauth-protected-resource/mcp`.
- stdio (`taskstream mcp`) for desktop clients, for the user a personal access token names.

Every tool is the one `chat/tools.py` defines: the same argument schema, the same use
case, the same typed result (sent as structured content), for the caller alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict
from starlette.applications import Starlette

from taskstream import __version__
from taskstream.app.ports import Principal
from taskstream.chat.tools import SPECS, Tools, ToolSpec
from taskstream.domain.errors import DomainError, Unauthorized, ValidationFailed
from taskstream.settings import Settings

_CLIENT_ID = "taskstream"
_INSTRUCTIONS = (
    "Manage the user's tasks: add, list, search, update, complete, reopen and delete them, "
    "and set reminders. Dates are the user's local date (YYYY-MM-DD) and time (HH:MM); "
    "moments carry an offset."
)

Caller = Callable[[], Principal]
Verify = Callable[[str], Any]


class _RawArguments(ArgModelBase):
    """Hands the arguments to the tool as they came: the tool's own model validates them."""

    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True)

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": dict(self.model_extra or {})}


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema()
    schema.pop("title", None)
    return schema


def _tool(spec: ToolSpec, tools: Tools, caller: Caller) -> Tool:
    async def run(arguments: dict[str, Any]) -> BaseModel:
        try:
            return await tools.call(caller(), spec.name, arguments)
        except DomainError as exc:
            raise ToolError(_described(exc)) from exc

    reads = spec.name in {"list_tasks", "search_tasks"}
    return Tool(
        fn=run,
        name=spec.name,
        description=spec.description,
        annotations=ToolAnnotations(
            read_only_hint=reads,
            destructive_hint=spec.name == "delete_task",
            idempotent_hint=reads or spec.name in {"complete_task", "reopen_task"},
            open_world_hint=False,
        ),
        parameters=_schema(spec.arguments),
        fn_metadata=FuncMetadata(arg_model=_RawArguments, output_model=spec.result),
        is_async=True,
    )


def _described(exc: DomainError) -> str:
    if isinstance(exc, ValidationFailed):
        fields = "; ".join(f"{p.field}: {p.message} ({p.code})" for p in exc.problems)
        return f"{exc.code}: {fields}"
    return f"{exc.code}: {exc.message}"


def mcp_server(
    tools: Tools,
    caller: Caller,
    *,
    auth: AuthSettings | None = None,
    verifier: ApiTokenVerifier | None = None,
) -> MCPServer:
    return MCPServer(
        "taskstream",
        instructions=_INSTRUCTIONS,
        version=__version__,
        token_verifier=verifier,
        auth=auth,
        tools=[_tool(spec, tools, caller) for spec in SPECS.values()],
        log_level="WARNING",
    )


class ApiTokenVerifier:
    """The SDK's token verifier over our own tokens: a JWT access token (its signature,
    issuer, audience and expiry checked) or a personal access token."""

    def __init__(self, principal_of: Callable[[str], Any], resource: str) -> None:
        self._principal_of = principal_of
        self._resource = resource

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            principal: Principal = await self._principal_of(token)
        except Unauthorized:
            return None
        return AccessToken(
            token=token,
            client_id=_CLIENT_ID,
            scopes=[],
            resource=self._resource,
            subject=principal.user_id,
            claims={"timezone": principal.timezone},
        )


def _authenticated() -> Principal:
    token = get_access_token()
    if token is None or token.subject is None:  # the SDK refuses such requests before
        raise ToolError("not_authenticated: send a bearer token")
    timezone = (token.claims or {}).get("timezone", "UTC")
    return Principal(user_id=token.subject, timezone=str(timezone))


def allowed_hosts(settings: Settings) -> list[str]:
    """The Host headers /mcp answers: localhost, the configured host and public URL, and
    TASKSTREAM_ALLOWED_HOSTS; any other gets 421 (DNS-rebinding protection)."""
    hosts = {"127.0.0.1:*", "localhost:*", "[::1]:*", f"{settings.host}:*", settings.host}
    public = settings.public_base_url().split("://", 1)[-1].split("/", 1)[0]
    hosts.add(public)
    if ":" not in public:
        hosts.add(f"{public}:*")
    hosts |= {h.strip() for h in settings.allowed_hosts.split(",") if h.strip()}
    return sorted(hosts)


def http_app(
    tools: Tools, settings: Settings, principal_of: Callable[[str], Any], path: str
) -> tuple[MCPServer, Starlette]:
    """The MCP server over streamable HTTP, and its ASGI app (routes `path` and its
    protected-resource metadata). The host's lifespan must run `session_manager.run()`."""
    base = settings.public_base_url()
    resource = base + path
    auth = AuthSettings(
        issuer_url=base,
        resource_server_url=resource,
        # Our verifier checks that a token is one of ours (a JWT with our audience, or a
        # personal access token), so the SDK need not compare resource indicators.
        validate_token_resource=False,
    )
    server = mcp_server(
        tools, _authenticated, auth=auth, verifier=ApiTokenVerifier(principal_of, resource)
    )
    hosts = allowed_hosts(settings)
    origins = [f"http://{h}" for h in hosts] + [f"https://{h}" for h in hosts]
    app = server.streamable_http_app(
        streamable_http_path=path,
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
        ),
    )
    return server, app


async def serve_stdio(settings: Settings, token: str) -> None:
    """Serve the tools over stdin/stdout for the user the personal access token names.

    Runs against the database directly; the events of its writes go out through the
    outbox, published by the running API's relay. Raises Unauthorized for a bad token."""
    from taskstream.bootstrap import build

    container = build(settings)
    try:
        await container.database.migrate()
        principal = await container.access_tokens.principal(token)
        server = mcp_server(container.tools, lambda: principal)
        await server.run_stdio_async()
    finally:
        await container.database.dispose()
