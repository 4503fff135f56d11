"""The bundle: the alert rules and the dashboards, organised by signal theme
(`bundle.<theme>`: thresholds, signals, rules, panels) above a shared core (`bundle.core`),
assembled into the rule set (`bundle.rules`) and the dashboards (`bundle.dashboards`), rendered
together from one `BundleConfig` by `bundle.render` (`kafka-vitals render`)."""
