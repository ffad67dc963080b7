"""The real app in a real pseudo-terminal: resize, Ctrl+C, quit, and the terminal restored."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable

from tests.harness.sandbox import SandboxInfo


def _set_size(fd: int, rows: int, columns: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def _read_while(fd: int, seen: bytearray, condition: Callable[[], bool], timeout: float) -> None:
    """Collect the terminal's output into `seen` while `condition()` holds."""
    deadline = time.monotonic() + timeout
    while condition():
        assert time.monotonic() < deadline, (
            f"still waiting after {timeout} s: {bytes(seen[-300:])!r}"
        )
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                return


def _read_until(fd: int, wanted: bytes, seen: bytearray) -> None:
    _read_while(fd, seen, lambda: wanted not in seen, timeout=20)


def test_resize_ctrl_c_and_quit_restore_the_terminal(sandbox: SandboxInfo) -> None:
    controller, terminal = pty.openpty()
    _set_size(terminal, 30, 100)
    settings_before = termios.tcgetattr(terminal)
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "--host", sandbox.docker_host],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "", "LINES": ""},
        start_new_session=True,
    )
    output = bytearray()
    try:
        _read_until(controller, b"dockpush-demo", output)
        # A resize arrives as SIGWINCH with the new size on the terminal.
        _set_size(terminal, 24, 80)
        process.send_signal(signal.SIGWINCH)
        time.sleep(0.5)
        # Ctrl+C is a key in raw mode: it must not kill the app, only say how to quit.
        os.write(controller, b"\x03")
        _read_until(controller, b"to quit", output)
        assert process.poll() is None
        os.write(controller, b"\x11")  # ctrl+q
        _read_while(controller, output, lambda: process.poll() is None, timeout=15)
        assert process.wait(timeout=5) == 0
        settings_after = termios.tcgetattr(terminal)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    # The alternate screen is left, the cursor shown again, and the line settings restored.
    assert b"\x1b[?1049l" in output
    assert b"\x1b[?25h" in output
    assert settings_after == settings_before
    assert b"Traceback" not in output
    os.close(terminal)
