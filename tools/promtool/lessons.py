"""promtool scenarios for the lessons alerts: dead letters, idle members, headroom, hygiene, status.

Besides threshold, `for`, firing and resolving, they pin what makes these alerts trustworthy: retry
topics never page as dead letters, a recreated dead-letter topic (a counter reset) is not inflow,
headroom only alerts where a plan exists, hygiene needs all three of frequent rebalances, an eager
assignor and dynamic members, and a partial stall is told apart from a whole-group stall.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from exporter.catalog import Metric, admin
from exporter.catalog import lessons as cat
from tools.promtool.cases import Check, Ctx, Expect, Scenario, Series, Values, standard_checks
from tools.promtool.consumers import threshold_gauge

REPLICA = {"instance": "kafka-vitals-b:10308"}
"""A second exporter replica scraped under the same job: nothing may double."""

DLT = {"topic": "payments.DLT", "source_topic": "payments", "kind": "dlt"}
RETRY = {"topic": "payments-retry-1", "source_topic": "payments", "kind": "retry"}
DLT_ENTITY = {"topic": "payments.DLT", "source_topic": "payments"}


def _dead_letter_messages(ctx: Ctx) -> list[Scenario]:
    dm = ctx.t.dead_letter_messages
    w, f, k = ctx.minutes(dm.window), ctx.minutes(dm.for_), ctx.minutes(dm.keep_firing_for)
    start = w + 2
    n = start + w + k + 5
    dlt = [5.0] * start + [8.0] * (n - start)
    retry = [float(10 * i) for i in range(n)]
    fired = Expect(ctx.entity(**DLT_ENTITY), 3)
    checks = [Check(start - 1, why="no new dead letters")]
    if f >= 1:
        checks.append(Check(start + f - 1, why="arrived, for has not elapsed"))
    if start + f + 1 < start + w:
        checks.append(Check(start + f + 1, (fired,), why="3 dead letters within the window"))
    checks.append(Check(start + w + k + 1, why="none for a whole window"))
    recreated = [5.0] * start + [0.0] * (n - start)
    return [
        Scenario(
            "KafkaDeadLetterMessages",
            "a message fires for one window; retry topics never fire",
            (
                ctx.series(cat.DEADLETTER_MESSAGES.name, DLT, Values().explicit(dlt)),
                ctx.series(
                    cat.DEADLETTER_MESSAGES.name, {**DLT, **REPLICA}, Values().explicit(dlt)
                ),
                ctx.series(cat.DEADLETTER_MESSAGES.name, RETRY, Values().explicit(retry)),
            ),
            tuple(checks),
        ),
        Scenario(
            "KafkaDeadLetterMessages",
            "a topic recreated empty is a counter reset, not inflow",
            (ctx.series(cat.DEADLETTER_MESSAGES.name, DLT, Values().explicit(recreated)),),
            tuple(Check(m, why="reset to 0") for m in (start, start + f + 1, start + w - 1)),
        ),
    ]


def _dead_letter_inflow(ctx: Ctx) -> list[Scenario]:
    di = ctx.t.dead_letter_inflow
    w, f, k = ctx.minutes(di.window), ctx.minutes(di.for_), ctx.minutes(di.keep_firing_for)
    step = max(1.0, 2 * di.rate * 60)
    start, rising = w + 2, f + 5
    end = start + rising - 1
    n = end + w + k + 5
    steady = [0.0] * start + [step * (i + 1) for i in range(rising)]
    steady += [steady[-1]] * (n - len(steady))
    burst = [0.0] * start + [step, 2 * step] + [2 * step] * (n - start - 2)
    at = start + f + 1
    fired = Expect(ctx.entity(**DLT_ENTITY), (steady[at] - steady[at - w]) / (w * 60))
    checks = [Check(start - 1, why="no inflow")]
    if f >= 1:
        checks.append(Check(start + f - 1, why="inflow, for has not elapsed"))
    checks.append(Check(at, (fired,), why="inflow in every window for longer than for"))
    checks.append(Check(end + w + k + 1, why="no inflow for a window and keep_firing_for"))
    out = [
        Scenario(
            "KafkaDeadLetterInflowSustained",
            "steady inflow fires, its end resolves",
            (ctx.series(cat.DEADLETTER_MESSAGES.name, DLT, Values().explicit(steady)),),
            tuple(checks),
        )
    ]
    if f > w + 1:  # a burst keeps the rate up for one window only
        out.append(
            Scenario(
                "KafkaDeadLetterInflowSustained",
                "one burst never fires",
                (ctx.series(cat.DEADLETTER_MESSAGES.name, DLT, Values().explicit(burst)),),
                tuple(Check(m, why="a single burst") for m in range(start, start + w + f + 2, 3)),
            )
        )
    return out


def _headroom(ctx: Ctx) -> list[Scenario]:
    ic, ph = ctx.t.idle_consumers, ctx.t.partition_headroom
    g = {"consumergroup": "orders-app"}
    gt = {**g, "topic": "orders"}
    f, k = ctx.minutes(ph.for_), ctx.minutes(ph.keep_firing_for)
    start, low, after = f + 2, f + 5, k + 5
    total = start + low + after
    low_value = round(ph.min_ratio * 0.625, 6)
    ratio = Values().hold(ph.min_ratio, start).hold(low_value, low).hold(ph.min_ratio * 2, after)
    planned = Values().hold(4, total)
    checks = [Check(start - 1, why="at the target (not below) for longer than for")]
    checks += standard_checks(
        ctx, start, ph.for_, ph.keep_firing_for, Expect(ctx.entity(**gt), low_value)
    )[1:]
    unplanned = Values().hold(low_value, total)
    return [
        *threshold_gauge(
            ctx,
            "KafkaConsumerGroupIdleMembers",
            cat.GROUP_IDLE_MEMBERS,
            g,
            ctx.entity(**g),
            0,
            1,
            ic.for_,
            ic.keep_firing_for,
        ),
        Scenario(
            "KafkaConsumerGroupPartitionHeadroomLow",
            "below the target with a plan fires, above resolves",
            (
                ctx.series(cat.GROUP_PARTITION_HEADROOM.name, gt, ratio),
                ctx.series(cat.GROUP_PLANNED_MEMBERS.name, gt, planned),
            ),
            tuple(checks),
        ),
        Scenario(
            "KafkaConsumerGroupPartitionHeadroomLow",
            "no plan configured never fires",
            (ctx.series(cat.GROUP_PARTITION_HEADROOM.name, gt, unplanned),),
            tuple(
                Check(m, why="the ratio against current members is only shown")
                for m in (start + f + 1, total - 1)
            ),
        ),
    ]


def _hygiene(ctx: Ctx) -> list[Scenario]:
    h = ctx.t.rebalance_hygiene
    w, f, k = ctx.minutes(h.window), ctx.minutes(h.for_), ctx.minutes(h.keep_firing_for)
    need = int(h.rebalances) + 1
    rising = f + need + 5
    counts = [0.0] * (w + 1) + [float(i + 1) for i in range(rising)]
    counts += [counts[-1]] * (w + k + 5)
    n = len(counts)
    groups = {
        "eager-dynamic": ("eager", "range", 2),
        "cooperative-dynamic": ("cooperative", "cooperative-sticky", 2),
        "eager-static": ("eager", "range", 0),
    }
    series: list[Series] = []
    for gid, (protocol, assignor, dynamic) in groups.items():
        g = {"consumergroup": gid}
        series.append(ctx.series(admin.GROUP_REBALANCES.name, g, Values().explicit(counts)))
        series.append(ctx.series(cat.GROUP_DYNAMIC_MEMBERS.name, g, Values().hold(dynamic, n)))
        info = {**g, "protocol": protocol, "assignor": assignor}
        series.append(ctx.series(cat.GROUP_REBALANCE_PROTOCOL.name, info, Values().hold(1, n)))
    first = w + need  # the first minute with more than `rebalances` in the window
    at = first + f + 1
    fired = Expect(ctx.entity(consumergroup="eager-dynamic"), counts[at] - counts[at - w])
    checks = [Check(first - 1, why=f"{int(h.rebalances)} rebalances: not more than the limit")]
    if f >= 1:
        checks.append(Check(first + f - 1, why="for has not elapsed"))
    checks.append(Check(at, (fired,), why="only the eager group with dynamic members fires"))
    quiet = next(t for t in range(at, n) if counts[t] - counts[t - w] <= h.rebalances)
    checks.append(Check(quiet + k + 1, why="few rebalances in the window again"))
    return [
        Scenario(
            "KafkaConsumerGroupRebalanceHygiene",
            "frequent rebalances with an eager assignor and dynamic members",
            tuple(series),
            tuple(checks),
        )
    ]


def status_series(
    ctx: Ctx, metric: Metric, labels: Mapping[str, str], pattern: Sequence[str]
) -> tuple[Series, ...]:
    """One series per status in `pattern` (one status a minute), 1 while current, stale after."""
    out = []
    for status in sorted(set(pattern)):
        v = Values()
        for i, now in enumerate(pattern):
            if now == status:
                v.hold(1, 1)
            elif i > 0 and pattern[i - 1] == status:
                v.stale()
            else:
                v.gap(1)
        out.append(ctx.series(metric.name, {**labels, "status": status}, v))
    return tuple(out)


def _group_status(ctx: Ctx, alert: str, status: str, for_: str, keep: str) -> list[Scenario]:
    f, k = ctx.minutes(for_), ctx.minutes(keep)
    g = {"consumergroup": "orders-app"}
    start = 3
    pattern = ["OK"] * start + [status] * (f + 5) + ["OK"] * (k + 5)
    other = "STALL" if status != "STALL" else "STOP"
    checks = standard_checks(ctx, start, for_, keep, Expect(ctx.entity(**g), 1))
    return [
        Scenario(
            alert,
            f"status {status} for longer than for fires, OK resolves",
            (
                *status_series(ctx, cat.GROUP_STATUS, g, pattern),
                *status_series(
                    ctx, cat.GROUP_STATUS, {"consumergroup": "billing"}, [other] * len(pattern)
                ),
            ),
            tuple(checks),
        )
    ]


def _partial_stall(ctx: Ctx) -> list[Scenario]:
    ps = ctx.t.partitions_stalled
    f, k = ctx.minutes(ps.for_), ctx.minutes(ps.keep_firing_for)
    start = 3
    n = start + f + 5 + k + 5
    stuck = ["OK"] * start + ["STALL"] * (f + 5) + ["OK"] * (k + 5)

    def partitions(stalled: Sequence[str]) -> tuple[Series, ...]:
        out: list[Series] = []
        for extra in ({}, REPLICA):
            for p in ("0", "1", "2"):
                labels = {"consumergroup": "orders-app", "topic": "orders", "partition": p, **extra}
                pattern = stuck if p in stalled else ["OK"] * n
                out.extend(status_series(ctx, cat.PARTITION_STATUS, labels, pattern))
        return tuple(out)

    fired = Expect(ctx.entity(consumergroup="orders-app", topic="orders"), 1)
    return [
        Scenario(
            "KafkaConsumerPartitionsStalled",
            "one of three partitions stalled fires, replicas not doubled",
            partitions(["1"]),
            tuple(standard_checks(ctx, start, ps.for_, ps.keep_firing_for, fired)),
        ),
        Scenario(
            "KafkaConsumerPartitionsStalled",
            "every partition stalled is the whole-group alert's case",
            partitions(["0", "1", "2"]),
            tuple(Check(m, why="all partitions stalled") for m in (start + f + 1, start + f + 4)),
        ),
    ]


def scenarios(ctx: Ctx) -> list[Scenario]:
    t = ctx.t
    cs, fb = t.consumer_stopped, t.consumer_falling_behind
    return [
        *_dead_letter_messages(ctx),
        *_dead_letter_inflow(ctx),
        *_headroom(ctx),
        *_hygiene(ctx),
        *_group_status(ctx, "KafkaConsumerGroupStopped", "STOP", cs.for_, cs.keep_firing_for),
        *_group_status(ctx, "KafkaConsumerGroupFallingBehind", "WARN", fb.for_, fb.keep_firing_for),
        *_partial_stall(ctx),
    ]
