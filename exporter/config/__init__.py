"""The ground floor: the configuration model, its keys, and the one strict loader.

- `model`: the frozen dataclasses of the exporter's configuration, every default in one place
  (re-exported here: `from exporter.config import Config`).
- `kinds`: the value kinds of the model: `Secret` and the closed sets of choices.
- `keys`: every settable key with its environment variable and flag, derived from the model.
- `values`: parsers of values that several parts share (`host_port`).
- `yamlfile`: the strict YAML reader (duplicate keys refused) and `ConfigError`.
- `binder`: the one strict YAML-to-dataclass binder, used by the exporter configuration, the web
  config file (`exporter.webconfig`) and the bundle's overrides file alike.
- `check`: the model-wide rules (no negative numbers, readable files, valid regexes).
- `load`: `load_config`, which binds defaults, file, environment and flags and runs the rules,
  plus the checks of each part handed in by the caller.

Nothing here imports from any other package of kafka-vitals: the validation of a part's
settings (Kafka client, JMX targets, web server, collectors) lives with that part and is handed to
`load_config` by the caller (`exporter.configure`).
"""

from exporter.config.kinds import (
    CommittedSource,
    JmxRole,
    LagGranularity,
    LagSecondsMode,
    LogFormat,
    LogLevel,
    SaslMechanism,
    Scope,
    Secret,
    SecurityProtocol,
)
from exporter.config.model import (
    DEFAULT_PORT,
    JMX_JAVA_OPTIONS,
    REGISTRY_EXCLUDED_TOPICS,
    CommittedOffsetsConfig,
    Config,
    FiltersConfig,
    JmxConfig,
    JmxTarget,
    KafkaConfig,
    LessonsConfig,
    LogConfig,
    PollConfig,
    ProbeConfig,
    SchemaRegistryConfig,
    ShardConfig,
    WebConfig,
)

__all__ = [
    "DEFAULT_PORT",
    "JMX_JAVA_OPTIONS",
    "REGISTRY_EXCLUDED_TOPICS",
    "CommittedOffsetsConfig",
    "CommittedSource",
    "Config",
    "FiltersConfig",
    "JmxConfig",
    "JmxRole",
    "JmxTarget",
    "KafkaConfig",
    "LagGranularity",
    "LagSecondsMode",
    "LessonsConfig",
    "LogConfig",
    "LogFormat",
    "LogLevel",
    "PollConfig",
    "ProbeConfig",
    "SaslMechanism",
    "SchemaRegistryConfig",
    "Scope",
    "Secret",
    "SecurityProtocol",
    "ShardConfig",
    "WebConfig",
]
