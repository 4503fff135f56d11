"""Topic and group filters: allow/deny regexes (full match) and internal topics."""

from __future__ import annotations

import pytest

from exporter.config import FiltersConfig
from exporter.sources.filters import Filters, is_internal_topic


def test_everything_passes_by_default_except_internal_topics() -> None:
    f = Filters.from_config(FiltersConfig())
    assert f.topic("orders") and f.group("billing")
    assert not f.topic("__consumer_offsets")
    assert not f.topic("__transaction_state")
    assert f.topic("_schemas")


def test_internal_topics_on_request() -> None:
    f = Filters.from_config(FiltersConfig(include_internal_topics=True))
    assert f.topic("__consumer_offsets")


def test_allow_is_a_full_match() -> None:
    f = Filters.from_config(FiltersConfig(topic_allow=("orders",), group_allow=("app-.*",)))
    assert f.topic("orders")
    assert not f.topic("orders-dlt")
    assert not f.topic("my-orders")
    assert f.group("app-1") and not f.group("xapp-1")


def test_deny_wins_over_allow() -> None:
    f = Filters.from_config(
        FiltersConfig(topic_allow=("orders.*",), topic_deny=(r".*\.DLT",), group_deny=("tmp-.*",))
    )
    assert f.topic("orders") and not f.topic("orders.DLT") and not f.topic("payments")
    assert f.group("billing") and not f.group("tmp-1")


def test_several_allow_regexes_any_matches() -> None:
    f = Filters.from_config(FiltersConfig(group_allow=("a", "b")))
    assert f.group("a") and f.group("b") and not f.group("c")


def test_invalid_regex_names_its_key() -> None:
    with pytest.raises(ValueError, match=r"filters\.group_deny\[1\]: invalid regex '\('"):
        Filters.from_config(FiltersConfig(group_deny=("ok", "(")))


def test_is_internal_topic() -> None:
    assert is_internal_topic("__share_group_state")
    assert not is_internal_topic("_internal")
