"""One module per CLI command: ``register(subparsers, help)`` and ``run(args) -> int``."""
