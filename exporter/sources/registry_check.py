"""The rules of the `schema_registry` section, as a `Check` of the configuration loader."""

from __future__ import annotations

from urllib.parse import urlsplit

from exporter.config import Config
from exporter.config.check import Add


def check_config(config: Config, add: Add) -> None:
    sr = config.schema_registry
    if not sr.url:
        if sr.payload_sampling:
            add("schema_registry.payload_sampling", "needs schema_registry.url (ids are looked up)")
        return
    parts = urlsplit(sr.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        add(
            "schema_registry.url", f"must be an http:// or https:// URL with a host, got {sr.url!r}"
        )
        return
    if parts.username or parts.password or parts.query or parts.fragment:
        add("schema_registry.url", "must not hold credentials, a query or a fragment")
    if sr.bearer_token and sr.username:
        add("schema_registry.bearer_token", "set either bearer_token or username, not both")
    if sr.password and not sr.username:
        add("schema_registry.username", "required when a password is set")
    if parts.scheme != "https":
        for key in ("tls_ca_file", "tls_cert_file", "tls_key_file"):
            if getattr(sr, key):
                add(f"schema_registry.{key}", "needs an https:// url")
    if bool(sr.tls_cert_file) != bool(sr.tls_key_file):
        add("schema_registry.tls_cert_file", "set tls_cert_file and tls_key_file together")
    if sr.subject_strategy == "record" and not sr.record_subjects:
        add(
            "schema_registry.record_subjects",
            "required with subject_strategy record (topic -> subject): a record name has no topic",
        )
