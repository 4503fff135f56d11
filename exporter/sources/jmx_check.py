"""What a JMX target is: its service URL, its default name, and the rules of the `jmx` section.

The rules are checked once, here: by the configuration loader (as a `Check` handed in by the
caller) and by `JmxSource` for a `JmxConfig` built in code.
"""

from __future__ import annotations

import re

from exporter.config import Config, JmxConfig
from exporter.config.check import Add, Problem
from exporter.config.values import host_port
from exporter.sources.jmx_model import QUERIES_BY_ROLE

_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$")
_URL_HOST_PORT = re.compile(r"rmi://(\[[^\]]+\]|[^/:]+):(\d+)/")


def service_url(url: str) -> str:
    """The JMX service URL for `url`, which is either one already or `host:port`."""
    if url.startswith("service:jmx:"):
        return url
    m = _HOST_PORT.match(url)
    if m is None:
        raise ValueError(f"not a JMX service URL or host:port: {url!r}")
    return f"service:jmx:rmi:///jndi/rmi://{m.group(1)}:{m.group(2)}/jmxrmi"


def default_name(url: str) -> str:
    """host:port of a JMX service URL (the default `target` label), or the URL itself."""
    m = _URL_HOST_PORT.search(url)
    return f"{m.group(1)}:{m.group(2)}" if m else url


def check_config(config: Config, add: Add) -> None:
    """The rules of the `jmx` section, as a `Check` of the configuration loader."""
    for path, message in config_problems(config.jmx):
        add(path, message)
    if config.jmx.niceness > 19:  # a source built in code clamps it; a file says what it means
        add(
            "jmx.niceness",
            f"must be 19 at most (the lowest CPU priority), got {config.jmx.niceness}",
        )


def config_problems(cfg: JmxConfig) -> list[Problem]:
    """Every problem of the `jmx` section as (key path, message); empty when all is well."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, target in enumerate(cfg.targets):
        where = f"jmx.targets[{i}]"
        url = target.url.strip()
        if not url.startswith("service:jmx:"):
            try:
                host, port = host_port(url)
                service_url(url)
            except ValueError as exc:
                problems.append((f"{where}.url", f"{exc} (or service:jmx:rmi:///jndi/rmi://...)"))
                continue
            if not host or port == 0:
                problems.append((f"{where}.url", f"{url!r} needs a host and a port above 0"))
        if target.role not in QUERIES_BY_ROLE:
            problems.append((f"{where}.role", f"must be broker or client, got {target.role!r}"))
        if not target.timeout_seconds > 0:
            problems.append(
                (
                    f"{where}.timeout_seconds",
                    f"must be greater than 0, got {target.timeout_seconds}",
                )
            )
        if (target.password or target.password_file) and not target.username:
            problems.append((f"{where}.username", "required when a password is set"))
        name = target.name or default_name(service_url(url))  # the `target` label it gets
        if name in seen:
            problems.append(
                (f"{where}.name", f"{name!r} is already used by jmx.targets[{seen[name]}]")
            )
        seen.setdefault(name, i)
    if cfg.partition_mbeans_max_partitions < 0:
        problems.append(
            (
                "jmx.partition_mbeans_max_partitions",
                f"must be 0 (no limit) or more, got {cfg.partition_mbeans_max_partitions}",
            )
        )
    if cfg.max_concurrency < 1:
        problems.append(
            ("jmx.max_concurrency", f"must be greater than 0, got {cfg.max_concurrency}")
        )
    if not 0 <= cfg.discover_brokers_port <= 65535:
        problems.append(("jmx.discover_brokers_port", "must be a TCP port, or 0 for no discovery"))
    if not cfg.discover_timeout_seconds > 0:
        problems.append(
            (
                "jmx.discover_timeout_seconds",
                f"must be greater than 0, got {cfg.discover_timeout_seconds}",
            )
        )
    return problems
