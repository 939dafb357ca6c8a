"""Entry point for `python -m sandbox`."""

from .cli import main

main()
