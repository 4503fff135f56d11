"""The lessons from incidents (dead letters, headroom, rebalance hygiene): their thresholds and
rules."""
