"""The end-to-end probe: its thresholds, signal, rules and panels."""
