"""A registry over HTTPS with a self-signed certificate (the sandbox's `tls_registry`).

The engine treats a loopback registry (or one in its "insecure-registries") as insecure: it
talks TLS to it without checking the certificate, and plain HTTP only if TLS fails. A push
there succeeds, so verification must read the registry the same way; and to a registry the
engine treats as secure, a certificate nothing trusts stays an error that says so.
"""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from app.core.engine import Engine
from app.core.errors import CertificateProblem
from app.core.progress import PushProgress
from app.core.reference import parse_normalized
from app.core.registry import InsecureRegistries, RegistryClient, registry_cas
from app.core.verify import verify
from tests.harness.images import build_image
from tests.harness.sandbox import SandboxInfo


def test_the_engine_and_dockpush_both_reach_a_self_signed_registry_on_loopback(
    engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str, remove_afterwards
) -> None:
    engine = Engine.connect()
    target = parse_normalized(f"{sandbox.tls_registry}/tls/app-{unique}:1")
    build_image(engine_client, str(target), [80_000, 20_000], unique)
    remove_afterwards.append(str(target))
    progress = PushProgress()
    for index, event in enumerate(engine.push(target, None)):
        progress.apply(event, float(index))
    assert progress.result is not None, progress.error

    report = verify(target, None, progress.result.digest, engine)

    assert report.passed, report.checks
    client = RegistryClient(sandbox.tls_registry, insecure=engine.insecure_registries())
    try:
        probe = client.probe()
    finally:
        client.close()
    assert probe.base_url == f"https://{sandbox.tls_registry}"  # TLS, not the HTTP fallback
    assert not probe.plain_http


def test_a_registry_the_engine_treats_as_secure_must_have_a_trusted_certificate(
    sandbox: SandboxInfo,
) -> None:
    """The same registry, as if the engine did not list it insecure: nothing is sent."""
    nothing_insecure = InsecureRegistries(networks=(), names=frozenset())
    client = RegistryClient(sandbox.tls_registry, insecure=nothing_insecure)
    try:
        with pytest.raises(CertificateProblem) as raised:
            client.probe()
    finally:
        client.close()
    assert "not trusted on this machine" in raised.value.explanation


def test_a_ca_in_the_engines_certs_d_folder_is_trusted_as_the_engine_trusts_it(
    sandbox: SandboxInfo, tmp_path: Path
) -> None:
    """`/etc/docker/certs.d/<registry>/*.crt` (here a folder of the test's) makes the
    engine trust a private CA; dockpush reads the same files, so a registry the engine
    treats as secure verifies too. A file there that is no certificate changes nothing."""
    ca = Path(sandbox.state_dir) / "registries" / "tls" / "certs" / "ca.pem"
    folder = tmp_path / "certs.d" / sandbox.tls_registry
    folder.mkdir(parents=True)
    (folder / "ca.crt").write_bytes(ca.read_bytes())
    (folder / "notes.crt").write_text("not a certificate\n")
    (folder / "ignored.pem").write_text("only .crt files are CAs, as for the engine\n")
    assert registry_cas(sandbox.tls_registry, tmp_path / "certs.d") == (
        folder / "ca.crt",
        folder / "notes.crt",
    )
    nothing_insecure = InsecureRegistries(networks=(), names=frozenset())
    client = RegistryClient(
        sandbox.tls_registry, insecure=nothing_insecure, certs_d=tmp_path / "certs.d"
    )
    try:
        probe = client.probe()
    finally:
        client.close()
    assert probe.base_url == f"https://{sandbox.tls_registry}" and probe.status == 200
    assert registry_cas("registry.example:5000", tmp_path / "certs.d") == ()
