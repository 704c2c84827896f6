"""Medical-aid claims at the hub: the PALMED client now; the submission pipeline later."""
