"""Fixed data for snapshot tests: screens fed known values, so a visual change is a real one.

These are for rendering only. Every test of behaviour runs against the sandbox engine;
here the workers that would fetch data are switched off and the screens are handed
fixed results (and, for the push screen, a stream recorded from the real engine).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from app.core.checks import Check, Outcome
from app.core.contexts import EngineEndpoint, TLSMaterial
from app.core.credentials import LoginSource, SavedLogin
from app.core.local_images import ImageDetails, LayerInfo, LocalImage
from app.core.login_check import LoginCheck, LoginState
from app.core.preflight import TargetReport
from app.core.progress import PushEvent, PushProgress, snapshot
from app.core.reference import parse_normalized
from app.core.steps import LoginNeed, StepStates
from app.core.verify import VerificationReport
from app.ui.screens.browser import ImageBrowserScreen
from app.ui.screens.engines import EnginesScreen
from app.ui.screens.logins import SavedLoginsScreen
from app.ui.screens.push import PushScreen
from app.ui.screens.tag_form import TagFormScreen
from app.ui.screens.verify import VerifyScreen
from app.ui.session import Session
from app.ui.widgets.stepper import Stepper
from app.ui.workflow import Source
from tests.replay import recording

WHEN = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
DIGEST = "sha256:6446098d63fc18762e64247ce6c53a150af653cfa91c98b958d17722155a998c"


def _id(n: int) -> str:
    return "sha256:" + f"{n:x}" * 64 if n < 16 else "sha256:" + f"{n:02x}" * 32


IMAGES = [
    LocalImage(_id(1), ("webapp:1.4.2", "webapp:latest"), (f"webapp@{DIGEST}",), WHEN, 136_300_000),
    LocalImage(_id(2), ("registry.example.com:5000/team/api:2.0.1",), (), WHEN, 48_200_000),
    LocalImage(_id(3), ("alpine:3.20",), (), datetime(2025, 11, 2, tzinfo=UTC), 7_800_000),
    LocalImage(_id(4), ("postgres:16",), (), datetime(2025, 9, 30, tzinfo=UTC), 432_000_000),
    LocalImage(_id(5), (), (), datetime(2025, 8, 1, tzinfo=UTC), 1_200),
]
DETAILS = ImageDetails(
    _id(1),
    IMAGES[0].repo_tags,
    IMAGES[0].repo_digests,
    "amd64",
    "linux",
    136_300_000,
    WHEN,
    tuple(_id(10 + i) for i in range(4)),
)
HISTORY = [
    LayerInfo("", "/bin/sh -c #(nop) COPY file:2f1e in /usr/lib/node ", 90_000_000, WHEN),
    LayerInfo("", "/bin/sh -c #(nop) COPY dir:88c1 in /app ", 40_000_000, WHEN),
    LayerInfo("", "/bin/sh -c #(nop) COPY file:71aa in /app/assets ", 6_000_000, WHEN),
    LayerInfo("", "/bin/sh -c #(nop)  ENV NODE_ENV=production", 0, WHEN),
    LayerInfo("", "/bin/sh -c #(nop) COPY file:0c9d in /app/config.json ", 300_000, WHEN),
]
TARGET = parse_normalized("registry.example.com:5000/team/webapp:1.4.2")


class FixedBrowser(ImageBrowserScreen):
    """The browser on fixed images, with full dates (relative ones change with the clock)."""

    def load_images(self) -> None:  # type: ignore[override]
        """Nothing to fetch: the images are fixed."""
        self.absolute_dates = True
        self.call_after_refresh(self._images_loaded_fixed)

    def _images_loaded_fixed(self) -> None:
        self.images = IMAGES
        self._rebuild_rows()
        self.query_one("#filter").display = True

    def load_details(self, row: object) -> None:  # type: ignore[override]
        """The fixed details, named after the highlighted image."""
        image = row.image  # type: ignore[attr-defined]
        details = replace(
            DETAILS,
            id=image.id,
            repo_tags=image.repo_tags,
            repo_digests=image.repo_digests,
            size=image.size,
            created=image.created,
        )
        self._show_details(row, details, HISTORY)  # type: ignore[arg-type]


class FixedTagForm(TagFormScreen):
    """The tag form for the fixed webapp image."""

    def __init__(self, session: Session) -> None:
        super().__init__(session, [Source("webapp:1.4.2", _id(1), "webapp", IMAGES[0].repo_tags)])

    def on_mount(self) -> None:
        """As after the browser chose the image."""
        self.session.workflow.steps = StepStates().selected()
        super().on_mount()

    def load_images(self) -> None:  # type: ignore[override]
        """The fixed image list."""
        self.images = IMAGES


PREFLIGHT = [
    TargetReport(
        TARGET,
        (
            Check(
                "Destination",
                Outcome.INFO,
                "registry registry.example.com:5000 · repository team/webapp · tag 1.4.2",
            ),
            Check("Local image", Outcome.PASSED, "111111111111, linux/amd64, 4 layers"),
            Check("Login", Outcome.PASSED, "ci-bot, accepted by the registry at 15:09:26"),
            Check("Registry", Outcome.PASSED, "answers over HTTPS with a trusted certificate"),
        ),
        (
            "docker tag webapp:1.4.2 registry.example.com:5000/team/webapp:1.4.2",
            "docker login registry.example.com:5000 -u ci-bot",
            "docker push registry.example.com:5000/team/webapp:1.4.2",
        ),
        login=LoginNeed.ACCEPTED,  # as the Login check says: the stepper ticks Log in
    )
]


class FixedPush(PushScreen):
    """The push screen fed the recorded 'first' stream instead of a live push."""

    def __init__(self, session: Session, upto: float | None) -> None:
        super().__init__(session, [TARGET])
        self.upto = upto

    def run_preflight_check(self) -> None:  # type: ignore[override]
        """The fixed pre-flight, after the images were chosen and tagged."""
        self.session.workflow.steps = StepStates().selected().tagged()
        self._login_user = "ci-bot"
        self.call_after_refresh(self._show_preflight, PREFLIGHT)

    def replay(self) -> None:
        """Press enter: the push replays the recorded stream."""
        self.action_go()

    def run_queue(self, run: int, *_: object) -> None:  # type: ignore[override]
        """The recorded stream up to `upto` of its events (None: all of it), posted as the
        push worker posts a live one."""
        lines = recording("first")
        progress = PushProgress()
        count = len(lines) if self.upto is None else int(len(lines) * self.upto)
        for seconds, line in lines[:count]:
            progress.apply(PushEvent.from_json(line), seconds)
        self.post_message(self.PushStarted(run, 0))
        self.post_message(self.PushProgressed(run, 0, snapshot(progress)))
        if self.upto is None:
            self.post_message(self.PushFinished(run, 0, snapshot(progress), progress.result, None))
            self.post_message(self.PushRunEnded(run, None))


def verification(passed: bool) -> VerificationReport:
    """A fixed report, passed or with a missing blob."""
    checks = [
        Check("Registry API and login", Outcome.PASSED, "HTTPS, bearer auth, as ci-bot"),
        Check("Tag listed", Outcome.PASSED, "1.4.2 is among 12 tags"),
        Check("Digest", Outcome.PASSED, f"{DIGEST} (the push reported the same)"),
        Check(
            "Media type and platform",
            Outcome.PASSED,
            "application/vnd.docker.distribution.manifest.v2+json for linux/amd64",
        ),
        Check("Layer blobs", Outcome.PASSED, "all 4 present with the sizes the manifest states")
        if passed
        else Check(
            "Layer blobs",
            Outcome.FAILED,
            "missing sha256:9b1e0c5d2a7f",
            "A blob was deleted or garbage-collected in the registry: push again.",
        ),
        Check("Total size", Outcome.INFO, "61.2 MB compressed in 4 layers"),
    ]
    return VerificationReport(TARGET, tuple(checks), DIGEST, 61_200_000, None)


class FixedVerify(VerifyScreen):
    """The verification screen with a fixed report."""

    def __init__(self, session: Session, passed: bool) -> None:
        super().__init__(session, [TARGET])
        self.passed_fixed = passed

    def run_verification(self, targets: object) -> None:  # type: ignore[override]
        """The fixed report, after the image was chosen, tagged, logged in for and pushed."""
        steps = StepStates().selected().tagged().login_checked([LoginNeed.ACCEPTED]).pushed()
        self.session.workflow.steps = steps
        self.query_one(Stepper).show(steps)
        self.call_after_refresh(self._show, [verification(self.passed_fixed)])


class FixedLogins(SavedLoginsScreen):
    """Saved logins from every source, with check marks."""

    def load(self) -> None:  # type: ignore[override]
        """Fixed logins and checks."""
        self.saved = [
            SavedLogin("docker.io", "octocat", LoginSource.KEYRING),
            SavedLogin("ghcr.io", "octocat", LoginSource.STORE, "secretservice"),
            SavedLogin("registry.example.com:5000", "ci-bot", LoginSource.CONFIG),
        ]
        self.session.login_checks.update(
            {
                "docker.io": LoginCheck("docker.io", LoginState.VALID, "", WHEN),
                "registry.example.com:5000": LoginCheck(
                    "registry.example.com:5000", LoginState.REJECTED, "", WHEN
                ),
            }
        )
        self.call_after_refresh(self._show)


ENDPOINTS = [
    EngineEndpoint(
        "default",
        "unix:///var/run/docker.sock",
        description="Current DOCKER_HOST based configuration",
        chosen_by="the current context in config.json",
    ),
    EngineEndpoint(
        "build-box",
        "tcp://build.example.com:2376",
        TLSMaterial(None, None, None, verify=True),
        description="CI builder, TLS with client certificates",
    ),
    EngineEndpoint("podman", "unix:///run/user/1000/podman/podman.sock", description="rootless"),
    EngineEndpoint("prod-edge", "ssh://deploy@edge-1.example.com", description="over SSH"),
]


@dataclass(frozen=True)
class EngineInUse:
    """What the engines screen reads from the engine in use, without an engine."""

    endpoint: EngineEndpoint
    product: str


class FixedEngines(EnginesScreen):
    """Four contexts of every kind; the default one in use."""

    def load(self) -> None:  # type: ignore[override]
        """The fixed contexts and one unreadable one."""
        self.endpoints = ENDPOINTS
        self.problems = ["/home/me/.docker/contexts/meta/3f1c…/meta.json: not a context"]
        self.call_after_refresh(self._show)

    def _in_use(self) -> EngineInUse:  # type: ignore[override]
        return EngineInUse(ENDPOINTS[0], "Docker Engine 27.3.1")
