"""Where the model presets are: JSON files in the package, found without TensorFlow.

pqrnn_tf.models.config loads them; the benchmarks read them as plain JSON.
"""
from __future__ import annotations

import os

PRESETS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models", "presets")


def preset_names() -> list[str]:
  """The presets shipped in PRESETS_DIR, by name."""
  return sorted(p[:-len(".json")] for p in os.listdir(PRESETS_DIR) if p.endswith(".json"))


def preset_file(name_or_path: str) -> str:
  """The JSON file of a preset: `name_or_path` itself if that file exists, else
  the shipped preset of that name (which may not exist: the caller says so)."""
  if os.path.exists(name_or_path):
    return name_or_path
  return os.path.join(PRESETS_DIR, name_or_path + ".json")


def preset_label(name_or_path: str) -> str:
  """A preset in run directories and tables: a shipped preset's name, or a
  file's name without its folder and extension."""
  if name_or_path.endswith(".json") or os.sep in name_or_path:
    return os.path.splitext(os.path.basename(name_or_path))[0]
  return name_or_path
