"""The key bar: rebuilt once per change of the keys it shows, and always showing the right ones."""

from __future__ import annotations

import docker
from textual.widgets._footer import FooterKey

from app.ui.app import DockpushApp
from app.ui.screens.browser import ImageBrowserScreen
from app.ui.widgets.footer import SettledFooter
from tests.ui import settle, wait_for_screen, wait_until


def _keys_on_bar(footer: SettledFooter) -> list[tuple[str, str, bool]]:
    return [(key.key, key.description, key.disabled) for key in footer.query(FooterKey)]


def _keys_bound(screen: ImageBrowserScreen) -> list[tuple[str, str, bool]]:
    """What the screen's bindings say the bar shows (one key per action, palette last)."""
    bindings = screen.active_bindings
    by_action: dict[str, tuple[str, str, bool]] = {}
    for _node, binding, enabled, _tooltip in bindings.values():
        if binding.show:
            by_action.setdefault(binding.action, (binding.key, binding.description, not enabled))
    _node, palette, enabled, _tooltip = bindings[screen.app.COMMAND_PALETTE_BINDING]
    return [*by_action.values(), (palette.key, palette.description, not enabled)]


async def test_footer_rebuilds_only_when_its_keys_change(
    classic_engine_client: docker.DockerClient,
) -> None:
    app = DockpushApp()
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await wait_for_screen(pilot, ImageBrowserScreen)
        await wait_until(pilot, lambda: bool(screen.all_rows))
        await settle(app, pilot)
        footer = screen.query_one(SettledFooter)
        assert _keys_on_bar(footer) == _keys_bound(screen)
        table_keys = _keys_on_bar(footer)

        rebuilds = 0
        rebuild = footer.recompose

        async def counted() -> None:
            nonlocal rebuilds
            rebuilds += 1
            await rebuild()

        footer.recompose = counted  # type: ignore[method-assign]
        for _ in range(10):  # ten signals, nothing changed
            screen.refresh_bindings()
        await settle(app, pilot)
        assert rebuilds == 0
        assert _keys_on_bar(footer) == table_keys

        await pilot.press("slash")  # the filter takes the focus: other keys apply
        await settle(app, pilot)
        assert rebuilds == 1
        assert _keys_on_bar(footer) == _keys_bound(screen) != table_keys

        await pilot.press("enter")  # back to the table, and to its keys
        await settle(app, pilot)
        assert rebuilds == 2
        assert _keys_on_bar(footer) == table_keys
