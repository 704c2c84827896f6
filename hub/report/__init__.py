"""Head office's figures: dashboard stats, reports per vehicle or fleet, visit export."""
