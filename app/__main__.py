"""Entry point: `dockpush` / `python -m app`. Parses arguments, then runs the Textual app."""

from __future__ import annotations

import argparse
import sys

from app import __version__


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        prog="dockpush",
        description="Publish a Docker image: pick, tag, log in, push with live progress, verify.",
    )
    parser.add_argument("--version", action="version", version=f"dockpush {__version__}")
    parser.add_argument(
        "-H",
        "--host",
        metavar="URL",
        help="engine to use (like docker -H); default: DOCKER_HOST, current context, socket",
    )
    parser.add_argument(
        "-c",
        "--context",
        metavar="NAME",
        help="docker context to use (like docker --context); overrides DOCKER_HOST",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run dockpush."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.host and args.context:
        # The docker CLI refuses this combination too.
        parser.error("use either --host or --context, not both")
    from app.core.early_listing import EarlyListing

    # Started before Textual loads: the engine lists its images while the UI is built.
    early = EarlyListing(args.host, args.context)
    from app.ui.app import DockpushApp

    app = DockpushApp(host=args.host, context=args.context, early=early)
    app.run()
    # Textual sets 1 after a crash; without passing it on, a wrapper script could not tell.
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
