"""promtool scenarios for the broker-vitals alerts: offline log directories, unclean leader
elections, consumers polling too slowly.

Besides threshold, `for`, firing and resolving, they pin that missing series and NaN never fire,
that a second exporter replica does not double the election count, and that an election ages out
of the window.
"""

from __future__ import annotations

from exporter.catalog import jmx_broker, jmx_client
from tools.promtool.cases import Check, Ctx, Expect, Scenario, Values
from tools.promtool.consumers import threshold_gauge

REPLICA = {"instance": "kafka-vitals-b:10308"}


def _missing(ctx: Ctx, alert: str, name: str, labels: dict[str, str]) -> Scenario:
    """The series goes away (target down): nothing fires on missing data."""
    return Scenario(
        alert,
        "a series that goes missing never fires",
        (ctx.series(name, labels, Values().hold(0, 2).stale().gap(20)),),
        tuple(Check(m, why="no current value") for m in (5, 10, 20)),
    )


def _unclean(ctx: Ctx) -> list[Scenario]:
    ue = ctx.t.unclean_election
    w = ctx.minutes(ue.window)
    name = jmx_broker.UNCLEAN_ELECTIONS.name
    start = 3
    series = tuple(
        ctx.series(name, {"target": target, **extra}, values)
        for extra in ({}, REPLICA)
        for target, values in (
            ("broker-1:9999", Values().hold(0, start).hold(1, w + 5)),
            ("broker-2:9999", Values().hold(0, start + w + 5)),
        )
    )
    return [
        Scenario(
            "KafkaUncleanLeaderElection",
            "one election fires once (replicas not doubled) and ages out of the window",
            series,
            (
                Check(start - 1, why="no election yet"),
                Check(start + 1, (Expect(ctx.entity(), 1),), why="the count grew in the window"),
                Check(start + w + 2, why="the election left the window"),
            ),
        ),
        Scenario(
            "KafkaUncleanLeaderElection",
            "every controller counts the one election (one restarted, absent until after it): "
            "fires once, not once per controller",
            (
                ctx.series(
                    name, {"target": "broker-1:9999"}, Values().hold(0, start).hold(1, w + 5)
                ),
                ctx.series(
                    name, {"target": "broker-3:9999"}, Values().hold(0, 1).gap(start).hold(1, w + 4)
                ),
            ),
            (
                Check(start - 1, why="no election yet"),
                Check(start + 2, (Expect(ctx.entity(), 1),), why="counted by both controllers"),
            ),
        ),
        Scenario(
            "KafkaUncleanLeaderElection",
            "a steady count never fires, NaN never fires",
            (
                ctx.series(name, {"target": "broker-1:9999"}, Values().hold(2, 20)),
                ctx.series(name, {"target": "broker-2:9999"}, Values().nan(20)),
            ),
            tuple(Check(m, why="no increase") for m in (5, 15)),
        ),
        _missing(ctx, "KafkaUncleanLeaderElection", name, {"target": "broker-1:9999"}),
    ]


def scenarios(ctx: Ctx) -> list[Scenario]:
    t = ctx.t
    ld, pi = t.offline_log_directory, t.poll_interval
    broker = {"target": "broker-2:9999"}
    client = {"target": "app-1:9999", "client_id": "consumer-orders-1"}
    poll_max = jmx_client.BY_ATTRIBUTE[
        ("kafka.consumer", "consumer-metrics", "time-between-poll-max")
    ]
    limit = pi.max_poll_interval_ms * pi.ratio
    return [
        *threshold_gauge(
            ctx, "KafkaBrokerLogDirectoryOffline", jmx_broker.OFFLINE_LOG_DIRS, broker,
            ctx.entity(**broker), 0, 1, ld.for_, ld.keep_firing_for, nan=True,
        ),
        _missing(ctx, "KafkaBrokerLogDirectoryOffline", jmx_broker.OFFLINE_LOG_DIRS.name, broker),
        *_unclean(ctx),
        *threshold_gauge(
            ctx, "KafkaConsumerPollIntervalNearMax", poll_max, client, ctx.entity(**client),
            limit, limit * 1.1, pi.for_, pi.keep_firing_for, nan=True,
        ),
        _missing(ctx, "KafkaConsumerPollIntervalNearMax", poll_max.name, client),
    ]  # fmt: skip
