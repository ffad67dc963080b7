"""Images already named for a registry: pushed under their own names, or their names read into
the tag form's fields.

Names are read as the docker CLI reads them: `docker push alpine:3` pushes to
`docker.io/library/alpine:3` (Docker Hub's official images, which only Docker may publish; the
pre-flight says so), `docker push me/app:1` to `docker.io/me/app:1`, and
`docker push 127.0.0.1:5000/team/app:1` to that registry.
"""

from __future__ import annotations

from app.core.reference import Reference, parse_normalized
from app.core.tagging import TagFields, split_pasted


def own_target(reference: str) -> Reference:
    """Where a push under the image's own name goes (a name without a tag means `latest`)."""
    return parse_normalized(reference).tagged_or_latest()


def fields_from_name(reference: str) -> TagFields | None:
    """The tag form's registry, namespace, repository and tag as the image's name gives them,
    for a name with a registry host in it (`ghcr.io/me/app:1.0`). None for a Docker Hub name
    (`me/app:1`, `alpine:3`): the engine shows those without a host, and a local name like
    `myproject/app` seldom means a Docker Hub namespace, so the form offers the person's own."""
    target = own_target(reference)
    return None if target.is_docker_hub else split_pasted(str(target))
