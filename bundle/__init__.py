"""The bundle root: the alert rules (`alerts`) and the dashboards (`dashboards`), rendered
together from one `Thresholds` by `bundle.render` (`kafka-vitals render`)."""
