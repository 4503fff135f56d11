"""The `scope`, `shard.*` and `kafka.broker_id` keys: loaded from every source, strictly checked."""

from __future__ import annotations

import pytest

from exporter.cli import main
from exporter.configure import ConfigError, load_config

BOOT = {"KAFKA_VITALS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"}


def test_defaults_are_cluster_scope() -> None:
    config = load_config(env=BOOT)
    assert config.scope == "cluster"
    assert (config.shard.index, config.shard.count, config.kafka.broker_id) == (0, 1, -1)


def test_scope_from_env_and_flags() -> None:
    env = {**BOOT, "KAFKA_VITALS_SCOPE": "shard", "KAFKA_VITALS_SHARD_COUNT": "3"}
    config = load_config(env=env, flags={"shard.index": "2"})
    assert (config.scope, config.shard.index, config.shard.count) == ("shard", 2, 3)
    broker = load_config(env=BOOT, flags={"scope": "broker", "kafka.broker_id": "4"})
    assert (broker.scope, broker.kafka.broker_id) == ("broker", 4)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"KAFKA_VITALS_SCOPE": "rack"}, "KAFKA_VITALS_SCOPE"),
        (
            {
                "KAFKA_VITALS_SCOPE": "shard",
                "KAFKA_VITALS_SHARD_INDEX": "3",
                "KAFKA_VITALS_SHARD_COUNT": "3",
            },
            "must be 0 to 2 (shard.count 3), got 3",
        ),
        ({"KAFKA_VITALS_SCOPE": "shard", "KAFKA_VITALS_SHARD_COUNT": "0"}, "greater than 0"),
        ({"KAFKA_VITALS_SHARD_COUNT": "2"}, "only with scope shard, not cluster"),
        ({"KAFKA_VITALS_KAFKA_BROKER_ID": "2"}, "only with scope broker, not cluster"),
        ({"KAFKA_VITALS_SCOPE": "broker", "KAFKA_VITALS_KAFKA_BROKER_ID": "-2"}, "negative"),
    ],
)
def test_bad_scope_settings(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(env={**BOOT, **env})
    assert len(caught.value.problems) == 1
    assert expected in caught.value.problems[0]


def test_cli_shard_index_out_of_range_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["serve", "--kafka.bootstrap-servers", "127.0.0.1:9", "--scope", "shard",
            "--shard.index", "5", "--shard.count", "3"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "shard.index" in err[0] and "must be 0 to 2" in err[0]
