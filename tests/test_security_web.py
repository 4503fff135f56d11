"""The web endpoint's TLS and basic auth from `web.config_file` (exporter-toolkit format): parsing
rules, bcrypt checks, and the real App served over TLS with certificates made by `openssl`."""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
import yaml

from exporter.basic_auth import BasicAuth, parse_basic
from exporter.configure import ConfigError, load_config
from exporter.webconfig import WebConfigError, load_web_config, parse_web_config
from harness.procs import HarnessError, free_ports
from harness.security import Pki, make_pki
from tests import cli_run

PASSWORD = "s3cret-scrape-pw"


def _hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    try:
        return make_pki(tmp_path_factory.mktemp("pki"))
    except HarnessError as exc:
        pytest.fail(str(exc), pytrace=False)


# ---- parsing -------------------------------------------------------------------------------


def _problems(raw: object) -> list[str]:
    with pytest.raises(WebConfigError) as info:
        parse_web_config(raw)
    return list(info.value.problems)


def test_parse_valid_file_and_relative_paths() -> None:
    settings = parse_web_config(
        {
            "tls_server_config": {"cert_file": "tls.crt", "key_file": "/abs/tls.key",
                                  "client_auth_type": "RequireAndVerifyClientCert",
                                  "client_ca_file": "ca.crt", "min_version": "TLS13"},
            "basic_auth_users": {"prometheus": _hash("x")},
            "http_server_config": {"http2": True},
        },
        base=Path("/etc/kv"),
    )  # fmt: skip
    assert settings.tls is not None
    assert settings.tls.cert_file == "/etc/kv/tls.crt" and settings.tls.key_file == "/abs/tls.key"
    assert settings.tls.client_ca_file == "/etc/kv/ca.crt"
    assert set(settings.users) == {"prometheus"}
    assert parse_web_config(None).tls is None and not parse_web_config({}).users


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([], "(top level): expected a mapping, got a list"),
        ({"tls_server_config": {"key_file": "k"}}, "tls_server_config.cert_file: required"),
        ({"tls_server_config": {"cert_file": "c", "key_file": "k", "cert": "PEM"}},
         "tls_server_config.cert: inline certificates are not supported; use cert_file"),
        ({"tls_server_config": {"cert_file": "c", "key_file": "k", "cipher_suites": ["x"]}},
         "tls_server_config.cipher_suites: not supported: the OpenSSL defaults apply"),
        ({"tls_server_config": {"cert_file": "c", "key_file": "k",
                                "client_auth_type": "RequireAnyClientCert", "client_ca_file": "a"}},
         "tls_server_config.client_auth_type: RequireAnyClientCert accepts client certificates "
         "without verifying them; use VerifyClientCertIfGiven or RequireAndVerifyClientCert"),
        ({"tls_server_config": {"cert_file": "c", "key_file": "k",
                                "client_auth_type": "RequireAndVerifyClientCert"}},
         "tls_server_config.client_ca_file: required with client_auth_type "
         "RequireAndVerifyClientCert"),
        ({"tls_server_config": {"cert_file": "c", "key_file": "k", "client_ca_file": "a"}},
         "tls_server_config.client_auth_type: client_ca_file is set but no client certificate "
         "is asked for; set RequireAndVerifyClientCert"),
        ({"tls_server_config": {"cert_file": "c", "key_file": "k", "min_version": "TLS9"}},
         "tls_server_config.min_version: must be one of TLS10, TLS11, TLS12, TLS13, got 'TLS9'"),
        ({"tls_server_config": {"cert_file": "c", "key_file": "k", "min_version": "TLS13",
                                "max_version": "TLS12"}},
         "tls_server_config.max_version: TLS12 is below min_version TLS13"),
        ({"tls_server_config": {"cert_file": 3, "key_file": "k"}},
         "tls_server_config.cert_file: expected a string, got 3 (a number)"),
        ({"tls_server_config": {"cert_file": "c", "key_file": "k", "bogus": 1}},
         "tls_server_config.bogus: unknown key"),
        ({"basic_auth_users": ["alice"]},
         "basic_auth_users: expected a mapping, got a list"),
        ({"basic_auth_users": {"a:b": _hash("x")}},
         "basic_auth_users: user name 'a:b' must be a non-empty string without ':'"),
        ({"http_server_config": {"headers": {"X": "y"}}},
         "http_server_config.headers: not supported"),
        ({"rate_limit": {"burst": 1}}, "rate_limit: not supported"),
        ({"tls_config": {}}, "tls_config: unknown key (did you mean 'tls_server_config'?)"),
    ],
)  # fmt: skip
def test_parse_problems(raw: object, expected: str) -> None:
    assert _problems(raw) == [expected]


