"""promtool scenarios for the exporter's own health: not scraped, source down, stale, family absent.

These alerts keep every label of their input (no aggregation), except the absent-family alert,
which is per exporter instance and names the missing family.
"""

from __future__ import annotations

from bundle.core.promql import parse_selector
from bundle.exporter.rules import PROMETHEUS_UP
from exporter.catalog import BY_NAME, own
from tools.promtool.cases import Check, Ctx, Expect, Scenario, Series, Values, standard_checks

INSTANCE = {"instance": "kafka-vitals:10308"}


def _down(ctx: Ctx) -> list[Scenario]:
    t = ctx.t
    out = []
    for alert, section, name, labels in (
        ("KafkaVitalsExporterDown", t.exporter_down, PROMETHEUS_UP, INSTANCE),
        (
            "KafkaVitalsSourceDown",
            t.source_down,
            own.UP.name,
            {**INSTANCE, "source": "jmx", "target": "broker-1:9999"},
        ),
    ):
        f, k = ctx.minutes(section.for_), ctx.minutes(section.keep_firing_for)
        start, down, after = f + 2, f + 5, k + 5
        series = [ctx.series(name, labels, Values().hold(1, start).hold(0, down).hold(1, after))]
        other = _other_job(ctx)
        if other:
            # The same series from another job is outside the selector and never fires.
            series.append(Series(name, {**other, **labels}, Values().hold(0, start + down).text()))
        fired = Expect({**ctx.base, **labels}, 0)
        checks = standard_checks(ctx, start, section.for_, section.keep_firing_for, fired)
        out.append(Scenario(alert, "down fires, up resolves", tuple(series), tuple(checks)))
    return out


def _other_job(ctx: Ctx) -> dict[str, str]:
    """Labels of a series just outside the selector, or {} if the selector has no `=` matcher."""
    for name, op, value in parse_selector(ctx.t.common.selector):
        if op == "=":
            return {**ctx.base, name: value + "-other"}
    return {}


def _no_target(ctx: Ctx) -> list[Scenario]:
    """absent() fires when the job has no `up` series at all, not when its target is down."""
    ea = ctx.t.exporter_absent
    f, k = ctx.minutes(ea.for_), ctx.minutes(ea.keep_firing_for)
    start, after = 10, k + 5
    n = start + f + 5 + after
    gone = Values().hold(1, start).stale().gap(f + 4).hold(1, after)
    series = [ctx.series(PROMETHEUS_UP, INSTANCE, gone)]
    other = _other_job(ctx)
    if other:  # another job's target does not hide the missing one
        series.append(Series(PROMETHEUS_UP, {**other, **INSTANCE}, Values().hold(1, n).text()))
    # absent() carries the selector's equality matchers, nothing else
    matchers = {name: value for name, op, value in parse_selector(ctx.t.common.selector)
                if op == "="}  # fmt: skip
    fired = Expect(matchers, 1)
    checks = standard_checks(ctx, start, ea.for_, ea.keep_firing_for, fired)
    down = ctx.series(PROMETHEUS_UP, INSTANCE, Values().hold(1, 5).hold(0, f + 10))
    return [
        Scenario(
            "KafkaVitalsExporterAbsent",
            "no up series for the job: fires; a target again resolves",
            tuple(series),
            tuple(checks),
        ),
        Scenario(
            "KafkaVitalsExporterAbsent",
            "a target that is down still exists: never fires (ExporterDown speaks)",
            (down,),
            tuple(Check(m, why="the target exists") for m in range(0, f + 14, 3)),
        ),
    ]


