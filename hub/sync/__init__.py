"""The hub's end of sync: device trust, the exchange endpoint, conflicts and quarantine."""
