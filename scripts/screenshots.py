"""Drive the real app through the workflow against the sandbox and save a screenshot per screen.

Run through `scripts/screenshots`. Writes screenshots/NN-name.svg; the README embeds them.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import os  # noqa: E402

import docker  # noqa: E402
from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input  # noqa: E402

from app.core.progress import Phase  # noqa: E402
from app.core.push_queue import Stage  # noqa: E402
from app.core.registry import RegistryClient  # noqa: E402
from app.ui.app import DockpushApp  # noqa: E402
from app.ui.dialogs.login import LoginDialog  # noqa: E402
from app.ui.screens.browser import ImageBrowserScreen  # noqa: E402
from app.ui.screens.engines import EnginesScreen  # noqa: E402
from app.ui.screens.help import HelpScreen  # noqa: E402
from app.ui.screens.logins import SavedLoginsScreen  # noqa: E402
from app.ui.screens.push import PushScreen  # noqa: E402
from app.ui.screens.tag_form import TagFormScreen  # noqa: E402
from app.ui.screens.verify import VerifyScreen  # noqa: E402
from app.ui.widgets.layer_row import LayerRow  # noqa: E402
from tests.harness.images import build_image  # noqa: E402
from tests.ui import settle, wait_for_layer_phase, wait_for_screen, wait_until  # noqa: E402

OUT = ROOT / "screenshots"
SIZE = (120, 36)


async def filter_browser(app: DockpushApp, pilot: Pilot, query: str) -> None:
    """Wait for the image list, then filter it to `query` as a person types it."""
    browser = await wait_for_screen(pilot, ImageBrowserScreen)
    await wait_until(pilot, lambda: bool(browser.all_rows))
    await pilot.press("slash", *query, "enter")
    await settle(app, pilot, 0.5)


async def preflight_shown(
    app: DockpushApp, pilot: Pilot, shown: Callable[[PushScreen], bool] | None = None
) -> PushScreen:
    """Wait for the push screen and its pre-flight (every target checked, or `shown`)."""
    push = await wait_for_screen(pilot, PushScreen, timeout=30)
    done = shown or (lambda screen: all(r.ready for r in screen.reports))
    await wait_until(pilot, lambda: done(push), timeout=30)
    await settle(app, pilot)
    return push


async def fill_tag_form(
    app: DockpushApp, pilot: Pilot, registry: str, namespace: str, tags: str
) -> None:
    """Open the tag form on the highlighted image and fill in the destination."""
    await pilot.press("enter")
    form = await wait_for_screen(pilot, TagFormScreen)
    await settle(app, pilot)
    form.query_one("#registry", Input).value = registry
    form.query_one("#namespace", Input).value = namespace
    form.query_one("#tags", Input).value = tags
    await settle(app, pilot)


class Shots:
    """Numbered screenshots of one app, in the order taken, across tours."""

    def __init__(self) -> None:
        self.saved: list[Path] = []

    def take(self, app: DockpushApp, name: str) -> None:
        """Save the app's screen as the next numbered SVG."""
        path = OUT / f"{len(self.saved) + 1:02d}-{name}.svg"
        app.save_screenshot(str(path))
        self.saved.append(path)


async def tour(shots: Shots) -> None:
    """The whole workflow on the classic-store engine, one screenshot per screen."""
    registry = os.environ["DOCKPUSH_TEST_AUTH_REGISTRY"]
    user, password = os.environ["DOCKPUSH_TEST_USER"], os.environ["DOCKPUSH_TEST_PASSWORD"]
    namespace = f"demo-{uuid.uuid4().hex[:4]}"
    client = docker.from_env()
    # A large fresh image, so the push is still running when the screenshot is taken.
    build_image(
        client,
        "dockpush-demo/webapp:1.4.2",
        [90_000_000, 40_000_000, 6_000_000, 300_000],
        f"webapp-{namespace}",
    )
    app = DockpushApp()

    def shot(name: str) -> None:
        shots.take(app, name)

    async with app.run_test(size=SIZE) as pilot:
        await filter_browser(app, pilot, "demo/webapp")
        shot("browser")
        await fill_tag_form(app, pilot, registry, namespace, "1.4.2 latest")
        shot("tag-form")
        await pilot.press("ctrl+s")
        push = await wait_for_screen(pilot, PushScreen, timeout=30)
        await wait_until(pilot, lambda: bool(push.reports), timeout=30)
        await pilot.press("l")
        dialog = await wait_for_screen(pilot, LoginDialog)
        await settle(app, pilot)
        dialog.query_one("#username", Input).value = user
        dialog.query_one("#password", Input).value = password
        shot("login")
        dialog.query_one("#password", Input).focus()
        await pilot.press("enter")
        await preflight_shown(app, pilot)
        shot("preflight")
        await pilot.press("enter")
        await wait_for_layer_phase(pilot, push, Phase.PUSHING, timeout=60)
        # The rows are drawn with the next throttled screen update; show a few of them.
        await wait_until(pilot, lambda: bool(push.query(LayerRow)), timeout=10)
        await pilot.pause(0.6)
        shot("push-progress")
        await wait_until(pilot, lambda: push.stage is Stage.DONE, timeout=120)
        await settle(app, pilot)
        shot("push-done")
        await pilot.press("enter")
        verify = await wait_for_screen(pilot, VerifyScreen)
        await wait_until(pilot, lambda: bool(verify.reports), timeout=30)
        await settle(app, pilot)
        shot("verify-passed")
        # Someone deletes a layer blob in the registry: verification must notice.
        target = verify.targets[0]
        login_client = RegistryClient(registry, app.session.login_for(registry))
        manifest = login_client.manifest(target.path, target.tag or "latest")
        login_client.delete_blob(target.path, manifest.body["layers"][1]["digest"])
        login_client.close()
        await pilot.press("v")
        await wait_until(
            pilot, lambda: bool(verify.reports) and not verify.reports[0].passed, timeout=30
        )
        await settle(app, pilot)
        shot("verify-failed")
        await pilot.press("ctrl+l")
        await wait_for_screen(pilot, SavedLoginsScreen)
        await settle(app, pilot, 0.3)
        shot("saved-logins")
        await pilot.press("question_mark")
        await wait_for_screen(pilot, HelpScreen)
        await settle(app, pilot)
        shot("help")
        await pilot.press("escape")
        await pilot.press("ctrl+e")
        await wait_for_screen(pilot, EnginesScreen)
        await settle(app, pilot, 0.3)
        shot("engines")
    for reference in (
        "dockpush-demo/webapp:1.4.2",
        f"{registry}/{namespace}/webapp:1.4.2",
        f"{registry}/{namespace}/webapp:latest",
    ):
        client.api.remove_image(reference)  # the last tag takes the layers with it


