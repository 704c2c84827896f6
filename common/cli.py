"""Helpers shared by the Click command groups: errors, passwords, serving."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy import Engine

from common import audit, auditseal
from common.config import ConfigError
from common.database import DatabaseKeyError, new_session
from common.errors import APIError
from sync.transport import SyncError


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Library errors become one clear line and a non-zero exit, never a traceback."""
    try:
        yield
    except APIError as error:
        detail = f" {error.details}" if error.details else ""
        raise click.ClickException(f"{error.message}{detail}") from None
    except (ConfigError, DatabaseKeyError, SyncError) as error:
        raise click.ClickException(str(error)) from None


def read_password(from_stdin: bool) -> str:
    """A new password from stdin (automation) or a hidden, confirmed prompt."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise click.ClickException("no password on standard input")
        return password
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def server_options(
    default_port: int, *, lowest_port: int = 1
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The --host, --port and --threads options every serve command takes."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(
            (
                click.option(
                    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
                ),
                click.option(
                    "--port",
                    default=default_port,
                    show_default=True,
                    type=click.IntRange(lowest_port, 65535),
                    help="Port to listen on"
                    + ("; 0 picks a free one (the URL is printed)." if lowest_port == 0 else "."),
                ),
                click.option(
                    "--threads",
                    default=8,
                    show_default=True,
                    type=click.IntRange(1, 64),
                    help="Worker threads serving requests.",
                ),
            )
        ):
            command = option(command)
        return command

    return decorate


def serve_command(
    load_app: Callable[[], Any],
    default_port: int,
    help: str,
    tls_envvar_prefix: str | None = None,
) -> click.Command:
    """A `serve` command that runs the app under waitress (a production WSGI server); with
    `tls_envvar_prefix`, also --tls-cert/--tls-key to serve HTTPS itself (waitress cannot
    terminate TLS, so HTTPS is served by cheroot, another production WSGI server)."""

    @click.command(name="serve", help=help)
    @server_options(default_port)
    def serve(
        host: str, port: int, threads: int, tls_cert: str | None = None, tls_key: str | None = None
    ) -> None:
        from waitress import serve as waitress_serve

        with friendly_errors():
            app = load_app()
        if tls_cert or tls_key:
            if not (tls_cert and tls_key):
                raise click.UsageError("give both --tls-cert and --tls-key")
            click.echo(f"Serving on https://{host}:{port} (Ctrl+C to stop)")
            serve_https(app, host, port, threads, tls_cert, tls_key)
            return
        click.echo(f"Serving on http://{host}:{port} (Ctrl+C to stop)")
        waitress_serve(app, host=host, port=port, threads=threads, ident="mobile-clinic")

    if tls_envvar_prefix:
        file = click.Path(exists=True, dir_okay=False)
        for name, what in (("key", "private key (owner-only)"), ("cert", "certificate chain")):
            serve = click.option(
                f"--tls-{name}",
                envvar=f"{tls_envvar_prefix}_TLS_{name.upper()}_FILE",
                type=file,
                help=f"Serve HTTPS with this PEM {what} "
                f"(env {tls_envvar_prefix}_TLS_{name.upper()}_FILE).",
            )(serve)
    return serve


def audit_key_hint(kind: str) -> str:
    return f"run `clinic-{kind} migrate` first, which makes it"


def seal_audit_with_node_key(engine: Engine, config: Mapping[str, Any], kind: str) -> Engine:
    """Seal and verify `engine`'s audit records with the node's audit key, read from its
    file when first needed (a command that audits nothing needs none)."""
    auditseal.use(engine, lambda: auditseal.from_config(config, audit_key_hint(kind)))
    return engine


def start_audit_sealing(engine: Engine, config: Mapping[str, Any]) -> None:
    """After a migration: make the node's audit key if it has none, sealing the records
    written before (`auditseal.start_sealing`), and say so."""
    if config.get("AUDIT_KEY"):
        return  # given as a value (tests, benchmarks): nothing to make
    path = auditseal.key_file(config)
    sealed = auditseal.start_sealing(engine, path)
    if sealed is not None:
        click.echo(
            f"Created the audit key in {path} (owner-only; keep it with the other secrets) "
            f"and sealed the {sealed} audit record(s) already written"
        )


def audit_group(open_engine: Callable[[], Engine]) -> click.Group:
    """`audit verify`: walk each node's audit chain and report its first broken link
    (a link, or a record's or the head's seal under the node's audit key)."""

    @click.group(name="audit", help="Check the tamper-evident audit trail.")
    def group() -> None:
        pass

    @group.command(
        help="Verify every node's audit chain and the seals under this node's audit key; "
        "exit 1 at the first broken link or missing or wrong seal."
    )
    def verify() -> None:
        with friendly_errors():
            engine = open_engine()
            with new_session(engine) as session:
                reports = audit.verify(session)
        for report in reports:
            click.echo(_chain_line(report))
        if not reports:
            click.echo("No audit records yet.")
        if any(report.broken for report in reports):
            raise click.ClickException("the audit trail has been tampered with")

    return group


def _chain_line(report: audit.ChainReport) -> str:
    if report.broken is None:
        return f"node {report.node}: {report.records} records, chain intact"
    where = f"record #{report.broken.seq}"
    if report.broken.record_id:
        where += f" (id {report.broken.record_id})"
    return f"node {report.node}: BROKEN at {where}: {report.broken.reason}"


def serve_https(app: Any, host: str, port: int, threads: int, cert: str, key: str) -> None:
    """Serve `app` over HTTPS (TLS 1.2+) until interrupted."""
    from cheroot import wsgi
    from cheroot.ssl.builtin import BuiltinSSLAdapter

    server = wsgi.Server((host, port), app, numthreads=threads, server_name="mobile-clinic")
    try:
        server.ssl_adapter = BuiltinSSLAdapter(cert, key)
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot use the TLS certificate or key: {error}") from None
    try:
        server.start()
    except KeyboardInterrupt:
        server.stop()
