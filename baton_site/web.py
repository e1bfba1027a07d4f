"""`python -m baton_site.web`: one web process, daphne's command line with the access log off.

daphne builds an access-log line for every request when given any log stream, even `/dev/null`; with none it
skips that work. `baton serve --verbosity 2` still runs plain daphne with its access log on stdout.
"""

from __future__ import annotations

import sys

from daphne.cli import CommandLineInterface
from daphne.server import Server


class QuietServer(Server):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs["action_logger"] = None
        super().__init__(*args, **kwargs)


class QuietCommandLineInterface(CommandLineInterface):
    server_class = QuietServer


if __name__ == "__main__":
    QuietCommandLineInterface().run(sys.argv[1:])
