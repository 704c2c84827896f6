"""Medical-aid membership at the hub: PALMED's member statuses copied onto patients."""
