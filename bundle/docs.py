"""docs/alerts.md, generated: every alert with its severity, `for` and source, and every threshold
with its value and the reason for its default, so the reference can never disagree with the rules.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from bundle.config import BundleConfig, why
from bundle.outputs import (
    ALERTMANAGER_PATH,
    BROKER_DOWN_INHIBITS,
    CRD_PATH,
    RULES_PATH,
    STALE_DATA_INHIBITS,
)
from bundle.overrides import yaml_key
from bundle.rules import build

DOCS_PATH = "docs/alerts.md"

_INTRO = f"""\
# Alerts

kafka-vitals ships Prometheus alerting rules built from one configuration object,
`BundleConfig` (`bundle/config.py`, gathering each theme's `bundle/<theme>/thresholds.py`): every
threshold, `for`, `keep_firing_for`, severity, selector and label name, each with the reason for
its default. The same object draws the threshold lines on the
dashboards. Every alert links a runbook in `docs/runbooks/`.

## Render with your own thresholds

    kafka-vitals render --overrides my-overrides.yaml --out DIR
    kafka-vitals render --overrides my-overrides.yaml --out DIR --check   # exit 1 if DIR is stale

The overrides file mirrors the sections below (`for` stands for `for_`). It is validated strictly:
an unknown key, a wrong type, a malformed duration or selector is reported with its key path, one
line each, and the command exits 2. Example:

```yaml
common:
  selector: 'job="kafka-vitals", env="prod"'
  extra_labels: {{team: platform}}
consumer_lag:
  messages: 50000
  for: 15m
output:
  crd_labels: {{release: my-prometheus}}
```

It writes:

| file | what |
|---|---|
| `{RULES_PATH}` | the rule file for Prometheus `rule_files` |
| `{CRD_PATH}` | the same rules as a PrometheusRule (labels from `output.crd_labels`) |
| `{ALERTMANAGER_PATH}` | an example Alertmanager config (see below) |
| `tests/promtool/kafka-vitals-rules.test.yaml` | `promtool test rules` cases for every alert |
| `docs/alerts.md` | this page |
| `dashboards/*.json`, `deploy/grafana/...` | the Grafana dashboards, same thresholds |

Check them with `promtool check rules`, `promtool test rules` (run it from the tests directory)
and `amtool check-config`. The promtool cases' generator (`tools/promtool/`) is test tooling: it
is not installed with the package, so only a render from a checkout writes them.

## Alertmanager example

Routes by `severity` (critical pages, warning to chat, info to tickets), groups by `alertname`,
cluster and consumer group, and inhibits what a bigger alert already explains:

- `KafkaBrokerCountDropped` mutes {", ".join(f"`{n}`" for n in BROKER_DOWN_INHIBITS)} in the same
  cluster: a dead broker is one page, not one per topic. The per-broker JMX alerts stay.
- `KafkaTopicMessagesInDropped` (JMX) mutes `KafkaTopicOffsetRateDropped` (Admin API) for the same
  topic: one signal, two sources.
- `KafkaVitalsDataStale` mutes {", ".join(f"`{n}`" for n in STALE_DATA_INHIBITS)}: a frozen
  snapshot makes offsets stand still and rates fall to zero.

## How the rules avoid the usual traps

- Counters only appear inside `rate()` or `increase()`, so nothing latches forever. The log-end
  offset (`kafka_topic_partition_current_offset`) is a gauge that only rises and restarts at 0 when
  a topic is recreated: exactly a counter reset, so `rate()` is used on it on purpose (`deriv()`
  would report a recreated topic as a collapse).
- Yammer quantiles (`TotalTimeMs`) are taken with `max` per broker, never averaged or summed.
- The broker-wide MessagesIn series (`topic=""`) and the per-topic series share a name; each rule
  selects one of them, never both.
- Per-entity gauges are aggregated with `max by`, so two exporter replicas scraped under the same
  job do not double a value; per-partition flags are de-duplicated before they are counted.
- A client's `records-lag-max` is NaN before it has samples; the exporter drops NaN series and
  `> threshold` is false on NaN anyway (a promtool case proves it).
- `KafkaNoActiveController` sums the brokers' counts only while every broker's JMX target
  answers: a failing target drops its count, and a healthy cluster would read 0. A target is a
  broker if it served the count within `active_controller.window`; a down target that answered
  nothing in that window may be one too. `KafkaVitalsSourceDown` reports the failing target
  instead of a false page.
- No `for` is shorter than 1 m: at a 30 s scrape interval a single bad scrape never pages.
"""


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple):
        return ", ".join(value) or "(none)"
    if hasattr(value, "items"):
        return ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) or "(none)"
    return str(value) if value != "" else '""'


def alerts_markdown(t: BundleConfig) -> str:
    bundle = build(t)
    lines = [_INTRO, "## Alerts", ""]
    for group in bundle.groups:
        lines += [f"### {group.name}", ""]
        lines += ["| alert | severity | for | source | summary |", "|---|---|---|---|---|"]
        for a in group.alerts:
            lines.append(
                f"| [{a.name}](runbooks/{a.name}.md) | {a.severity} | {a.for_} | {a.source} "
                f"| {a.summary} |"
            )
        lines.append("")
    lines += ["## Thresholds", "", "Section and key as in the overrides file.", ""]
    for section in fields(t):
        value = getattr(t, section.name)
        if not is_dataclass(value):
            continue
        lines += [f"### `{section.name}`", ""]
        doc = (type(value).__doc__ or "").strip()
        if doc:
            lines += [doc, ""]
        lines += ["| key | value | why |", "|---|---|---|"]
        for f in fields(value):
            reason = why(value, f.name).replace("|", "\\|")
            lines.append(f"| `{yaml_key(f.name)}` | `{_fmt(getattr(value, f.name))}` | {reason} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
