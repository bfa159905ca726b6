"""Settings: one frozen, validated object loaded from ``GROUPWARE_*`` variables.

Every setting is a field of :class:`Settings` with its documentation in the field's
metadata; the README lists them all (a test fails when one is missing there). Values
come, in rising priority, from the defaults here, an optional TOML file
(``GROUPWARE_CONFIG`` or ``--config``; keys are the setting names in lower case without
the prefix) and the environment. A wrong value, or an unknown ``GROUPWARE_`` variable,
raises :class:`SettingsError` whose message is one line fit to print at start-up.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import secrets
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PREFIX = "GROUPWARE_"
DEFAULT_DATA_DIR = Path("var")
LANGUAGES = ("hr", "en")
# The argon2id costs GROUPWARE_PASSWORD_HASHING names (groupware.accounts.passwords).
PASSWORD_HASHINGS = ("rfc9106-low-memory", "rfc9106-high-memory", "test-only-cheapest")


class SettingsError(Exception):
    """A setting is missing, unknown or invalid; the message is one line."""


def _setting(default: Any, doc: str, *, parse: Callable[[str], Any] | None = None) -> Any:
    return field(default=default, metadata={"doc": doc, "parse": parse})


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _parse_networks(value: str) -> tuple[str, ...]:
    items = [part.strip() for part in value.split(",") if part.strip()]
    for item in items:
        ipaddress.ip_network(item, strict=False)
    return tuple(items)


@dataclass(frozen=True)
class Settings:
    """The server's configuration. Build it with :func:`load_settings`."""

    data_dir: Path = _setting(  # noqa: RUF009 (_setting returns a dataclass field)
        DEFAULT_DATA_DIR,
        "Directory for the SQLite database, file blobs, the search index, backups and the "
        "generated secret key.",
        parse=Path,
    )
    database_url: str = _setting(
        "",
        "SQLAlchemy URL of the database. Empty means SQLite at `<data dir>/groupware.db` "
        "(WAL mode). PostgreSQL: `postgresql://user:password@host:5432/name` (psycopg 3).",
    )
    http_host: str = _setting("127.0.0.1", "Address the web, API and DAV server listens on.")
    http_port: int = _setting(8000, "TCP port of the web server.", parse=int)
    smtp_host: str = _setting("127.0.0.1", "Address the SMTP listener binds to (mail module).")
    smtp_port: int = _setting(2525, "TCP port of the SMTP listener (mail module).", parse=int)
    smtp_tls_port: int = _setting(
        0,
        "TCP port for SMTP with implicit TLS (465 in production); 0 means none.",
        parse=int,
    )
    smtp_cert_file: str = _setting(
        "",
        "PEM certificate (with its chain) for STARTTLS and implicit TLS. Empty means a "
        "self-signed one generated once in `<data dir>/smtp-tls/` (for development).",
    )
    smtp_key_file: str = _setting("", "PEM private key of `GROUPWARE_SMTP_CERT_FILE`.")
    smtp_max_message_mb: int = _setting(
        25, "Largest message the SMTP server accepts (SIZE), in megabytes.", parse=int
    )
    smtp_trusted_networks: tuple[str, ...] = _setting(
        ("127.0.0.1/32", "::1/128"),
        "Comma-separated networks from which a client may deliver to local addresses "
        "without logging in (other mail servers of the company, scanners). Everyone "
        "else must log in; nobody may relay without logging in.",
        parse=_parse_networks,
    )
    smarthost_host: str = _setting(
        "",
        "Mail server that takes mail for outside addresses (your provider's submission "
        "server). Empty means outside recipients are refused at RCPT with a clear reply.",
    )
    smarthost_port: int = _setting(587, "TCP port of the smarthost.", parse=int)
    smarthost_tls: str = _setting(
        "starttls",
        "How to reach the smarthost: `starttls` (port 587), `tls` (implicit TLS, port "
        "465) or `none` (a server on a trusted network only).",
    )
    smarthost_user: str = _setting("", "User name at the smarthost; empty means no login.")
    smarthost_password: str = _setting("", "Password at the smarthost.")
    smarthost_verify_tls: bool = _setting(
        True,
        "Check the smarthost's certificate (turn off only for a test server).",
        parse=_parse_bool,
    )
    relay_retry_hours: int = _setting(
        48,
        "How long a message for an outside address is retried (with growing pauses) "
        "before the sender gets a bounce.",
        parse=int,
    )
    relay_keep_days: int = _setting(
        30,
        "How long the record of a message's delivery to an outside address (sent, or "
        "failed and bounced) is kept in the queue table before it is deleted.",
        parse=int,
    )
    mail_domain: str = _setting(
        "groupware.local",
        "Mail domain of the company: users' addresses and filing addresses live in it.",
    )
    base_url: str = _setting(
        "",
        "Public URL of the server as users reach it (links in mail and notifications). "
        "Empty means `http://<http host>:<http port>`.",
    )
    secret_key: str = _setting(
        "",
        "Key for signing tokens. Empty means a random key generated once and kept in "
        "`<data dir>/secret_key`.",
    )
    default_language: str = _setting(
        "hr", "Language of the UI for new users and the login page: `hr` or `en`."
    )
    timezone: str = _setting(
        "Europe/Zagreb", "Time zone in which dates and times are shown (IANA name)."
    )
    password_hashing: str = _setting(
        "rfc9106-low-memory",
        "Cost of the argon2id password hash: `rfc9106-low-memory` (3 passes over 64 MiB, "
        "about 0.1 s a login), `rfc9106-high-memory` (1 pass over 2 GiB), or "
        "`test-only-cheapest` (for test suites only: it makes stolen hashes cheap to "
        "guess, and the server warns at start). Existing hashes are re-made with the new "
        "cost at each user's next login.",
    )
    session_idle_minutes: int = _setting(
        120, "A web session ends after this many minutes without a request.", parse=int
    )
    session_absolute_hours: int = _setting(
        12, "A web session ends this many hours after login, active or not.", parse=int
    )
    login_free_failures: int = _setting(
        5,
        "Failed logins of one account from one address before each further try from "
        "there waits (`GROUPWARE_LOGIN_FIRST_DELAY_SECONDS`, doubling up to "
        "`GROUPWARE_LOGIN_MAX_DELAY_MINUTES`); the account is never locked elsewhere "
        "(see [Login throttling](#login-throttling)).",
        parse=int,
    )
    login_free_failures_per_address: int = _setting(
        20,
        "Failed logins from one address (each account counting at most "
        "`GROUPWARE_LOGIN_FREE_FAILURES`) before new logins from there wait likewise; "
        "accounts that logged in from that address within 30 days are not held up.",
        parse=int,
    )
    login_first_delay_seconds: int = _setting(
        1,
        "Wait before the next login try once the free failures are used up; it doubles "
        "with every further failure.",
        parse=int,
    )
    login_max_delay_minutes: int = _setting(
        15, "Longest wait between two login tries once they are throttled.", parse=int
    )
    login_throttle_minutes: int = _setting(
        60, "Failed logins are forgotten this many minutes after the last one.", parse=int
    )
    secure_cookies: bool = _setting(
        False,
        "Mark cookies `Secure` (set to true when the server is reached over HTTPS).",
        parse=_parse_bool,
    )
    trusted_proxies: tuple[str, ...] = _setting(
        (),
        "Comma-separated networks of reverse proxies whose `X-Forwarded-For` header names "
        "the client address (for login throttling and the session log).",
        parse=_parse_networks,
    )
    max_request_mb: int = _setting(
        25, "Largest request body the web server accepts, in megabytes.", parse=int
    )
    web_workers: int = _setting(
        1,
        "Processes serving HTTP (each with its own threads); more than one uses more "
        "cores. Set it to the number of cores on a server that does little else.",
        parse=int,
    )
    web_threads: int = _setting(
        8,
        "Threads that run page and API handlers in each process (see the README's "
        "architecture section for why 8).",
        parse=int,
    )
    db_pool_size: int = _setting(
        10, "Database connections kept open per process (more open under load).", parse=int
    )
    job_interval_seconds: int = _setting(
        60, "How often the background scheduler runs periodic jobs.", parse=int
    )
    dav_threads: int = _setting(
        10, "Threads that serve CalDAV requests (Radicale) in each process.", parse=int
    )
    dav_max_item_kb: int = _setting(
        1024,
        "Largest calendar item (an event or to-do with its recurrences) a CalDAV client "
        "may store, in kilobytes.",
        parse=int,
    )
    dav_max_calendars: int = _setting(
        50, "Most calendars one user may make through CalDAV.", parse=int
    )
    alert_grace_days: int = _setting(
        3,
        "Days a late phase or an overdue deal may stay so before its alert is escalated "
        "to the team leads (or, without a lead, to the administrators).",
        parse=int,
    )
    log_level: str = _setting("info", "Log level: `debug`, `info`, `warning` or `error`.")

    # -- derived values -------------------------------------------------------------

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'groupware.db'}"

    @property
    def effective_base_url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        return f"http://{self.http_host}:{self.http_port}"

    def ensure_secret_key(self) -> str:
        """The configured key, or the one kept in the data dir (created on first use)."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key


def setting_fields() -> list[dataclasses.Field[Any]]:
    return list(dataclasses.fields(Settings))


def env_name(name: str) -> str:
    return PREFIX + name.upper()


def load_settings(
    environ: Mapping[str, str] | None = None, *, config_file: str | Path | None = None
) -> Settings:
    """Build settings from defaults, an optional TOML file and the environment."""
    environ = os.environ if environ is None else environ
    known = {f.name: f for f in setting_fields()}
    raw: dict[str, tuple[Any, str]] = {}

    config_path = config_file or environ.get(PREFIX + "CONFIG")
    if config_path:
        raw.update(_read_toml(Path(config_path), known))
    for key, value in environ.items():
        if not key.startswith(PREFIX) or key == PREFIX + "CONFIG":
            continue
        name = key[len(PREFIX) :].lower()
        if name not in known:
            raise SettingsError(f"unknown setting {key}; see the README for the list")
        raw[name] = (value, key)

    values: dict[str, Any] = {}
    for name, (value, source) in raw.items():
        values[name] = _convert(known[name], value, source)
    settings = Settings(**values)
    _validate(settings)
    return settings


def _read_toml(path: Path, known: Mapping[str, Any]) -> dict[str, tuple[Any, str]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    result: dict[str, tuple[Any, str]] = {}
    for key, value in data.items():
        if key not in known:
            raise SettingsError(f"unknown setting {key!r} in {path}; see the README")
        result[key] = (value, f"{key} in {path}")
    return result


def _convert(f: dataclasses.Field[Any], value: Any, source: str) -> Any:
    # TOML gives typed values, the environment strings: bring both to the string form.
    if isinstance(value, list):
        value = ",".join(map(str, value))
    elif isinstance(value, bool | int):
        value = str(value).lower()
    if not isinstance(value, str):
        raise SettingsError(f"{source} must be a string, a number or a boolean")
    parse = f.metadata["parse"]
    if parse is None:
        return value.strip()
    try:
        return parse(value)
    except ValueError as exc:
        raise SettingsError(f"{source}={value!r} is invalid: {exc}") from None


_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9-]{1,63})*$")


def _validate(s: Settings) -> None:
    for name in ("http_port", "smtp_port", "smarthost_port"):
        port = getattr(s, name)
        if not 0 < port < 65536:
            raise SettingsError(f"{env_name(name)}={port} is not a TCP port (1-65535)")
    if not 0 <= s.smtp_tls_port < 65536:
        raise SettingsError(f"{env_name('smtp_tls_port')}={s.smtp_tls_port} is not a TCP port")
    if bool(s.smtp_cert_file) != bool(s.smtp_key_file):
        raise SettingsError(
            f"{env_name('smtp_cert_file')} and {env_name('smtp_key_file')} go together"
        )
    positive = (
        "session_idle_minutes",
        "session_absolute_hours",
        "login_free_failures",
        "login_free_failures_per_address",
        "login_first_delay_seconds",
        "login_max_delay_minutes",
        "login_throttle_minutes",
        "max_request_mb",
        "web_workers",
        "web_threads",
        "db_pool_size",
        "job_interval_seconds",
        "alert_grace_days",
        "dav_threads",
        "dav_max_item_kb",
        "dav_max_calendars",
        "smtp_max_message_mb",
        "relay_retry_hours",
        "relay_keep_days",
    )
    for name in positive:
        if getattr(s, name) <= 0:
            raise SettingsError(f"{env_name(name)} must be a positive number")
    if s.password_hashing not in PASSWORD_HASHINGS:
        names = ", ".join(PASSWORD_HASHINGS)
        raise SettingsError(f"{env_name('password_hashing')} must be one of: {names}")
    if s.smarthost_tls not in {"starttls", "tls", "none"}:
        raise SettingsError(f"{env_name('smarthost_tls')} must be starttls, tls or none")
    if not _HOSTNAME.match(s.mail_domain.lower()):
        raise SettingsError(f"{env_name('mail_domain')}={s.mail_domain!r} is not a domain name")
    if s.default_language not in LANGUAGES:
        raise SettingsError(f"{env_name('default_language')} must be one of: hr, en")
    try:
        zoneinfo.ZoneInfo(s.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{env_name('timezone')}={s.timezone!r} is not a time zone") from None
    if s.log_level not in {"debug", "info", "warning", "error"}:
        raise SettingsError(f"{env_name('log_level')} must be debug, info, warning or error")
    if s.base_url and not re.match(r"^https?://[^/\s]+(/\S*)?$", s.base_url):
        raise SettingsError(f"{env_name('base_url')}={s.base_url!r} is not an http(s) URL")
    if s.secret_key and len(s.secret_key) < 32:
        raise SettingsError(f"{env_name('secret_key')} must be at least 32 characters")
    from groupware.db import validate_url  # local import: db imports settings

    validate_url(s.effective_database_url)
