"""``python -m neurones`` is the ``neurones`` command."""

from neurones.cli import main

main()
