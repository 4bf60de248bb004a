"""Add checked-hash bytecode, compiled by the running interpreter, to a CodeZip bundle.

    python3.13 scripts/deploy/bundle_bytecode.py agentcore/CustomerSupport.zip

Run it with an interpreter of the runtime's Python version (``scripts/agentcore package`` picks
one): the ``.pyc`` files it writes carry that interpreter's tag (``cpython-313``) and are ignored
by any other version. Why it exists: `agentcore package` (CLI 0.30) zips its staging folder
without any ``__pycache__`` directory, so even ``UV_COMPILE_BYTECODE=1`` ships no bytecode, and
every new runtime session (a fresh microVM) compiles each imported module before its first answer.

The bytecode is *checked-hash* (PEP 552): it is valid while the source's hash matches, whatever
the zip's 2-second DOS timestamps make of the files' mtimes on unpacking. Entries already in the
zip are kept as they are. The zip is replaced only when the result stays within the runtime's
250 MB limit; otherwise it is left untouched and the exit status is 1. Standard library only, so
any interpreter of the runtime's version can run it.
"""

from __future__ import annotations

import compileall
import os
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path

ZIP_LIMIT_BYTES = 250 * 1024 * 1024  # the CLI's enforceZipSizeLimit
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed: checked-hash bytecode does not depend on mtimes


def add_bytecode(bundle: Path) -> tuple[int, int, int]:
    """Compile every module in ``bundle`` and add the ``.pyc`` files; (added, size before, after)."""
    before = bundle.stat().st_size
    with tempfile.TemporaryDirectory(prefix="bundle-bytecode-", dir=bundle.parent) as work:
        tree = Path(work) / "tree"
        with zipfile.ZipFile(bundle) as zf:
            present = set(zf.namelist())
            zf.extractall(tree)
        # A module that does not compile (a py2-only test file in some wheel) gets no .pyc;
        # importing it fails on the runtime either way.
        compileall.compile_dir(
            tree, quiet=2, workers=0, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH
        )
        output = Path(work) / bundle.name
        output.write_bytes(bundle.read_bytes())
        added = 0
        with zipfile.ZipFile(output, "a", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for pyc in sorted(tree.rglob("__pycache__/*.pyc")):
                name = pyc.relative_to(tree).as_posix()
                if name in present:
                    continue
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, pyc.read_bytes(), compresslevel=6)
                added += 1
        after = output.stat().st_size
        if after > ZIP_LIMIT_BYTES:
            raise OverflowError(f"{after / 2**20:.1f} MB with bytecode is over the runtime's 250 MB limit")
        os.replace(output, bundle)
    return added, before, after


def main(argv: list[str]) -> int:
    """Add bytecode to each zip named on the command line; one line per zip on stderr."""
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 0 if argv else 2
    tag = sys.implementation.cache_tag
    for name in argv:
        bundle = Path(name)
        try:
            added, before, after = add_bytecode(bundle)
        except (OSError, zipfile.BadZipFile, OverflowError) as error:
            print(f"{bundle}: no bytecode added ({error})", file=sys.stderr)
            return 1
        print(
            f"{bundle}: added {added} checked-hash .pyc files ({tag}, compiled by {sys.executable}); "
            f"{before / 2**20:.1f} MB -> {after / 2**20:.1f} MB",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
