"""The vehicle's own certificate authority and the edge's TLS server certificate.

Crew tablets trust the vehicle CA once (installed by hand, see docs/operations.md); the
server certificate can then be renewed from the same CA without touching the tablets.
Keys are ECDSA P-256 (accepted by Android, iPadOS and every current browser); the server
certificate lives 397 days, under the limit browsers and Apple devices enforce.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from common.files import PUBLIC_MODE, write_atomic
from provisioning.errors import ProvisioningError

CA_DAYS = 3650
SERVER_DAYS = 397
LOOPBACK_NAMES = ("localhost",)
LOOPBACK_IPS = ("127.0.0.1",)


@dataclass(frozen=True)
class TlsFiles:
    directory: Path

    @property
    def ca_cert(self) -> Path:
        """Install this on the crew's tablets."""
        return self.directory / "vehicle-ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "vehicle-ca.key"

    @property
    def server_cert(self) -> Path:
        """The server certificate followed by the CA: the chain the edge presents."""
        return self.directory / "edge.crt"

    @property
    def server_key(self) -> Path:
        return self.directory / "edge.key"


@dataclass(frozen=True)
class Issued:
    ca_fingerprint: str
    ca_created: bool
    server_fingerprint: str
    names: list[str]
    not_after: dt.datetime


def issue(
    files: TlsFiles,
    vehicle: str,
    hostnames: list[str],
    ip_addresses: list[str],
    days: int = SERVER_DAYS,
    new_ca: bool = False,
    now: dt.datetime | None = None,
) -> Issued:
    """Issue a server certificate, creating the vehicle CA first unless one exists."""
    now = now or dt.datetime.now(dt.UTC)
    ips = [_parse_ip(value) for value in dict.fromkeys([*ip_addresses, *LOOPBACK_IPS])]
    names = list(dict.fromkeys([*hostnames, *LOOPBACK_NAMES]))
    ca_created = new_ca or not files.ca_cert.exists()
    if ca_created:
        ca_key, ca_cert = _new_ca(vehicle, now)
        write_atomic(files.ca_key, _private_pem(ca_key))
        write_atomic(files.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE)
    else:
        ca_key, ca_cert = load_ca(files)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _server_cert(key, ca_key, ca_cert, vehicle, names, ips, now, days)
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(
        serialization.Encoding.PEM
    )
    write_atomic(files.server_key, _private_pem(key))
    write_atomic(files.server_cert, chain, PUBLIC_MODE)
    return Issued(
        cert_fingerprint(ca_cert),
        ca_created,
        cert_fingerprint(cert),
        [*names, *map(str, ips)],
        cert.not_valid_after_utc,
    )


def load_ca(files: TlsFiles) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    try:
        ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    except (OSError, ValueError) as error:
        raise ProvisioningError(
            f"cannot read the vehicle CA in {files.directory} ({error}); "
            "use --new-ca to make a new one (tablets must then trust the new CA)"
        ) from None
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ProvisioningError(f"{files.ca_key} is not the vehicle CA's key")
    return ca_key, ca_cert


def server_expiry(files: TlsFiles) -> dt.datetime | None:
    """When the edge's certificate runs out (None when there is none)."""
    if not files.server_cert.exists():
        return None
    return x509.load_pem_x509_certificate(files.server_cert.read_bytes()).not_valid_after_utc


def cert_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint as tablets show it (colon-separated hex)."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _new_ca(vehicle: str, now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"Mobile Clinic {vehicle} vehicle CA")
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server_cert(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    vehicle: str,
    names: list[str],
    ips: list[ipaddress.IPv4Address | ipaddress.IPv6Address],
    now: dt.datetime,
    days: int,
) -> x509.Certificate:
    san = [x509.DNSName(name) for name in names] + [x509.IPAddress(ip) for ip in ips]
    return (
        x509.CertificateBuilder()
        .subject_name(_name(names[0] if names else f"Mobile Clinic {vehicle}"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=days), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mobile Clinic"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise ProvisioningError(f"{value!r} is not an IP address") from None
