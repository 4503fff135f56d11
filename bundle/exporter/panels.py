"""The exporter's own health panels, for its dashboard (`bundle.dashboards.exporter_health`): its
sources, poll timing, data age, errors, collectors, series and scrapes, each drawing the bar of
the alert behind it.
"""

from __future__ import annotations

from grafanalib import core as g

from bundle.config import why
from bundle.core.promql import num
from bundle.dashboards.common import Scope, colors, dashed, for_query
from bundle.dashboards.panels import Q, stat, table, timeline, timeseries
from exporter.catalog import own

CYCLE = 'stage="cycle"'
UP_NAMES = [
    {
        "options": {
            "0": {"color": "red", "index": 0, "text": "DOWN"},
            "1": {"color": "green", "index": 1, "text": "UP"},
        },
        "type": "value",
    }
]


def _age(sc: Scope) -> str:
    return f"time() - max({sc.sel(own.LAST_POLL)})"


def _interval(sc: Scope) -> str:
    return f"max({sc.sel(own.POLL_INTERVAL)})"


def stats(sc: Scope) -> list[tuple[g.Panel, int]]:
    ds = sc.config.data_stale
    stale = sc.bar("KafkaVitalsDataStale", ds.intervals)
    return [
        (
            stat(
                "Sources",
                "Each source of the exporter in the last poll: the Admin API and every "
                "JMX target (kafka_vitals_up). A failed source drops only its own series. "
                + why(sc.config.source_down, "for_"),
                "none",
                [Q(f"max {sc.by('source', 'target')} ({sc.sel(own.UP)})", "{{source}} {{target}}")],
                colors((None, "red"), (1, "green")),
                mappings=UP_NAMES,
                links=[sc.runbook("KafkaVitalsSourceDown")],
            ),
            8,
        ),
        (
            stat(
                "Scrape",
                "Whether Prometheus's last scrape of kafka-vitals worked (its own `up` "
                "series). " + why(sc.config.exporter_down, "for_"),
                "none",
                [Q(f"min({sc.prometheus('up')})")],
                colors((None, "red"), (1, "green")),
                mappings=UP_NAMES,
                links=[sc.runbook("KafkaVitalsExporterDown")],
            ),
            4,
        ),
        (
            stat(
                "Data age",
                "Age of the snapshot being served (new at every finished cycle), in seconds and in "
                f"poll intervals. KafkaVitalsDataStale fires above {num(ds.intervals)} intervals. "
                + why(ds, "intervals"),
                "s",
                [Q(_age(sc), "age"), Q(f"({_age(sc)}) / {_interval(sc)}", "intervals")],
                colors((None, "blue")),
                overrides=[for_query("B", "none", stale.steps(), 1)],
                links=[sc.runbook(stale.alert)],
            ),
            4,
        ),
        (
            stat(
                "Last cycle",
                "Wall time of the last whole poll cycle, and as a share of the poll "
                "interval: near 100 % the exporter cannot keep its schedule.",
                "s",
                [
                    Q(f"max({sc.sel(own.POLL_DURATION, CYCLE)})", "duration"),
                    Q(f"max({sc.sel(own.POLL_DURATION, CYCLE)}) / {_interval(sc)}", "of interval"),
                ],
                colors((None, "blue")),
                overrides=[
                    for_query(
                        "B", "percentunit", colors((None, "green"), (0.8, "orange"), (1, "red"))
                    )
                ],
            ),
            4,
        ),
        (
            stat(
                "Series served",
                "Series in the snapshot being served (all families), and the samples Prometheus "
                "got in its last scrape.",
                "short",
                [
                    Q(f"sum({sc.sel(own.SERIES)})", "series"),
                    Q(f"max({sc.prometheus('scrape_samples_scraped')})", "scraped"),
                ],
                colors((None, "blue")),
            ),
            4,
        ),
    ]


def polls(sc: Scope) -> list[tuple[g.Panel, int]]:
    ds = sc.config.data_stale
    stale = sc.bar("KafkaVitalsDataStale", ds.intervals)
    return [
        (
            timeseries(
                "Poll duration by stage",
                "Wall time of each stage of the last poll cycle "
                "(stage=cycle: the whole cycle), against the poll interval (dashed). Polling "
                "runs in the background: a scrape never waits on Kafka or JMX.",
                "s",
                [
                    Q(f"max {sc.by('stage')} ({sc.sel(own.POLL_DURATION)})", "{{stage}}"),
                    Q(_interval(sc), "poll interval"),
                ],
                overrides=[dashed("poll interval", "blue")],
            ),
            12,
        ),
        (
            timeseries(
                "Data age and alert bar",
                "Age of the snapshot being served, in seconds. The dashed "
                f"line is KafkaVitalsDataStale's bar: {num(ds.intervals)} poll intervals.",
                "s",
                [Q(_age(sc), "data age"), Q(f"{num(ds.intervals)} * {_interval(sc)}", "alert bar")],
                overrides=[dashed("alert bar", stale.color)],
                links=[sc.runbook(stale.alert)],
            ),
            12,
        ),
    ]


