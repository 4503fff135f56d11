"""promtool scenarios for the cluster alerts: replication, controller, brokers, latency, traffic.

Besides threshold, `for`, firing and resolving, they pin the PromQL pitfalls: a second exporter
replica must not double a count, the broker-wide and per-topic MessagesIn series must not mix,
a Yammer quantile is never averaged, a recreated topic's offsets are a counter reset, not a drop.
"""

from __future__ import annotations

from exporter.catalog import Metric, admin, jmx, own
from tools.promtool.cases import Check, Ctx, Expect, Scenario, Series, Values, standard_checks
from tools.promtool.consumers import threshold_gauge

REPLICA = {"instance": "kafka-vitals-b:10308"}
"""A second exporter replica scraped under the same job: counts must not double."""


def _per_broker(ctx: Ctx, alert: str, metric: Metric, for_: str, keep: str) -> list[Scenario]:
    return threshold_gauge(
        ctx,
        alert,
        metric,
        {"target": "broker-2:9999"},
        ctx.entity(target="broker-2:9999"),
        0,
        3,
        for_,
        keep,
    )


def _per_topic(ctx: Ctx, alert: str, metric: Metric, for_: str, keep: str) -> Scenario:
    f, k = ctx.minutes(for_), ctx.minutes(keep)
    start, bad, after = f + 2, f + 5, k + 5
    series: list[Series] = []
    for extra in ({}, REPLICA):
        for partition in ("0", "1", "2"):
            flagged = partition != "2"
            v = Values().hold(0, start).hold(1 if flagged else 0, bad).hold(0, after)
            labels = {"topic": "orders", "partition": partition, **extra}
            series.append(ctx.series(metric.name, labels, v))
        healthy = {"topic": "payments", "partition": "0", **extra}
        series.append(ctx.series(metric.name, healthy, Values().hold(0, start + bad + after)))
    checks = standard_checks(ctx, start, for_, keep, Expect(ctx.entity(topic="orders"), 2))
    return Scenario(
        alert, "partitions counted per topic, replicas not doubled", tuple(series), tuple(checks)
    )


def _replication(ctx: Ctx) -> list[Scenario]:
    t = ctx.t
    ur, mi, op = t.under_replicated, t.under_min_isr, t.offline_partitions
    out = [
        *_per_broker(
            ctx,
            "KafkaBrokerUnderReplicatedPartitions",
            jmx.UNDER_REPLICATED,
            ur.for_,
            ur.keep_firing_for,
        ),
        _per_topic(
            ctx,
            "KafkaTopicUnderReplicatedPartitions",
            admin.PARTITION_UNDER_REPLICATED,
            ur.for_,
            ur.keep_firing_for,
        ),
        *_per_broker(
            ctx, "KafkaBrokerUnderMinIsrPartitions", jmx.UNDER_MIN_ISR, mi.for_, mi.keep_firing_for
        ),
        _per_topic(
            ctx,
            "KafkaTopicUnderMinIsrPartitions",
            admin.PARTITION_UNDER_MIN_ISR,
            mi.for_,
            mi.keep_firing_for,
        ),
        _per_topic(
            ctx, "KafkaTopicOfflinePartitions", admin.PARTITION_OFFLINE, op.for_, op.keep_firing_for
        ),
    ]
    # Offline partitions from JMX: only the active controller reports the real count.
    f, k = ctx.minutes(op.for_), ctx.minutes(op.keep_firing_for)
    start, bad, after = f + 2, f + 5, k + 5
    out.append(
        Scenario(
            "KafkaOfflinePartitions",
            "the active controller's count, max over brokers",
            (
                ctx.series(
                    jmx.OFFLINE_PARTITIONS.name,
                    {"target": "broker-1:9999"},
                    Values().hold(0, start + bad + after),
                ),
                ctx.series(
                    jmx.OFFLINE_PARTITIONS.name,
                    {"target": "broker-2:9999"},
                    Values().hold(0, start).hold(4, bad).hold(0, after),
                ),
            ),
            tuple(
                standard_checks(ctx, start, op.for_, op.keep_firing_for, Expect(ctx.entity(), 4))
            ),
        )
    )
    out.extend(_controller(ctx))
    out.extend(_broker_count(ctx))
    return out


