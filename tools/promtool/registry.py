"""promtool scenarios for the Schema Registry alerts.

Besides threshold, `for`, firing and resolving, they pin: the registry down is its own alert and
not `KafkaVitalsSourceDown`'s; an exporter without a registry (no series) never fires; two replicas
never double; a subject switched back from NONE resolves; a topic without schema but without
traffic, or with a subject, never fires; sampled payloads outside the contract fire on a topic with
a subject, while clean samples on a topic without one (a naming strategy the config does not know)
and empty samples (NaN) never do; a recreated counter (exporter restart) is no burst.
"""

from __future__ import annotations

from exporter.catalog import admin, own
from exporter.catalog import registry as cat
from tools.promtool.cases import (
    Check,
    Ctx,
    Expect,
    Scenario,
    Series,
    Values,
    standard_checks,
)

INSTANCE = {"instance": "kafka-vitals:10308"}
REPLICA = {"instance": "kafka-vitals-b:10308"}


def _unreachable(ctx: Ctx) -> list[Scenario]:
    ru = ctx.t.registry_unreachable
    f, k = ctx.minutes(ru.for_), ctx.minutes(ru.keep_firing_for)
    start, down, after = f + 2, f + 5, k + 5
    up = {**INSTANCE, "source": "schema_registry"}
    values = Values().hold(1, start).hold(0, down).hold(1, after)
    checks = standard_checks(ctx, start, ru.for_, ru.keep_firing_for,
                             Expect(ctx.entity(**INSTANCE), 0))  # fmt: skip
    n = start + down + after
    return [
        Scenario(
            "KafkaSchemaRegistryUnreachable",
            "down fires, up resolves",
            (
                ctx.series(own.UP.name, up, values),
                ctx.series(own.UP.name, {**INSTANCE, "source": "admin"}, Values().hold(1, n)),
            ),
            tuple(checks),
        ),
        Scenario(
            "KafkaVitalsSourceDown",
            "the registry down is not a generic source down",
            (ctx.series(own.UP.name, up, Values().hold(0, n)),),
            (Check(start + f + 1, why="KafkaSchemaRegistryUnreachable covers it"),),
        ),
        Scenario(
            "KafkaSchemaRegistryUnreachable",
            "no registry configured: no series, never fires",
            (ctx.series(own.UP.name, {**INSTANCE, "source": "admin"}, Values().hold(1, n)),),
            (Check(start + f + 1, why="no schema_registry series"),),
        ),
    ]


def _compatibility_none(ctx: Ctx) -> list[Scenario]:
    cn = ctx.t.compatibility_none
    f, k = ctx.minutes(cn.for_), ctx.minutes(cn.keep_firing_for)
    start, none, after = f + 2, f + 5, k + 5
    subject = {"subject": "orders-value", "source": "subject"}
    total = start + none + after
    # the info series moves from BACKWARD to NONE and back: each level is its own series
    backward = Values().hold(1, start).gap(none).hold(1, after)
    flagged = Values().gap(start).hold(1, none).stale()
    other = Values().hold(1, total)
    name = cat.SUBJECT_COMPATIBILITY.name
    fired = Expect(ctx.entity(subject="orders-value"), 1)
    checks = standard_checks(ctx, start, cn.for_, cn.keep_firing_for, fired)
    return [
        Scenario(
            "KafkaSchemaRegistrySubjectCompatibilityNone",
            "NONE for longer than for fires; back to BACKWARD resolves; replicas do not double",
            (
                ctx.series(name, {**INSTANCE, **subject, "compatibility": "BACKWARD"}, backward),
                ctx.series(name, {**INSTANCE, **subject, "compatibility": "NONE"}, flagged),
                ctx.series(
                    name,
                    {**REPLICA, **subject, "compatibility": "NONE"},
                    Values().gap(start).hold(1, none).stale(),
                ),
                ctx.series(
                    name,
                    {
                        **INSTANCE,
                        "subject": "pay-value",
                        "source": "unknown",
                        "compatibility": "FULL",
                    },
                    other,
                ),
            ),
            tuple(checks),
        ),
    ]


def _without_schema(ctx: Ctx) -> list[Scenario]:
    ws = ctx.t.topic_without_schema
    w, f, k = ctx.minutes(ws.window), ctx.minutes(ws.for_), ctx.minutes(ws.keep_firing_for)
    start = w + 2
    flowing = f + 5
    n = start + flowing + w + k + 5
    offsets = (
        Values().hold(100, start).ramp(60, flowing).hold(100 + 60 * flowing, n - start - flowing)
    )
    reg = cat.TOPIC_VALUE_SUBJECT.name
    cur = admin.PARTITION_CURRENT_OFFSET.name
    raw = {"topic": "raw", "subject": "raw-value"}
    at = start + f + 1
    fired = Expect(ctx.entity(topic="raw"), 0)
    checks = [Check(start - 1, why="no traffic yet")]
    if f >= 1:
        checks.append(Check(start + f - 1, why="traffic, for has not elapsed"))
    checks.append(Check(at, (fired,), why="traffic without a subject for longer than for"))
    checks.append(Check(start + flowing + w + k + 2, why="no traffic for a window and keep"))
    quiet = {"topic": "quiet", "subject": "quiet-value"}
    good = {"topic": "orders", "subject": "orders-value"}
    return [
        Scenario(
            "KafkaTopicWithoutValueSchema",
            "traffic without a subject fires; quiet or registered topics never do",
            (
                ctx.series(reg, {**INSTANCE, **raw}, Values().hold(0, n)),
                ctx.series(cur, {**INSTANCE, "topic": "raw", "partition": "0"}, offsets),
                ctx.series(reg, {**INSTANCE, **quiet}, Values().hold(0, n)),
                ctx.series(
                    cur, {**INSTANCE, "topic": "quiet", "partition": "0"}, Values().hold(5, n)
                ),
                ctx.series(reg, {**INSTANCE, **good}, Values().hold(1, n)),
                ctx.series(
                    cur,
                    {**INSTANCE, "topic": "orders", "partition": "0"},
                    Values().ramp(60, n, start=0),
                ),
            ),
            tuple(checks),
        ),
    ]


