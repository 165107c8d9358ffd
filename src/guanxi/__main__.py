"""`python -m guanxi <command>` (and the `guanxi` script): Django's management commands.

Command names may be written with hyphens (`seed-demo`) as well as underscores.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    argv[0] = "guanxi"
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
