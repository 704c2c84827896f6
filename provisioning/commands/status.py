"""`status` and `doctor`: the laptop at a glance, and what to do about it."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from common.config import ConfigError
from provisioning import doctor as doctor_lib
from provisioning.commands import database_key, errors, paths, settings

MARKS = {doctor_lib.OK: "ok", doctor_lib.ATTENTION: "ATTENTION", doctor_lib.INFO: "info"}


def _screen(name: str, help: str, advice: bool) -> click.Command:
    @click.command(name, help=help)
    @click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
    def command(as_json: bool) -> None:
        _report(as_json, advice)

    return command


status = _screen(
    "status",
    "One screen: enrollment, key, database integrity, migrations, disk, sync, TLS and "
    "services. Exit 1 when something needs attention.",
    advice=False,
)
doctor = _screen(
    "doctor",
    "Like status, with what to do about each item that needs attention. "
    "Exit 1 when something does.",
    advice=True,
)


def _report(as_json: bool, advice: bool) -> None:
    config = settings()
    key, problem = None, None
    with errors():
        try:
            key = database_key(config)
        except ConfigError as error:
            problem = str(error)
        checks = doctor_lib.run_checks(paths(config), config, key, problem)
    attention = doctor_lib.needs_attention(checks)
    if as_json:
        click.echo(
            json.dumps({"ok": not attention, "checks": [asdict(c) for c in checks]}, indent=2)
        )
    else:
        _print(checks, advice)
    if attention:
        raise SystemExit(1)


def _print(checks: list[doctor_lib.Check], advice: bool) -> None:
    click.echo("Mobile Clinic laptop")
    for check in checks:
        click.echo(f"  {MARKS[check.state]:<10} {check.name:<30} {check.summary}")
        if advice and check.advice and check.state == doctor_lib.ATTENTION:
            click.echo(f"  {'':<10} {'':<30} -> {check.advice}")
    attention = doctor_lib.needs_attention(checks)
    click.echo("Needs attention." if attention else "All good.")
