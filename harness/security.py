"""Authenticated Kafka for tests: a throwaway PKI made with the `openssl` command, and a 1-node
cluster with SASL_SSL (SCRAM-SHA-512) and mutual-TLS listeners, optionally with ACLs enforced.

`make_pki(dir)` writes a CA, a broker certificate for 127.0.0.1/localhost, a client certificate
whose key is encrypted with a password, and a web server certificate. `SecureCluster` starts a
KafkaCluster whose listeners are:

- `PLAINTEXT` on the node's broker port: the harness admin (principal `User:ANONYMOUS`, a super
  user), used by every helper in `harness.clients` and for inter-broker traffic;
- `SASL_SSL` with SCRAM-SHA-512, users created through the Admin API after start;
- `SSL` with `ssl.client.auth=required`; the principal is the certificate's CN;
- `CONTROLLER`, plaintext on loopback.

With `authorizer=True` the StandardAuthorizer enforces ACLs (`allow.everyone.if.no.acl.found=false`)
and logs every denied request to the node's server.log (the shared log4j2 config keeps the
`kafka.authorizer.logger` at INFO), which `denied(principal)` reads back.
"""

from __future__ import annotations

import logging
import secrets
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from harness.clients import admin_client
from harness.cluster import KafkaCluster
from harness.procs import HarnessError, free_ports, require_binary, wait_for

log = logging.getLogger(__name__)

OPENSSL_HINT = "install the Debian package 'openssl'"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
TLS_CLIENT_CN = "kafka-vitals-tls"
"""The CN of the client certificate, and so the mTLS principal `User:kafka-vitals-tls`."""


