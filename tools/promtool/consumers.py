"""promtool scenarios for the consumer alerts: lag, lag seconds, stalled groups, rebalances.

Every alert gets: not firing at the threshold itself, not firing before `for` elapses, firing above
it with the exact description, resolving after the condition ends (and `keep_firing_for`), and not
firing on NaN where the source can report NaN (client JMX).
"""

from __future__ import annotations

from collections.abc import Mapping

from exporter.catalog import Metric, admin, jmx
from exporter.domain.groups import REBALANCING_STATES
from tools.promtool.cases import (
    Check,
    Ctx,
    Expect,
    Scenario,
    Series,
    Values,
    standard_checks,
)


def threshold_gauge(
    ctx: Ctx,
    alert: str,
    metric: Metric,
    labels: Mapping[str, str],
    expect: Mapping[str, str],
    threshold: float,
    high: float,
    for_: str,
    keep_firing_for: str,
    nan: bool = False,
) -> list[Scenario]:
    """The standard scenarios of a `gauge > threshold` alert."""
    f, k = ctx.minutes(for_), ctx.minutes(keep_firing_for)
    at, above, after = f + 2, f + 5, k + 5
    values = Values().hold(threshold, at).hold(high, above).hold(threshold, after)
    checks = [Check(at - 1, why="at the threshold (not above) for longer than for")]
    checks += standard_checks(ctx, at, for_, keep_firing_for, Expect(expect, high))[1:]
    out = [
        Scenario(
            alert,
            "threshold, for, firing, resolving",
            (ctx.series(metric.name, labels, values),),
            tuple(checks),
        )
    ]
    if nan:
        out.append(
            Scenario(
                alert,
                "NaN never fires",
                (ctx.series(metric.name, labels, Values().nan(at + above)),),
                (Check(at + f + 1, why="NaN > threshold is false"),),
            )
        )
    return out


def _lag(ctx: Ctx) -> list[Scenario]:
    t = ctx.t
    lag, sec = t.consumer_lag, t.lag_seconds
    group = {"consumergroup": "orders-app", "topic": "orders"}
    client = {"target": "app-1:9999", "client_id": "consumer-orders-1"}
    return [
        *threshold_gauge(
            ctx,
            "KafkaConsumerGroupLagHigh",
            admin.GROUP_LAG_SUM,
            group,
            ctx.entity(**group),
            lag.messages,
            lag.messages * 1.2,
            lag.for_,
            lag.keep_firing_for,
        ),
        *threshold_gauge(
            ctx,
            "KafkaConsumerRecordsLagHigh",
            jmx.CLIENT_RECORDS_LAG_MAX,
            client,
            ctx.entity(**client),
            lag.messages,
            lag.messages * 1.2,
            lag.for_,
            lag.keep_firing_for,
            nan=True,
        ),
        *threshold_gauge(
            ctx,
            "KafkaConsumerGroupLagSecondsHigh",
            admin.GROUP_LAG_SECONDS_MAX,
            {"consumergroup": "orders-app"},
            ctx.entity(consumergroup="orders-app"),
            sec.seconds,
            sec.seconds * 2,
            sec.for_,
            sec.keep_firing_for,
        ),
    ]


def _past_end(ctx: Ctx) -> list[Scenario]:
    pe = ctx.t.offset_past_log_end
    group = {"consumergroup": "orders-app", "topic": "orders"}
    return threshold_gauge(
        ctx,
        "KafkaConsumerGroupOffsetPastLogEnd",
        admin.GROUP_PARTITIONS_PAST_LOG_END,
        group,
        ctx.entity(**group),
        0,
        2,
        pe.for_,
        pe.keep_firing_for,
        nan=True,
    )


def _stalled(ctx: Ctx) -> list[Scenario]:
    st = ctx.t.stalled
    w, f, k = ctx.minutes(st.window), ctx.minutes(st.for_), ctx.minutes(st.keep_firing_for)
    g = {"consumergroup": "orders-app"}
    gt = {**g, "topic": "orders"}
    healthy, stuck, resumed = w + 5, w + f + 5, k + 5
    total = healthy + stuck + resumed

    def offsets(stop: bool) -> Values:
        v = Values().ramp(100, healthy, start=0)
        v = v.hold(v.last, stuck) if stop else v.ramp(100, stuck)
        return v.ramp(100, resumed)

    def scenario(name: str, lag: Values, members: float, fires: bool) -> Scenario:
        series = (
            ctx.series(admin.GROUP_CURRENT_OFFSET_SUM.name, gt, offsets(stop=True)),
            ctx.series(admin.GROUP_LAG_SUM.name, gt, lag),
            ctx.series(admin.GROUP_MEMBERS.name, g, Values().hold(members, total)),
            # Another group keeps committing and must never be reported.
            ctx.series(
                admin.GROUP_CURRENT_OFFSET_SUM.name,
                {"consumergroup": "billing", "topic": "orders"},
                offsets(stop=False),
            ),
            ctx.series(
                admin.GROUP_LAG_SUM.name,
                {"consumergroup": "billing", "topic": "orders"},
                Values().hold(50, total),
            ),
            ctx.series(
                admin.GROUP_MEMBERS.name, {"consumergroup": "billing"}, Values().hold(1, total)
            ),
        )
        lag_at = healthy + stuck - 2
        expect = (Expect(ctx.entity(**gt), 300 + 10 * lag_at),) if fires else ()
        checks = [
            Check(healthy - 1, why="committing"),
            Check(healthy + stuck - 2, expect, why="no commit for window + for"),
            Check(total - 1, why="committing again"),
        ]
        return Scenario("KafkaConsumerGroupStalled", name, series, tuple(checks))

    growing = Values().ramp(10, total, start=300)
    return [
        scenario("members, lag and no commit fire, commits resolve", growing, 2, True),
        scenario("no lag (caught up, idle topic) never fires", Values().hold(0, total), 2, False),
        scenario("no members (Empty group, stopped on purpose) never fires", growing, 0, False),
    ]


