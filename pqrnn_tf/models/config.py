"""Model configurations: presets are plain JSON data in presets/."""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from pqrnn_tf.data.tokens import Tokenization
from pqrnn_tf.preset_files import preset_file, preset_names

MODEL_TYPES = ("pqrnn", "lstm", "transformer")


@dataclasses.dataclass
class ModelConfig:
  """What to build. Each section is the keyword arguments of one layer."""
  model: str = "pqrnn"
  description: str = ""
  projection: dict[str, Any] = dataclasses.field(default_factory=dict)
  bottleneck: dict[str, Any] = dataclasses.field(default_factory=dict)
  encoder: dict[str, Any] = dataclasses.field(default_factory=dict)
  head: dict[str, Any] = dataclasses.field(default_factory=dict)

  def validate(self) -> "ModelConfig":
    if self.model not in MODEL_TYPES:
      raise ValueError(f"model must be one of {MODEL_TYPES}, got {self.model!r}")
    return self

  @property
  def tokenization(self) -> Tokenization:
    """How the model cuts sentences into rows: the pQRNN projection's
    settings; one row per whitespace word for the baselines."""
    if self.model != "pqrnn":
      return Tokenization.words()
    return Tokenization.from_projection(self.projection)

  def to_dict(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - fields
    if unknown:
      raise ValueError(f"Unknown model config keys {sorted(unknown)}; "
                       f"valid: {sorted(fields)}")
    return cls(**data).validate()

  def save(self, path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
      json.dump(self.to_dict(), f, indent=2)

  @classmethod
  def load(cls, path: str) -> "ModelConfig":
    with open(path, encoding="utf-8") as f:
      return cls.from_dict(json.load(f))


def list_presets() -> list[str]:
  return preset_names()


def load_preset(name_or_path: str) -> ModelConfig:
  """A preset by name (see `list_presets()`) or a path to a JSON file."""
  path = preset_file(name_or_path)
  if not os.path.exists(path):
    raise ValueError(f"Unknown preset {name_or_path!r}; available: "
                     f"{list_presets()} (or give a path to a JSON file)")
  return ModelConfig.load(path)
