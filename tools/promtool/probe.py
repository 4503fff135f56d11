"""promtool scenarios for the end-to-end probe alerts.

Besides threshold, `for`, firing and resolving, they pin: no probe (no series) never fires; a
histogram without observations (NaN quantile) never fires; fast messages never fire; a broker
whose messages are lost fires for that broker only; an exporter restart (the lost counter back to
0) is no loss; two replicas probing add samples to one quantile.
"""

from __future__ import annotations

from exporter.catalog import probe as cat
from tools.promtool.cases import Check, Ctx, Expect, Scenario, Series, Values

INSTANCE = {"instance": "kafka-vitals:10308"}
REPLICA = {"instance": "kafka-vitals-b:10308"}
SLOW_BUCKET = 1.0
"""Where the slow messages fall: (0.5, 1.0], so the p99 is 0.5 + 0.5 x 0.99 = 0.995 s."""


def _buckets(ctx: Ctx, labels: dict[str, str], grow: dict[float, Values]) -> list[Series]:
    """One series per bucket of the end-to-end histogram; `grow[bound]` gives the values of the
    cumulative bucket `le=bound` (and of every bucket above it up to the next key); the buckets
    below the first key stay 0."""
    name = f"{cat.END_TO_END_LATENCY.name}_bucket"
    bounds = (*cat.END_TO_END_LATENCY.buckets, float("inf"))
    keys = sorted(grow)
    zero = Values().hold(0, grow[keys[0]].count)
    out = []
    for bound in bounds:
        below = [k for k in keys if k <= bound]
        le = "+Inf" if bound == float("inf") else repr(float(bound))
        out.append(ctx.series(name, {**labels, "le": le}, grow[below[-1]] if below else zero))
    return out


def _latency(ctx: Ctx) -> list[Scenario]:
    pl = ctx.t.probe_latency
    f, w, k = ctx.minutes(pl.for_), ctx.minutes(pl.window), ctx.minutes(pl.keep_firing_for)
    start, slow = 5, f + 10
    n = start + slow + w + k + 10
    # nothing observed before start (NaN quantile), slow messages for `slow` minutes, then none
    slow_counts = Values().hold(0, start).ramp(10, slow, start=10).hold(10 * slow, n - start - slow)
    fast_counts = Values().ramp(10, n, start=0)
    broker = {**INSTANCE, "broker": "1"}
    fired = Expect(ctx.entity(broker="1"), 0.5 + 0.5 * float(pl.quantile))
    ended = start + slow
    return [
        Scenario(
            "KafkaProbeEndToEndLatencyHigh",
            "slow messages fire after for; no observations at all is no alert; resolves",
            tuple(_buckets(ctx, broker, {SLOW_BUCKET: slow_counts})),
            (
                Check(start - 1, why="no observation: the quantile is NaN"),
                Check(start + f - 1, why="above the threshold, for not elapsed"),
                Check(start + f + 2, (fired,), why="above the threshold for longer than for"),
                Check(ended + w + k + 2, why="no new observation: NaN again, resolved"),
            ),
        ),
        Scenario(
            "KafkaProbeEndToEndLatencyHigh",
            "fast messages never fire; two replicas add up into one quantile",
            (
                *_buckets(ctx, broker, {0.01: fast_counts}),
                *_buckets(ctx, {**REPLICA, "broker": "1"}, {0.01: Values().ramp(10, n, start=0)}),
                *_buckets(ctx, {**INSTANCE, "broker": "2"}, {0.005: Values().ramp(5, n, start=0)}),
            ),
            (Check(start + f + 2, why="p99 of 10 ms"), Check(n - 2, why="p99 of 10 ms")),
        ),
        Scenario(
            "KafkaProbeEndToEndLatencyHigh",
            "no probe: no series, never fires",
            (ctx.series("kafka_vitals_up", {**INSTANCE, "source": "admin"}, Values().hold(1, n)),),
            (Check(start + f + 2, why="no kafka_probe series"),),
        ),
    ]


def _lost(ctx: Ctx) -> list[Scenario]:
    ml = ctx.t.probe_messages_lost
    f, w, k = ctx.minutes(ml.for_), ctx.minutes(ml.window), ctx.minutes(ml.keep_firing_for)
    start, losing = w + 2, f + 4
    at = start + f + 1
    # the window at `at` starts before the loss (a 0 sample), so increase() is the count itself
    n = start + losing + w + k + 10
    # 2 messages lost every minute while the broker is stopped
    lost = Values().hold(0, start).ramp(2, losing, start=2).hold(2 * losing, n - start - losing)
    name = cat.MESSAGES_LOST.name
    restarted = Values().hold(9, start).hold(0, n - start)
    return [
        Scenario(
            "KafkaProbeMessagesLost",
            "a broker losing messages fires for that broker only, then resolves",
            (
                ctx.series(name, {**INSTANCE, "broker": "1"}, lost),
                ctx.series(name, {**INSTANCE, "broker": "2"}, Values().hold(0, n)),
            ),
            (
                Check(start - 1, why="nothing lost"),
                Check(start + f - 1, why="lost, for not elapsed"),
                Check(
                    at,
                    (Expect(ctx.entity(broker="1"), 2.0 * (at - start + 1)),),
                    why="lost for longer than for",
                ),
                Check(start + losing + w + k + 2, why="nothing lost in the window, resolved"),
            ),
        ),
        Scenario(
            "KafkaProbeMessagesLost",
            "an exporter restart (the counter back to 0) is no loss",
            (ctx.series(name, {**INSTANCE, "broker": "1"}, restarted),),
            (Check(start + 1, why="counter reset"), Check(start + f + 1, why="counter reset")),
        ),
    ]


def _failing(ctx: Ctx) -> list[Scenario]:
    pf = ctx.t.probe_failing
    f, k = ctx.minutes(pf.for_), ctx.minutes(pf.keep_firing_for)
    start, down, after = f + 2, f + 5, k + 5
    values = Values().hold(1, start).hold(0, down).hold(1, after)
    return [
        Scenario(
            "KafkaProbeFailing",
            "the probe not running fires after for, running again resolves",
            (ctx.series(cat.UP.name, INSTANCE, values),),
            (
                Check(start - 1, why="the probe runs"),
                Check(start + f - 1, why="failing, for not elapsed"),
                Check(start + f + 1, (Expect(ctx.entity(**INSTANCE), 0),), why="failing"),
                Check(start + down + k + 2, why="running again"),
            ),
        ),
    ]


def scenarios(ctx: Ctx) -> list[Scenario]:
    return [*_latency(ctx), *_lost(ctx), *_failing(ctx)]
