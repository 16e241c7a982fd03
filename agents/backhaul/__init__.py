"""Backhaul failover agent for municipal branches.

The agent probes each backhaul link (primary, backup, ...) with UDP echo through that link's own
routing table, decides with hysteresis which link carries the branch's traffic, switches the route
through netlink in milliseconds and reports state and events over MQTT (spooled on disk while the
broker is unreachable, because the broker may sit behind the link that just failed).

Module map:
- ``config``    typed ``[backhaul]`` section and its links, read from the agent's own TOML file
- ``probe``     the probe packet, per-link probe sockets and the echo responder
- ``health``    the decision: per-link health (misses, windowed loss) and path selection (hold-down)
- ``netlink``   the only module that talks to the kernel (pyroute2, conntrack)
- ``telemetry`` state/event payloads, their schema, the on-disk spool and the MQTT sender
- ``agent``     wires the above into the running daemon
- ``cli``       the ``backhaul`` click group (``oasis agent backhaul``)
"""
