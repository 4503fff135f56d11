"""Tools run from a checkout, never installed (not in the wheel nor the image): `tools.promtool`
generates the promtool test cases of every alert (`kafka-vitals render` writes them from a
checkout), `tools.plot` draws the dashboards from live Prometheus data for the docs' pictures."""
