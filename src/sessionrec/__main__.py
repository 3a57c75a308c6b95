"""`python -m sessionrec` runs the CLI."""

from sessionrec.cli import main

main()
