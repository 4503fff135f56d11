"""Selectors, label names and links every rule shares, and the look of the generated files.

Sections of `bundle.config.BundleConfig`; each field carries the reason for its default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bundle.core.knobs import knob

RATE_WINDOW_POLLS = 4
"""The shortest rate window over kafka-vitals' series, in poll intervals."""


@dataclass(frozen=True, slots=True)
class Common:
    """Selectors, label names and links shared by every rule."""

    selector: str = knob(
        'job="kafka-vitals"',
        "Scopes every expression to the exporter's scrape job, so series of the same name from "
        "other jobs (a jmx_exporter, a second cluster's exporter) never mix in. PromQL label "
        "matchers without braces; empty matches everything.",
    )
    cluster_label: str = knob(
        "cluster",
        "The label that tells clusters apart (set by relabelling or external labels). Every "
        "aggregation keeps it and Alertmanager groups and inhibits by it; when absent it is simply "
        "empty and everything is one cluster.",
    )
    poll_interval: str = knob(
        "30s",
        "kafka-vitals' poll.interval_seconds: its series change once per poll, whatever the "
        "scrape interval. Every rate() and increase() over them needs a window of at least "
        "RATE_WINDOW_POLLS (4) polls, or it swings with where the window's edges fall (at a 15 s "
        "scrape, a 1m window read 26-54 for a true 40 msg/s); irate() is never right on them. "
        "The lint checks every window of the rules and dashboards against this.",
    )
    scrape_interval: str = knob(
        "30s",
        "How often Prometheus scrapes kafka-vitals (the shipped ServiceMonitor and PodMonitor: "
        "30 s). The panels' rate window is 4 poll intervals plus one scrape interval: the samples "
        "inside it then span exactly 4 polls, so the rate is exact at any scrape interval (with 4 "
        "polls alone, a 15 s scrape of a 30 s poll reads 0.86x or 1.14x the true rate).",
    )
    runbook_url_base: str = knob(
        "https://github.com/kafka-vitals/kafka-vitals/blob/main/docs/runbooks",
        "Where the shipped runbooks are published; each alert links `<base>/<AlertName>.md`. "
        "Point it at your own copy if you edit them.",
    )
    rule_group_prefix: str = knob(
        "kafka-vitals",
        "Prefix of the rule group names, so the groups are easy to find in the Prometheus UI.",
    )
    extra_labels: Mapping[str, str] = knob(
        {},
        "Labels added to every alert (e.g. team: platform) for routing in Alertmanager.",
    )


@dataclass(frozen=True, slots=True)
class Output:
    """How the generated PrometheusRule and the example Alertmanager config look."""

    crd_name: str = knob("kafka-vitals", "Name of the PrometheusRule object.")
    crd_namespace: str = knob("", "Namespace of the PrometheusRule; empty leaves it to kubectl.")
    crd_labels: Mapping[str, str] = knob(
        {"app.kubernetes.io/name": "kafka-vitals", "release": "kube-prometheus-stack"},
        "kube-prometheus-stack only loads PrometheusRules whose labels match its ruleSelector, "
        "by default `release: <helm release name>`; set it to yours.",
    )
    webhook_url: str = knob(
        "http://127.0.0.1:9095/alerts",
        "Example receiver base URL; each severity posts to `<url>/<severity>`. Replace with real "
        "receivers (pager for critical, chat for warning, tickets for info).",
    )
    group_wait: str = knob("30s", "Collect the alerts of one incident into one notification.")
    group_interval: str = knob("5m", "How often a group is notified of new alerts in it.")
    repeat_interval: str = knob("4h", "Remind of unresolved alerts, not more often.")
