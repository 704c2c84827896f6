"""The fleet as head office sees it: each vehicle's sync health and stock side by side."""
