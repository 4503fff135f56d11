"""Reading the jmxquery jar's answers: ObjectNames, values, NaN, broken lines and error objects."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.sources.jmx_model import (
    BROKER_QUERIES,
    CLIENT_QUERIES,
    AnswerError,
    classify,
    parse_answer,
    parse_object_name,
    query_string,
)


def line(name: str, attribute: str, value: str, kind: str = "Double") -> str:
    return (
        f'{{"mBeanName" : "{name}", "attribute" : "{attribute}", '
        f'"attributeType" : "{kind}", "value" : {value}}}'
    )


def answer(*lines: str) -> str:
    """The jar's layout: `[`, objects separated by `, ` + newline, `]`."""
    return "[\n" + ", \n".join(lines) + "]\n"


URP = "kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions"


def test_plain_answer_gives_numbers_with_domain_and_keys() -> None:
    values = parse_answer(0, answer(line(URP, "Value", "3", "Integer")), "")
    assert len(values) == 1
    v = values[0]
    assert v.domain == "kafka.server"
    assert v.key("type") == "ReplicaManager"
    assert v.key("name") == "UnderReplicatedPartitions"
    assert v.key("topic") == ""
    assert (v.attribute, v.value) == ("Value", 3.0)


def test_nan_and_infinity_tokens_are_read_as_floats() -> None:
    text = answer(
        line("kafka.consumer:type=consumer-fetch-manager-metrics,client-id=c1", "records-lag-max",
             "NaN"),
        line("kafka.consumer:type=consumer-fetch-manager-metrics,client-id=c2", "records-lag-max",
             "Infinity"),
        line("kafka.consumer:type=consumer-fetch-manager-metrics,client-id=c3", "records-lag-max",
             "1.0E7"),
    )  # fmt: skip
    values = parse_answer(0, text, "")
    assert math.isnan(values[0].value)
    assert math.isinf(values[1].value)
    assert values[2].value == 1.0e7


def test_empty_answer_is_no_values() -> None:
    assert parse_answer(0, "[\n]\n", "") == ()


def test_non_numeric_values_are_dropped_quietly() -> None:
    text = answer(
        line(URP, "Value", '"percent"', "String"),
        line(URP, "Value", "true", "Boolean"),
        line(URP, "Value", '"0.25"', "Float"),  # the jar quotes Float values
    )
    values = parse_answer(0, text, "")
    assert [v.value for v in values] == [0.25]


def test_app_info_text_is_kept_as_text_with_a_nan_value() -> None:
    info = "kafka.consumer:type=app-info,client-id=c-1"
    text = answer(
        line(info, "version", '"4.1.1"', "String"),
        line(info, "start-time-ms", "1700000000000", "Long"),
        line(URP, "Value", '"percent"', "String"),
    )
    values = parse_answer(0, text, "")
    assert [(v.attribute, v.text) for v in values] == [("version", "4.1.1"), ("start-time-ms", "")]
    assert math.isnan(values[0].value) and values[1].value == 1.7e12


def test_unescaped_backslash_in_one_client_id_costs_only_that_line() -> None:
    bad = line('kafka.consumer:type=consumer-coordinator-metrics,client-id="a\\b"',
               "rebalance-total", "1.0")  # fmt: skip
    good = line("kafka.consumer:type=consumer-coordinator-metrics,client-id=ok",
                "rebalance-total", "2.0")  # fmt: skip
    text = answer(bad.replace('"a\\b"', '\\"a\\q\\"'), good)
    values = parse_answer(0, text, "")
    assert [(v.key("client-id"), v.value) for v in values] == [("ok", 2.0)]


@pytest.mark.parametrize(
    "text",
    [
        "garbage",
        "[{not json}",
        '{"mBeanName": "x"}\n',
        "[\n{broken\n]",
        '[\n{"mBeanName" : 3, "attribute" : "Value", "value" : 1}]',
        '[\n{"mBeanName" : "no-colon", "attribute" : "Value", "value" : 1}]',
        "[\n[1, 2]]",
        "\x00\x01\x02",
    ],
)
def test_malformed_answers_raise_malformed(text: str) -> None:
    with pytest.raises(AnswerError) as err:
        parse_answer(0, text, "")
    assert err.value.reason == "malformed"


def test_oversized_answer_is_malformed() -> None:
    with pytest.raises(AnswerError) as err:
        parse_answer(0, "[" + " " * (33 * 1024 * 1024) + "]", "")
    assert err.value.reason == "malformed"


