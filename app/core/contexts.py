"""Which engine to use: resolved exactly as the docker CLI resolves it, and docker contexts.

The CLI's order (docker/cli `resolveContextName`): an explicit `--context`; else `--host`
(the "default" context with that host); else `DOCKER_HOST` (also "default"); else
`DOCKER_CONTEXT`; else `currentContext` in config.json; else "default". The default
context's host is `--host`, else `DOCKER_HOST`, else the local socket; it uses TLS when
`DOCKER_TLS` or `DOCKER_TLS_VERIFY` is set (non-empty), with `ca.pem`, `cert.pem` and
`key.pem` from `DOCKER_CERT_PATH` or the config folder.

A named context lives in `<config>/contexts/meta/<sha256(name)>/meta.json`, its TLS
material in `<config>/contexts/tls/<sha256(name)>/docker/`. docker-py has a context
module, but it ignores `DOCKER_CONTEXT` and `DOCKER_HOST` and looks for contexts relative
to the working directory when config.json is absent, so it would pick another engine than
the CLI does; hence this small reader.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.core.docker_config import docker_config_dir, read_docker_config
from app.core.errors import ContextNotFound, ContextUnreadable

DEFAULT_CONTEXT = "default"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
_TLS_FILES = ("ca.pem", "cert.pem", "key.pem")


@dataclass(frozen=True, slots=True)
class TLSMaterial:
    """Files for TLS to the engine; `verify` says whether the engine's certificate is checked."""

    ca: Path | None
    cert: Path | None
    key: Path | None
    verify: bool


@dataclass(frozen=True, slots=True)
class EngineEndpoint:
    """One engine to talk to, and why it was chosen."""

    context: str
    host: str
    tls: TLSMaterial | None = None
    description: str = ""
    chosen_by: str = ""

    @property
    def label(self) -> str:
        """How the header names it: the context, unless it is the default one."""
        if self.context == DEFAULT_CONTEXT:
            return self.host
        return f"{self.context} ({self.host})"

    @property
    def transport(self) -> str:
        """unix, tcp, tcp+tls, ssh or npipe: how the connection is made."""
        scheme = self.host.split("://", 1)[0] if "://" in self.host else "tcp"
        if scheme in ("tcp", "http", "https") and self.tls is not None:
            return "tcp+tls"
        return "tcp" if scheme in ("http", "https") else scheme


def context_id(name: str) -> str:
    """The folder name the CLI stores a context under."""
    return hashlib.sha256(name.encode()).hexdigest()


def _tls_from_files(folder: Path, verify: bool) -> TLSMaterial:
    ca, cert, key = (folder / name for name in _TLS_FILES)
    return TLSMaterial(
        ca=ca if ca.is_file() else None,
        cert=cert if cert.is_file() else None,
        key=key if key.is_file() else None,
        verify=verify,
    )


def default_endpoint(
    host_option: str | None = None, env: Mapping[str, str] | None = None
) -> EngineEndpoint:
    """The "default" context: --host, else DOCKER_HOST, else the local socket; TLS from env."""
    env = os.environ if env is None else env
    if host_option:
        host, chosen_by = host_option, "the --host option"
    elif env.get("DOCKER_HOST"):
        host, chosen_by = env["DOCKER_HOST"], "DOCKER_HOST"
    else:
        host, chosen_by = DEFAULT_SOCKET, "the default socket"
    tls = None
    verify = bool(env.get("DOCKER_TLS_VERIFY"))
    if verify or env.get("DOCKER_TLS"):
        folder = Path(env.get("DOCKER_CERT_PATH") or docker_config_dir(env))
        tls = _tls_from_files(folder, verify)
    return EngineEndpoint(
        DEFAULT_CONTEXT,
        host,
        tls,
        description="Current DOCKER_HOST based configuration",
        chosen_by=chosen_by,
    )


def load_context(
    name: str, env: Mapping[str, str] | None = None, chosen_by: str = ""
) -> EngineEndpoint:
    """A named context from the CLI's context store; "default" is built from the environment."""
    if name == DEFAULT_CONTEXT:
        endpoint = default_endpoint(env=env)
        return replace(endpoint, chosen_by=chosen_by) if chosen_by else endpoint
    meta_root = docker_config_dir(env) / "contexts" / "meta"
    meta_file = meta_root / context_id(name) / "meta.json"
    if not meta_file.is_file():
        raise ContextNotFound(
            f'There is no docker context named "{name}" (looked in {meta_root}).',
            detail=f"chosen by {chosen_by}" if chosen_by else None,
        )
    return _read_context(meta_file, chosen_by, name)


def _read_context(meta_file: Path, chosen_by: str = "", name: str | None = None) -> EngineEndpoint:
    """One context's metadata file (`contexts/meta/<id>/meta.json`) and its TLS folder."""
    meta: Any = None  # JSON from a file: any shape until each key is checked below
    try:
        meta = json.loads(meta_file.read_text())
        name = name or str(meta["Name"])
        docker_endpoint = meta["Endpoints"]["docker"]
        host = str(docker_endpoint["Host"])
        skip_verify = bool(docker_endpoint.get("SkipTLSVerify", False))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        known = name or (meta.get("Name") if isinstance(meta, dict) else None)
        which = f' "{known}"' if known else ""
        raise ContextUnreadable(
            f"The docker context{which} could not be read: "
            f"{meta_file} has no usable docker endpoint.",
            detail=f"{error.__class__.__name__}: {error}",
        ) from None
    tls_folder = meta_file.parents[2] / "tls" / meta_file.parent.name / "docker"
    tls = None
    if tls_folder.is_dir() or skip_verify:
        tls = _tls_from_files(tls_folder, verify=not skip_verify)
    metadata = meta.get("Metadata")  # meta is an object: it had "Endpoints"
    description = str(metadata.get("Description") or "") if isinstance(metadata, dict) else ""
    return EngineEndpoint(name, host, tls, description=description, chosen_by=chosen_by)


def resolve_endpoint(
    host_option: str | None = None,
    context_option: str | None = None,
    env: Mapping[str, str] | None = None,
) -> EngineEndpoint:
    """The engine the docker CLI would use with the same options and environment."""
    env = os.environ if env is None else env
    if context_option:
        return load_context(context_option, env, chosen_by="the --context option")
    if host_option or env.get("DOCKER_HOST"):
        return default_endpoint(host_option, env)
    if env.get("DOCKER_CONTEXT"):
        return load_context(env["DOCKER_CONTEXT"], env, chosen_by="DOCKER_CONTEXT")
    # The CLI refuses to start on a broken config.json; dockpush falls back to the default
    # engine here and explains the file in the saved-logins screen.
    current = read_docker_config(env).current_context
    if current and current != DEFAULT_CONTEXT:
        return load_context(current, env, chosen_by="the current context in config.json")
    return default_endpoint(env=env)


def list_contexts(
    env: Mapping[str, str] | None = None,
) -> tuple[list[EngineEndpoint], list[str]]:
    """Every context the CLI knows, "default" first, and why any others could not be read."""
    env = os.environ if env is None else env
    found = [default_endpoint(env=env)]
    problems = []
    named = []
    # Each metadata file is read once, here, rather than listed and then loaded again.
    for meta_file in sorted((docker_config_dir(env) / "contexts" / "meta").glob("*/meta.json")):
        try:
            endpoint = _read_context(meta_file)
        except ContextUnreadable as error:
            problems.append(error.explanation)
            continue
        if endpoint.context != DEFAULT_CONTEXT:
            named.append(endpoint)
    return found + sorted(named, key=lambda e: e.context), problems
