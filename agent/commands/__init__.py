"""One module per `dlp-agent` subcommand: `add_arguments(parser)` and `run(args) -> int`."""


class UsageError(Exception):
    """Bad usage or unreadable input: exit status 2 with a message naming it."""
