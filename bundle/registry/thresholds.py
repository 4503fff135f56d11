"""Thresholds of the Schema Registry alerts: the contract between producers and consumers.

Sections of `bundle.config.BundleConfig`; each field carries the reason for its default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bundle.core.knobs import Severity, knob, reason


@dataclass(frozen=True, slots=True)
class RegistryUnreachable:
    """The registry does not answer kafka-vitals (down, refusing, or answering garbage)."""

    for_: str = knob(
        "5m",
        "Ten polls at the default 30 s: a registry restart or a rolling deploy takes a minute or "
        "two, and producers and consumers ride over it on their cached schemas.",
    )
    keep_firing_for: str = knob("2m", "One good poll between failures is not a recovery.")
    severity: Severity = field(
        default="critical",
        metadata=reason(
            "Every producer or consumer that starts, or meets a schema id it has not cached, "
            "fails to serialize or deserialize until the registry answers."
        ),
    )


@dataclass(frozen=True, slots=True)
class CompatibilityNone:
    """A subject whose new versions are not checked against the old ones at all."""

    for_: str = knob(
        "30m",
        "Teams switch a subject to NONE for a deliberate breaking migration and back; 30 minutes "
        "lets a planned change finish, longer means it was forgotten.",
    )
    keep_firing_for: str = knob("0s", "The level is read exactly; resolve as soon as it changes.")
    severity: Severity = field(
        default="warning",
        metadata=reason(
            "Nothing breaks yet, but the next registration can break every consumer of the topic."
        ),
    )


@dataclass(frozen=True, slots=True)
class TopicWithoutSchema:
    """A topic receiving messages outside the contract: its newest messages bypass the registry
    (with payload sampling on), or it has no registered value subject (without)."""

    window: str = knob("10m", "rate() window of the topic's log-end offsets: several polls.")
    ratio: float = knob(
        0,
        "Share of the sampled newest messages without the wire format or with an unknown schema "
        "id above which the topic fires: a contract holds for every message or it does not hold "
        "(tombstones are not sampled, so a compacted topic's deletes do not count).",
    )
    for_: str = knob(
        "30m",
        "A new topic gets its subject with the first deploy of its producer; half an hour of "
        "traffic without one is a producer that writes without the registry.",
    )
    keep_firing_for: str = knob("10m", "Traffic that pauses is the same unregistered producer.")
    severity: Severity = field(
        default="warning",
        metadata=reason(
            "Raw payloads bypass the contract: one producer's field change breaks consumers "
            "silently. Not urgent, but a design debt to pay."
        ),
    )


@dataclass(frozen=True, slots=True)
class RegistrationBurst:
    """Many new versions of one subject in a short time."""

    window: str = knob(
        "1h",
        "increase() window: a deployment registers its changed schemas within minutes; an hour "
        "catches a producer fleet auto-registering as it rolls.",
    )
    versions: float = knob(
        3,
        "New versions of one subject in the window above which it is a burst: a release changes a "
        "schema once, a fix maybe twice; more is producers registering on their own "
        "(auto.register.schemas) or a build that changes the schema on every run.",
    )
    for_: str = knob("0s", "under 1m: each registration is an exact, discrete event.")
    keep_firing_for: str = knob("0s", "The window already holds the alert after the burst.")
    severity: Severity = field(
        default="warning",
        metadata=reason("The contract changes outside a deliberate deployment; someone must look."),
    )
