"""The edge's end of sync: enrollment with the hub, running syncs, and their status."""
