"""Tools run from a checkout, never installed (not in the wheel nor the image): `tools.plot`
draws the dashboards from live Prometheus data for the docs' pictures."""
