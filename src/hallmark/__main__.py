"""``python -m hallmark``: the same as the ``hallmark`` command."""

from hallmark.pipeline.cli import main

main()
