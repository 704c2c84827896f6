"""Typed failures of the provisioning library; the CLI turns each into one clear line."""

from __future__ import annotations


class ProvisioningError(RuntimeError):
    """An expected failure whose message tells the technician what to do."""


class KeyFileError(ProvisioningError):
    """A wrapped key file is missing, damaged, or not in a format we know."""


class WrongSecret(KeyFileError):
    """The unlock secret does not open the wrapped key."""


class DatabaseInUse(ProvisioningError):
    """Another process (usually the edge server) has the database open."""


class BackupError(ProvisioningError):
    """A backup is incomplete, damaged, or does not belong here."""


class NotEnoughSpace(ProvisioningError):
    """The target has too little free space; nothing was written."""
