"""Park gateway agent: enforces the captive portal on a Linux gateway with nftables.

Unauthorised visitors get DNS, DHCP and the walled garden; their HTTP is answered by the
redirector with a signed 302 to the portal, HTTPS is refused at once. The portal authorises a
client over MQTT; the agent puts it in nftables sets (timeouts and counters: O(1) per login),
enforces its limits, reports accounting, and serves the RFC 8908 API.

Module map:
- ``config``     typed ``[gateway]`` section read from the agent's own TOML file
- ``signature``  the signed redirect shared with the portal (HMAC-SHA256)
- ``nft``        the only module that talks to nftables (libnftables, ``nft`` for listings)
- ``ruleset``    the table, sets and chains the agent installs
- ``sessions``   authorised clients, their limits, and the SQLite file that outlives restarts
- ``enforcer``   allow/deny, limit checks and accounting over the sets
- ``redirector`` HTTP: the 302 to the portal and the RFC 8908 API
- ``control``    MQTT commands, acks, accounting and session-end reports
- ``dnsmasq``    the DHCP/DNS config with option 114 and the walled-garden nftset
- ``agent``      wires the above into the running daemon
- ``cli``        the ``gateway`` click group (``oasis agent gateway``)
"""
