"""promtool scenarios for produce latency spikes and traffic drops.

Latency: a spike fires only above both the baseline multiple and the floor; other quantiles and
requests, and NaN, never fire. Drops: a stop fires; a fall to exactly the ratio, a topic that had
too little traffic, a deleted topic and a recreated topic (offsets back to 0) never fire; the
broker-wide MessagesIn series (topic="") and the per-topic ones never mix.
"""

from __future__ import annotations

from collections.abc import Callable

from exporter.catalog import admin, jmx
from tools.promtool.cases import Check, Ctx, Expect, Scenario, Series, Values, standard_checks


def _latency(ctx: Ctx) -> list[Scenario]:
    pl = ctx.t.produce_latency
    f, k = ctx.minutes(pl.for_), ctx.minutes(pl.keep_firing_for)
    start = ctx.minutes(pl.baseline_window) + ctx.minutes(pl.baseline_offset) + 10
    spike, after = f + 5, k + 5
    n = start + spike + after
    name = jmx.REQUEST_TOTAL_TIME.name

    def q(target: str, request: str, quantile: str, v: Values) -> Series:
        labels = {"target": target, "request": request, "quantile": quantile}
        return ctx.series(name, labels, v)

    def shape(base: float, peak: float) -> Values:
        return Values().hold(base, start).hold(peak, spike).hold(base, after)

    base = pl.floor_ms / 5
    peak = max(pl.floor_ms, pl.factor * base) * 2
    p99 = pl.quantile
    fired = Expect(ctx.entity(target="broker-1:9999"), peak)
    return [
        Scenario(
            "KafkaProduceLatencySpike",
            "a spike above baseline x factor and the floor fires, only for its broker",
            (
                q("broker-1:9999", "Produce", p99, shape(base, peak)),
                q("broker-2:9999", "Produce", p99, Values().nan(n)),
                q("broker-3:9999", "Produce", p99, Values().hold(base, n)),
                q("broker-3:9999", "Produce", "0.50", shape(base, peak * 10)),
                q("broker-3:9999", "Fetch", p99, shape(base, peak * 10)),
            ),
            tuple(standard_checks(ctx, start, pl.for_, pl.keep_firing_for, fired)),
        ),
        Scenario(
            "KafkaProduceLatencySpike",
            "above the factor but under the floor never fires",
            (q("broker-1:9999", "Produce", p99, shape(base, pl.floor_ms * 0.9)),),
            (Check(start + f + 1, why="under the floor"),),
        ),
        Scenario(
            "KafkaProduceLatencySpike",
            "above the floor but exactly at the factor never fires",
            (q("broker-1:9999", "Produce", p99, shape(pl.floor_ms, pl.floor_ms * pl.factor)),),
            (Check(start + f + 1, why="not above factor x baseline"),),
        ),
    ]


Make = Callable[[Values], tuple[Series, ...]]
"""Builds a scenario's series; each of its two traffic series (brokers or partitions) gets the
given values, and any extra series it adds must span `values.count` minutes."""


def _drops(ctx: Ctx, alert: str, make: Make, expect: dict[str, str]) -> list[Scenario]:
    mi = ctx.t.messages_in
    w, off, f = ctx.minutes(mi.window), ctx.minutes(mi.offset), ctx.minutes(mi.for_)
    k = ctx.minutes(mi.keep_firing_for)
    start, during, after = w + off + 5, w + f + 5, w + k + 5
    # Two series share the traffic: 4 x min_rate messages/s in total before the drop.
    per_min = 60 * 2 * (mi.min_rate or 1)

    def traffic(inc: float, ratio: float) -> Values:
        v = Values().ramp(inc, start, start=0).ramp(inc * ratio, during)
        return v.ramp(inc, after)

    stop = [
        Check(start - 1, why="steady traffic"),
        Check(start + 1, why="dropping, the rate window has not passed yet"),
        Check(start + w + f + 1, (Expect(expect, 0),), why="stopped for window + for"),
        Check(start + during + w + k + 2, why="traffic back"),
    ]
    never = (Check(start + w + f + 1, why="must not fire"),)
    out = [
        Scenario(
            alert, "traffic stops, fires, resumes, resolves", make(traffic(per_min, 0)), tuple(stop)
        ),
        Scenario(
            alert,
            f"falls to exactly {mi.drop_ratio} of before, never fires",
            make(traffic(per_min, mi.drop_ratio)),
            never,
        ),
        Scenario(
            alert,
            "series gone (topic deleted) never fires",
            make(Values().ramp(per_min, start, start=0).stale().gap(during + after - 1)),
            never,
        ),
    ]
    if mi.min_rate:
        quiet = traffic(60 * mi.min_rate / 4, 0)
        out.append(Scenario(alert, "a topic under min_rate before never fires", make(quiet), never))
    return out


def _jmx_drops(ctx: Ctx) -> list[Scenario]:
    name = jmx.MESSAGES_IN.name
    b1, b2 = {"target": "broker-1:9999"}, {"target": "broker-2:9999"}

    def flowing(v: Values) -> Values:
        return Values().ramp(6000, v.count, start=0)

    def topic(v: Values) -> tuple[Series, ...]:
        return (
            ctx.series(name, {**b1, "topic": "orders"}, v),
            ctx.series(name, {**b2, "topic": "orders"}, v),
            # The broker-wide series drops too; a rule mixing it in would fire for topic="".
            ctx.series(name, {**b1, "topic": ""}, v),
        )

    def cluster(v: Values) -> tuple[Series, ...]:
        return (
            ctx.series(name, {**b1, "topic": ""}, v),
            ctx.series(name, b2, v),  # no topic label at all is the same as topic=""
            # Per-topic series keep flowing; a rule mixing them in would see no drop.
            ctx.series(name, {**b1, "topic": "orders"}, flowing(v)),
        )

    return [
        *_drops(ctx, "KafkaTopicMessagesInDropped", topic, ctx.entity(topic="orders")),
        *_drops(ctx, "KafkaClusterMessagesInDropped", cluster, ctx.entity()),
    ]


def _offset_drops(ctx: Ctx) -> list[Scenario]:
    name = admin.PARTITION_CURRENT_OFFSET.name
    mi = ctx.t.messages_in

    def topic(v: Values) -> tuple[Series, ...]:
        return tuple(ctx.series(name, {"topic": "orders", "partition": p}, v) for p in "01")

    out = _drops(ctx, "KafkaTopicOffsetRateDropped", topic, ctx.entity(topic="orders"))
    # Recreated topic: offsets restart at 0 and rise at the old pace; rate() sees a counter
    # reset, where deriv() or delta() would see a collapse.
    start = ctx.minutes(mi.window) + ctx.minutes(mi.offset) + 5
    during = ctx.minutes(mi.window) + ctx.minutes(mi.for_) + 5
    per_min = 60 * 2 * (mi.min_rate or 1)
    recreated = Values().ramp(per_min, start, start=10_000_000).ramp(per_min, during, start=0)
    out.append(
        Scenario(
            "KafkaTopicOffsetRateDropped",
            "a recreated topic (offsets back to 0) at the same pace never fires",
            topic(recreated),
            tuple(Check(m, why="same pace") for m in range(start - 1, start + during)),
        )
    )
    return out


def scenarios(ctx: Ctx) -> list[Scenario]:
    return [*_latency(ctx), *_jmx_drops(ctx), *_offset_drops(ctx)]
