"""``python -m mescc``."""

from mescc.cli import main

main()