async def multiplatform_tour(shots: Shots) -> None:
    """A multi-platform image on the containerd-store engine: browser, pre-flight, verification
    passed, then failed after one arm64 layer blob was deleted in the registry."""
    registry = os.environ["DOCKPUSH_TEST_REGISTRY"]
    namespace = f"demo-{uuid.uuid4().hex[:4]}"
    os.environ["DOCKER_HOST"] = os.environ["DOCKPUSH_TEST_CONTAINERD_HOST"]
    client = docker.from_env()
    app = DockpushApp()
    async with app.run_test(size=SIZE) as pilot:
        await filter_browser(app, pilot, "multiplatform")
        shots.take(app, "multiplatform-browser")
        await fill_tag_form(app, pilot, registry, namespace, "1.0")
        await pilot.press("ctrl+s")
        push = await preflight_shown(app, pilot)
        shots.take(app, "multiplatform-preflight")
        await pilot.press("enter")
        await wait_until(pilot, lambda: push.stage is Stage.DONE, timeout=120)
        await pilot.press("enter")
        verify = await wait_for_screen(pilot, VerifyScreen)
        await wait_until(pilot, lambda: bool(verify.reports), timeout=30)
        await settle(app, pilot)
        shots.take(app, "multiplatform-verify-passed")
        target = verify.targets[0]
        registry_client = RegistryClient(registry)
        index = registry_client.manifest(target.path, target.tag or "latest")
        arm64 = next(
            entry["digest"]
            for entry in index.body["manifests"]
            if entry.get("platform", {}).get("architecture") == "arm64"
        )
        arm64_manifest = registry_client.manifest(target.path, arm64)
        registry_client.delete_blob(target.path, arm64_manifest.body["layers"][0]["digest"])
        registry_client.close()
        await pilot.press("v")
        await wait_until(
            pilot, lambda: bool(verify.reports) and not verify.reports[0].passed, timeout=30
        )
        await settle(app, pilot)
        shots.take(app, "multiplatform-verify-failed")
    client.api.remove_image(f"{registry}/{namespace}/multiplatform:1.0")


async def push_as_is_tour(shots: Shots) -> None:
    """An image already named for its registry, pushed as it is (`p`): first a new tag, then a
    rebuilt image under the same name, where the pre-flight says the push moves the tag."""
    registry = os.environ["DOCKPUSH_TEST_REGISTRY"]
    namespace = f"demo-{uuid.uuid4().hex[:4]}"
    name = f"{registry}/{namespace}/api:2.0.1"
    client = docker.from_env()  # the classic-store engine (the sandbox's DOCKER_HOST)
    first = build_image(client, name, [3_000_000, 200_000], f"api-{namespace}-first")
    app = DockpushApp()
    async with app.run_test(size=SIZE) as pilot:
        await filter_browser(app, pilot, f"{namespace}/api")
        await pilot.press("p")
        push = await preflight_shown(app, pilot)
        shots.take(app, "push-as-is-preflight")
        await pilot.press("enter")
        await wait_until(pilot, lambda: push.stage is Stage.DONE, timeout=120)
        await pilot.press("escape")
        # The same name, other content: pushing it would move the registry's tag.
        build_image(client, name, [3_000_000, 200_000], f"api-{namespace}-second")
        await filter_browser(app, pilot, f"{namespace}/api")
        await pilot.press("p")
        await preflight_shown(app, pilot, lambda screen: any(r.moves_tag for r in screen.reports))
        shots.take(app, "push-as-is-moves-tag")
        await pilot.press("enter")
        await settle(app, pilot, 0.5)
        shots.take(app, "push-as-is-asks")
    client.api.remove_image(name)
    client.api.remove_image(first)


def main() -> int:
    """Regenerate every screenshot."""
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.svg"):
        old.unlink()
    # Logins saved during the tour go to a throwaway config folder, not the user's.
    os.environ["DOCKPUSH_CONFIG_DIR"] = tempfile.mkdtemp(prefix="dockpush-screenshots-")
    shots = Shots()
    asyncio.run(tour(shots))
    asyncio.run(push_as_is_tour(shots))
    asyncio.run(multiplatform_tour(shots))
    for path in shots.saved:
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
