"""The cluster: replication, the controller, the broker count, produce latency and throughput; its
thresholds, signals, rules and the broker dashboard's panels."""
