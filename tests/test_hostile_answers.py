"""Malformed or hostile answers from the engine and from registries: always a clear error.

The engine side runs the real sandbox engine behind a unix-socket proxy that spoils only
its answers to pushes; the registry side is a loopback server answering as captive
portals and misrouted proxies do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.checks import Outcome
from app.core.contexts import resolve_endpoint
from app.core.engine import Engine
from app.core.errors import EngineAnswerMalformed
from app.core.progress import Phase, PushProgress
from app.core.reference import Reference, parse_normalized
from app.core.verify import verify
from tests.conftest import engine_host
from tests.harness.engine_tamper import TamperingEngineProxy, chunked_answer, json_lines
from tests.harness.hostile_registry import HostileRegistry
from tests.harness.sandbox import SandboxInfo

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def tampered(
    sandbox: SandboxInfo, image_store: str, tmp_path: Path
) -> Iterator[tuple[TamperingEngineProxy, Engine]]:
    """The sandbox engine of each image store behind the tampering proxy."""
    with TamperingEngineProxy(
        tmp_path / "engine.sock", engine_host(sandbox, image_store).removeprefix("unix://")
    ) as proxy:
        engine = Engine.connect(resolve_endpoint(proxy.host))
        yield proxy, engine
        engine.close()


@pytest.fixture
def tagged(
    tampered: tuple[TamperingEngineProxy, Engine],
    sandbox: SandboxInfo,
    unique: str,
    remove_afterwards: list[str],
) -> Callable[[str, str], Reference]:
    """Tags `source` as `<open registry>/hostile/<name>-<unique>:1` through the proxy, in the
    engine behind it; the tag is removed there when the test ends."""
    _proxy, engine = tampered

    def tag(source: str, name: str) -> Reference:
        reference = parse_normalized(f"{sandbox.open_registry}/hostile/{name}-{unique}:1")
        engine.tag(source, reference)
        remove_afterwards.append(str(reference))
        return reference

    return tag


def _push(engine: Engine, reference: str) -> PushProgress:
    progress = PushProgress()
    for index, event in enumerate(engine.push(parse_normalized(reference), None)):
        progress.apply(event, float(index))
    return progress


def test_push_stream_that_is_not_json(tampered, sandbox: SandboxInfo) -> None:
    proxy, engine = tampered
    proxy.push_answer = chunked_answer(
        [
            *json_lines({"status": "Preparing", "progressDetail": {}, "id": "0123456789ab"}),
            b"<html><body>502 Bad Gateway</body></html>\r\n",
        ]
    )
    with pytest.raises(EngineAnswerMalformed) as raised:
        _push(engine, f"{sandbox.open_registry}/hostile/app:1")
    assert "not JSON" in raised.value.explanation
    assert "docker push" in raised.value.next_step


def test_push_stream_cut_off_in_the_middle(tampered, tagged) -> None:
    proxy, engine = tampered
    target = tagged("dockpush-demo/layers:2.3.1", "cut")
    proxy.cut_after = 400  # past the HTTP head, inside the first lines of the stream
    with pytest.raises(EngineAnswerMalformed) as raised:
        _push(engine, str(target))
    # Never a success, and not blamed on a stopped engine: it still answers.
    assert "broke off in the middle" in raised.value.explanation
    assert "IncompleteRead" in (raised.value.detail or "")


def test_unknown_statuses_and_a_huge_number_of_layers(tampered, sandbox: SandboxInfo) -> None:
    proxy, engine = tampered
    layers = [f"{n:012x}" for n in range(5000)]
    events = [{"status": "The push refers to repository [x/y]"}]
    events += [{"status": "Frobnicating", "progressDetail": {}, "id": layer} for layer in layers]
    events += [{"status": "Pushed", "progressDetail": {}, "id": layer} for layer in layers[:10]]
    events += [{"status": f"1: digest: {DIGEST} size: 528"}]
    proxy.push_answer = chunked_answer(json_lines(*events))
    progress = _push(engine, f"{sandbox.open_registry}/hostile/many:1")
    assert progress.succeeded and progress.result is not None
    assert progress.result.digest == DIGEST
    assert len(progress.layers) == 5000
    assert set(progress.unknown_statuses) == {"Frobnicating"}
    assert sum(layer.phase is Phase.OTHER for layer in progress.layers.values()) == 4990


@pytest.mark.parametrize(
    ("repository", "said"),
    [
        ("portal/app", "text/html that is not JSON"),
        ("teapot/app", "HTTP 418"),
        ("shapeless/app", "tag list for shapeless/app that is not a list"),
    ],
)
def test_registry_answers_outside_the_api(
    hostile: HostileRegistry, repository: str, said: str
) -> None:
    report = verify(parse_normalized(f"{hostile.address}/{repository}:1.0"), None)
    assert not report.passed
    failed = [check for check in report.checks if check.outcome is Outcome.FAILED]
    assert failed and said in failed[0].detail
    assert "registry API" in failed[0].fix


def test_registry_manifest_in_the_wrong_shape_or_cut_off(hostile: HostileRegistry) -> None:
    from app.core.errors import RegistryAnswerUnexpected
    from app.core.registry import RegistryClient

    client = RegistryClient(hostile.address)
    with pytest.raises(RegistryAnswerUnexpected) as shapeless:
        client.manifest("shapeless/app", "1.0")
    assert "no valid list of layers" in shapeless.value.explanation
    report = verify(parse_normalized(f"{hostile.address}/truncated/app:1.0"), None)
    digest = next(check for check in report.checks if check.name == "Digest")
    assert digest.outcome is Outcome.FAILED and "not JSON" in digest.detail
    client.close()


async def test_push_screen_with_thousands_of_layers_stays_quick(tampered, tagged) -> None:
    from app.ui.app import DockpushApp
    from app.ui.screens.push import MAX_LAYER_ROWS, ItemState
    from tests.ui import open_push_screen, push_and_wait

    proxy, _engine = tampered
    target = tagged("dockpush-demo/tiny:1.0", "ui")
    layers = [f"{n:012x}" for n in range(3000)]
    events = [{"status": "Pushed", "progressDetail": {}, "id": layer} for layer in layers]
    proxy.push_answer = chunked_answer(
        json_lines(*events, {"status": f"1: digest: {DIGEST} size: 528"})
    )
    app = DockpushApp(host=proxy.host)
    async with app.run_test(size=(130, 45)) as pilot:
        screen = await open_push_screen(pilot, [target])
        await push_and_wait(pilot, screen, timeout=30)
        assert screen.items[0].state is ItemState.DONE
        assert len(screen.query("LayerRow")) == MAX_LAYER_ROWS
        more = str(screen.query_one("#more-layers").render())
        assert f"{3000 - MAX_LAYER_ROWS} more layers" in more
