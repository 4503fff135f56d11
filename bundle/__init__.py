"""The bundle root: the alert rules (`alerts`) and the dashboards (`dashboards`), rendered
together from one `BundleConfig` by `bundle.render` (`kafka-vitals render`)."""
