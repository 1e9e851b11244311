"""Network between the hub and its database: an added round-trip time (a relay in front of the server)
and the RTT list a run measures."""
