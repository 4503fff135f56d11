"""TLS and HTTP basic auth for the web server, from a web config file (`web.config_file`) in the
format of the Prometheus exporter-toolkit:

    tls_server_config:
      cert_file: /etc/kafka-vitals/tls/tls.crt
      key_file: /etc/kafka-vitals/tls/tls.key
      client_auth_type: RequireAndVerifyClientCert   # default NoClientCert
      client_ca_file: /etc/kafka-vitals/tls/ca.crt
      min_version: TLS12                             # default TLS12; TLS10 ... TLS13
      max_version: TLS13                             # default: the newest
    basic_auth_users:
      prometheus: $2y$10$...                         # bcrypt hash of the password

Supported: the keys above, and `http_server_config.http2` (accepted, ignored: HTTP/1.1 is served).
The file is read by the configuration's strict YAML reader and bound by its one binder
(`exporter.config.binder`), with the bcrypt hashes bound as secrets (never shown in a message).
Every other key is an error, not ignored: a file that asks for a protection this version cannot
give must not start a server without it. `client_auth_type` values that request a client
certificate without verifying it (`RequestClientCert`, `RequireAnyClientCert`) are refused.

Reload: the file, and the certificate, key and CA files it names, are checked for changes at most
once a second, when a connection or request arrives. New connections get the new certificate and
requests are checked against the new users. A reload that fails, or that would switch TLS on or
off, keeps the previous settings and logs a warning.

Basic auth is checked by `exporter.basic_auth` (bcrypt, constant time). Passwords never reach a
log line.
"""

from __future__ import annotations

import logging
import os
import re
import ssl
import threading
import time
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from exporter.basic_auth import BasicAuth
from exporter.config import Config, Secret
from exporter.config.binder import Binder
from exporter.config.check import Add
from exporter.config.values import host_port
from exporter.config.yamlfile import ConfigError, read_yaml

log = logging.getLogger(__name__)

TLS_VERSIONS: dict[str, ssl.TLSVersion] = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
CLIENT_AUTH: dict[str, ssl.VerifyMode] = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_UNVERIFIED_AUTH = ("RequestClientCert", "RequireAnyClientCert")
_TLS_KEYS = ("cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version",
             "max_version")  # fmt: skip
_UNSUPPORTED = {
    "tls_server_config.cert": "inline certificates are not supported; use cert_file",
    "tls_server_config.key": "inline keys are not supported; use key_file",
    "tls_server_config.cipher_suites": "not supported: the OpenSSL defaults apply",
    "tls_server_config.curve_preferences": "not supported: the OpenSSL defaults apply",
    "tls_server_config.prefer_server_cipher_suites": "not supported",
    "tls_server_config.client_allowed_sans": "not supported",
    "http_server_config.headers": "not supported",
    "rate_limit": "not supported",
}
_BCRYPT_HASH = re.compile(r"^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$")
RELOAD_CHECK_SECONDS = 1.0
RESERVED_PATHS = ("/", "/healthz", "/ready")


class WebConfigError(ValueError):
    """Every problem in the web config file, one line each (key path: message)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class TlsServerConfig:
    cert_file: str
    key_file: str
    client_ca_file: str = ""
    client_auth_type: str = "NoClientCert"
    min_version: str = "TLS12"
    max_version: str = ""


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The parsed file: TLS settings (None: plain HTTP) and bcrypt hashes by user name."""

    tls: TlsServerConfig | None = None
    users: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}))

    def files(self) -> tuple[str, ...]:
        """The files the settings depend on (watched for changes)."""
        if self.tls is None:
            return ()
        return tuple(f for f in (self.tls.cert_file, self.tls.key_file, self.tls.client_ca_file)
                     if f)  # fmt: skip


# ---- parsing ---------------------------------------------------------------------------------


def load_web_config(path: str | Path) -> WebSettings:
    """Parse and check the file (certificates loaded too); WebConfigError lists every problem."""
    try:
        raw = read_yaml(Path(path))
    except ConfigError as exc:
        raise WebConfigError(list(exc.problems)) from None
    settings = parse_web_config(raw, base=Path(path).parent)
    if settings.tls is not None:
        ssl_context(settings.tls)  # raises WebConfigError when a file does not load
    return settings


@dataclass(frozen=True, slots=True)
class _TlsFile:
    """`tls_server_config` as the file writes it (bound by the configuration's binder)."""

    cert_file: str = ""
    key_file: str = ""
    client_ca_file: str = ""
    client_auth_type: str = "NoClientCert"
    min_version: str = "TLS12"
    max_version: str = ""


@dataclass(frozen=True, slots=True)
class _HttpFile:
    http2: bool = True
    """Accepted and ignored: HTTP/1.1 is served."""


