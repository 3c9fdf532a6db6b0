"""Length buckets of real ATIS test sentences for latency measurements.

A bucket holds sentences of exactly `length` whitespace tokens. ATIS test
sentences are short (none has more than 30 tokens, few more than 20), so a
bucket that the test set cannot fill is topped up with *joined* sentences:
whole real test sentences concatenated with a space until the total is exactly
`length` tokens. Every bucket records how many of its sentences are real and
how many are joined, and the report says so.
"""
from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from typing import Sequence


@dataclasses.dataclass(frozen=True)
class Bucket:
  """Sentences of one length; `num_joined` of them are joined test sentences."""

  length: int
  sentences: tuple[str, ...]
  num_real: int
  num_joined: int

  def describe(self) -> str:
    """E.g. "16 tokens: 42 real + 8 joined test sentences"."""
    if not self.num_joined:
      return f"{self.length} tokens: {self.num_real} real test sentences"
    return (f"{self.length} tokens: {self.num_real} real + {self.num_joined} made by "
            f"joining 2 or more real test sentences")

  def to_dict(self) -> dict:
    return dataclasses.asdict(self) | {"sentences": list(self.sentences)}


def _joined(by_length: dict[int, list[str]], length: int, rng: random.Random) -> str:
  """Whole sentences joined to exactly `length` tokens (at least two of them)."""
  shorter = sorted(n for n in by_length if n < length)
  if not shorter:
    raise ValueError(f"no sentence shorter than {length} tokens to join")
  parts, remaining = [], length
  while remaining:
    # The first piece is always partial so that a joined sentence is never just
    # a real one; later pieces close the gap exactly when a sentence fits.
    if parts and remaining in by_length:
      n = remaining
    else:
      # Leave room for the smallest sentence so that the gap can be closed.
      fits = [n for n in shorter if n <= remaining - shorter[0]]
      if not fits:
        fits = [n for n in shorter if n <= remaining]
      if not fits:
        raise ValueError(f"cannot join sentences to exactly {length} tokens")
      n = rng.choice(fits)
    parts.append(rng.choice(by_length[n]))
    remaining -= n
  return " ".join(parts)


def make_buckets(texts: Sequence[str], lengths: Sequence[int], per_bucket: int,
                 seed: int = 0) -> list[Bucket]:
  """One bucket per length: real sentences of that length first, in data order,
  then joined ones until the bucket holds `per_bucket` sentences."""
  if per_bucket < 1:
    raise ValueError(f"per_bucket must be positive, got {per_bucket}")
  by_length: dict[int, list[str]] = defaultdict(list)
  for text in texts:
    tokens = text.split()
    if tokens:
      by_length[len(tokens)].append(" ".join(tokens))
  buckets = []
  for length in lengths:
    if length < 2:
      raise ValueError(f"bucket lengths must be at least 2 tokens, got {length}")
    real = by_length.get(length, [])[:per_bucket]
    rng = random.Random(f"{seed}-{length}")  # the same sentences in every run
    joined = [_joined(by_length, length, rng) for _ in range(per_bucket - len(real))]
    buckets.append(Bucket(length, tuple(real + joined), len(real), len(joined)))
  return buckets
