"""Step 2: give the chosen images a registry name and tags, validated as you type."""

from __future__ import annotations

import shlex
from typing import cast

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Header, Input, Label, Static
from textual.worker import Worker, WorkerState

from app.core.as_is import fields_from_name, own_target
from app.core.credentials import CredentialStore
from app.core.local_images import LocalImage
from app.core.plaintext import printable
from app.core.reference import DEFAULT_DOMAIN, registry_key
from app.core.steps import Step
from app.core.tagging import (
    FieldProblem,
    PlannedTag,
    TagFields,
    check_fields,
    colliding_targets,
    default_repository,
    plan_tags,
    split_pasted,
    split_tags,
    suggest_tags,
)
from app.ui.messages import TagsCreated
from app.ui.session import Session
from app.ui.text import notify_plain, plain
from app.ui.widgets.error_panel import ErrorPanel
from app.ui.widgets.footer import SettledFooter
from app.ui.widgets.plain_input import PlainInput
from app.ui.widgets.stepper import Stepper
from app.ui.workflow import Source

FIELDS = ("registry", "namespace", "repository", "tags")


def tag_command(planned: PlannedTag) -> str:
    """The docker CLI command that makes this tag."""
    return shlex.join(["docker", "tag", planned.source, planned.target.familiar])


class TagFormScreen(Screen[None]):
    """The tag form: registry, namespace, repository and tags, with a live preview."""

    # The preview's words in theme colours, never literal ones.
    COMPONENT_CLASSES = {"tag-form--muted", "tag-form--warning"}
    DEFAULT_CSS = """
    TagFormScreen > .tag-form--muted { color: $text-muted; }
    TagFormScreen > .tag-form--warning { color: $text-warning; text-style: bold; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "apply", "Apply tags"),
    ]

    def __init__(self, session: Session, sources: list[Source]) -> None:
        super().__init__()
        self.session = session
        self.sources = sources
        self.images: list[LocalImage] = []
        self.plan: list[PlannedTag] = []
        # Registry key -> user: this session's logins at once, saved ones when read (a worker).
        self._saved_users: dict[str, str] = {}
        self._fresh = True

    def compose(self) -> ComposeResult:
        """The four fields, quick tag choices, the preview and the buttons."""
        yield Header()
        yield Stepper(Step.TAG)  # its states are shown on mount
        with VerticalScroll(id="tag-form"):
            names = ", ".join(source.reference for source in self.sources)
            yield Label(plain(f"Publish {names} as:"), id="tag-sources")
            for field, label, placeholder in (
                ("registry", "Registry", "docker.io, ghcr.io, registry.example.com:5000"),
                ("namespace", "Namespace", "your user or organisation"),
                ("repository", "Repository", self._repository_placeholder()),
                (
                    "tags",
                    "Tags",
                    "one or more, separated by spaces"
                    + ("; empty: each image keeps its own tag" if len(self.sources) > 1 else ""),
                ),
            ):
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    with Vertical(classes="form-field"):
                        yield PlainInput(placeholder=placeholder, id=field)
                        yield Label("", id=f"{field}-problem", classes="field-problem")
            with Horizontal(id="tag-choices"):
                yield Label("Quick tags:", classes="form-label")
                for tag in self._suggestions():
                    yield Button(plain(tag), classes="tag-choice", name=tag)
            yield Static(id="preview")
            yield ErrorPanel(id="tag-error")
            with Horizontal(id="tag-buttons"):
                yield Button("Apply tags", variant="primary", id="apply", disabled=True)
                yield Button("Cancel", id="cancel")
        yield SettledFooter()

    def _repository_placeholder(self) -> str:
        if len(self.sources) == 1:
            return default_repository(self.sources[0].repository)
        return "empty: each image keeps its own name"

    def _suggestions(self) -> list[str]:
        existing = [tag.rpartition(":")[2] for s in self.sources for tag in s.tags]
        return suggest_tags(existing)

    def on_mount(self) -> None:
        """Fill in what was typed before, or what the images' names say; load the images (for
        warnings) and the saved logins (for suggestions) in workers."""
        workflow = self.session.workflow
        workflow.steps = workflow.steps.retagging()
        self.query_one(Stepper).show(workflow.steps)
        self._saved_users = {key: login.username for key, login in workflow.logins.items()}
        # Fields kept from an earlier visit stay as they were left; fresh ones take defaults.
        self._fresh = workflow.tag_fields is None
        self._fill(workflow.tag_fields or self._defaults())
        if self._fresh:
            self._default_namespace(self.query_one("#registry", Input).value)
        self.query_one("#registry", Input).focus()
        self.load_images()
        self.load_saved_users()
        self._validate()

    def _defaults(self) -> TagFields:
        """The fields before anything is typed. Images named with a registry host
        (`ghcr.io/me/app:1.0`, `127.0.0.1:5000/team/app:1`) give registry, namespace,
        repository and tag from their names (several images: the registry and namespace they
        share); otherwise Docker Hub and the image's own repository and tag."""
        named = [fields_from_name(source.reference) for source in self.sources]
        shared = {(f.registry, f.namespace) for f in named if f is not None}
        if len(self.sources) == 1 and named[0] is not None:
            return named[0]
        if len(shared) == 1 and None not in named:
            registry, namespace = shared.pop()
            return TagFields(registry, namespace, "", "")
        if len(self.sources) == 1:
            source = self.sources[0]
            repository = default_repository(source.repository)
            return TagFields(DEFAULT_DOMAIN, "", repository, source.reference.rpartition(":")[2])
        return TagFields(DEFAULT_DOMAIN, "", "", "")

    @work(thread=True, exclusive=True, group="images", exit_on_error=False)
    def load_images(self) -> list[LocalImage]:
        """The engine's images, to warn when a tag would move away from another image."""
        return self.session.ensure_engine().list_images()

    @work(thread=True, exclusive=True, group="saved-users", exit_on_error=False)
    def load_saved_users(self) -> dict[str, str]:
        """Registry -> user of the saved logins (a file read, kept off the UI thread)."""
        return CredentialStore().saved_users()

    @work(thread=True, exclusive=True, group="apply", exit_on_error=False)
    def apply_tags(self, plan: list[PlannedTag]) -> list[PlannedTag]:
        """Create every planned tag in the engine."""
        engine = self.session.ensure_engine()
        for planned in plan:
            engine.tag(planned.source, planned.target)
        return plan

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.group == "saved-users":
            # Only suggestions are lost; the form works without them.
            notify_plain(self, f"Saved logins not read: {worker.error}", severity="warning")
        elif event.state is WorkerState.ERROR:
            self.query_one(ErrorPanel).show_error(worker.error)
            self.query_one("#apply", Button).disabled = False
        elif event.state is WorkerState.SUCCESS:
            if worker.group == "images":
                self.images = cast(list[LocalImage], worker.result)
                self._validate()
            elif worker.group == "saved-users":
                self._saved_users_loaded(cast(dict[str, str], worker.result))
            elif worker.group == "apply":
                self._applied(cast(list[PlannedTag], worker.result))

    def _saved_users_loaded(self, saved: dict[str, str]) -> None:
        """Suggest the saved registries; an empty namespace takes the saved user. What was
        typed or pasted meanwhile stays as it is."""
        self._saved_users = {**saved, **self._saved_users}  # this session's logins win
        registry = self.query_one("#registry", Input)
        # Suggestions are drawn in the box: registry keys from the docker config, shown printable.
        registry.suggester = SuggestFromList(
            sorted(printable(key) for key in self._saved_users), case_sensitive=False
        )
        if self._fresh:
            self._default_namespace(registry.value)
            self._validate()

    def fields(self) -> TagFields:
        """The form's current content."""
        values = {field: self.query_one(f"#{field}", Input).value for field in FIELDS}
        return TagFields(**values)

    @on(Input.Changed)
    def _field_changed(self, event: Input.Changed) -> None:
        """Something was typed or pasted (the form's own fills post no Changed: `_fill`)."""
        field = event.input.id or ""
        value = event.value
        pasted = "/" in value or (field != "registry" and ":" in value)
        if pasted and (split := split_pasted(value)) is not None:
            self._fill(split)
        elif field == "registry":
            self._default_namespace(value)
        self.session.workflow.tag_fields = self.fields()
        self._validate()

    def _default_namespace(self, registry: str) -> None:
        """An empty namespace takes the saved login's user for the registry typed."""
        namespace = self.query_one("#namespace", Input)
        user = self._saved_users.get(registry_key(registry or DEFAULT_DOMAIN))
        if user and not namespace.value:
            with self.prevent(Input.Changed):
                namespace.value = printable(user)  # a user name from the docker config
            self.session.workflow.tag_fields = self.fields()

    def _fill(self, fields: TagFields) -> None:
        """Set the fields without a Changed message each: a message handled later would act
        on a value that is no longer there (it once reset a pasted registry)."""
        with self.prevent(Input.Changed):
            for field in FIELDS:
                value = getattr(fields, field)
                if field != "tags" or value:
                    self.query_one(f"#{field}", Input).value = value

    def _validate(self) -> None:
        fields = self.fields()
        problems = check_fields(fields, [s.repository for s in self.sources])
        self._show_problems(problems)
        apply = self.query_one("#apply", Button)
        if problems:
            self.plan = []
            apply.disabled = True
            self.query_one("#preview", Static).update(
                Text(
                    "Fix the fields marked in red to see the references.",
                    style=self._style("tag-form--muted"),
                )
            )
            return
        sources = [(s.reference, s.image_id, s.repository) for s in self.sources]
        self.plan = plan_tags(fields, sources, self.images)
        collisions = colliding_targets(self.plan)
        if collisions:
            self._show_problems(
                [
                    FieldProblem(
                        "tags",
                        f"different images would all become {collisions[0]}: leave the "
                        "tags empty so each keeps its own, or give one repository per image",
                    )
                ]
            )
            self.plan = []
            apply.disabled = True
            return
        apply.disabled = False
        self.query_one("#preview", Static).update(self._preview())

    def _show_problems(self, problems: list[FieldProblem]) -> None:
        for field in FIELDS:
            messages = [p.message for p in problems if p.field == field]
            label = self.query_one(f"#{field}-problem", Label)
            label.update(plain("\n".join(messages), multiline=True))  # they quote what was typed
            label.set_class(bool(messages), "-visible")
            self.query_one(f"#{field}", Input).set_class(bool(messages), "-invalid")

    def _style(self, name: str) -> Style:
        """The colour (and weight) of one of the screen's component classes (theme colours)."""
        themed = self.get_component_rich_style(name)
        return Style(color=themed.color, bold=themed.bold)

    def _preview(self) -> Text:
        muted, warning = self._style("tag-form--muted"), self._style("tag-form--warning")
        text = Text()
        text.append("Will create\n", style="bold")
        for planned in self.plan:
            text.append_text(plain(f"  {planned.target}", "bold"))
            if planned.target.familiar != str(planned.target):
                text.append_text(plain(f"   (docker shows {planned.target.familiar})", muted))
            if planned.target == own_target(planned.source):
                text.append("\n    already this image's name: nothing to tag\n", style=muted)
                continue
            text.append_text(plain(f"\n    from {planned.source}\n", muted, multiline=True))
            if planned.moves_from:
                owner = next((i for i in self.images if i.id == planned.moves_from), None)
                other = ", ".join(owner.repo_tags) if owner else ""
                text.append_text(
                    plain(
                        f"    ⚠ this tag now points to image {planned.moves_from[7:19]}"
                        f"{f' ({other})' if other else ''}; applying moves it away from that "
                        "image\n",
                        warning,
                        multiline=True,
                    )
                )
        text.append("\nBy hand:\n", style="bold")
        commands = [tag_command(p) for p in self.plan if p.target != own_target(p.source)]
        for command in commands:
            text.append_text(plain(f"  $ {command}\n", muted, multiline=True))
        if not commands:
            text.append("  nothing to tag: apply goes straight on to the push\n", style=muted)
        registry = self.plan[0].target.domain if self.plan else ""
        where = "Docker Hub" if registry == DEFAULT_DOMAIN else registry
        text.append_text(plain(f"\nThese will be pushed to {where}.", "italic", multiline=True))
        return text

    @on(Button.Pressed, ".tag-choice")
    def _tag_choice(self, event: Button.Pressed) -> None:
        tags = self.query_one("#tags", Input)
        chosen = split_tags(tags.value)
        name = event.button.name or ""
        if name in chosen:
            chosen.remove(name)
        else:
            chosen.append(name)
        tags.value = " ".join(chosen)

    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        """Create the tags in the engine."""
        if not self.plan:
            notify_plain(self, "Fix the fields marked in red first.", severity="warning")
            return
        self.query_one(ErrorPanel).show_error(None)
        self.query_one("#apply", Button).disabled = True
        self.apply_tags(self.plan)

    def _applied(self, plan: list[PlannedTag]) -> None:
        for planned in plan:
            self.session.log.record("tag", tag_command(planned), "created")
        notify_plain(self, f"Tagged {len(plan)} reference{'s' if len(plan) != 1 else ''}.")
        self.post_message(TagsCreated([planned.target for planned in plan]))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Back to the browser; nothing was changed."""
        self.dismiss()
