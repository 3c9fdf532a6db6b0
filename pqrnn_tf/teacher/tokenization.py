"""Sub-word tokenization and word alignment, on the `tokenizers` library (no torch).

A text's tokens are ``text.split()``; each word is split into sub-words by the
encoder's tokenizer, and the word's slot logits are those of its FIRST
sub-word. Other sub-words get no tag (ignored by the loss). A word whose
sub-words were cut off by the length limit, or that tokenizes to nothing (e.g. a
lone zero-width space), has no first sub-word: it gets all-zero logits (argmax:
the first tag label, "O" in our tag order) and is counted.

Everything here runs without torch (and without `transformers`, whose
AutoTokenizer imports torch), so an ONNX Runtime deployment doesn't load it.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Label id ignored by the slot loss (non-first sub-words, special tokens, padding).
IGNORE_INDEX = -100
#: Sub-directory of --model_dir holding the fine-tuned model.
MODEL_SUBDIR = "model"
ENCODER_SUBDIR = "encoder"
HEADS_FILE = "heads.safetensors"
LABELS_FILE = "labels.json"
TOKENIZER_FILE = "tokenizer.json"


@dataclass
class Batch:
  """Tokenized texts: padded encoder inputs plus, per word, its first sub-word's position."""

  input_ids: np.ndarray        # int64 [B, L]
  attention_mask: np.ndarray   # int64 [B, L]
  first_subword: list[np.ndarray]  # per text, int64 [num_words]; -1 = no sub-word (truncated)

  @property
  def num_uncovered_words(self) -> int:
    """Words without a first sub-word (cut off by the length limit, or empty)."""
    return int(sum((f < 0).sum() for f in self.first_subword))


class WordTokenizer:
  """A `tokenizers.Tokenizer` that truncates to `max_length` sub-words (specials included)."""

  def __init__(self, backend, max_length: int) -> None:
    from tokenizers import Tokenizer  # pylint: disable=g-import-not-at-top
    self.backend = Tokenizer.from_str(backend.to_str())  # a copy: settings change below
    self.max_length = max_length
    self.backend.enable_truncation(max_length)
    self.backend.no_padding()
    padding = backend.padding or {}
    self.pad_id = int(padding.get("pad_id", 0))

  @classmethod
  def from_dir(cls, directory: str, max_length: int) -> WordTokenizer:
    """From the tokenizer.json that `save_pretrained` of a fast tokenizer writes."""
    from tokenizers import Tokenizer  # pylint: disable=g-import-not-at-top
    path = os.path.join(directory, TOKENIZER_FILE)
    if not os.path.isfile(path):
      raise FileNotFoundError(f"{directory}: no {TOKENIZER_FILE} (a fast tokenizer's file)")
    return cls(Tokenizer.from_file(path), max_length)

  @classmethod
  def from_transformers(cls, tokenizer, max_length: int) -> WordTokenizer:
    """From a `transformers` fast tokenizer (its `backend_tokenizer`)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
      raise ValueError("the tokenizer is not a fast tokenizer; the word alignment needs one "
                       "(a tokenizer.json, or a vocab.txt for BERT-like models)")
    out = cls(backend, max_length)
    if tokenizer.pad_token_id is not None:
      out.pad_id = int(tokenizer.pad_token_id)
    return out

  def encode(self, texts: Sequence[str]) -> Batch:
    """Tokenizes the whitespace words of `texts` and pads to the longest."""
    words = [t.split() for t in texts]
    encodings = self.backend.encode_batch(words, is_pretokenized=True) if words else []
    length = max((len(e.ids) for e in encodings), default=0)
    input_ids = np.full((len(words), length), self.pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(words), length), dtype=np.int64)
    first = []
    for i, (ws, e) in enumerate(zip(words, encodings)):
      input_ids[i, :len(e.ids)] = e.ids
      attention_mask[i, :len(e.ids)] = e.attention_mask
      positions = np.full(len(ws), -1, dtype=np.int64)
      for pos, w in enumerate(e.word_ids):
        if w is not None and positions[w] < 0:
          positions[w] = pos
      first.append(positions)
    return Batch(input_ids, attention_mask, first)


def encode(tokenizer, texts: Sequence[str], max_length: int) -> Batch:
  """:meth:`WordTokenizer.encode`; `tokenizer` may also be a `transformers` fast tokenizer."""
  if not isinstance(tokenizer, WordTokenizer) or tokenizer.max_length != max_length:
    if isinstance(tokenizer, WordTokenizer):
      tokenizer = tokenizer.backend
    if hasattr(tokenizer, "backend_tokenizer"):
      tokenizer = WordTokenizer.from_transformers(tokenizer, max_length)
    else:
      tokenizer = WordTokenizer(tokenizer, max_length)
  return tokenizer.encode(texts)


def subword_tag_ids(batch: Batch, tag_ids: Sequence[Sequence[int]]) -> np.ndarray:
  """int64 [B, L] training targets: a word's tag at its first sub-word, IGNORE_INDEX elsewhere."""
  out = np.full(batch.input_ids.shape, IGNORE_INDEX, dtype=np.int64)
  for i, (positions, ids) in enumerate(zip(batch.first_subword, tag_ids)):
    keep = positions >= 0
    out[i, positions[keep]] = np.asarray(ids, dtype=np.int64)[keep]
  return out


def gather_words(batch: Batch, subword_logits: np.ndarray) -> list[np.ndarray]:
  """Per text, float32 [num_words, S]: each word's first-sub-word logits (zeros if none)."""
  out = []
  for i, positions in enumerate(batch.first_subword):
    rows = np.zeros((len(positions), subword_logits.shape[-1]), dtype=np.float32)
    keep = positions >= 0
    rows[keep] = subword_logits[i, positions[keep]]
    out.append(rows)
  return out


def read_labels(directory: str) -> dict:
  """labels.json of a saved teacher: intent_labels, tag_labels, max_length."""
  path = os.path.join(directory, LABELS_FILE)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{directory}: no trained teacher here (missing {LABELS_FILE}); "
                            "run `pqrnn-teacher train` first")
  with open(path, encoding="utf-8") as f:
    return json.load(f)