@dataclass(frozen=True, slots=True)
class Pki:
    """Files of a test PKI (PEM). The client key is encrypted with `client_key_password`."""

    dir: Path
    ca_cert: Path
    ca_key: Path
    broker_cert: Path
    broker_key: Path
    broker_keystore: Path
    """Broker key and certificate chain in one PEM file, for `ssl.keystore.type=PEM`."""
    client_cert: Path
    client_key: Path
    client_key_password: str
    client_key_password_file: Path
    web_cert: Path
    web_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    openssl = require_binary("openssl", OPENSSL_HINT)
    result = subprocess.run(
        [openssl, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise HarnessError(f"openssl {args[0]} failed: {result.stderr.strip()[-800:]}")


def _issue(dir: Path, name: str, subject: str, extensions: str) -> tuple[Path, Path]:
    """A P-256 key and a certificate for it signed by the CA in `dir`."""
    key, csr, cert, ext = (dir / f"{name}{s}" for s in (".key", ".csr", ".pem", ".ext"))
    ext.write_text(extensions)
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", key.name, "-out", csr.name, "-subj", subject, cwd=dir)  # fmt: skip
    _openssl("x509", "-req", "-in", csr.name, "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-sha256", "-extfile", ext.name, "-out", cert.name,
             cwd=dir)  # fmt: skip
    return cert, key


def make_pki(dir: Path) -> Pki:
    """Write a CA and broker, client and web certificates into `dir` (created if needed)."""
    dir.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-sha256",
             "-subj", "/CN=kafka-vitals test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=dir)  # fmt: skip
    server_ext = (
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n"
    )
    broker_cert, broker_key = _issue(dir, "broker", "/CN=localhost", server_ext)
    web_cert, web_key = _issue(dir, "web", "/CN=localhost", server_ext)
    client_ext = "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n"
    client_cert, plain_key = _issue(dir, "client", f"/O=kafka-vitals/CN={TLS_CLIENT_CN}",
                                    client_ext)  # fmt: skip
    password = "key-" + secrets.token_hex(8)
    password_file = dir / "client-key-password"
    password_file.write_text(password + "\n")
    client_key = dir / "client-encrypted.key"
    encrypt = ["-v2", "aes-256-cbc", "-passout", f"file:{password_file.name}"]
    _openssl("pkcs8", "-topk8", *encrypt, "-in", plain_key.name, "-out", client_key.name, cwd=dir)
    plain_key.unlink()
    keystore = dir / "broker-keystore.pem"
    keystore.write_text(broker_key.read_text() + broker_cert.read_text())
    for path in dir.iterdir():
        if path.suffix in (".key", ".csr") or path.name.endswith("keystore.pem"):
            path.chmod(0o600)
    return Pki(dir, dir / "ca.pem", dir / "ca.key", broker_cert, broker_key, keystore,
               client_cert, client_key, password, password_file, web_cert, web_key)  # fmt: skip


# ---- the cluster -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScramUser:
    name: str
    password: str


class SecureCluster:
    """A 1-node KafkaCluster with PLAINTEXT (admin), SASL_SSL (SCRAM-SHA-512) and SSL (mTLS)
    listeners; see the module docstring."""

    def __init__(self, pki: Pki, *, authorizer: bool = False, super_users: Iterable[str] = ()):
        self.pki = pki
        self.authorizer = authorizer
        self.cluster = KafkaCluster(1)
        self.sasl_port, self.ssl_port = free_ports(2)
        self.cluster.overrides = self._properties(list(super_users))

    # where to connect
    @property
    def admin_bootstrap(self) -> str:
        """PLAINTEXT, super user: for the harness helpers only, never for the exporter."""
        return self.cluster.bootstrap_servers

    @property
    def sasl_bootstrap(self) -> str:
        return f"localhost:{self.sasl_port}"

    @property
    def ssl_bootstrap(self) -> str:
        return f"localhost:{self.ssl_port}"

    @property
    def log_path(self) -> Path:
        return self.cluster.nodes[0].log_path

    def _properties(self, super_users: list[str]) -> dict[str, str]:
        node = self.cluster.nodes[0]
        pki = self.pki
        props = {
            "listeners": f"PLAINTEXT://127.0.0.1:{node.broker_port},"
            f"SASL_SSL://127.0.0.1:{self.sasl_port},SSL://127.0.0.1:{self.ssl_port},"
            f"CONTROLLER://127.0.0.1:{node.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.broker_port},"
            f"SASL_SSL://localhost:{self.sasl_port},SSL://localhost:{self.ssl_port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,"
            "SASL_SSL:SASL_SSL,SSL:SSL",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(pki.broker_keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(pki.ca_cert),
            "listener.name.ssl.ssl.client.auth": "required",
            "ssl.principal.mapping.rules": "RULE:^.*CN=([^,]+).*$/$1/,DEFAULT",
            "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
        }
        if self.authorizer:
            props |= {
                "authorizer.class.name": AUTHORIZER,
                "allow.everyone.if.no.acl.found": "false",
                "super.users": ";".join(["User:ANONYMOUS", *super_users]),
            }
        return props

    def up(self, timeout: float = 180.0) -> SecureCluster:
        self.cluster.up(timeout)
        return self

    def down(self) -> None:
        self.cluster.down()

    # users and ACLs, through the super-user PLAINTEXT listener
    def add_scram_user(self, name: str, password: str | None = None) -> ScramUser:
        """Create (or update) a SCRAM-SHA-512 credential and wait until it logs in."""
        user = ScramUser(name, password or "pw-" + secrets.token_hex(12))
        admin = admin_client(self.admin_bootstrap)
        upsert = UserScramCredentialUpsertion(
            name, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096),
            user.password.encode(),
        )  # fmt: skip
        futures = admin.alter_user_scram_credentials([upsert], request_timeout=30)
        try:
            futures[name].result(timeout=30)
        except KafkaException as exc:
            raise HarnessError(f"creating SCRAM user {name!r} failed: {exc.args[0]}") from exc
        wait_for(lambda: self._logs_in(user), 60, f"SCRAM user {name!r} to log in", interval=0.5)
        return user

    def sasl_properties(self, user: ScramUser) -> dict[str, Any]:
        """librdkafka properties of a SCRAM client (for harness checks, not the exporter)."""
        return {
            "bootstrap.servers": self.sasl_bootstrap,
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": user.name,
            "sasl.password": user.password,
            "ssl.ca.location": str(self.pki.ca_cert),
        }

    def _logs_in(self, user: ScramUser) -> bool:
        from confluent_kafka.admin import AdminClient

        client = AdminClient(self.sasl_properties(user))
        client.list_topics(timeout=5)
        return True

    def allow(self, principal: str, grants: Iterable[tuple[str, str, str]]) -> None:
        """Create ALLOW ACLs (resource type, name, operation), e.g. ("TOPIC", "*", "DESCRIBE")."""
        bindings = [
            AclBinding(
                _resource_type(rtype),
                name,
                ResourcePatternType.LITERAL,
                principal,
                "*",
                AclOperation[op],
                AclPermissionType.ALLOW,
            )
            for rtype, name, op in grants
        ]
        admin = admin_client(self.admin_bootstrap)
        for binding, fut in admin.create_acls(bindings, request_timeout=30).items():
            try:
                fut.result(timeout=30)
            except KafkaException as exc:
                raise HarnessError(f"create ACL {binding} failed: {exc.args[0]}") from exc

    def acls(self, principal: str) -> list[tuple[str, str, str]]:
        """The ALLOW ACLs of `principal` as (resource type, name, operation), sorted."""
        admin = admin_client(self.admin_bootstrap)
        found = admin.describe_acls(_filter(principal), request_timeout=30).result(timeout=30)
        return sorted((_type_name(b.restype), b.name, b.operation.name) for b in found)

    def denied(self, principal: str) -> list[str]:
        """The authorizer's "is Denied" lines for `principal` in the broker log so far."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        who = f"Principal = {principal} is Denied"
        return [ln for ln in text.splitlines() if who in ln]


def _filter(principal: str) -> AclBindingFilter:
    """Every ACL of `principal` (None: any resource name, any host)."""
    return AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, principal, None,  # type: ignore[arg-type]
        AclOperation.ANY, AclPermissionType.ANY,
    )  # fmt: skip


def _resource_type(name: str) -> ResourceType:
    """librdkafka calls Kafka's CLUSTER resource type (4) BROKER."""
    return ResourceType.BROKER if name == "CLUSTER" else ResourceType[name]


def _type_name(rtype: ResourceType) -> str:
    return "CLUSTER" if rtype == ResourceType.BROKER else str(rtype.name)
