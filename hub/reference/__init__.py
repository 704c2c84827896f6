"""Reference data head office keeps for every vehicle: formulary, tariffs, provinces, locations."""
