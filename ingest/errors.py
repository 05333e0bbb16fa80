"""The one error parsers raise: the file cannot be turned into text, and why."""


class UnreadableDocument(Exception):
    """A file that cannot be indexed; `reason` is one line for the report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
