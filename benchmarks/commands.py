"""Running the toolkit's own commands from a benchmark (one home for it)."""
from __future__ import annotations

import os
import subprocess
import sys

PRESETS_DIR = os.path.join(os.path.dirname(__file__), "..", "pqrnn_tf", "models", "presets")


def preset_file(preset: str) -> str:
  """A preset's JSON file: a path as given, or a name in the package's presets
  (pqrnn-train's rule), without importing TensorFlow."""
  return preset if preset.endswith(".json") else os.path.join(PRESETS_DIR, preset + ".json")


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
