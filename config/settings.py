"""All configuration in one pydantic-settings class, read from CONSULTRACK_* variables or a .env file."""

from __future__ import annotations

from functools import lru_cache
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
PROCESS_TEMPLATES_DIR = PACKAGE_DIR / "processes"
DIRECTORY_SAMPLES_DIR = PACKAGE_DIR / "directory"
HISTORY_DIR = PACKAGE_DIR / "history"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSULTRACK_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Holds the SQLite file, Prefect's home and the mail sink.")
    database_url: str | None = Field(default=None, description="Any SQLAlchemy URL; SQLite in data_dir when unset.")
    database_lock_wait_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="How long a change waits for a lock another writer holds (SQLite's "
        "busy timeout, PostgreSQL's lock_timeout) before it is refused as busy.",
    )

    prefect_idle_seconds: float = Field(
        default=600,
        ge=0,
        le=86400,
        description="How long a Prefect server a command started is kept for the next "
        "commands once idle; 0: each command starts and stops its own.",
    )

    # The clock: when set, the system believes it is this instant (tests and the demo stand on any day).
    now: AwareDatetime | None = None

    base_url: str = "http://127.0.0.1:8000"
    secretariat_timezone: str = "Asia/Seoul"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout: float = 30.0
    mail_from: str = "NEASPEC secretariat <neaspec-secretariat@example.org>"
    mail_reply_to: str | None = None
    # The embedded sink of the demo and of a fresh install: mail stays on this machine, in data_dir/mailbox.
    mail_sink: bool = True
    reminder_local_hour: int = 9
    smtp_validate_certs: bool = True
    mail_templates_dir: Path | None = Field(default=None, description="Templates here replace the shipped ones.")
    reminder_batch_size: int = Field(default=200, ge=1, description="Reminders sent over one SMTP connection.")
    reminder_claim_lease_seconds: int = Field(default=600, ge=1, description="A claim older than this is retaken.")
    reminder_late_after_minutes: int = 60
    reminder_max_attempts: int = 8

    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or CIDR networks of the reverse proxies in front of the "
        "service (e.g. 127.0.0.1 for deploy/up's nginx): only a request from one of them may "
        "name its client in X-Forwarded-For. Empty: the connecting address is the client.",
    )

    # Where the service is reachable for the CLI; when nothing answers there, the CLI runs flows locally.
    service_url: str | None = None
    session_secret: SecretStr | None = None
    scheduler: Literal["apscheduler", "prefect"] = Field(
        default="apscheduler",
        description="'apscheduler' in every service process, or 'prefect' deployments served by "
        "'consultrack worker' (see docs/deploy.md).",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        """Each entry an address or a network, written as Python writes it ("10.0.0.0/8", host bits dropped), so
        a typo is refused at start-up instead of silently trusting nobody."""
        entries = []
        for entry in filter(None, (part.strip() for part in value.split(","))):
            try:
                entries.append(str(ip_network(entry, strict=False)) if "/" in entry else str(ip_address(entry)))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or a CIDR network") from None
        return ",".join(entries)

    @property
    def trusted_proxy_list(self) -> list[str]:
        return self.trusted_proxies.split(",") if self.trusted_proxies else []

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'consultrack.db').resolve()}"

    @property
    def prefect_home(self) -> Path:
        return (self.data_dir / "prefect").resolve()

    @property
    def mailbox_dir(self) -> Path:
        return (self.data_dir / "mailbox").resolve()


class InvalidSettings(ValueError):
    """A CONSULTRACK_* variable (or .env line) that cannot be used: one message naming each, no traceback."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"CONSULTRACK_{'_'.join(str(p) for p in e['loc']).upper()}={e.get('input')!r}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise InvalidSettings(f"invalid settings: {problems}") from None


def reset_settings() -> None:
    """Forget the cached settings, after a test or the CLI changed the environment."""
    get_settings.cache_clear()
