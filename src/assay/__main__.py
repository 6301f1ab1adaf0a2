"""`python -m assay` runs the CLI."""

from assay.cli.main import main

main()
