"""Invitations: head office creates a staff account and its owner chooses the password."""
