"""Running the toolkit's own commands from a benchmark (one home for it)."""
from __future__ import annotations

import os
import subprocess
import sys

def run(module: str, *args: str, env: dict | None = None, quiet: bool = False) -> None:
  """`python -m module args`, echoed, failing loudly (`quiet`: no stdout)."""
  cmd = [sys.executable, "-m", module, *args]
  print("$", " ".join(cmd), flush=True)
  subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL if quiet else None)


def ensure(path: str, module: str, *args: str, quiet: bool = False) -> str:
  """Runs the command unless `path` exists; returns `path`."""
  if not os.path.exists(path):
    run(module, *args, quiet=quiet)
  return path