def _controller(ctx: Ctx) -> list[Scenario]:
    """The count over brokers, and the guard: no page while a broker's JMX target is down."""
    ac = ctx.t.active_controller
    f, k, w = ctx.minutes(ac.for_), ctx.minutes(ac.keep_firing_for), ctx.minutes(ac.window)
    start, bad, after = f + 2, f + 5, k + 5
    n = start + bad + after
    long = start + w + 10

    def target(name: str, up: Values, count: Values | None = None, **extra: str) -> list[Series]:
        """A JMX target's up series and, for a broker that answers, its controller count."""
        labels = {"target": f"{name}:9999", **extra}
        out = [ctx.series(own.UP.name, {**labels, "source": "jmx"}, up)]
        if count is not None:
            out.append(ctx.series(jmx.ACTIVE_CONTROLLER.name, labels, count))
        return out

    def broker(name: str, count: Values, length: int = n) -> list[Series]:
        """A broker whose JMX answers at every poll."""
        return target(name, Values().hold(1, length), count)

    def idle(name: str, length: int = n) -> list[Series]:
        """An answering broker that is not the controller."""
        return broker(name, Values().hold(0, length), length)

    def no_controller() -> list[Series]:
        """broker-1 loses the role at `start`; broker-2 takes it `bad` minutes later."""
        return [
            *broker("broker-1", Values().hold(1, start).hold(0, bad + after)),
            *broker("broker-2", Values().hold(0, start + bad).hold(1, after)),
        ]

    def fires(name: str, value: float, *series: list[Series]) -> Scenario:
        fired = Expect(ctx.entity(), value)
        checks = standard_checks(ctx, start, ac.for_, ac.keep_firing_for, fired)
        flat = tuple(x for group in series for x in group)
        return Scenario("KafkaNoActiveController", name, flat, tuple(checks))

    def held(name: str, checks: list[Check], *series: list[Series]) -> Scenario:
        flat = tuple(x for group in series for x in group)
        return Scenario("KafkaNoActiveController", name, flat, tuple(checks))

    split = Values().hold(0, start).hold(1, bad).hold(0, after)
    # broker-1 is the controller; its JMX target fails from `start` (its series end), then answers.
    failing = target(
        "broker-1",
        Values().hold(1, start).hold(0, bad).hold(1, after),
        Values().hold(1, start).stale().gap(bad - 1).hold(1, after),
    )
    dead = target(
        "broker-1",
        Values().hold(1, start).hold(0, long - start),
        Values().hold(1, start).stale().gap(long - start - 1),
    )
    return [
        fires("every broker answers, none is controller", 0, no_controller(), idle("broker-3")),
        fires(
            "every broker answers, two are controller (split brain)",
            2,
            broker("broker-1", Values().hold(1, n)),
            broker("broker-2", split),
            idle("broker-3"),
        ),
        held(
            "the controller's JMX target failing holds the alert",
            [
                Check(m, why="broker-1 does not answer: the others' sum is incomplete")
                for m in range(n)
            ],
            failing,
            idle("broker-2"),
            idle("broker-3"),
        ),
        held(
            "a broker target down longer than the window still holds the alert",
            [
                Check(start + f + 1, why="broker-1 served the controller count within the window"),
                Check(long - 1, why="broker-1 answered nothing within the window: may be a broker"),
            ],
            dead,
            idle("broker-2", long),
            idle("broker-3", long),
        ),
        held(
            "a target that never answered holds the alert",
            [Check(m, why="broker-4 never answered: it may be a broker") for m in range(n)],
            no_controller(),
            idle("broker-3"),
            target("broker-4", Values().hold(0, n)),
        ),
        fires(
            "a client target down does not hold the alert",
            0,
            no_controller(),
            idle("broker-3"),
            target("app-1", Values().hold(1, start).hold(0, n - start)),
        ),
        fires(
            "a target one exporter replica fails while another reads it does not hold the alert",
            0,
            no_controller(),
            idle("broker-3"),
            target("broker-1", Values().hold(0, n), instance="kafka-vitals-b:10308"),
        ),
    ]


def _broker_count(ctx: Ctx) -> list[Scenario]:
    bc = ctx.t.broker_count
    w, f, k = ctx.minutes(bc.window), ctx.minutes(bc.for_), ctx.minutes(bc.keep_firing_for)
    start, down, after = 10, f + 5, k + 5
    name = admin.BROKERS.name
    return [
        Scenario(
            "KafkaBrokerCountDropped",
            "a broker leaves and returns",
            (ctx.series(name, {}, Values().hold(3, start).hold(2, down).hold(3, after)),),
            tuple(
                standard_checks(ctx, start, bc.for_, bc.keep_firing_for, Expect(ctx.entity(), 2))
            ),
        ),
        Scenario(
            "KafkaBrokerCountDropped",
            "a deliberate scale-down stops alerting after the window",
            (ctx.series(name, {}, Values().hold(3, start).hold(2, w + 5)),),
            (
                Check(start + f + 1, (Expect(ctx.entity(), 2),), why="fewer than an hour ago"),
                Check(start + w + 2, why="the window no longer holds 3"),
            ),
        ),
        Scenario(
            "KafkaBrokerCountDropped",
            "missing data (Admin API down) never fires",
            (ctx.series(name, {}, Values().hold(3, start).stale().gap(down).hold(3, after)),),
            tuple(Check(m, why="no current value") for m in range(start, start + down + after)),
        ),
    ]


def scenarios(ctx: Ctx) -> list[Scenario]:
    return _replication(ctx)
