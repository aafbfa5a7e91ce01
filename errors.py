"""The one exception type for errors a user can cause (bad input, missing files, wrong options).

The CLI prints such an error as a single line and exits non-zero; any other exception is a bug
and keeps its traceback.
"""


class KmbError(Exception):
    """A problem with the user's input or environment, worth one clear line."""

    def __init__(self, message: str, *, path: object = None, line: int | None = None):
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
