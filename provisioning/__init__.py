"""Field technicians' tools for preparing, maintaining and retiring vehicle laptops."""
