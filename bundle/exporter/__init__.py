"""The exporter's own health: its thresholds, rules and panels."""
