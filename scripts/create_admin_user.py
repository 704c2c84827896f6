#!/usr/bin/env python3
"""Create a staff account on an installed edge (vehicle laptop) or hub (head office).

Interactive when options are left out (it asks), non-interactive with every option and
--password-stdin. A thin layer over common.users.create_user; reads the same EDGE_* or HUB_*
settings as clinic-edge and clinic-hub (the edge asks for the unlock secret when needed).
An account made on an edge is that laptop's emergency account: it signs in there only,
never at head office (which is told of it at the next sync).

    python scripts/create_admin_user.py --node hub --username head --full-name "Head Office"
    echo "$PASSWORD" | python scripts/create_admin_user.py --node edge --username sister \\
        --full-name "Sister N" --role nurse --password-stdin
"""

from __future__ import annotations

import os

import click

from common.cli import friendly_errors, read_password
from common.database import new_session
from common.permission import Role
from common.users import create_user


def _engine(node: str):  # noqa: ANN202 - an SQLAlchemy engine
    if node == "edge":
        from edge import cli as edge_cli

        return edge_cli.open_engine(edge_cli.edge_config.from_env(os.environ))
    from hub import cli as hub_cli

    return hub_cli.open_engine(hub_cli.hub_config.from_env(os.environ))


@click.command(help="Create a staff account on this edge or hub; asks for what is not given.")
@click.option(
    "--node", type=click.Choice(["edge", "hub"]), prompt=True, help="Which database to add to."
)
@click.option("--username", prompt=True, help="Login name (lowercase).")
@click.option("--full-name", prompt=True, help="The person's name as shown in the app.")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=Role.ADMINISTRATOR.value,
    show_default=True,
    help="What the account may do.",
)
@click.option("--email", default=None, help="Email address (optional).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def main(
    node: str, username: str, full_name: str, role: str, email: str | None, password_stdin: bool
) -> None:
    password = read_password(password_stdin)
    with friendly_errors():
        engine = _engine(node)
        try:
            with new_session(engine) as session, session.begin():
                user = create_user(
                    session,
                    username=username,
                    full_name=full_name,
                    role=role,
                    password=password,
                    email=email,
                )
        finally:
            engine.dispose()
    if node == "edge":
        click.echo(
            f"Created {user.role} {user.username} on the edge: an emergency account that "
            "signs in on this laptop only"
        )
    else:
        click.echo(f"Created {user.role} {user.username} on the hub")


if __name__ == "__main__":
    main()
