"""The kafka-vitals benchmark: `python -m bench --scenario small|medium|large`.

Sets up a scenario (topics, partitions, consumer groups with committed offsets) on a real 1-node
Kafka broker from the test harness, runs the real `kafka-vitals serve` against it, and reports
poll-cycle times per stage, scrape latency, response sizes, RSS and CPU, next to the floor: the
same Admin API calls made directly with confluent-kafka. See docs/benchmarks.md.
"""
