"""The bundle's core, below every theme: the PromQL builder and scanner, the knobs and shared
settings, the alert model and the rules' query builder."""
