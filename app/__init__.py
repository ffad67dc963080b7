"""dockpush: publish a Docker image from the terminal, and see every step."""

__version__ = "0.1.0"
