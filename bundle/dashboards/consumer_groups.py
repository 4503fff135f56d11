"""Consumer groups: lag in messages and seconds, lag status, state and members, idle consumers,
commit rate against produce rate, rebalances, and the Java clients' own JMX view.

The `consumergroup` and `topic` variables filter every Admin API panel; client JMX panels are keyed
by client id (a client does not report its group) and follow only `job` and `cluster`.
"""

from __future__ import annotations

from grafanalib import core as g

from bundle.consumers import lag_panels
from bundle.consumers.panels import dead_letters, membership, offsets, rebalances
from bundle.dashboards.common import Scope
from bundle.dashboards.panels import dashboard

UID = "kafka-vitals-consumer-groups"


def build(sc: Scope) -> g.Dashboard:
    lag_top, lag_bottom = lag_panels.lag_rows(sc)
    state_row, members_row = membership(sc)
    group_rebalances, client_rebalances = rebalances(sc)
    return dashboard(
        UID,
        "Kafka vitals / Consumer groups",
        "Lag, lag status, membership, offsets and rebalances of consumer groups.",
        sc,
        [
            "Groups",
            (4, lag_panels.summary(sc)),
            "Lag",
            (8, lag_top),
            (8, lag_bottom),
            "Lag status",
            (7, lag_panels.status(sc)),
            "Commits",
            (7, lag_panels.commits(sc)),
            "State and members",
            (7, state_row),
            (8, members_row),
            "Offsets: committed against produced",
            (8, offsets(sc)),
            "Rebalances",
            (8, group_rebalances),
            "Java clients (JMX)",
            (8, client_rebalances),
            "Dead letters",
            (8, dead_letters(sc)),
        ],
        extra_variables=lag_panels.variables(sc),
    )