def errors(sc: Scope) -> list[tuple[g.Panel, int]]:
    return [
        (
            timeseries(
                "Poll errors by stage",
                "Failed poll stages per minute. A failed stage "
                "drops its own series from the snapshot; the rest of the cycle is kept.",
                "cpm",
                [Q(f"60 * sum {sc.by('stage')} ({sc.rate(own.POLL_ERRORS)})", "{{stage}}")],
            ),
            8,
        ),
        (
            timeseries(
                "JMX query duration by target",
                "Wall time of the last JMX query of each "
                "target, including the JVM start (each query starts one).",
                "s",
                [Q(f"max {sc.by('target')} ({sc.sel(own.JMX_DURATION)})", "{{target}}")],
            ),
            8,
        ),
        (
            timeseries(
                "JMX errors by target",
                "Failed JMX queries per minute, by target and reason (refused, timed out, "
                "unreadable answer); only failing ones are drawn, so it is empty while every JMX "
                "query works.",
                "cpm",
                [
                    Q(
                        f"60 * sum {sc.by('target', 'reason')} ({sc.rate(own.JMX_ERRORS)}) > 0",
                        "{{target}} {{reason}}",
                    )
                ],
            ),
            8,
        ),
    ]


def collectors(sc: Scope) -> list[tuple[g.Panel, int]]:
    return [
        (
            timeseries(
                "Collectors failing",
                "Collectors whose last run raised (kafka_vitals_collector_success == 0): their "
                "series are absent from the snapshot. Only failing ones are drawn, so it is empty "
                "while every collector works.",
                "short",
                [
                    Q(
                        f"max {sc.by('collector')} ({sc.sel(own.COLLECTOR_SUCCESS)}) == 0",
                        "{{collector}}",
                    )
                ],
            ),
            12,
        ),
        (
            timeseries(
                "Collector duration",
                "Wall time of each collector in the last poll cycle: translation of the cycle's "
                "source data into series (collectors do no I/O).",
                "s",
                [
                    Q(
                        f"max {sc.by('collector')} ({sc.sel(own.COLLECTOR_DURATION)})",
                        "{{collector}}",
                    )
                ],
            ),
            12,
        ),
    ]


def series(sc: Scope) -> list[tuple[g.Panel, int]]:
    return [
        (
            timeseries(
                "Series by family",
                "Series served per metric family: where cardinality "
                "comes from (lag per partition usually dominates).",
                "short",
                [Q(f"max {sc.by('family')} ({sc.sel(own.SERIES)})", "{{family}}")],
            ),
            8,
        ),
        (
            timeseries(
                "Series dropped, duplicates, clamped lag",
                "Per minute: series left out by "
                "the series cap, duplicate series left out when rendering (a bug), and "
                "partitions whose lag was clamped to 0 (committed offset read above the log "
                "end).",
                "cpm",
                [
                    Q(
                        f"60 * sum {sc.by('family')} ({sc.rate(own.SERIES_DROPPED)})",
                        "dropped {{family}}",
                    ),
                    Q(
                        f"60 * sum {sc.by('family')} ({sc.rate(own.SERIES_DUPLICATE)})",
                        "duplicate {{family}}",
                    ),
                    Q(f"60 * sum({sc.rate(own.LAG_CLAMPED)})", "lag clamped"),
                ],
            ),
            8,
        ),
        (
            timeseries(
                "Scrape duration",
                "How long Prometheus takes to scrape kafka-vitals: it copies pre-rendered bytes, "
                "so this stays flat as the cluster grows.",
                "s",
                [Q(f"max({sc.prometheus('scrape_duration_seconds')})", "scrape duration")],
            ),
            8,
        ),
    ]


def sources(sc: Scope) -> list[tuple[g.Panel, int]]:
    return [
        (
            timeline(
                "Sources up over time",
                "Each source's state at every poll: the Admin API and each JMX target.",
                [Q(f"max {sc.by('source', 'target')} ({sc.sel(own.UP)})", "{{source}} {{target}}")],
                UP_NAMES,
            ),
            16,
        ),
        (
            table(
                "Build",
                "Version of kafka-vitals and of the libraries it talks through.",
                "none",
                [
                    Q(
                        f"max {sc.by('version', 'python_version', 'librdkafka_version')} "
                        f"({sc.sel(own.BUILD_INFO)})"
                    )
                ],
                rename={"Value": "running"},
            ),
            8,
        ),
    ]


def sources_up(sc: Scope) -> list[tuple[g.Panel, int]]:
    """The overview's exporter stat: the share of its sources that answered the last poll."""
    return [
        (
            stat(
                "Exporter sources up",
                "Sources of kafka-vitals that answered in the last poll (kafka_vitals_up: the "
                "Admin API and each JMX target) out of all. A dead or blind exporter looks "
                "exactly like a quiet, healthy cluster. KafkaVitalsSourceDown fires when one is 0.",
                "percentunit",
                [Q(f"avg({sc.sel(own.UP)})")],
                colors((None, "red"), (0.999, "green")),
                links=[sc.runbook("KafkaVitalsSourceDown")],
            ),
            4,
        ),
    ]
