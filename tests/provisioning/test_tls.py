"""tls-cert makes a vehicle CA and a server certificate that a real HTTPS client verifies
against that CA when `clinic-edge serve` serves it."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cryptography import x509

from tests.conftest import TEST_SECRET
from tests.provisioning.conftest import Laptop, mode


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_tls_cert_makes_a_ca_and_a_server_certificate(laptop: Laptop) -> None:
    result = laptop.run("tls-cert", "--hostname", "clinic.local", "--ip", "192.168.50.1")
    assert result.exit_code == 0, result.output
    tls = laptop.secrets / "tls"
    ca, server = load(tls / "vehicle-ca.crt"), load(tls / "edge.crt")
    server.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"clinic.local", "localhost"}
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("192.168.50.1"),
        ipaddress.ip_address("127.0.0.1"),
    }
    lifetime = server.not_valid_after_utc - server.not_valid_before_utc
    assert lifetime.days <= 398
    assert mode(tls / "edge.key") == 0o600 and mode(tls / "vehicle-ca.key") == 0o600
    assert b"PRIVATE KEY" not in (tls / "edge.crt").read_bytes()


def test_renewing_keeps_the_ca_the_tablets_trust(laptop: Laptop) -> None:
    assert laptop.run("tls-cert").exit_code == 0
    tls = laptop.secrets / "tls"
    ca_before, server_before = (tls / "vehicle-ca.crt").read_bytes(), load(tls / "edge.crt")
    again = laptop.run("tls-cert")
    assert again.exit_code == 0 and "Kept the existing vehicle CA" in again.output
    assert (tls / "vehicle-ca.crt").read_bytes() == ca_before
    assert load(tls / "edge.crt").serial_number != server_before.serial_number
    replaced = laptop.run("tls-cert", "--new-ca")
    assert replaced.exit_code == 0 and (tls / "vehicle-ca.crt").read_bytes() != ca_before


def test_a_bad_ip_address_is_refused(laptop: Laptop) -> None:
    result = laptop.run("tls-cert", "--ip", "192.168.50.300")
    assert result.exit_code == 1 and "not an IP address" in result.output
    assert not (laptop.secrets / "tls").exists()


def test_clinic_edge_serves_https_that_verifies_against_the_vehicle_ca(laptop: Laptop) -> None:
    assert laptop.run("tls-cert").exit_code == 0
    tls = laptop.secrets / "tls"
    port = free_port()
    env = {k: v for k, v in {**os.environ, **laptop.env}.items() if v is not None}
    env["EDGE_SECRET_KEY"] = TEST_SECRET
    command = [str(Path(sys.executable).parent / "clinic-edge"), "serve", "--port", str(port)]
    command += ["--tls-cert", str(tls / "edge.crt"), "--tls-key", str(tls / "edge.key")]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, server)
        url = f"https://localhost:{port}/api/health"
        response = requests.get(url, verify=str(tls / "vehicle-ca.crt"), timeout=10)
        assert response.status_code == 200 and response.json()["data"]["status"] == "ok"
        by_address = f"https://127.0.0.1:{port}/api/health"
        assert requests.get(by_address, verify=str(tls / "vehicle-ca.crt"), timeout=10).ok
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url, timeout=10)  # not trusted without the vehicle CA
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert f"Serving on https://127.0.0.1:{port}" in output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    """Until the server accepts connections (bounded; fails if the process dies)."""
    for _ in range(300):
        if process.poll() is not None:
            raise AssertionError(process.communicate()[0].decode())
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("the server did not start listening")
