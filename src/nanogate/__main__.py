"""``python -m nanogate`` runs the command line."""

from nanogate.cli import main

main()
