"""kafka-vitals: the Kafka vitals exporter."""

__version__ = "0.1.0"
