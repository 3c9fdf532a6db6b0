"""Unlabeled variants of training utterances, for a teacher to label (pure Python).

Each variant applies one operation, drawn at random among those that apply:
  * "substitute": replaces slot values with other values of the same slot
    type seen in the training data (each span with probability
    `substitute_prob`, at least one) -- needs slot tags;
  * "mask": replaces each token with `mask_token` with probability `mask_prob`
    (at least one);
  * "drop": deletes each token with probability `drop_prob` (at least one,
    never all);
  * "ngram": keeps a random contiguous span of at least half the tokens.
The variants carry no labels: the teacher labels them (`pqrnn-teacher
logits`), and the student trains on its outputs (`pqrnn-train
--teacher_logits`). Variants equal to a training text or to an earlier variant
are skipped, so a multiplier of k gives at most k variants per utterance.
"""
from __future__ import annotations

import collections
import dataclasses
import random
from typing import Sequence

from pqrnn_tf.data.examples import Example

OPERATIONS = ("substitute", "mask", "drop", "ngram")


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
  multiplier: int = 4
  operations: tuple[str, ...] = OPERATIONS
  substitute_prob: float = 0.5
  mask_prob: float = 0.15
  drop_prob: float = 0.15
  mask_token: str = "[MASK]"
  seed: int = 0

  def validate(self) -> "AugmentConfig":
    if self.multiplier < 1:
      raise ValueError(f"multiplier must be >= 1, got {self.multiplier}")
    unknown = set(self.operations) - set(OPERATIONS)
    if unknown or not self.operations:
      raise ValueError(f"operations must be a non-empty subset of {OPERATIONS}, "
                       f"got {list(self.operations)}")
    for name in ("substitute_prob", "mask_prob", "drop_prob"):
      if not 0.0 < getattr(self, name) <= 1.0:
        raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
    if not self.mask_token or len(self.mask_token.split()) != 1:
      raise ValueError(f"mask_token must be one whitespace-free token, got {self.mask_token!r}")
    return self


def slot_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
  """(start, end, type) of each BIO span; an I- tag without a B- starts one."""
  spans, start, kind = [], None, None
  for i, tag in enumerate(list(tags) + ["O"]):
    prefix, _, name = tag.partition("-")
    continues = prefix == "I" and name == kind and start is not None
    if start is not None and not continues:
      spans.append((start, i, kind))
      start, kind = None, None
    if prefix in ("B", "I") and not continues:
      start, kind = i, name
  return spans


def slot_values(examples: Sequence[Example]) -> dict[str, list[tuple[str, ...]]]:
  """Each slot type's distinct values (token tuples), in first-seen order."""
  values: dict[str, dict[tuple[str, ...], None]] = collections.defaultdict(dict)
  for e in examples:
    if e.tags is None:
      continue
    tokens = e.tokens
    for start, end, kind in slot_spans(e.tags):
      values[kind][tuple(tokens[start:end])] = None
  return {kind: list(v) for kind, v in values.items()}


class Augmenter:
  """Makes variants of examples; deterministic for a given config and data."""

  def __init__(self, train: Sequence[Example], config: AugmentConfig = AugmentConfig()):
    self.config = config.validate()
    self.values = slot_values(train)
    self.rng = random.Random(config.seed)
    self.counts: collections.Counter = collections.Counter()  # Variants kept, by operation.

  def _substitute(self, e: Example) -> list[str] | None:
    spans = [s for s in slot_spans(e.tags or ()) if len(self.values.get(s[2], ())) > 1]
    if not spans:
      return None
    chosen = [s for s in spans if self.rng.random() < self.config.substitute_prob]
    chosen = chosen or [self.rng.choice(spans)]
    tokens, out, pos = e.tokens, [], 0
    for start, end, kind in chosen:
      out.extend(tokens[pos:start])
      out.extend(self.rng.choice(self.values[kind]))
      pos = end
    return out + list(tokens[pos:])

  def _mask(self, tokens: Sequence[str]) -> list[str]:
    keep = [self.rng.random() >= self.config.mask_prob for _ in tokens]
    if all(keep):
      keep[self.rng.randrange(len(tokens))] = False
    return [t if k else self.config.mask_token for t, k in zip(tokens, keep)]

  def _drop(self, tokens: Sequence[str]) -> list[str] | None:
    if len(tokens) < 2:
      return None
    keep = [self.rng.random() >= self.config.drop_prob for _ in tokens]
    if all(keep):
      keep[self.rng.randrange(len(tokens))] = False
    if not any(keep):
      keep[self.rng.randrange(len(tokens))] = True
    return [t for t, k in zip(tokens, keep) if k]

  def _ngram(self, tokens: Sequence[str]) -> list[str] | None:
    if len(tokens) < 2:
      return None
    n = self.rng.randint((len(tokens) + 1) // 2, len(tokens) - 1)
    start = self.rng.randint(0, len(tokens) - n)
    return list(tokens[start:start + n])

  def variant(self, e: Example, operation: str) -> list[str] | None:
    """Tokens of one variant of `e` by `operation`, or None if it doesn't apply."""
    tokens = e.tokens
    if not tokens:
      return None
    if operation == "substitute":
      return self._substitute(e)
    if operation == "mask":
      return self._mask(tokens)
    if operation == "drop":
      return self._drop(tokens)
    return self._ngram(tokens)

  def augment(self, examples: Sequence[Example]) -> list[Example]:
    """Up to `multiplier` new, distinct, unlabeled variants of each example."""
    seen = {e.text for e in examples}
    out = []
    for e in examples:
      made = 0
      for _ in range(4 * self.config.multiplier):  # Bounded retries on duplicates.
        if made == self.config.multiplier:
          break
        operation = self.rng.choice(self.config.operations)
        tokens = self.variant(e, operation)
        if not tokens:
          continue
        text = " ".join(tokens)
        if text not in seen:
          seen.add(text)
          out.append(Example(text))
          self.counts[operation] += 1
          made += 1
    return out