def _rebalances(ctx: Ctx) -> list[Scenario]:
    t = ctx.t
    rr, rl = t.rebalance_rate, t.rebalance_latency
    client = {"target": "app-1:9999", "client_id": "consumer-orders-1"}
    out = [
        *threshold_gauge(
            ctx,
            "KafkaConsumerRebalanceRateHigh",
            jmx.CLIENT_REBALANCE_RATE,
            client,
            ctx.entity(**client),
            rr.per_hour,
            rr.per_hour * 2,
            rr.for_,
            rr.keep_firing_for,
            nan=True,
        ),
        *threshold_gauge(
            ctx,
            "KafkaConsumerRebalanceSlow",
            jmx.CLIENT_REBALANCE_LATENCY_AVG,
            client,
            ctx.entity(**client),
            rl.ms,
            rl.ms * 3,
            rl.for_,
            rl.keep_firing_for,
            nan=True,
        ),
    ]
    out.extend(_storm(ctx))
    out.extend(_stuck(ctx))
    return out


def _storm(ctx: Ctx) -> list[Scenario]:
    rr = ctx.t.rebalance_rate
    w, f = ctx.minutes(rr.window), ctx.minutes(rr.for_)
    per_window = rr.per_hour * w / 60
    g = {"consumergroup": "orders-app"}
    # Storm: twice the allowed rate for window + for + 5 minutes, then quiet for a window.
    storm, inc = w + f + 5, 2 * per_window / w
    counts = [0.0] * w + [inc * i for i in range(1, storm + 1)]
    counts += [counts[-1]] * (w + 5)
    fired = Expect(ctx.entity(**g), counts[w + storm - 1] - counts[storm - 1])
    # Below: 90 % of the allowed rate, for ever.
    slow = [0.9 * per_window / w * i for i in range(len(counts))]
    return [
        Scenario(
            "KafkaConsumerGroupRebalanceStorm",
            "counted with increase(), fires during the storm, resolves after the window",
            (ctx.series(admin.GROUP_REBALANCES.name, g, Values().explicit(counts)),),
            (
                Check(w - 1, why="no rebalances"),
                Check(w + storm - 1, (fired,), why="storm for window + for"),
                Check(len(counts) - 1, why="the storm ended a window ago"),
            ),
        ),
        Scenario(
            "KafkaConsumerGroupRebalanceStorm",
            "a rate just under the threshold never fires",
            (ctx.series(admin.GROUP_REBALANCES.name, g, Values().explicit(slow)),),
            tuple(Check(m, why="under the threshold") for m in (w + f + 2, len(slow) - 1)),
        ),
    ]


def _stuck(ctx: Ctx) -> list[Scenario]:
    rs = ctx.t.rebalance_stuck
    f, k = ctx.minutes(rs.for_), ctx.minutes(rs.keep_firing_for)
    g = {"consumergroup": "orders-app"}
    rebalancing = {**g, "state": REBALANCING_STATES[0]}
    stable = {**g, "state": "Stable"}
    n = f + 3

    def state_series(pattern: list[bool]) -> tuple[Series, ...]:
        """One series per state, ending (stale) when the group leaves the state."""
        out = []
        for labels, want in ((rebalancing, True), (stable, False)):
            v = Values()
            for i, state in enumerate(pattern):
                if state == want:
                    v.hold(1, 1)
                elif i > 0 and pattern[i - 1] == want:
                    v.stale()
                else:
                    v.gap(1)
            out.append(ctx.series(admin.GROUP_STATE.name, labels, v))
        return tuple(out)

    stuck = [False] * 3 + [True] * n + [False] * (5 + k)
    blips = ([False] * 2 + [True] * max(1, f - 1)) * 3 + [False] * 2
    return [
        Scenario(
            "KafkaConsumerGroupRebalanceStuck",
            "rebalancing at every evaluation for longer than for fires, Stable resolves",
            state_series(stuck),
            (
                Check(2, why="Stable"),
                Check(3 + n - 1, (Expect(ctx.entity(**g), 1),), why="rebalancing throughout"),
                Check(len(stuck) - 1, why="Stable again"),
            ),
        ),
        Scenario(
            "KafkaConsumerGroupRebalanceStuck",
            "short rebalances in between Stable never fire",
            state_series(blips),
            tuple(Check(m, why="each rebalance shorter than for") for m in range(len(blips))),
        ),
    ]


def scenarios(ctx: Ctx) -> list[Scenario]:
    return [*_lag(ctx), *_past_end(ctx), *_stalled(ctx), *_rebalances(ctx)]
