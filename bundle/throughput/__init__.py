"""Throughput: produce latency against its own baseline and messages in dropping; its
thresholds, signals, rules and panels (the overview's producer vitals, the brokers dashboard's
latency and throughput rows)."""
