"""The tag form's logic: fields to references, pasted references to fields, tag suggestions."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.core.local_images import LocalImage
from app.core.reference import (
    DEFAULT_DOMAIN,
    DOMAIN_AND_PORT_RE,
    InvalidReference,
    Reference,
    describe_char,
    parse_normalized,
    split_docker_domain,
)

_VERSION_RE = re.compile(r"(v?)(\d+)\.(\d+)\.(\d+)")
_FIELD_SPLIT_RE = re.compile(r"[\s,]+")


@dataclass(frozen=True, slots=True)
class TagFields:
    """What the person typed in the tag form."""

    registry: str
    namespace: str
    repository: str
    tags: str


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """A field whose content makes an invalid reference, and why."""

    field: str
    message: str


@dataclass(frozen=True, slots=True)
class PlannedTag:
    """One tag to create: the source image and the full target reference."""

    source: str
    source_id: str
    target: Reference
    moves_from: str | None = None


def split_tags(text: str) -> list[str]:
    """Tags typed as a list: separated by spaces or commas, duplicates dropped."""
    return list(dict.fromkeys(tag for tag in _FIELD_SPLIT_RE.split(text.strip()) if tag))


def default_repository(source_repository: str) -> str:
    """The last path component of the source repository (`team/app` -> `app`)."""
    return source_repository.rsplit("/", 1)[-1]


def split_pasted(text: str) -> TagFields | None:
    """Split a whole pasted reference (`ghcr.io/org/app:1.2`) into the form's fields.

    Returns None when the text is not a reference with at least a repository.
    """
    text = text.strip()
    if not text or " " in text:
        return None
    try:
        reference = parse_normalized(text)
    except InvalidReference:
        return None
    domain, _ = split_docker_domain(text)
    path = reference.path
    if domain == DEFAULT_DOMAIN and path.startswith("library/") and "/" not in text.split(":")[0]:
        namespace, repository = "", path.removeprefix("library/")
    else:
        namespace, _, repository = path.rpartition("/")
    return TagFields(
        registry=reference.domain,
        namespace=namespace,
        repository=repository,
        tags=reference.tag or "",
    )


def compose(fields: TagFields, repository: str, tag: str) -> Reference:
    """One full reference from the fields, read the way the engine will read it."""
    registry = fields.registry.strip() or DEFAULT_DOMAIN
    parts = [p for p in (fields.namespace.strip().strip("/"), repository.strip()) if p]
    path = "/".join(parts)
    text = f"{registry}/{path}:{tag}" if path else f"{registry}/:{tag}"
    return parse_normalized(text)


def registry_problem(registry: str) -> str | None:
    """Why `registry` is not a usable registry host, or None."""
    if not DOMAIN_AND_PORT_RE.fullmatch(registry):
        bad = next(
            (c for c in registry if not (c.isascii() and (c.isalnum() or c in ".-:[]"))), None
        )
        found = f" contains {describe_char(bad)};" if bad else " is not valid:"
        return (
            f"the registry {registry!r}{found} it must be a host name or IP address with an "
            "optional :port (for example registry.example.com:5000)"
        )
    if "." not in registry and ":" not in registry and registry != "localhost":
        return (
            f"{registry!r} does not look like a registry host: add a domain (.com) "
            "or a :port, or use localhost"
        )
    return None


def check_fields(fields: TagFields, source_repositories: list[str]) -> list[FieldProblem]:
    """Every problem in the fields, each naming its field; empty when all targets are valid.

    With several sources, empty tags mean that each image keeps its own tag (all tags of a
    repository published in one go).
    """
    problems: list[FieldProblem] = []
    registry = fields.registry.strip()
    if registry and registry != DEFAULT_DOMAIN:
        problem = registry_problem(registry)
        if problem:
            problems.append(FieldProblem("registry", problem))
    if fields.namespace.strip():
        try:
            parse_normalized(f"{DEFAULT_DOMAIN}/{fields.namespace.strip().strip('/')}/probe")
        except InvalidReference as error:
            problems.append(FieldProblem("namespace", str(error).replace("'probe'", "")))
    repositories = [fields.repository] if fields.repository.strip() else source_repositories
    for repository in repositories:
        name = default_repository(repository) if not fields.repository.strip() else repository
        try:
            parse_normalized(f"{DEFAULT_DOMAIN}/probe/{name.strip()}")
        except InvalidReference as error:
            problems.append(FieldProblem("repository", str(error)))
            break
    tags = split_tags(fields.tags)
    if not tags and len(source_repositories) < 2:
        problems.append(FieldProblem("tags", "give at least one tag, for example latest or 1.0"))
    for tag in tags:
        try:
            Reference(DEFAULT_DOMAIN, "probe").with_tag(tag)
        except InvalidReference as error:
            problems.append(FieldProblem("tags", str(error)))
    if not problems and (registry in ("", DEFAULT_DOMAIN)) and not fields.namespace.strip():
        problems.append(
            FieldProblem(
                "namespace",
                "Docker Hub needs a namespace: your Docker Hub user or organisation name "
                "(without one the name means an official image, which only Docker may push)",
            )
        )
    return problems


def plan_tags(
    fields: TagFields,
    sources: list[tuple[str, str, str]],
    images: Iterable[LocalImage],
) -> list[PlannedTag]:
    """The tags to create for each source `(reference, image id, repository)`.

    A target that already names a different local image is marked with the image
    it moves away from. Call only when `check_fields` found no problem.
    """
    owner: dict[str, str] = {}
    for image in images:
        for repo_tag in image.repo_tags:
            try:
                owner[str(parse_normalized(repo_tag))] = image.id
            except InvalidReference:
                continue
    planned: list[PlannedTag] = []
    for source, source_id, source_repository in sources:
        repository = fields.repository.strip() or default_repository(source_repository)
        own_tag = parse_normalized(source).tag or "latest"
        for tag in split_tags(fields.tags) or [own_tag]:
            target = compose(fields, repository, tag)
            if any(p.target == target and p.source_id == source_id for p in planned):
                continue  # two tags of one image, given the same new name: one tag suffices
            current = owner.get(str(target))
            moves = current if current is not None and current != source_id else None
            planned.append(PlannedTag(source, source_id, target, moves))
    return planned


def colliding_targets(plan: list[PlannedTag]) -> list[str]:
    """Targets that two different images would both get (the second would win silently)."""
    images_per_target: dict[str, set[str]] = {}
    for planned in plan:
        images_per_target.setdefault(str(planned.target), set()).add(planned.source_id)
    return [target for target, images in images_per_target.items() if len(images) > 1]


def suggest_tags(existing: Iterable[str]) -> list[str]:
    """`latest`, plus the next patch, minor and major after the highest version-like tag."""
    versions = []
    for tag in existing:
        match = _VERSION_RE.fullmatch(tag)
        if match:
            prefix, major, minor, patch = match.groups()
            versions.append((int(major), int(minor), int(patch), prefix))
    suggestions = ["latest"]
    if versions:
        major, minor, patch, prefix = max(versions)
        suggestions += [
            f"{prefix}{major}.{minor}.{patch + 1}",
            f"{prefix}{major}.{minor + 1}.0",
            f"{prefix}{major + 1}.0.0",
        ]
    return suggestions
