"""Medical-aid claims at the hub: the PALMED client, exactly-once submission, finance's API."""