@pytest.mark.parametrize(
    ("stdout", "stderr", "reason"),
    [
        ('{ "error": "connection-error", "message":"Failed to retrieve RMIServer stub: '
         'javax.naming.ServiceUnavailableException [Root exception is java.rmi.ConnectException: '
         'Connection refused to host: 127.0.0.1; nested exception is: '
         'java.net.ConnectException: Connection refused]"}', "", "refused"),
        ('{ "error": "connection-error", "message":"Failed to retrieve RMIServer stub: '
         'javax.naming.CommunicationException [Root exception is java.rmi.ConnectIOException: '
         'non-JRMP server at remote endpoint]"}', "", "malformed"),
        ('{ "error": "connection-error", "message":"java.net.SocketTimeoutException: '
         'Read timed out"}', "", "timeout"),
        ('{ "error": "connection-error", "message":"java.net.UnknownHostException: nohost"}', "",
         "unreachable"),
        ("", 'Exception in thread "main" java.lang.SecurityException: Authentication failed! '
             "Invalid username or password", "auth"),
        ('{ "error": "bad-query", "message":"Invalid query"}', "", "error"),
        ('{ "error": "general-exception", "message":"a "quoted" message"}', "", "error"),
        ("", "Error: Could not create the Java Virtual Machine.", "java"),
    ],
)  # fmt: skip
def test_error_objects_and_exits_are_classified(stdout: str, stderr: str, reason: str) -> None:
    with pytest.raises(AnswerError) as err:
        parse_answer(2 if stdout else 1, stdout + "\n", stderr)
    assert err.value.reason == reason
    assert "\n" not in err.value.detail


def test_killed_process_is_an_error_not_a_crash() -> None:
    with pytest.raises(AnswerError) as err:
        parse_answer(-9, "", "")
    assert "signal 9" in err.value.detail


def test_classify_defaults_to_error() -> None:
    assert classify("something odd happened") == "error"


@pytest.mark.parametrize(
    ("name", "domain", "keys"),
    [
        (URP, "kafka.server", (("type", "ReplicaManager"), ("name", "UnderReplicatedPartitions"))),
        (
            "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=c,topic=t.x,partition=0",
            "kafka.consumer",
            (("type", "consumer-fetch-manager-metrics"), ("client-id", "c"), ("topic", "t.x"),
             ("partition", "0")),
        ),
        (
            'kafka.consumer:type=x,client-id="a,b=c\\"d\\\\e\\n",z=1',
            "kafka.consumer",
            (("type", "x"), ("client-id", 'a,b=c"d\\e\n'), ("z", "1")),
        ),
    ],
)  # fmt: skip
def test_parse_object_name(name: str, domain: str, keys: tuple[tuple[str, str], ...]) -> None:
    assert parse_object_name(name) == (domain, keys)


@pytest.mark.parametrize(
    "name", ["", "nodomain", ":k=v", "d:", "d:k", 'd:k="open', 'd:k="a"x', "d:=v"]
)
def test_parse_object_name_rejects_junk(name: str) -> None:
    with pytest.raises(ValueError):
        parse_object_name(name)


@given(st.text(max_size=200))
def test_parse_answer_never_crashes(text: str) -> None:
    for rc in (0, 1, 2):
        try:
            values = parse_answer(rc, text, "")
        except AnswerError as exc:
            assert exc.reason
        else:
            assert all(isinstance(v.value, float) for v in values)


@given(
    st.lists(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30), max_size=5)
)
def test_parse_answer_survives_any_client_id(client_ids: list[str]) -> None:
    lines = [
        line(f"kafka.consumer:type=consumer-coordinator-metrics,client-id={c}", "rebalance-total",
             "1.0")
        for c in client_ids
    ]  # fmt: skip
    try:
        parse_answer(0, answer(*lines), "")
    except AnswerError as exc:
        assert exc.reason == "malformed"


def test_query_string_batches_every_attribute_of_a_role() -> None:
    q = query_string(BROKER_QUERIES)
    pairs = q.rstrip(";").split(";")
    assert len(pairs) == sum(len(x.attributes) for x in BROKER_QUERIES)
    assert "kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions/Value" in pairs
    assert "kafka.network:type=RequestMetrics,name=TotalTimeMs,request=Produce/99thPercentile" in (
        pairs
    )
    assert "kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,*/Count" in pairs
    client = query_string(CLIENT_QUERIES).rstrip(";").split(";")
    assert "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=*/records-lag-max" in (
        client
    )
    # never a whole bean (every attribute, strings included): each pair names one attribute
    assert all("/" in p for p in (*pairs, *client))
