"""Input a replay cannot run on: a bad spec, pin, git ref or orders file. One line, exit 2, nothing written."""


class BadInput(Exception):
    """What is wrong, in one line naming it."""
