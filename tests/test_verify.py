"""Verification against the sandbox registries: Basic and Bearer auth, and each way it can fail."""

from __future__ import annotations

import docker
import pytest

from app.core.checks import Outcome
from app.core.credentials import Login
from app.core.engine import Engine
from app.core.progress import PushProgress
from app.core.reference import Reference, parse_normalized
from app.core.registry import RegistryClient, parse_challenge
from app.core.secret import Secret
from app.core.verify import verify
from app.ui.app import DockpushApp
from app.ui.screens.verify import VerifyScreen
from tests.harness.images import build_image
from tests.harness.sandbox import SandboxInfo
from tests.ui import wait_for_screen, wait_until


def _login(sandbox: SandboxInfo, registry: str, password: str | None = None) -> Login:
    return Login(registry, sandbox.user, Secret(password or sandbox.password))


def _push(engine: Engine, target: Reference, login: Login | None) -> str:
    progress = PushProgress()
    for index, event in enumerate(engine.push(target, login)):
        progress.apply(event, float(index))
    assert progress.result is not None
    return progress.result.digest


def _outcomes(report) -> dict[str, Outcome]:
    return {check.name: check.outcome for check in report.checks}


@pytest.fixture
def engine(engine_client: docker.DockerClient) -> Engine:
    return Engine.connect()


@pytest.mark.parametrize("kind", ["auth", "token"])
def test_verify_after_push_passes(
    kind: str, engine: Engine, engine_client, sandbox: SandboxInfo, unique: str, remove_afterwards
) -> None:
    registry = sandbox.auth_registry if kind == "auth" else sandbox.token_registry
    target = parse_normalized(f"{registry}/verify/ok-{unique}:1")
    build_image(engine_client, str(target), [100_000, 300_000], unique)
    remove_afterwards.append(str(target))
    login = _login(sandbox, registry)
    digest = _push(engine, target, login)
    report = verify(target, login, digest, engine)
    assert report.passed, report.checks
    assert set(_outcomes(report).values()) <= {Outcome.PASSED, Outcome.INFO}
    api = report.checks[0].detail
    assert ("bearer" if kind == "token" else "basic") in api
    assert report.pinned == f"{registry}/verify/ok-{unique}@{digest}"
    assert report.total_size and report.total_size > 0


def test_tag_pushed_over_by_someone_else(
    engine: Engine, engine_client, sandbox: SandboxInfo, unique: str, remove_afterwards
) -> None:
    target = parse_normalized(f"{sandbox.open_registry}/verify/moved-{unique}:1")
    build_image(engine_client, str(target), [50_000], f"a-{unique}")
    first = _push(engine, target, None)
    build_image(engine_client, str(target), [60_000], f"b-{unique}")  # the tag now moves
    remove_afterwards.append(str(target))
    second = _push(engine, target, None)
    assert first != second
    report = verify(target, None, first, engine)
    assert not report.passed
    digest = next(c for c in report.checks if c.name == "Digest")
    assert digest.outcome is Outcome.FAILED
    assert "moved by someone else" in digest.fix


def test_deleted_blob_and_deleted_manifest(
    engine: Engine, engine_client, sandbox: SandboxInfo, unique: str, remove_afterwards
) -> None:
    target = parse_normalized(f"{sandbox.open_registry}/verify/gone-{unique}:1")
    build_image(engine_client, str(target), [70_000, 80_000], unique)
    remove_afterwards.append(str(target))
    digest = _push(engine, target, None)
    client = RegistryClient(sandbox.open_registry)
    manifest = client.manifest(target.path, "1")
    client.delete_blob(target.path, manifest.body["layers"][0]["digest"])
    report = verify(target, None, digest, engine)
    blobs = next(c for c in report.checks if c.name == "Layer blobs")
    assert blobs.outcome is Outcome.FAILED and "missing" in blobs.detail
    client.delete_manifest(target.path, digest)
    report = verify(target, None, digest, engine)
    assert _outcomes(report)["Tag listed"] is Outcome.FAILED
    assert _outcomes(report)["Digest"] is Outcome.FAILED
    assert not report.passed
    client.close()


@pytest.mark.parametrize("kind", ["auth", "token"])
def test_wrong_credentials_fail_clearly(kind: str, sandbox: SandboxInfo, unique: str) -> None:
    registry = sandbox.auth_registry if kind == "auth" else sandbox.token_registry
    target = parse_normalized(f"{registry}/verify/any-{unique}:1")
    report = verify(target, _login(sandbox, registry, "wrong-password"))
    first = report.checks[0]
    assert first.name == "Registry API and login" and first.outcome is Outcome.FAILED
    assert "rejected the login" in first.detail
    assert "wrong-password" not in str(report)
    # Anonymous: a token registry hands out a token without access, so /v2/ answers and the
    # first repository request is where the login is missing.
    anonymous = verify(target, None)
    assert not anonymous.passed
    failed = [c for c in anonymous.checks if c.outcome is Outcome.FAILED]
    assert "needs a login" in failed[0].detail


def test_unreachable_registry(unique: str) -> None:
    report = verify(parse_normalized(f"127.0.0.1:1/verify/x-{unique}:1"), None)
    assert report.checks[0].outcome is Outcome.FAILED
    assert "did not answer" in report.checks[0].detail
    assert all(c.outcome is Outcome.NOT_APPLICABLE for c in report.checks[1:])


def test_parse_challenge() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"'
    )
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.example/token",
        "service": "reg",
        "scope": "repository:a/b:pull",
    }
    assert parse_challenge('Basic realm="x"').scheme == "basic"


async def test_verify_screen_shows_results_and_copies_pinned(
    engine: Engine, engine_client, sandbox: SandboxInfo, unique: str, remove_afterwards
) -> None:
    target = parse_normalized(f"{sandbox.open_registry}/verify/screen-{unique}:1")
    build_image(engine_client, str(target), [40_000], unique)
    remove_afterwards.append(str(target))
    digest = _push(engine, target, None)
    app = DockpushApp()
    async with app.run_test(size=(130, 45)) as pilot:
        await pilot.pause(0.3)
        app.session.workflow.pushed[str(target)] = digest
        app.start_verify([target])
        screen = await wait_for_screen(pilot, VerifyScreen)
        await wait_until(pilot, lambda: bool(screen.reports), timeout=20)
        text = str(screen.query_one("#verify-results").render())
        assert "VERIFIED" in text and "✓ Layer blobs" in text
        await pilot.press("y")
        assert app.clipboard == f"{target.name}@{digest}"
        await pilot.press("slash")
        box = screen.query_one("#verify-reference")
        box.value = "Not A Reference"
        await pilot.press("enter")
        assert "uppercase" in str(screen.query_one("#verify-problem").render())
        box.value = f"{sandbox.open_registry}/verify/never-{unique}:1"
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: "NOT VERIFIED" in str(screen.query_one("#verify-results").render()),
            timeout=20,
        )