def _stale(ctx: Ctx) -> list[Scenario]:
    """Stale means no new snapshot; a source failing at every cycle is SourceDown's, not this."""
    ds = ctx.t.data_stale
    f, k = ctx.minutes(ds.for_), ctx.minutes(ds.keep_firing_for)
    interval = 30.0
    limit = ds.intervals * interval
    fresh = 10
    # Minute at which the age (time() minus the snapshot taken at minute fresh - 1) passes limit.
    over = fresh - 1 + int(limit // 60) + 1
    stuck = over - fresh + f + 5
    after = k + 5
    n = fresh + stuck + after

    def snapshots(stuck_for: int = 0) -> Values:
        """A snapshot time: a new one every minute, the same one for `stuck_for` minutes."""
        v = Values().ramp(60, fresh, start=0).hold((fresh - 1) * 60, stuck_for)
        return v.ramp(60, n - fresh - stuck_for, start=(fresh + stuck_for) * 60)

    def series(taken: Values, success: Values, *extra: Series) -> tuple[Series, ...]:
        return (
            ctx.series(own.LAST_POLL.name, INSTANCE, taken),
            ctx.series(own.LAST_POLL_SUCCESS.name, INSTANCE, success),
            ctx.series(own.POLL_INTERVAL.name, INSTANCE, Values().hold(interval, n)),
            *extra,
        )

    at = over + f + 1
    fired = Expect({**ctx.base, **INSTANCE}, (at - (fresh - 1)) * 60)
    checks = [
        Check(fresh - 1, why="polling"),
        Check(over + f - 1, why="past the limit only since `over`: for has not elapsed"),
        Check(at, (fired,), why="no new snapshot past the limit for longer than for"),
        Check(fresh + stuck + k + 1, why="polling again"),
    ]
    brief = int(limit // 60)
    never_again = Values().ramp(60, fresh, start=0).hold((fresh - 1) * 60, n - fresh)
    dead_jmx = ctx.series(
        own.UP.name,
        {**INSTANCE, "source": "jmx", "target": "broker-1:9999"},
        Values().hold(1, fresh).hold(0, n - fresh),
    )
    return [
        Scenario(
            "KafkaVitalsDataStale",
            "cycles stop: fires; a new snapshot resolves",
            series(snapshots(stuck), snapshots(stuck)),
            tuple(checks),
        ),
        Scenario(
            "KafkaVitalsDataStale",
            "a JMX target failing at every cycle while cycles go on never fires",
            series(snapshots(), never_again, dead_jmx),
            tuple(Check(m, why="a new snapshot every cycle") for m in range(fresh, n)),
        ),
        Scenario(
            "KafkaVitalsDataStale",
            "a few slow cycles under the limit never fire",
            series(snapshots(brief), snapshots(brief)),
            tuple(Check(m, why="under the limit") for m in range(fresh, n)),
        ),
    ]


def _absent(ctx: Ctx) -> list[Scenario]:
    fa = ctx.t.family_absent
    f, k = ctx.minutes(fa.for_), ctx.minutes(fa.keep_firing_for)
    start, gone, after = 10, f + 5, k + 5
    n = start + gone + after
    missing = fa.families[-1]
    series: list[Series] = []
    for instance, admin_up in (("a:10308", 1), ("b:10308", 1), ("c:10308", 0)):
        inst = {"instance": instance}
        series.append(
            ctx.series(own.UP.name, {**inst, "source": "admin"}, Values().hold(admin_up, n))
        )
        for family in fa.families:
            labels = {**inst, **{label: "x" for label in BY_NAME[family].labels}}
            if instance == "c:10308":
                continue  # Admin API down: nothing served; SourceDown speaks, not this alert.
            if instance == "a:10308" and family == missing:
                v = Values().hold(1, start).stale().gap(gone - 1).hold(1, after)
            else:
                v = Values().hold(1, n)
            series.append(ctx.series(family, labels, v))
    fired = Expect(ctx.entity(instance="a:10308", family=missing), 1)
    checks = standard_checks(ctx, start, fa.for_, fa.keep_firing_for, fired)
    return [
        Scenario(
            "KafkaVitalsMetricAbsent",
            "a family missing on one instance while its Admin API is up",
            tuple(series),
            tuple(checks),
        )
    ]


def scenarios(ctx: Ctx) -> list[Scenario]:
    return [*_down(ctx), *_no_target(ctx), *_stale(ctx), *_absent(ctx)]
