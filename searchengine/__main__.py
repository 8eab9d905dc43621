"""``python -m searchengine`` runs the ``searchengine`` command."""

from searchengine.cli import main

main(prog_name="searchengine")