@dataclass(frozen=True, slots=True)
class _WebFile:
    """The whole file; `basic_auth_users` values are bcrypt hashes, never shown in a message."""

    tls_server_config: _TlsFile = field(default_factory=_TlsFile)
    basic_auth_users: Mapping[str, Secret] = field(default_factory=lambda: MappingProxyType({}))
    http_server_config: _HttpFile = field(default_factory=_HttpFile)


def parse_web_config(raw: Any, base: Path = Path(".")) -> WebSettings:
    """The settings from the parsed YAML; relative file names are taken from `base`.

    Keys this version refuses on purpose (`_UNSUPPORTED`) are reported with the reason; the rest
    is bound strictly by `exporter.config.binder` (unknown keys, wrong types), then checked."""
    problems: list[str] = []
    if raw is None:
        raw = {}
    if isinstance(raw, Mapping):
        raw = _without_unsupported(raw, "", problems)
    binder = Binder(rule=_user_rule)
    bound = binder.bind(_WebFile, raw)
    problems += binder.problems
    web: _WebFile = bound if isinstance(bound, _WebFile) else _WebFile()
    has_tls = isinstance(raw, Mapping) and isinstance(raw.get("tls_server_config"), Mapping)
    tls = _tls(web.tls_server_config, base, binder.bad_paths, problems) if has_tls else None
    if problems:
        raise WebConfigError(problems)
    users = {name: hashed.value.encode("ascii") for name, hashed in web.basic_auth_users.items()}
    return WebSettings(tls, MappingProxyType(users))


def _without_unsupported(raw: Mapping[Any, Any], prefix: str, problems: list[str]) -> Any:
    """`raw` without the keys refused on purpose, each reported with its reason."""
    out = {}
    for key, value in raw.items():
        path = f"{prefix}{key}"
        if path in _UNSUPPORTED:
            problems.append(f"{path}: {_UNSUPPORTED[path]}")
        elif (
            not prefix
            and key in ("tls_server_config", "http_server_config")
            and isinstance(value, Mapping)
        ):
            out[key] = _without_unsupported(value, f"{key}.", problems)
        else:
            out[key] = value
    return out


def _user_rule(path: str, name: str, value: Any) -> list[tuple[str, str]]:
    """User names and bcrypt hashes of `basic_auth_users` (a hash is never shown: it may be a
    password pasted by mistake)."""
    if name != "basic_auth_users":
        return []
    out = []
    for user, hashed in value.items():
        if not user or ":" in user:
            out.append((path, f"user name {user!r} must be a non-empty string without ':'"))
        elif not _BCRYPT_HASH.match(hashed.value):
            out.append((f"{path}.{user}", "not a bcrypt hash ($2y$10$ and 53 characters; make "
                        "one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"))  # fmt: skip
    return out


def _tls(
    bound: _TlsFile, base: Path, bad: Collection[str], problems: list[str]
) -> TlsServerConfig | None:
    before = len(problems)
    values = {
        k: str(base / v) if k.endswith("_file") and v and not Path(v).is_absolute() else v
        for k, v in ((f, getattr(bound, f)) for f in _TLS_KEYS)
    }
    for key in ("cert_file", "key_file"):
        if not values[key] and f"tls_server_config.{key}" not in bad:
            problems.append(f"tls_server_config.{key}: required")
    auth, ca = values["client_auth_type"], values["client_ca_file"]
    if auth in _UNVERIFIED_AUTH:
        problems.append(f"tls_server_config.client_auth_type: {auth} accepts client certificates "
                        "without verifying them; use VerifyClientCertIfGiven or "
                        "RequireAndVerifyClientCert")  # fmt: skip
    elif auth not in CLIENT_AUTH:
        problems.append(f"tls_server_config.client_auth_type: must be one of "
                        f"{', '.join(CLIENT_AUTH)}, got {auth!r}")  # fmt: skip
    elif auth != "NoClientCert" and not ca:
        problems.append(f"tls_server_config.client_ca_file: required with client_auth_type {auth}")
    elif auth == "NoClientCert" and ca:
        problems.append("tls_server_config.client_auth_type: client_ca_file is set but no client "
                        "certificate is asked for; set RequireAndVerifyClientCert")  # fmt: skip
    for key in ("min_version", "max_version"):
        if values[key] and values[key] not in TLS_VERSIONS:
            problems.append(f"tls_server_config.{key}: must be one of {', '.join(TLS_VERSIONS)}, "
                            f"got {values[key]!r}")  # fmt: skip
    low, high = values["min_version"], values["max_version"]
    if low in TLS_VERSIONS and high in TLS_VERSIONS and TLS_VERSIONS[low] > TLS_VERSIONS[high]:
        problems.append(f"tls_server_config.max_version: {high} is below min_version {low}")
    if len(problems) > before or bad:
        return None
    return TlsServerConfig(**values)


