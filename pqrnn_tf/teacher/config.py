"""The teacher run's settings: a dataclass without torch, so the CLI can read its defaults."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass


@dataclass
class TeacherConfig:
  """Everything that defines a teacher run (written to model_dir/config.json)."""

  pretrained: str
  epochs: int = 10         # Rounds of training + dev scoring (passes, on full-size data).
  min_steps: int = 1200    # At least this many optimizer steps (small data: more passes).
  patience: int = 4        # Stop after this many rounds without a dev gain (0: never).
  learning_rate: float = 1e-4
  batch_size: int = 32
  seed: int = 0
  warmup_fraction: float = 0.1
  weight_decay: float = 0.01
  dropout: float = 0.1
  max_length: int = 0      # 0: the encoder's limit (at most 512)
  num_threads: int = 2
  data: dict | None = None

  def validate(self) -> TeacherConfig:
    for name in ("epochs", "batch_size", "num_threads"):
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
    for name in ("min_steps", "patience"):
      if getattr(self, name) < 0:
        raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
    if not self.learning_rate > 0:
      raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
    if self.max_length < 0 or 0 < self.max_length < 3:
      raise ValueError(f"max_length must be 0 (encoder limit) or >= 3, got {self.max_length}")
    return self

  def steps(self, num_examples: int) -> tuple[int, int]:
    """(optimizer steps per round, rounds) for a training set of this size."""
    steps_per_epoch = math.ceil(num_examples / self.batch_size)
    total = max(self.epochs * steps_per_epoch, self.min_steps)
    return math.ceil(total / self.epochs), self.epochs


#: Field defaults, for the CLI's flags (declared once, above).
DEFAULTS = {f.name: f.default for f in dataclasses.fields(TeacherConfig)
            if f.default is not dataclasses.MISSING}
