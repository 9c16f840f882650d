"""``python -m mrfrecon.cli``: the same as the ``mrfrecon`` command."""

from . import main

main()