def ssl_context(tls: TlsServerConfig) -> ssl.SSLContext:
    """A server context for the settings; WebConfigError when a file cannot be loaded."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():  # TLS 1.0 and 1.1 are deprecated, and allowed if asked for
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = TLS_VERSIONS[tls.min_version]
        if tls.max_version:
            ctx.maximum_version = TLS_VERSIONS[tls.max_version]
    try:
        # a password callback that gives nothing: an encrypted key fails instead of prompting
        ctx.load_cert_chain(tls.cert_file, tls.key_file, password=lambda: b"")
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise WebConfigError([f"tls_server_config: cannot load cert_file {tls.cert_file!r} with "
                              f"key_file {tls.key_file!r}: {_reason(exc)}"]) from None  # fmt: skip
    if tls.client_ca_file:
        try:
            ctx.load_verify_locations(cafile=tls.client_ca_file)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise WebConfigError([f"tls_server_config.client_ca_file: cannot load "
                                  f"{tls.client_ca_file!r}: {_reason(exc)}"]) from None  # fmt: skip
    ctx.verify_mode = CLIENT_AUTH[tls.client_auth_type]
    return ctx


def _reason(exc: Exception) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc).lower().replace("_", " ")
    return str(getattr(exc, "strerror", None) or exc)


def check_config(config: Config, add: Add) -> None:
    """The rules of the `web` section (a `Check` of the loader): the listen address is host:port,
    the telemetry path is a free URL path, the web config file parses and its certificates load."""
    web = config.web
    try:
        host_port(web.listen_address)
    except ValueError as exc:
        add("web.listen_address", str(exc))
    path = web.telemetry_path
    if not path.startswith("/") or any(c in path for c in "?# "):
        add("web.telemetry_path", f"must be a URL path starting with '/', got {path!r}")
    elif path.rstrip("/") in ("", "/healthz", "/ready"):
        add("web.telemetry_path", f"{path!r} is taken by {RESERVED_PATHS}")
    if web.config_file:
        try:
            with Path(web.config_file).open("rb"):
                pass
        except (OSError, ValueError):
            return  # an unreadable file is reported by the generic `*_file` rule
        try:
            load_web_config(web.config_file)
        except WebConfigError as exc:
            for problem in exc.problems:
                add("web.config_file", f"{web.config_file}: {problem}")


# ---- the live object the server asks -----------------------------------------------------------


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class WebSecurity:
    """The current TLS context and basic-auth check of one web config file, reloaded on change.

    Raises WebConfigError when the file is bad at start.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        settings = load_web_config(path)
        self.tls = settings.tls is not None
        self._apply(settings)
        self._stamps = self._current_stamps(settings)
        self._checked = time.monotonic()
        self._reload_lock = threading.Lock()
        users = len(settings.users)
        log.info("web security file=%s tls=%s client_auth=%s basic_auth_users=%d", path,
                 self.tls, settings.tls.client_auth_type if settings.tls else "-",
                 users)  # fmt: skip
        if users and not self.tls:
            log.warning("basic auth without TLS: passwords cross the network in clear text")

    def _apply(self, settings: WebSettings) -> None:
        context = ssl_context(settings.tls) if settings.tls is not None else None
        auth = BasicAuth(settings.users) if settings.users else None
        self._settings, self._context, self._auth = settings, context, auth

    def _current_stamps(self, settings: WebSettings) -> tuple[object, ...]:
        return tuple(_stamp(p) for p in (self._path, *settings.files()))

    def context(self) -> ssl.SSLContext:
        """The TLS context for the next connection (only when the file has TLS)."""
        self._maybe_reload()
        if self._context is None:
            raise RuntimeError("the web config has no TLS")
        return self._context

    def authorize(self, header: str | None) -> bool:
        """True when no users are configured, or the header carries a user's password."""
        self._maybe_reload()
        auth = self._auth
        return auth is None or auth(header)

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked < RELOAD_CHECK_SECONDS:
            return
        if not self._reload_lock.acquire(blocking=False):
            return  # another thread is checking
        try:
            self._checked = now
            stamps = self._current_stamps(self._settings)
            if stamps == self._stamps:
                return
            self._stamps = stamps
            try:
                settings = load_web_config(self._path)
                if (settings.tls is not None) != self.tls:
                    raise WebConfigError(["tls_server_config: switching TLS on or off needs a "
                                          "restart"])  # fmt: skip
                self._apply(settings)
                self._stamps = self._current_stamps(settings)
            except WebConfigError as exc:
                log.warning("web config reload failed, previous settings kept file=%s error=%r",
                            self._path, "; ".join(exc.problems))  # fmt: skip
                return
            log.info("web config reloaded file=%s basic_auth_users=%d", self._path,
                     len(settings.users))  # fmt: skip
        finally:
            self._reload_lock.release()
