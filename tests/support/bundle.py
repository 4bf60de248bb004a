"""The CodeZip bundle exactly as `agentcore package` lays it out, for the host platform.

`agentcore package` (CLI 0.30, dist/lib/packaging/python.js) runs, from the project root,
``uv pip install -r <codeLocation>/pyproject.toml --target STAGING --python-version X.Y
--python-platform aarch64-manylinux2014 --only-binary :all:``, copies the code folder minus
.git/.venv/__pycache__/.pytest_cache/node_modules and .env files, and zips the staging folder
(file modes are not kept). Here the same steps run for this machine's platform and Python, so the
bundle can be started as the runtime starts it. ``bytecode=True`` then adds what `scripts/agentcore
package` adds: checked-hash ``.pyc`` files from scripts/deploy/bundle_bytecode.py, compiled by the
interpreter that runs the bundle.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from scripts.localdev.paths import AGENT_CODE, REPO

BASE_PYTHON = str(Path(sys.base_prefix) / "bin" / "python3")  # the runtime's interpreter here
BYTECODE_SCRIPT = REPO / "scripts" / "deploy" / "bundle_bytecode.py"
EXCLUDED = {".git", ".venv", "__pycache__", ".pytest_cache", ".DS_Store", "node_modules"}
INSTALL_TIMEOUT_SECONDS = 600


def _excluded(name: str) -> bool:
    return name in EXCLUDED or name == ".env" or name.startswith(".env.")


def host_platform() -> str:
    """Uv's --python-platform for this machine (manylinux, like the CLI's candidates)."""
    return f"{platform.machine()}-manylinux2014"


def build_bundle(dest: Path, uv: str, bytecode: bool = False) -> Path:
    """Write ``dest/CustomerSupport.zip`` for the host platform and this interpreter; returns it."""
    staging = dest / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    install = [uv, "pip", "install", "-r", str(AGENT_CODE / "pyproject.toml"), "--target", str(staging)]
    install += ["--python-version", version, "--python-platform", host_platform(), "--only-binary", ":all:"]
    result = subprocess.run(
        install, cwd=REPO, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"uv pip install failed:\n{result.stderr[-3000:]}")
    shutil.copytree(
        AGENT_CODE, staging, dirs_exist_ok=True, ignore=lambda _d, names: [n for n in names if _excluded(n)]
    )
    bundle = dest / "CustomerSupport.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(staging.rglob("*")):
            if path.is_file() and not any(_excluded(part) for part in path.relative_to(staging).parts):
                # No external attributes: the CLI's zip (fflate) keeps no file modes either.
                zf.writestr(str(path.relative_to(staging)), path.read_bytes())
    shutil.rmtree(staging)
    if bytecode:
        add = [BASE_PYTHON, str(BYTECODE_SCRIPT), str(bundle)]
        subprocess.run(add, check=True, timeout=INSTALL_TIMEOUT_SECONDS)
    return bundle


def unpacked_bundle(dest: Path, uv: str, bytecode: bool = False) -> Path:
    """Build the bundle under ``dest`` and unzip it to ``dest/task``, as the runtime unpacks it."""
    target = dest / "task"
    with zipfile.ZipFile(build_bundle(dest, uv, bytecode)) as zf:
        zf.extractall(target)
    return target
