"""Deterministic histories for the KPI demo and benchmarks, one module per area."""
