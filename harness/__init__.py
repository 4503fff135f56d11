"""Test harness: real Kafka, Prometheus and Alertmanager for the kafka-vitals tests."""
