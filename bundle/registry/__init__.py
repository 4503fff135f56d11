"""The schema contract and the Schema Registry: their thresholds, signal, rules and panels."""
