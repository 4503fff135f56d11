"""The schema contract's signal, written once for its alert and its panel: the share of
sampled payloads that bypass the registry.

Each takes a `Query` (`bundle.core.query`): the rules pass a `RuleQuery`, the panels their `Scope`.
"""

from __future__ import annotations

from bundle.core.query import Query
from exporter.catalog import registry as reg


def unregistered_payload_ratio(q: Query, *extra: str) -> str:
    """Share of each topic's sampled newest messages that bypass the schema contract (no wire
    format, or a schema id the registry does not know): the payload signal of
    KafkaTopicWithoutValueSchema and of the contract dashboard's ratio panel. NaN (no alert, a
    gap) where nothing was sampled."""
    keys = q.by("topic")
    raw = f"max {keys} ({q.sel(reg.PAYLOAD_WITHOUT_WIRE_FORMAT, *extra)})"
    unknown = f"max {keys} ({q.sel(reg.PAYLOAD_UNKNOWN_SCHEMA_ID, *extra)})"
    sampled = f"max {keys} ({q.sel(reg.PAYLOAD_SAMPLED, *extra)})"
    return f"({raw} + {unknown}) / {sampled}"
