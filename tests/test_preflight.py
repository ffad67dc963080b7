"""What the pre-flight says a push sends, on both engines, and pushing one platform of an index."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import docker
import pytest
from textual.widgets import Static

from app.core.checks import Check, Outcome
from app.core.engine import Engine
from app.core.errors import DockpushError, InsecureRegistry
from app.core.platforms import Platform
from app.core.preflight import (
    PUSHES,
    REMOTE_TAG,
    TargetReport,
    _destination,
    _login,
    _registry,
    run_preflight,
)
from app.core.progress import PushProgress
from app.core.push_queue import Stage
from app.core.reference import Reference, parse_normalized
from app.core.registry import InsecureRegistries, RegistryClient, RegistryProbe
from app.core.remote_tag import TagChange
from app.core.steps import LoginNeed
from app.ui.app import DockpushApp
from app.ui.screens.push import ItemState, PushScreen
from tests.harness.hostile_registry import HostileRegistry
from tests.harness.images import build_image
from tests.harness.sandbox import SandboxInfo
from tests.multiplatform import (
    MISSING_PLATFORM,
    LoadedIndex,
    LoadedIndexes,
    loaded_indexes,
    registry_manifest,
)
from tests.ui import open_push_screen, push_and_wait, settle, wait_until

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
AMD64 = Platform("linux", "amd64")


@pytest.fixture
def tag_for_open_registry(
    containerd_engine_client: docker.DockerClient,
    sandbox: SandboxInfo,
    remove_on_containerd: list[str],
) -> Callable[[LoadedIndex], Reference]:
    """Tags a loaded index on the containerd-store engine for the open registry (`:1`);
    the tag is removed when the test ends."""

    def tag(index: LoadedIndex) -> Reference:
        target = parse_normalized(f"{sandbox.open_registry}/{index.repository}:1")
        containerd_engine_client.api.tag(index.reference, target.name, target.tag)
        remove_on_containerd.append(str(target))
        return target

    return tag


def _preflight(target: Reference, platform: Platform | None = None) -> TargetReport:
    engine = Engine.connect()
    try:
        (report,) = run_preflight(engine, [target], lambda _domain: None, None, platform)
    finally:
        engine.close()
    return report


def _what_is_pushed(report: TargetReport):
    return next(check for check in report.checks if check.name == PUSHES)


def test_whole_index_is_described(indexes: LoadedIndexes, tag_for_open_registry) -> None:
    report = _preflight(tag_for_open_registry(indexes.full))
    assert report.ready
    check = _what_is_pushed(report)
    assert check.outcome is Outcome.INFO
    assert f"the whole index: 2 platforms (linux/amd64, {MISSING_PLATFORM})" in check.detail
    assert "2 attestations" in check.detail
    assert set(report.platforms) == {AMD64, Platform.parse(MISSING_PLATFORM)}
    assert "p pushes one platform only" in check.fix


def test_missing_platform_content_stops_the_preflight(
    indexes: LoadedIndexes, tag_for_open_registry
) -> None:
    target = tag_for_open_registry(indexes.incomplete)
    report = _preflight(target)
    assert not report.ready
    check = _what_is_pushed(report)
    assert check.outcome is Outcome.FAILED
    assert f"the content of {MISSING_PLATFORM} is not in the local store" in check.detail
    assert f"docker pull --platform {MISSING_PLATFORM} " in check.fix
    assert "push only a platform that is here (linux/amd64)" in check.fix
    # Only the platform that is here can go alone.
    assert report.platforms == (AMD64,)
    # Choosing it makes the pre-flight pass, and says what is then left out.
    alone = _preflight(target, AMD64)
    assert alone.ready
    detail = _what_is_pushed(alone).detail
    assert "only linux/amd64, as a single-platform image" in detail
    assert "the index, its 1 other platform and its 2 attestations are not pushed" in detail
    assert "docker push --platform linux/amd64 " in alone.commands[-1]
    missing = _preflight(target, Platform.parse(MISSING_PLATFORM))
    assert not missing.ready
    assert "lacks its content locally" in _what_is_pushed(missing).detail


def _preflight_text(screen: PushScreen) -> str:
    return str(screen.query_one("#preflight", Static).render())


async def test_push_screen_stops_on_an_incomplete_index_then_pushes_one_platform(
    indexes: LoadedIndexes, sandbox: SandboxInfo, tag_for_open_registry
) -> None:
    target = tag_for_open_registry(indexes.incomplete)
    app = DockpushApp()
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await open_push_screen(pilot, [target])
        await settle(app, pilot)
        assert not all(report.ready for report in screen.reports)
        assert "is not in the local store" in _preflight_text(screen)
        # Enter only checks again: the push never starts.
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.stage is Stage.PREFLIGHT and screen.items[0].state is ItemState.WAITING
        assert registry_manifest(sandbox.open_registry, target.path, "1")[0] == 404

        await pilot.press("p")
        await wait_until(pilot, lambda: "only linux/amd64" in _preflight_text(screen), 20)
        assert screen.platform == AMD64
        assert all(report.ready for report in screen.reports)
        assert "are not pushed" in _preflight_text(screen)
        await push_and_wait(pilot, screen)
        item = screen.items[0]
        assert item.state is ItemState.DONE and item.result is not None

    status, manifest, digest = registry_manifest(sandbox.open_registry, target.path, "1")
    assert status == 200
    # A single-platform manifest, the local amd64 one, not the index.
    assert manifest["mediaType"] == OCI_MANIFEST and "manifests" not in manifest
    assert digest == indexes.incomplete.layout.manifests["linux/amd64"] == item.result.digest


async def test_classic_engine_says_why_no_platform_choice(
    classic_engine_client: docker.DockerClient,
    sandbox: SandboxInfo,
    unique: str,
    remove_on_classic: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = parse_normalized(f"{sandbox.open_registry}/mp-test/classic-{unique}:1")
    classic_engine_client.api.tag("dockpush-demo/tiny:1.0", target.name, target.tag)
    remove_on_classic.append(str(target))
    app = DockpushApp()
    notes: list[str] = []
    async with app.run_test(size=(140, 50)) as pilot:
        shown = app.notify

        def notify(message: str, **options: object) -> None:
            notes.append(message)
            shown(message, **options)  # type: ignore[arg-type]

        monkeypatch.setattr(app, "notify", notify)
        screen = await open_push_screen(pilot, [target])
        await settle(app, pilot)
        report = screen.reports[0]
        assert report.ready and report.platforms == ()
        check = _what_is_pushed(report)
        assert check.outcome is Outcome.PASSED
        assert "one platform: linux/amd64" in check.detail
        assert "API 1.41" in check.detail and "1.46" in check.detail
        await pilot.press("p")
        await settle(app, pilot)
        assert screen.platform is None
        assert notes and "API 1.41" in notes[-1] and "1.46" in notes[-1]


# -- review of #16: the Login and Registry checks for a plain-HTTP registry ------------------


def _probe(address: str, insecure: InsecureRegistries) -> RegistryProbe | DockpushError:
    client = RegistryClient(address, None, insecure)
    try:
        return client.probe()
    except DockpushError as error:
        return error
    finally:
        client.close()


def _plain_http_checks(listed: bool) -> tuple[RegistryProbe | DockpushError, Check, Check]:
    """The probe, Login and Registry checks for a plain-HTTP registry on 127.0.0.2 (a host
    outside the sandbox engine's insecure list), the engine's view listing it or not."""
    engine = Engine.connect()
    try:
        with HostileRegistry(host="127.0.0.2") as registry:
            names = frozenset({registry.address}) if listed else frozenset()
            insecure = InsecureRegistries(networks=(), names=names)
            probe = _probe(registry.address, insecure)
            target = parse_normalized(f"{registry.address}/app:1")
            login = _login(engine, None, probe, datetime.now())
            return probe, login, _registry(engine, probe, target, insecure)
    finally:
        engine.close()


def test_plain_http_registry_the_engine_does_not_list(sandbox: SandboxInfo) -> None:
    """M3: the Login check said "no login saved … the push needs one" for a registry that
    never answered; 127.0.0.2 stands for a host outside the engine's insecure list."""
    probe, login, where = _plain_http_checks(listed=False)
    assert isinstance(probe, InsecureRegistry)
    assert login.outcome is Outcome.NOT_APPLICABLE, login
    assert login.detail == "not checked: the registry did not answer over HTTPS"
    assert where.outcome is Outcome.FAILED and "plain HTTP" in where.detail
    assert where.fix == InsecureRegistry.next_step  # a Docker engine: the daemon.json advice


def test_plain_http_registry_the_engine_lists_as_insecure(sandbox: SandboxInfo) -> None:
    """M3: the engine lists the host as insecure, so plain HTTP is how the push goes: a pass,
    not advice to add what is already there."""
    probe, login, where = _plain_http_checks(listed=True)
    assert isinstance(probe, RegistryProbe) and probe.plain_http
    assert login.outcome is Outcome.PASSED
    assert where.outcome is Outcome.PASSED, where
    assert where.detail == "answers over plain HTTP; the engine lists it as insecure"


# -- what the registry's tag holds now (#18) ----------------------------------------------------


def _built(client: docker.DockerClient, reference: str, seed: str, remove: list[str]) -> Reference:
    build_image(client, reference, [2048], seed)
    remove.append(reference)
    return parse_normalized(reference)


@pytest.fixture
def built(
    engine_client: docker.DockerClient, unique: str, remove_afterwards: list[str]
) -> Callable[..., Reference]:
    """Builds a small image as `reference` (its content from `seed`, the test's unique suffix
    unless given) on the engine under test; removed when the test ends."""

    def build(reference: str, seed: str = unique) -> Reference:
        return _built(engine_client, reference, seed, remove_afterwards)

    return build


def _pushed(target: Reference) -> str:
    """Push `target` with the app's engine; the digest the registry now holds."""
    engine = Engine.connect()
    try:
        progress = PushProgress(store=engine.image_store)
        for index, event in enumerate(engine.push(target, None)):
            progress.apply(event, float(index))
    finally:
        engine.close()
    assert progress.result is not None, progress.log
    return progress.result.digest


def _tag_check(report: TargetReport):
    return next(check for check in report.checks if check.name == REMOTE_TAG)


def test_remote_tag_new_same_and_moved(
    engine_client: docker.DockerClient,
    sandbox: SandboxInfo,
    unique: str,
    remove_afterwards,
    built,
) -> None:
    """A tag that really exists in the registry: the same image leaves it, another moves it."""
    repository = f"{sandbox.open_registry}/remote-tag-{unique}/app"
    first = built(f"{repository}:1", f"first-{unique}")
    pushed = _pushed(first)

    same = _preflight(first)
    assert same.tag is not None and same.tag.change is TagChange.SAME
    assert not same.moves_tag and same.ready
    check = _tag_check(same)
    assert check.outcome is Outcome.PASSED
    assert "the push changes nothing" in check.detail and pushed[:19] in check.detail

    fresh = parse_normalized(f"{repository}:2")
    engine_client.api.tag(str(first), fresh.name, fresh.tag)
    remove_afterwards.append(str(fresh))
    new = _preflight(fresh)
    assert new.tag is not None and new.tag.change is TagChange.NEW and not new.moves_tag
    assert _tag_check(new).detail == f"new: the registry has no {fresh.path}:2 yet"

    # Another image takes the local tag `:1`: the registry's `:1` still holds the first one.
    built(f"{repository}:1", f"second-{unique}")
    moved = _preflight(first)
    assert moved.tag is not None and moved.tag.change is TagChange.MOVES
    assert moved.moves_tag and moved.ready  # asked in the push screen, not a failure
    assert moved.tag.remote is not None and moved.tag.remote.digest == pushed
    assert moved.move_key == f"{first}@{pushed}"
    check = _tag_check(moved)
    assert check.outcome is Outcome.INFO
    assert f"holds another image: {pushed[:19]}…" in check.detail
    # The legacy builder stamps the build time into the config blob; the registry serves it.
    created = moved.tag.remote.created
    assert created is not None and abs((datetime.now(UTC) - created).total_seconds()) < 600
    assert f"created {created:%Y-%m-%d %H:%M} UTC" in check.detail
    assert "linux/" in check.detail and moved.tag.remote.platforms
    assert "enter asks before moving it" in check.fix


def test_remote_tag_of_an_index_compares_index_digests(
    indexes: LoadedIndexes, tag_for_open_registry
) -> None:
    """On the containerd store the image's id is its index digest: pushed as it is, the
    registry holds that same index; one platform pushed alone would move the tag."""
    target = tag_for_open_registry(indexes.full)
    assert _preflight(target).tag.change is TagChange.NEW
    pushed = _pushed(target)
    report = _preflight(target)
    assert report.tag.change is TagChange.SAME
    assert report.tag.local.digest == pushed
    remote = report.tag.remote
    assert remote is not None and remote.is_index
    assert set(remote.platforms) == {"linux/amd64", MISSING_PLATFORM}
    alone = _preflight(target, AMD64)
    assert alone.tag.change is TagChange.MOVES and alone.moves_tag
    assert "linux/amd64, linux/arm64/v8" in _tag_check(alone).detail


def test_remote_tag_not_checked_without_a_login(sandbox: SandboxInfo, unique: str, built) -> None:
    report = _preflight(built(f"{sandbox.auth_registry}/remote-tag-{unique}/app:1"))
    assert report.tag is None and not report.moves_tag
    check = _tag_check(report)
    assert check.outcome is Outcome.NOT_APPLICABLE and check.detail.startswith("not checked: ")
    assert report.login is LoginNeed.MISSING


def test_login_finding_for_the_stepper(sandbox: SandboxInfo, unique: str, built) -> None:
    target = built(f"{sandbox.open_registry}/login-need-{unique}/app:1")
    assert _preflight(target).login is LoginNeed.NOT_NEEDED


def test_official_image_name_goes_to_docker_hub_library() -> None:
    """As `docker push alpine:3` reads it: docker.io/library/alpine:3, which only Docker
    publishes; the pre-flight says so (no engine needed: a pure check)."""
    check = _destination(parse_normalized("alpine:3"))
    assert check.outcome is Outcome.FAILED
    assert "official images (library/)" in check.detail and "press b" in check.fix.lower()
    assert _destination(parse_normalized("me/app:1")).outcome is Outcome.INFO


def test_classic_store_compares_by_config_without_a_recorded_digest(
    sandbox: SandboxInfo,
    classic_engine_client: docker.DockerClient,
    containerd_engine_client: docker.DockerClient,
    remove_on_classic: list[str],
    remove_on_containerd: list[str],
    tag_for_open_registry,
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The classic store knows a manifest digest only for repositories it pushed to or pulled
    from. Here the registry's tag was pushed by the other engine (the same image, carried
    over with save and load): the config digests say it is the same image. An index under the
    tag always moves, because the classic store pushes one manifest."""
    reference = f"{sandbox.open_registry}/by-config-{unique}/app:1"
    target = _built(classic_engine_client, reference, unique, remove_on_classic)
    image = classic_engine_client.images.get(reference)
    for _line in containerd_engine_client.api.load_image(b"".join(image.save(named=True))) or ():
        pass
    remove_on_containerd.append(reference)
    monkeypatch.setenv("DOCKER_HOST", sandbox.containerd_docker_host)
    _pushed(target)

    monkeypatch.setenv("DOCKER_HOST", sandbox.docker_host)
    report = _preflight(target)
    assert report.tag is not None and report.tag.local.digest is None  # none recorded here
    assert report.tag.change is TagChange.SAME and not report.moves_tag
    assert "already holds this same image (same config)" in _tag_check(report).detail

    with loaded_indexes(containerd_engine_client, unique) as loaded:
        index_target = tag_for_open_registry(loaded.full)
        monkeypatch.setenv("DOCKER_HOST", sandbox.containerd_docker_host)
        _pushed(index_target)
    classic_engine_client.api.tag(reference, index_target.name, index_target.tag)
    remove_on_classic.append(str(index_target))
    monkeypatch.setenv("DOCKER_HOST", sandbox.docker_host)
    moved = _preflight(index_target)
    assert moved.tag is not None and moved.tag.change is TagChange.MOVES
    assert moved.tag.remote is not None and moved.tag.remote.is_index


async def test_broken_docker_config_is_named_in_the_login_check(
    classic_engine_client: docker.DockerClient,
    sandbox: SandboxInfo,
    unique: str,
    remove_on_classic: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path,
) -> None:
    # config.json that is not JSON: the pre-flight says so, not "no login saved".
    (tmp_path / "config.json").write_text('{"auths": {')
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    target = parse_normalized(f"{sandbox.auth_registry}/broken-config-{unique}/app:1")
    classic_engine_client.api.tag("dockpush-demo/tiny:1.0", target.name, target.tag)
    remove_on_classic.append(str(target))
    app = DockpushApp()
    async with app.run_test(size=(140, 50)) as pilot:
        screen = await open_push_screen(pilot, [target])
        await settle(app, pilot)
        (report,) = screen.reports
        login = next(check for check in report.checks if check.name == "Login")
        assert login.outcome is Outcome.FAILED
        assert login.detail.startswith("no login could be read: ")
        assert "config.json" in login.detail and "no login saved" not in login.detail
        assert "log in here (l)" in login.fix
        assert not report.ready
