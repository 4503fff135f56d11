"""The exporter's own health: its thresholds and rules."""
