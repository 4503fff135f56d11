"""promtool scenarios for the cluster alerts: replication, controller, brokers, latency, traffic.

Besides threshold, `for`, firing and resolving, they pin the PromQL pitfalls: a second exporter
replica must not double a count, the broker-wide and per-topic MessagesIn series must not mix,
a Yammer quantile is never averaged, a recreated topic's offsets are a counter reset, not a drop.
"""

from __future__ import annotations

from alerts.promtool_cases import Check, Ctx, Expect, Scenario, Series, Values, standard_checks
from alerts.promtool_consumers import threshold_gauge
from exporter.catalog import Metric, admin, jmx

REPLICA = {"instance": "kafka-vitals-b:9340"}
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
    ac = ctx.t.active_controller
    f, k = ctx.minutes(ac.for_), ctx.minutes(ac.keep_firing_for)
    start, bad, after = f + 2, f + 5, k + 5
    n = start + bad + after

    def broker(name: str, v: Values) -> Series:
        return ctx.series(jmx.ACTIVE_CONTROLLER.name, {"target": f"{name}:9999"}, v)

    def scenario(name: str, b1: Values, b2: Values, value: float) -> Scenario:
        series = (
            broker("broker-1", b1),
            broker("broker-2", b2),
            broker("broker-3", Values().hold(0, n)),
        )
        checks = standard_checks(
            ctx, start, ac.for_, ac.keep_firing_for, Expect(ctx.entity(), value)
        )
        return Scenario("KafkaNoActiveController", name, series, tuple(checks))

    moved = Values().hold(0, start + bad).hold(1, after)
    return [
        scenario(
            "no controller fires, a new one resolves",
            Values().hold(1, start).hold(0, bad).hold(0, after),
            moved,
            0,
        ),
        scenario(
            "two controllers (split brain) fire",
            Values().hold(1, n),
            Values().hold(0, start).hold(1, bad).hold(0, after),
            2,
        ),
        Scenario(
            "KafkaNoActiveController",
            "a broker without JMX data while another is controller does not fire",
            (broker("broker-1", Values().hold(1, n)), broker("broker-2", Values().hold(0, n))),
            (Check(n - 1, why="sum over the brokers that answer is 1"),),
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
