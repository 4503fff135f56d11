"""The cluster: replication, the controller, the broker count, the brokers' thread pools, disk,
errors and JVMs; its thresholds, signals, rules and the brokers dashboard's panels."""
