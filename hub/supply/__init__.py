"""Supply at head office: vehicles' supply requests, their approval and their deliveries."""
