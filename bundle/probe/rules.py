"""Alerts on the end-to-end probe (`probe.enabled`): end-to-end latency high, messages lost, the
probe failing. Every alert is per leader `broker`, except the probe's own health (per instance).

Without the probe there are no `kafka_probe_*` series, so none of these can fire. Quantiles are
taken from the histogram's buckets summed over instances (two replicas probing add samples, not
a second opinion); the lost counter appears only inside increase().
"""

from __future__ import annotations

from bundle.config import BundleConfig
from bundle.core.model import Alert, Group
from bundle.core.promql import by, label, num, sel
from bundle.core.query import RuleQuery
from bundle.probe import signals
from exporter.catalog import probe as cat

SOURCE = "end-to-end probe"


def end_to_end_quantile(t: BundleConfig) -> str:
    """The probe's end-to-end latency at the alert's quantile, per broker, over its window."""
    pl = t.probe_latency
    q = RuleQuery.of(t)
    return signals.latency_quantile(q, cat.END_TO_END_LATENCY, pl.quantile, pl.window)


def _latency(t: BundleConfig) -> Alert:
    pl = t.probe_latency
    p = f"p{num(float(pl.quantile) * 100)}"
    return Alert(
        name="KafkaProbeEndToEndLatencyHigh",
        expr=f"{end_to_end_quantile(t)}\n  > {num(pl.seconds)}",
        for_=pl.for_,
        keep_firing_for=pl.keep_firing_for,
        severity=pl.severity,
        summary=f"End-to-end {p} latency of the probe above {num(pl.seconds)} s.",
        description=(
            f"Probe messages to partitions led by broker {label('broker')} took "
            f"{{{{ $value | humanizeDuration }}}} from produce to consume at quantile "
            f"{pl.quantile} over the last {pl.window}."
        ),
        section="probe_latency",
        source=SOURCE,
    )


def _lost(t: BundleConfig) -> Alert:
    s, c, ml = t.common.selector, t.common.cluster_label, t.probe_messages_lost
    lost = sel(cat.MESSAGES_LOST, s, range_=ml.window)
    return Alert(
        name="KafkaProbeMessagesLost",
        expr=f"max {by(c, 'broker')} (increase({lost})) > 0",
        for_=ml.for_,
        keep_firing_for=ml.keep_firing_for,
        severity=ml.severity,
        summary="Probe messages were not consumed within the probe's deadline.",
        description=(
            f"About {{{{ $value | humanize }}}} probe messages to partitions led by broker "
            f"{label('broker')} were not acknowledged, replicated or fetched within the probe's "
            f"deadline in the last {ml.window}."
        ),
        section="probe_messages_lost",
        source=SOURCE,
    )


def _failing(t: BundleConfig) -> Alert:
    s, c, pf = t.common.selector, t.common.cluster_label, t.probe_failing
    return Alert(
        name="KafkaProbeFailing",
        expr=f"max {by(c, 'instance')} ({sel(cat.UP, s)}) == 0",
        for_=pf.for_,
        keep_firing_for=pf.keep_firing_for,
        severity=pf.severity,
        summary=f"The end-to-end probe has not run for {pf.for_}.",
        description=(
            f"kafka-vitals at {label('instance')} cannot run its end-to-end probe (its log line "
            "`source failed source=probe` says why): the probe's latency and lost-message "
            "alerts are blind meanwhile."
        ),
        section="probe_failing",
        source=SOURCE,
    )


def groups(t: BundleConfig) -> tuple[Group, ...]:
    return (Group("probe", (_latency(t), _lost(t), _failing(t))),)