def test_a_plain_password_instead_of_a_hash_is_refused_without_showing_it() -> None:
    (problem,) = _problems({"basic_auth_users": {"alice": "hunter2-plain"}})
    assert problem.startswith("basic_auth_users.alice: not a bcrypt hash")
    assert "hunter2" not in problem


def test_every_problem_at_once() -> None:
    problems = _problems({"x": 1, "tls_server_config": {"min_version": "SSL3"},
                          "basic_auth_users": {"u": "nope"}})  # fmt: skip
    assert len(problems) == 5, problems


def test_config_loader_reports_web_config_problems_one_line_each(tmp_path: Path) -> None:
    web = tmp_path / "web.yml"
    web.write_text("tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n")
    env = {"KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"}
    with pytest.raises(ConfigError) as info:
        load_config(None, env=env, flags={"web.config_file": str(web)})
    (line,) = info.value.problems
    assert line.startswith(f"web.config_file (from --web.config.file): {web}: tls_server_config: "
                           f"cannot load cert_file '{tmp_path}/missing.crt'")  # fmt: skip
    web.write_text("tls_server_config: [\n")
    with pytest.raises(ConfigError) as info:
        load_config(None, env=env, flags={"web.config_file": str(web)})
    assert len(info.value.problems) == 1 and f"{web}:2:1" in info.value.problems[0]
    with pytest.raises(ConfigError) as info:
        load_config(None, env=env, flags={"web.config_file": str(tmp_path / "nope.yml")})
    assert info.value.problems == (
        f"web.config_file (from --web.config.file): cannot read '{tmp_path}/nope.yml': "
        "No such file or directory",
    )


def test_cli_refuses_a_bad_web_config_with_exit_2(tmp_path: Path) -> None:
    web = tmp_path / "web.yml"
    web.write_text("basic_auth_users:\n  alice: plain-text-password\n")
    result = cli_run.run("check", "--kafka.bootstrap-servers=127.0.0.1:9",
                         f"--web.config.file={web}", timeout=60)  # fmt: skip
    assert result.returncode == 2, result
    assert result.stderr.splitlines() == [
        f"config: web.config_file (from --web.config.file): {web}: basic_auth_users.alice: "
        "not a bcrypt hash ($2y$10$ and 53 characters; make one with "
        "`htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"
    ]
    assert "plain-text-password" not in result.stdout + result.stderr


def test_key_and_certificate_that_do_not_match(tmp_path: Path, pki: Pki) -> None:
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({"tls_server_config": {
        "cert_file": str(pki.web_cert), "key_file": str(pki.broker_key)}}))  # fmt: skip
    with pytest.raises(WebConfigError) as info:
        load_web_config(web)
    assert "key values mismatch" in info.value.problems[0]


# ---- basic auth --------------------------------------------------------------------------


def test_parse_basic_header() -> None:
    assert parse_basic(_basic("u", "p:w")) == ("u", b"p:w")
    assert parse_basic("basic " + base64.b64encode(b"u:").decode()) == ("u", b"")
    for bad in (None, "", "Bearer x", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(),
                "Basic " + base64.b64encode(b"\xff:x").decode()):  # fmt: skip
        assert parse_basic(bad) is None


def test_basic_auth_checks_and_remembers_only_good_passwords() -> None:
    auth = BasicAuth({"alice": _hash(PASSWORD).encode()})
    checks: list[bytes] = []
    real = auth._check

    def counting(password: bytes, hashed: bytes) -> bool:
        checks.append(hashed)
        return real(password, hashed)

    auth._check = counting  # type: ignore[method-assign]
    assert auth(_basic("alice", PASSWORD)) and len(checks) == 1
    assert auth(_basic("alice", PASSWORD)) and len(checks) == 1  # remembered
    assert not auth(_basic("alice", "wrong")) and len(checks) == 2
    assert not auth(_basic("alice", "wrong")) and len(checks) == 3  # failures are not remembered
    assert not auth(_basic("mallory", PASSWORD)) and len(checks) == 4  # unknown user: bcrypt too
    assert checks[-1] != checks[0]  # ... against the dummy hash
    assert not auth(_basic("alice", PASSWORD + "x" * 100))
    assert not auth(None) and not auth("Basic")


