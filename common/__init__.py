"""Plumbing shared by the edge and hub Flask apps: database, errors, API endpoints, auth."""
