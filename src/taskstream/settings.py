"""Every setting of taskstream, read from TASKSTREAM_* environment variables or `.env`."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TASKSTREAM_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # `KEY=` in .env means "the default", as .env.example shows
        extra="ignore",
    )

    data_dir: Path = Field(
        default=Path(".taskstream"),
        description="Where the embedded shape keeps its SQLite database and generated secret.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; empty means SQLite in data_dir. "
        "PostgreSQL: postgresql+asyncpg://user:password@host:5432/taskstream",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Processes serving the embedded shape's HTTP on one port; one of them "
        "also runs the relay, the scheduler and the consumers. Log-in and sign-up limits "
        "are counted per process.",
    )

    jwt_secret: SecretStr | None = Field(
        default=None,
        description="HS256 signing secret, at least 32 bytes. Empty: generated once and "
        "kept in data_dir/jwt-secret (embedded shape only).",
    )
    jwt_issuer: str = "taskstream"
    jwt_audience: str = "taskstream-api"
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)

    login_attempts_per_account: int = Field(default=10, ge=1)
    login_attempts_per_address: int = Field(default=50, ge=1)
    login_window_seconds: int = Field(default=300, ge=1)
    signups_per_address: int = Field(default=50, ge=1)
    signup_window_seconds: int = Field(default=600, ge=1)

    default_timezone: str = "UTC"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)

    smtp_host: str | None = Field(
        default=None, description="SMTP server for reminder e-mails; empty: no e-mail."
    )
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_sender: str = "taskstream@localhost"
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=5, ge=1)
    delivery_lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="How long one attempt at a webhook or e-mail delivery may take before "
        "another deliverer may take it over (after a crash it resumes then); keep it well "
        "over the webhook timeout.",
    )
    webhook_allow: str = Field(
        default="",
        description="Hosts and networks webhooks may reach although they are not public, "
        "comma-separated (hooks.internal, 10.1.0.0/16, 127.0.0.1); empty: public only.",
    )

    sync_buffer_size: int = Field(
        default=1000, ge=1, description="Recent messages kept per user for reconnecting clients."
    )
    sync_queue_size: int = Field(
        default=256, ge=1, description="Messages a slow connection may fall behind by."
    )

    dapr_http_port: int | None = Field(
        default=None,
        description="The HTTP port of this service's Dapr sidecar (distributed shape only; "
        "`taskstream serve` needs it).",
    )
    dapr_api_token: SecretStr | None = Field(
        default=None, description="Sent to the sidecar as dapr-api-token (its DAPR_API_TOKEN)."
    )
    app_api_token: SecretStr | None = Field(
        default=None,
        description="Required from the sidecar on Dapr-only routes (its APP_API_TOKEN).",
    )
    pubsub_name: str = "pubsub"
    state_store_name: str = "statestore"
    secret_store_name: str = Field(
        default="secretstore",
        description="The Dapr secret store holding jwt-secret and database-url.",
    )
    api_app_id: str = Field(default="api", description="The Dapr app id of the api service.")

    web_dir: Path = Field(
        default=Path("frontend/out"),
        description="The built web app (`scripts/web.sh build`), served at / by the api "
        "service; nothing is served there when the folder is missing.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as text, or as JSON objects with trace ids."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_port: int | None = Field(
        default=None,
        description="Serve the Prometheus metrics on this port apart from the public one; "
        "empty: on /metrics of the service's own port.",
    )

    api_url: str = Field(
        default="http://127.0.0.1:8000", description="Where the CLI finds the API."
    )

    chat_max_message_chars: int = Field(
        default=2000, ge=1, le=100_000, description="The longest chat message accepted."
    )
    llm_base_url: str | None = Field(
        default=None,
        description="An OpenAI-compatible API (https://api.openai.com/v1, Ollama's "
        "http://127.0.0.1:11434/v1, vLLM...); empty: the offline planner alone.",
    )
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = Field(default=20.0, gt=0)

    public_url: str | None = Field(
        default=None,
        description="The API's address as clients see it (the MCP resource's base); "
        "empty: http://HOST:PORT.",
    )
    allowed_hosts: str = Field(
        default="",
        description="Extra Host headers the MCP endpoint accepts, comma separated "
        "(host or host:port; host:* for any port).",
    )

    def public_base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'taskstream.db'}"

    def signing_secret(self) -> str:
        """The configured JWT secret, or one generated and persisted in data_dir."""
        if self.jwt_secret is not None:
            value = self.jwt_secret.get_secret_value()
            if len(value.encode()) < 32:
                raise ValueError("TASKSTREAM_JWT_SECRET must be at least 32 bytes long.")
            return value
        path = self.data_dir / "jwt-secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.data_dir.chmod(0o700)  # what is kept here is private, whatever the umask
            path.touch(mode=0o600)
            path.chmod(0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip()
