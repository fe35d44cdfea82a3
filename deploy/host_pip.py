#!/usr/bin/env python3
"""Hand this machine's pip configuration to `podman build` / `docker build`.

Machines without a direct route to PyPI reach it (or a mirror, or local wheel folders) through
pip settings spread over /etc/pip.conf, ~/.config/pip/pip.conf, /etc/xdg/pip/pip.conf and
PIP_* variables. A build container sees none of them. This script reads the settings pip
itself resolves (`python -m pip config list`), writes them into one pip.conf with every local
path (CA bundle, constraint file, find-links folder, file:// index) moved below /host-pip/,
and prints the build flags, one per line, that mount the file and those paths read-only and
pick a TORCH_CPU_INDEX that answers:

    python3 deploy/host_pip.py WORKDIR > WORKDIR/build-args   # then: podman build $(cat ...)

Nothing is mounted at its host path because the image installs its own
/etc/ssl/certs/ca-certificates.crt, which a read-only mount would make unwritable.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

MOUNT_ROOT = "/host-pip"
# Options whose values may name local files or folders (several, space separated, for the
# list-valued ones). Every other option is copied as it is.
PATH_OPTIONS = {"cert", "client-cert", "constraint", "build-constraint", "find-links", "index-url",
                "extra-index-url"}
DEFAULT_TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PYPI = "https://pypi.org/simple"


def pip_settings(python: str) -> dict[str, str]:
    """The options pip resolves on this machine, section ``global``: values of PIP_* variables
    (``:env:`` keys) override the merged configuration files, as they do for pip itself."""
    listing = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True,
                             check=True).stdout
    files: dict[str, str] = {}
    env: dict[str, str] = {}
    for line in listing.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        section, _, name = key.rpartition(".")
        if section == ":env:":
            env[name] = ast.literal_eval(value)
        elif section == "global":
            files[name] = ast.literal_eval(value)
    return {**files, **env}


def local_path(token: str) -> Path | None:
    """The existing local file or folder a pip option value names (a path or a file:// URL)."""
    path = urlsplit(token).path if token.startswith("file://") else token
    if os.path.isabs(path) and os.path.exists(path):
        return Path(path)
    return None


def reachable(url: str) -> bool:
    """Whether ``url`` answers at all within a few seconds (any HTTP status counts)."""
    try:
        urllib.request.urlopen(url, timeout=10).close()
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False
    return True


def build_flags(settings: dict[str, str], workdir: Path) -> list[str]:
    """Write ``workdir/pip.conf`` and return the build flags that mount it and the paths it
    names, and set TORCH_CPU_INDEX."""
    mounts: dict[Path, str] = {}
    rewritten: dict[str, str] = {}
    for name, value in sorted(settings.items()):
        if name in PATH_OPTIONS:
            tokens = []
            for token in value.split():
                path = local_path(token)
                if path is None:
                    tokens.append(token)
                    continue
                # A local index's pages link to their files relatively (../../files/x.whl
                # from ROOT/simple/NAME/), so its parent folder goes along.
                mounted = path.parent if name.endswith("index-url") else path
                target = mounts.setdefault(mounted, f"{MOUNT_ROOT}/{len(mounts)}-{mounted.name}")
                if mounted != path:
                    target = f"{target}/{path.name}"
                tokens.append(f"file://{target}" if token.startswith("file://") else target)
            value = " ".join(tokens)
        rewritten[name] = value
    conf = workdir / "pip.conf"
    conf.write_text("".join(["[global]\n"] + [f"{name} = {value}\n" for name, value in rewritten.items()]))
    flags = [f"--volume={conf}:/etc/pip.conf:ro"]
    flags += [f"--volume={path}:{target}:ro" for path, target in mounts.items()]
    # The CPU wheel of torch sits in a find-links folder on machines like these; the index only
    # has to answer, or pip spends minutes retrying it.
    index = DEFAULT_TORCH_CPU_INDEX
    if not reachable(f"{index}/torch/"):
        index = rewritten.get("index-url", PYPI).split()[0]
    flags.append(f"--build-arg=TORCH_CPU_INDEX={index}")
    return flags


def main(argv: list[str]) -> int:
    """Entry point: ``host_pip.py WORKDIR [PYTHON]`` (PYTHON: whose pip to ask, default this one)."""
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[0], f"\nusage: {argv[0]} WORKDIR [PYTHON]", file=sys.stderr)
        return 2
    python = argv[2] if len(argv) == 3 else sys.executable
    for flag in build_flags(pip_settings(python), Path(argv[1])):
        print(flag)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
