"""Routes planned for each vehicle at head office: ordered stops and appointment slots."""
