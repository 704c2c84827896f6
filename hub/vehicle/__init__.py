"""Head office registers its vehicles (clinics)."""
