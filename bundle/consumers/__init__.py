"""The consumer groups: lag, stalls, rebalances; their thresholds, signals, rules and panels."""
