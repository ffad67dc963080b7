"""TLS material for the sandbox's TCP engine (made fresh at every `sandbox up`) and for a
registry with a certificate nothing trusts.

One CA signs the engine's server certificate (127.0.0.1 and localhost) and a client
certificate; the client folder is laid out as DOCKER_CERT_PATH wants it (ca.pem, cert.pem,
key.pem). A second, unrelated CA makes a client folder the engine must refuse.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALID_FOR = dt.timedelta(days=30)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: str, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey):
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + _VALID_FOR)
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _make_ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    cert = (
        _builder(common_name, _name(common_name), key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _issue(
    ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
    common_name: str,
    usage: x509.ObjectIdentifier,
    names: list[x509.GeneralName] | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    ca_key, ca_cert = ca
    key = _key()
    builder = _builder(common_name, ca_cert.subject, key.public_key()).add_extension(
        x509.ExtendedKeyUsage([usage]), critical=False
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _client_folder(
    folder: Path, ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate], who: str
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    key, cert = _issue(ca, who, ExtendedKeyUsageOID.CLIENT_AUTH)
    _write_cert(folder / "ca.pem", ca[1])
    _write_cert(folder / "cert.pem", cert)
    _write_key(folder / "key.pem", key)


def _server_folder(
    folder: Path, ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate], who: str
) -> None:
    """ca.pem, and cert.pem and key.pem for a server on 127.0.0.1 and localhost."""
    folder.mkdir(parents=True, exist_ok=True)
    key, cert = _issue(
        ca,
        who,
        ExtendedKeyUsageOID.SERVER_AUTH,
        [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")],
    )
    _write_cert(folder / "ca.pem", ca[1])
    _write_cert(folder / "cert.pem", cert)
    _write_key(folder / "key.pem", key)


def make_engine_tls(root: Path) -> None:
    """Write server/ (for dockerd), client/ and wrong-ca/ (DOCKER_CERT_PATH layouts)."""
    ca = _make_ca("dockpush sandbox engine CA")
    _server_folder(root / "server", ca, "dockpush sandbox engine")
    _client_folder(root / "client", ca, "dockpush sandbox client")
    _client_folder(root / "wrong-ca", _make_ca("some other CA"), "stranger")


def make_self_signed_server(folder: Path, who: str) -> None:
    """A server certificate from a CA of its own that nothing trusts, as a private registry
    often has (ca.pem, cert.pem, key.pem in `folder`)."""
    _server_folder(folder, _make_ca(f"{who} CA"), who)
