"""The built wheel carries the stylesheet, and an installed app finds and applies it."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = textwrap.dedent(
    """
    import asyncio, sys
    import app
    from app.ui.app import DockpushApp, stylesheet_path

    assert "site-packages" in app.__file__, app.__file__
    assert "site-packages" in str(stylesheet_path()), stylesheet_path()

    async def main():
        dock = DockpushApp(host="unix:///nonexistent/docker.sock")
        async with dock.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.5)
            pane = dock.screen.query_one("#detail-pane")
            # From .textual.css: #detail-pane { min-width: 30; border-left: vkey $panel; }
            assert pane.styles.min_width.value == 30, pane.styles.min_width
            assert pane.styles.border_left[0] == "vkey", pane.styles.border_left
    asyncio.run(main())
    print("stylesheet applied")
    """
)


def test_wheel_contains_stylesheet_and_installed_app_applies_it(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("dockpush-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "app/ui/dockpush.tcss" in names
        assert archive.read("app/ui/dockpush.tcss") == (ROOT / ".textual.css").read_bytes()
        assert not any(name.startswith("tests/") for name in names)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    # Dependencies come from this environment's site-packages, added after the new venv's own.
    site = Path(sysconfig.get_paths()["purelib"])
    new_site = next((venv / "lib").glob("python*/site-packages"))
    (new_site / "zz_deps.pth").write_text(str(site) + "\n")
    result = subprocess.run(
        [str(python), "-c", CHECK], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "stylesheet applied" in result.stdout
    version = subprocess.run(
        [str(venv / "bin" / "dockpush"), "--version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert version.stdout.startswith("dockpush ")
