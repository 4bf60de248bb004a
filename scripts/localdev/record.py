"""A test hook of the local stand-ins: the tokens and secrets they issued, for the leak scan.

When ``LOCAL_ISSUER_RECORD_FILE`` is set (the test session sets it, in its temp folder), every
token the local issuer signs and every secret it is given or makes is appended to that file, one
per line (mode 600), so the session's scan of captured logs also knows the values issued by
issuer processes the tests start as subprocesses. Unset, nothing is written.
"""

from __future__ import annotations

import os

RECORD_ENV = "LOCAL_ISSUER_RECORD_FILE"


def record_issued(*values: str) -> None:
    """Append sensitive values to the record file, if one is configured."""
    path = os.environ.get(RECORD_ENV)
    wanted = [value for value in values if value]
    if not path or not wanted:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as out:
        out.writelines(f"{value}\n" for value in wanted)
