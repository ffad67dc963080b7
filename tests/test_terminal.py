"""The real app in a real pseudo-terminal: resize, Ctrl+C, quit, crash, hostile data; the
terminal is restored every time, and no escape sequence from data reaches it."""

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

import docker

from tests.harness.images import build_labelled
from tests.harness.sandbox import SandboxInfo

# The browser's count ("123 tags"): the images are listed, whichever rows are on screen
# (other tests' images may sort before the sandbox's demo images).
LISTED = b" tags"


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


def _read_for(fd: int, seen: bytearray, seconds: float) -> None:
    """Collect whatever the terminal receives in the next `seconds`."""
    end = time.monotonic() + seconds
    _read_while(fd, seen, lambda: time.monotonic() < end, timeout=seconds + 1)


def _spawn(terminal: int, *args: str) -> subprocess.Popen:
    """`python *args` on the pseudo-terminal, as a person's shell would start it."""
    return subprocess.Popen(
        [sys.executable, *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "", "LINES": ""},
        start_new_session=True,
    )


def _quit(controller: int, process: subprocess.Popen, output: bytearray) -> None:
    """Press ctrl+q and read until the app has ended; it ends with status 0."""
    os.write(controller, b"\x11")
    _read_while(controller, output, lambda: process.poll() is None, timeout=15)
    assert process.wait(timeout=5) == 0


def _end(process: subprocess.Popen, *fds: int) -> None:
    """Kill the app if it still runs, and close the pseudo-terminal's ends `fds`."""
    if process.poll() is None:
        process.kill()
    for fd in fds:
        os.close(fd)


def test_resize_ctrl_c_and_quit_restore_the_terminal(sandbox: SandboxInfo) -> None:
    controller, terminal = pty.openpty()
    _set_size(terminal, 30, 100)
    settings_before = termios.tcgetattr(terminal)
    process = _spawn(terminal, "-m", "app", "--host", sandbox.docker_host)
    output = bytearray()
    try:
        _read_until(controller, LISTED, output)
        # A resize arrives as SIGWINCH with the new size on the terminal.
        _set_size(terminal, 24, 80)
        process.send_signal(signal.SIGWINCH)
        time.sleep(0.5)
        # Ctrl+C is a key in raw mode: it must not kill the app, only say how to quit.
        os.write(controller, b"\x03")
        _read_until(controller, b"to quit", output)
        assert process.poll() is None
        _quit(controller, process, output)
        settings_after = termios.tcgetattr(terminal)
    finally:
        _end(process, controller, terminal)
    # The alternate screen is left, the cursor shown again, and the line settings restored.
    assert b"\x1b[?1049l" in output
    assert b"\x1b[?25h" in output
    assert settings_after == settings_before
    assert b"Traceback" not in output


def test_escape_sequences_in_data_never_reach_the_terminal(
    classic_engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str
) -> None:
    # A title change, a screen clear and a colour, in an image's history (its LABEL step).
    title = f"\x1b]0;pwned-{unique}\x07"
    label = f"{title} \x1b[2J [/] \x1b[31mred-{unique}"
    repository = f"hostile-{unique}/pty"
    build_labelled(classic_engine_client, f"{repository}:1", label)
    controller, terminal = pty.openpty()
    _set_size(terminal, 40, 160)  # wide enough for the detail pane with the history
    process = _spawn(terminal, "-m", "app", "--host", sandbox.docker_host)
    output = bytearray()
    try:
        _read_until(controller, LISTED, output)
        os.write(controller, b"/")  # to the filter box; keys sent with it would miss it
        time.sleep(0.5)
        os.write(controller, repository.encode())  # the only match is highlighted
        _read_until(controller, f"pwned-{unique}".encode(), output)
        _read_for(controller, output, 1)  # let the rest of the screen update arrive
        _quit(controller, process, output)
    finally:
        _end(process, controller, terminal)
        classic_engine_client.api.remove_image(f"{repository}:1")
    # None of the data's escapes reached the terminal; the data was on screen as symbols.
    assert f"\x1b]0;pwned-{unique}".encode() not in output
    assert f"\x1b[31mred-{unique}".encode() not in output
    assert f"␛]0;pwned-{unique}␇".encode() in output


CRASHING_APP = """
import sys
from app.__main__ import main
from app.ui.app import DockpushApp

def crash_on_mount(self):
    token = "-".join(["hunter2", "crash", "token"])
    raise RuntimeError("engine said \\x1b]0;crashed\\x07 " + str(len(token)))

DockpushApp.on_mount = crash_on_mount
sys.exit(main(sys.argv[1:]))
"""


def test_a_crash_exits_non_zero_without_locals_and_restores_the_terminal(
    sandbox: SandboxInfo,
) -> None:
    # No data can crash the app any more, so the crash is put in: on_mount raises, with a
    # secret in a local variable and an escape sequence in the error text.
    controller, terminal = pty.openpty()
    _set_size(terminal, 30, 100)
    settings_before = termios.tcgetattr(terminal)
    process = _spawn(terminal, "-c", CRASHING_APP, "--host", sandbox.docker_host)
    output = bytearray()
    try:
        _read_while(controller, output, lambda: process.poll() is None, timeout=20)
        _read_for(controller, output, 1)
        returncode = process.wait(timeout=5)
        settings_after = termios.tcgetattr(terminal)
    finally:
        _end(process, controller, terminal)
    assert returncode == 1  # a wrapper script can tell
    assert b"RuntimeError" in output and b"crash_on_mount" in output
    # Shown made visible (Rich colours parts of it, so the pieces are checked apart).
    assert "engine said ␛".encode() in output and "crashed␇".encode() in output
    assert b"\x1b]0;crashed" not in output
    assert b"hunter2-crash-token" not in output  # no local variables in the report
    assert b"\x1b[?1049l" in output and b"\x1b[?25h" in output
    assert settings_after == settings_before


def test_pasted_control_characters_never_reach_the_terminal(
    sandbox: SandboxInfo, unique: str
) -> None:
    # A paste may hold anything the clipboard held. Textual's own parser turns a pasted ESC
    # into "^", but a C1 CSI (U+009B), shift-out (U+000E, switches the character set) and a
    # bidi override would reach the terminal as they are: the filter box refuses the paste.
    controller, terminal = pty.openpty()
    _set_size(terminal, 30, 120)
    process = _spawn(terminal, "-m", "app", "--host", sandbox.docker_host)
    output = bytearray()
    try:
        _read_until(controller, LISTED, output)
        os.write(controller, b"/")  # to the filter box
        time.sleep(0.5)
        for pasted in (f"a\x9b2Jb-{unique}", f"a\x0eb-{unique}", f"a\u202eb-{unique}"):
            os.write(controller, f"\x1b[200~{pasted}\x1b[201~".encode())
        # Plain text is kept; it arrives after the others, so they have been handled.
        os.write(controller, f"\x1b[200~ok-{unique}\x1b[201~".encode())
        _read_until(controller, f"ok-{unique}".encode(), output)
        _quit(controller, process, output)
    finally:
        _end(process, controller, terminal)
    # None of the three was inserted (the warning they get is checked with Pilot, in
    # tests/test_hostile_text.py: the terminal receives a toast's lines in pieces).
    assert f"b-{unique}".encode() not in output
    for unsafe in ("\x9b", "\x0e", "\u202e"):
        assert unsafe.encode() not in output