def _payloads(ctx: Ctx) -> list[Scenario]:
    """The payload side: sampled messages outside the contract fire on a topic that has its
    subject; clean samples keep a topic without subject quiet; nothing sampled (NaN) never fires."""
    ws = ctx.t.topic_without_schema
    if ws.ratio >= 1:
        return []  # a ratio cannot exceed 1: the payload side cannot fire
    w, f, k = ctx.minutes(ws.window), ctx.minutes(ws.for_), ctx.minutes(ws.keep_firing_for)
    size = 10
    bad = min(size, int(size * ws.ratio) + 1)
    start, flowing = w + 2, f + 5
    n = start + flowing + k + 5

    def bad_then_good() -> Values:
        return Values().hold(0, start).hold(bad, flowing).hold(0, n - start - flowing)

    reg = cat.TOPIC_VALUE_SUBJECT.name
    cur = admin.PARTITION_CURRENT_OFFSET.name

    def topic(
        name: str, registered: int, sampled: int, raw: Values, unknown: Values
    ) -> tuple[Series, ...]:
        labels = {**INSTANCE, "topic": name}
        return (
            ctx.series(reg, {**labels, "subject": f"{name}-value"}, Values().hold(registered, n)),
            ctx.series(cur, {**labels, "partition": "0"}, Values().ramp(60, n, start=0)),
            ctx.series(cat.PAYLOAD_SAMPLED.name, labels, Values().hold(sampled, n)),
            ctx.series(cat.PAYLOAD_WITHOUT_WIRE_FORMAT.name, labels, raw),
            ctx.series(cat.PAYLOAD_UNKNOWN_SCHEMA_ID.name, labels, unknown),
        )

    def zero() -> Values:
        return Values().hold(0, n)

    series = (
        *topic("mixed", 1, size, bad_then_good(), zero()),
        *topic("foreign", 1, size, zero(), bad_then_good()),
        *topic("records", 0, size, zero(), zero()),
        *topic("empty", 1, 0, zero(), zero()),
    )
    value = bad / size
    fired = (Expect(ctx.entity(topic="mixed"), value), Expect(ctx.entity(topic="foreign"), value))
    checks = [Check(start - 1, why="every sampled message registered")]
    if f >= 1:
        checks.append(Check(start + f - 1, why="unregistered payloads, for has not elapsed"))
    checks.append(Check(start + f + 1, fired, why="unregistered payloads for longer than for"))
    checks.append(Check(start + flowing + k + 2, why="the newest messages are registered again"))
    return [
        Scenario(
            "KafkaTopicWithoutValueSchema",
            "sampled payloads decide: raw or unknown ids fire, clean samples without a subject "
            "and empty samples never do",
            series,
            tuple(checks),
        ),
    ]


def _burst(ctx: Ctx) -> list[Scenario]:
    rb = ctx.t.registration_burst
    w = ctx.minutes(rb.window)
    start = 5
    burst = int(rb.versions) + 2
    n = start + w + 10
    counted = Values().hold(0, start).ramp(1, burst, start=1).hold(burst, n - start - burst)
    restarted = Values().hold(7, start).hold(0, n - start)
    name = cat.SUBJECT_REGISTRATIONS.name
    at = start + burst + 1
    fired_value = float(burst)
    return [
        Scenario(
            "KafkaSchemaRegistryRegistrationBurst",
            "more versions than the threshold within the window fire, then resolve",
            (ctx.series(name, {**INSTANCE, "subject": "orders-value"}, counted),),
            (
                Check(start - 1, why="no registrations"),
                Check(start + int(rb.versions) - 1, why="at the threshold, not above"),
                Check(
                    at, (Expect(ctx.entity(subject="orders-value"), fired_value),), why="a burst"
                ),
                Check(start + burst + w + 2, why="the burst left the window"),
            ),
        ),
        Scenario(
            "KafkaSchemaRegistryRegistrationBurst",
            "an exporter restart (counter back to 0) is no burst",
            (ctx.series(name, {**INSTANCE, "subject": "orders-value"}, restarted),),
            (Check(start + 2, why="counter reset"), Check(start + w // 2, why="counter reset")),
        ),
    ]


def scenarios(ctx: Ctx) -> list[Scenario]:
    return [
        *_unreachable(ctx),
        *_compatibility_none(ctx),
        *_without_schema(ctx),
        *_payloads(ctx),
        *_burst(ctx),
    ]
