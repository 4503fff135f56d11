"""Parsers of values that several parts share, kept on the ground floor so none borrows them from
another: the configuration rules, the Kafka client settings, the JMX targets and the web server
all read `host:port` the same way."""

from __future__ import annotations


def host_port(text: str) -> tuple[str, int]:
    """Split `host:port`, `[v6]:port` or `:port`; raise ValueError saying what is wrong."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        raise ValueError(f"{text!r} is not host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{text!r}: write an IPv6 address in brackets, as [::1]:9092")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} has no valid port (0-65535)")
    return host, int(port)
