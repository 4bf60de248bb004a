"""The session's secret-leak scan: no issued token or secret may appear in any captured log.

What is sensitive comes from the record file of ``scripts/localdev/record.py``: every local issuer,
in this process or in any subprocess the tests start (they inherit ``LOCAL_ISSUER_RECORD_FILE``),
appends each token it signs and each secret it is given or makes. The scan reads new lines before
every check, so it knows a value before that value can show up in a log. It checks each test's
captured output and logs, and at the end every ``*.log`` under the session's temp folder and
the repository's ``.local/`` written during the session. Findings are labels (kind and length),
never any part of the value.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from scripts.localdev.record import RECORD_ENV


def sensitive_parts(value: str) -> list[str]:
    """A token's payload and signature segments (a leak of either is a leak), or a secret whole."""
    parts = value.split(".")
    if len(parts) == 3:
        return [p for p in parts[1:] if len(p) >= 16]
    return [value] if len(value) >= 8 else []


def find_leaks(text: str, sensitive: set[str]) -> list[str]:
    """Which sensitive values occur in `text` (reported by a short, harmless label)."""
    found = []
    for value in sensitive:
        if any(part in text for part in sensitive_parts(value)):
            kind = "token" if value.count(".") == 2 else "secret"
            found.append(f"a {len(value)}-character {kind}")  # no part of the value itself
    return found


class LeakScan:
    """Knows what was issued (via the record file) and collects where it leaked."""

    def __init__(self) -> None:
        fd, name = tempfile.mkstemp(prefix="issued-", suffix=".txt")  # mode 600
        os.close(fd)
        self.record = Path(name)
        self.started = time.time()
        self.sensitive: set[str] = set()
        self.leaks: list[str] = []
        self._offset = 0

    def activate(self) -> None:
        """Make every issuer started from now on (here or in a subprocess) record what it issues."""
        os.environ[RECORD_ENV] = str(self.record)

    def refresh(self) -> None:
        """Learn the values recorded since the last call."""
        with self.record.open("rb") as recorded:
            recorded.seek(self._offset)
            chunk = recorded.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a writer may be mid-line
        self._offset += len(complete)
        self.sensitive.update(line for line in complete.decode().splitlines() if line)

    def check(self, where: str, text: str) -> None:
        """Record a finding for every sensitive value in `text`."""
        self.refresh()
        self.leaks.extend(f"{where}: {label}" for label in find_leaks(text, self.sensitive))

    def check_logs(self, *roots: Path) -> None:
        """Check every ``*.log`` under `roots` written since the session started."""
        for root in roots:
            if not root.exists():
                continue
            for log in root.rglob("*.log"):
                if log.is_file() and log.stat().st_mtime >= self.started:
                    self.check(log.name, log.read_text(errors="ignore"))

    def close(self) -> None:
        """Forget the recorded values (the file is removed)."""
        os.environ.pop(RECORD_ENV, None)
        self.record.unlink(missing_ok=True)
