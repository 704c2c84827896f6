"""Helpers every `clinic-provision` command shares: settings, secrets, errors."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from common.cli import friendly_errors
from edge import config as edge_config
from provisioning.errors import ProvisioningError
from provisioning.paths import EdgePaths


def settings() -> dict[str, Any]:
    """The edge's settings (EDGE_* environment variables), as the edge itself reads them."""
    return edge_config.from_env(os.environ)


def paths(config: dict[str, Any]) -> EdgePaths:
    return EdgePaths.from_config(config)


@contextmanager
def errors() -> Iterator[None]:
    """Library failures become one clear line and exit code 1, never a traceback."""
    with friendly_errors():
        try:
            yield
        except ProvisioningError as error:
            raise click.ClickException(str(error)) from None


def unlock_secret(config: dict[str, Any]) -> str:
    return edge_config.unlock_secret(config, edge_config.unlock_prompt(config))


def database_key(config: dict[str, Any]) -> bytes:
    return edge_config.database_key(config, edge_config.unlock_prompt(config))


def read_secret(label: str, from_stdin: bool, confirm: bool) -> str:
    """A secret from one line of standard input (automation) or a hidden prompt."""
    if from_stdin:
        secret = sys.stdin.readline().rstrip("\n")
        if not secret:
            raise click.ClickException(f"no {label.lower()} on standard input")
        return secret
    return str(click.prompt(label, hide_input=True, confirmation_prompt=confirm))
