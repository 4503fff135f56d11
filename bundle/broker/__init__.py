"""The brokers' own alerts: offline log directories, unclean leader elections, the poll interval."""