# ---- the real server over TLS ------------------------------------------------------------


def _write_web(path: Path, pki: Pki, users: dict[str, str], mtls: bool = False) -> None:
    tls = {"cert_file": str(pki.web_cert), "key_file": str(pki.web_key)}
    if mtls:
        tls |= {"client_auth_type": "RequireAndVerifyClientCert",
                "client_ca_file": str(pki.ca_cert)}  # fmt: skip
    path.write_text(yaml.safe_dump({"tls_server_config": tls, "basic_auth_users": users}))


@pytest.fixture
def tls_app(tmp_path: Path, pki: Pki) -> Iterator[tuple[int, Path]]:
    from exporter.app import App

    web = tmp_path / "web.yml"
    _write_web(web, pki, {"prometheus": _hash(PASSWORD)})
    (port,) = free_ports(1)
    config = load_config(None, env={
        "KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "KAFKA_VITALS_WEB_LISTEN_ADDRESS": f"127.0.0.1:{port}",
        "KAFKA_VITALS_WEB_CONFIG_FILE": str(web),
    })  # fmt: skip
    app = App(config)  # the poller is not started: the server alone is tested
    app.server.start()
    yield port, web
    app.stop()


def _https(
    port: int, pki: Pki, path: str, auth: str | None = None, *, client_cert: bool = False
) -> tuple[int, dict[str, str], bytes]:
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    if client_cert:
        ctx.load_cert_chain(pki.client_cert, pki.client_key, password=pki.client_key_password)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": auth} if auth else {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_tls_and_basic_auth(tls_app: tuple[int, Path], pki: Pki) -> None:
    port, _ = tls_app
    for auth in (None, _basic("prometheus", "wrong"), _basic("nobody", PASSWORD),
                 "Bearer " + PASSWORD):  # fmt: skip
        for path in ("/metrics", "/"):
            status, got, body = _https(port, pki, path, auth)
            assert status == 401, (path, auth)
            assert got["www-authenticate"] == 'Basic realm="kafka-vitals"'
            assert body == b"401 unauthorized\n"  # no detail on what was wrong
    status, _, body = _https(port, pki, "/metrics", _basic("prometheus", PASSWORD))
    assert status == 200 and b"kafka_vitals_build_info" in body
    status, _, body = _https(port, pki, "/", _basic("prometheus", PASSWORD))
    assert status == 200 and b"web.config_file" in body
    assert _https(port, pki, "/healthz")[0] == 200  # probes need no credentials
    assert _https(port, pki, "/ready")[0] == 503
    # plain HTTP to the TLS port gets no HTTP answer
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert not sock.recv(4096).startswith(b"HTTP/")
    # TLS 1.1 is below the default minimum (TLS 1.2)
    old = ssl.create_default_context(cafile=str(pki.ca_cert))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    with (
        pytest.raises((ssl.SSLError, OSError)),
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
    ):
        old.wrap_socket(raw, server_hostname="localhost")


def test_users_and_client_certificates_reload_without_restart(
    tls_app: tuple[int, Path], pki: Pki
) -> None:
    port, web = tls_app
    auth = _basic("grafana-agent", "new-pw")
    assert _https(port, pki, "/metrics", auth)[0] == 401
    _write_web(web, pki, {"grafana-agent": _hash("new-pw")}, mtls=True)
    time.sleep(1.2)  # changes are looked for at most once a second
    with pytest.raises((ssl.SSLError, OSError)):  # the client certificate is now required
        for _ in range(2):  # the first connection after the change may still see the old one
            _https(port, pki, "/healthz")
    assert _https(port, pki, "/metrics", auth, client_cert=True)[0] == 200
    old = _basic("prometheus", PASSWORD)
    assert _https(port, pki, "/metrics", old, client_cert=True)[0] == 401
    web.write_text("basic_auth_users: [broken\n")  # a bad reload keeps the last good settings
    time.sleep(1.2)
    assert _https(port, pki, "/metrics", auth, client_cert=True)[0] == 200
