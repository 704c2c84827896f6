"""Alerts at head office: the open alerts of the fleet, and the jobs that escalate them
and raise one when a vehicle stops syncing."""
