"""`keygen`, `rotate-key`, `escrow`, `escrow-keypair`, `recover-key`: the database key."""

from __future__ import annotations

import secrets
from pathlib import Path

import click

from common.config import read_secret_file
from common.files import PUBLIC_MODE, write_atomic
from provisioning import escrow as escrow_lib
from provisioning import keygen as keygen_lib
from provisioning.commands import database_key, errors, paths, read_secret, settings, unlock_secret
from provisioning.key import KeyStore, check_new_secret, fingerprint

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
NEW_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command(
    help="Create this laptop's database key, wrapped under an unlock secret, and its "
    "escrow copy for head office. Run before `clinic-edge init`; on a laptop set up with "
    "`clinic-edge init` it wraps the existing plaintext key and removes the plaintext file."
)
@click.option(
    "--secret-file",
    type=NEW_FILE,
    help="Unattended boot: keep a random unlock secret in this owner-only file (created if "
    "missing) and give it to the services as a systemd credential.",
)
@click.option("--secret-stdin", is_flag=True, help="Read the unlock secret from standard input.")
@click.option(
    "--escrow-public-key",
    type=EXISTING_FILE,
    envvar="CLINIC_ESCROW_PUBLIC_KEY",
    help="Head office's escrow public key (PEM, env CLINIC_ESCROW_PUBLIC_KEY).",
)
@click.option("--no-escrow", is_flag=True, help="Skip the escrow copy (development only).")
def keygen(
    secret_file: Path | None, secret_stdin: bool, escrow_public_key: Path | None, no_escrow: bool
) -> None:
    if escrow_public_key is None and not no_escrow:
        raise click.UsageError("give --escrow-public-key (or --no-escrow for development)")
    config = settings()
    where = paths(config)
    public_pem = escrow_public_key.read_bytes() if escrow_public_key else None
    with errors():
        keygen_lib.preflight(where, public_pem)
        secret = _new_secret(secret_file, secret_stdin)
        result = keygen_lib.keygen(where, secret, public_pem)
    what = "Wrapped the existing key" if result.adopted else "Created a new database key"
    click.echo(f"{what}: fingerprint {result.fingerprint}")
    click.echo(f"  wrapped key: {where.wrapped_key} (owner-only)")
    if result.escrowed:
        click.echo(f"  escrow copy for head office: {where.escrow_blob}")
    else:
        click.echo("  no escrow copy: head office cannot recover this key")
    if secret_file:
        click.echo(f"  unlock secret: {secret_file} (owner-only; the systemd credential)")


@click.command(
    "rotate-key",
    help="Re-key the database with a fresh key, keeping every row. Stop the edge first. "
    "Safe to interrupt: run it again to finish. Take a new backup afterwards.",
)
def rotate_key() -> None:
    config = settings()
    where = paths(config)
    with errors():
        secret = unlock_secret(config)
        click.echo(f"Re-keying {where.database} ...")
        result = keygen_lib.rotate(where, secret)
    if result.resumed:
        click.echo("Finished an interrupted rotation.")
    click.echo(f"Key {result.old_fingerprint} -> {result.new_fingerprint}; {result.rows} rows kept")
    retired = where.keystore.retired(result.old_fingerprint)
    click.echo(f"The old wrapped key is kept as {retired} for older backups.")
    click.echo("Take a new backup now.")


@click.command(
    help="Write (again) the escrow copy of the current key for head office, e.g. after head "
    "office issued a new escrow key pair."
)
@click.option(
    "--escrow-public-key",
    type=EXISTING_FILE,
    envvar="CLINIC_ESCROW_PUBLIC_KEY",
    help="Head office's escrow public key (PEM); defaults to the one given at keygen.",
)
def escrow(escrow_public_key: Path | None) -> None:
    config = settings()
    where = paths(config)
    with errors():
        key = database_key(config)
        if escrow_public_key is not None:
            pem = escrow_public_key.read_bytes()
            escrow_lib.load_public_key(pem)
            write_atomic(where.escrow_public_key, pem, PUBLIC_MODE)
            where.escrow_blob.unlink(missing_ok=True)
        if not where.escrow_public_key.exists():
            raise click.ClickException("no escrow public key yet: give --escrow-public-key")
        written = keygen_lib.write_escrow(where, key, node_id=None)
    state = "written" if written else "already up to date"
    click.echo(f"Escrow copy of key {fingerprint(key)} {state}: {where.escrow_blob}")


@click.command(
    "escrow-keypair",
    help="Head office only: create the escrow key pair. Keep the private key offline; give "
    "the public key to technicians for `keygen --escrow-public-key`.",
)
@click.option(
    "--out-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for escrow-private.pem and escrow-public.pem.",
)
@click.option("--passphrase-stdin", is_flag=True, help="Read the passphrase from standard input.")
def escrow_keypair(out_dir: Path, passphrase_stdin: bool) -> None:
    private_path, public_path = out_dir / "escrow-private.pem", out_dir / "escrow-public.pem"
    with errors():
        if private_path.exists() or public_path.exists():
            raise click.ClickException(f"an escrow key pair already exists in {out_dir}")
        passphrase = read_secret("Passphrase for the private key", passphrase_stdin, True)
        private_pem, public_pem = escrow_lib.generate_keypair(passphrase)
        write_atomic(private_path, private_pem)
        write_atomic(public_path, public_pem, PUBLIC_MODE)
    recipient = escrow_lib.public_key_fingerprint(escrow_lib.load_public_key(public_pem))
    click.echo(f"Escrow key pair {recipient} written:")
    click.echo(f"  private (keep offline, owner-only): {private_path}")
    click.echo(f"  public (for technicians): {public_path}")


@click.command(
    "recover-key",
    help="Head office only: open a laptop's escrow copy with the escrow private key and write "
    "the key as a new wrapped key file under a new unlock secret, for a replacement laptop.",
)
@click.option("--blob", required=True, type=EXISTING_FILE, help="The escrow copy (JSON).")
@click.option(
    "--private-key", required=True, type=EXISTING_FILE, help="Head office's escrow-private.pem."
)
@click.option("--out", required=True, type=NEW_FILE, help="Wrapped key file to write.")
@click.option(
    "--stdin",
    "from_stdin",
    is_flag=True,
    help="Read the passphrase, then the new unlock secret, as two lines of standard input.",
)
def recover_key(blob: Path, private_key: Path, out: Path, from_stdin: bool) -> None:
    with errors():
        if out.exists():
            raise click.ClickException(f"{out} already exists")
        passphrase = read_secret("Escrow private key passphrase", from_stdin, False)
        key = escrow_lib.recover_key(blob.read_text(), private_key.read_bytes(), passphrase)
        secret = read_secret("New unlock secret for the recovered key", from_stdin, True)
        check_new_secret(secret)
        KeyStore(out).save(key, secret)
    click.echo(f"Recovered key {fingerprint(key)} into {out} (owner-only)")


def _new_secret(secret_file: Path | None, from_stdin: bool) -> str:
    if secret_file is None:
        return read_secret("New unlock secret (PIN, at least 8 characters)", from_stdin, True)
    if secret_file.exists():
        return read_secret_file(secret_file, "the unlock secret", "")
    secret = secrets.token_urlsafe(32)
    write_atomic(secret_file, secret.encode())
    return secret
