"""The teacher-logits file format (version 1): write, read and validate (numpy only).

A teacher (ours, `pqrnn-teacher logits`, or any other, e.g. mBERT on a GPU box)
writes one ``.npz`` per data set; a student distills from it. Keys:

- ``texts``: unicode ``[N]``, the input texts; their tokens are ``text.split()``.
- ``intent_labels``: unicode ``[I]``; ``tag_labels``: unicode ``[S]``: the
  teacher's label order (students map labels by name, not by index).
- ``intent_logits``: float32 ``[N, I]``, raw logits (no temperature applied).
- ``slot_logits``: float32 ``[T, S]``, one row per whitespace token (taken from
  the token's first sub-word), ``T`` = total tokens over all texts; the rows of
  text ``i`` are ``token_offsets[i]:token_offsets[i + 1]``.
- ``token_offsets``: int64 ``[N + 1]``, ``0`` first, ``T`` last, and
  ``token_offsets[i + 1] - token_offsets[i] == len(texts[i].split())``.
- ``meta``: a 0-d unicode array holding a JSON object with at least
  ``"format_version": 1``; other keys are informative (teacher name and path,
  its dev/test metrics, how many tokens got no logits of their own, ...).

The full description, with a reading example, is docs/teacher_logits.md. This
module must not import torch or TensorFlow: the student trainer imports it.
"""
from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

FORMAT_VERSION = 1
KEYS = ("texts", "intent_labels", "tag_labels", "intent_logits", "slot_logits",
        "token_offsets", "meta")


@dataclass(frozen=True)
class TeacherLogits:
  """The contents of a validated teacher-logits file."""

  texts: np.ndarray            # unicode [N]
  intent_labels: np.ndarray    # unicode [I]
  tag_labels: np.ndarray       # unicode [S]
  intent_logits: np.ndarray    # float32 [N, I]
  slot_logits: np.ndarray      # float32 [T, S]
  token_offsets: np.ndarray    # int64 [N + 1]
  meta: dict = field(default_factory=dict)

  def __len__(self) -> int:
    return len(self.texts)

  def slot_logits_of(self, i: int) -> np.ndarray:
    """float32 ``[len(texts[i].split()), S]``: the slot logits of text ``i``."""
    return self.slot_logits[self.token_offsets[i]:self.token_offsets[i + 1]]

  def index(self) -> dict[str, int]:
    """Text -> its first row index, for joining with a student's examples by text."""
    out: dict[str, int] = {}
    for i, text in enumerate(self.texts.tolist()):
      out.setdefault(text, i)
    return out


def _fail(path: str, problem: str) -> None:
  raise ValueError(f"{path}: invalid teacher-logits file: {problem}")


def validate_arrays(arrays: dict, path: str = "<arrays>") -> dict:
  """Checks keys, dtypes, shapes and offsets; returns the parsed ``meta`` dict.

  Raises ValueError naming ``path`` and the first problem found.
  """
  missing = [k for k in KEYS if k not in arrays]
  if missing:
    _fail(path, f"missing key(s) {missing}; expected {list(KEYS)}")
  extra = sorted(set(arrays) - set(KEYS))
  if extra:
    _fail(path, f"unknown key(s) {extra}; expected {list(KEYS)}")
  for key in ("texts", "intent_labels", "tag_labels", "meta"):
    if arrays[key].dtype.kind != "U":
      _fail(path, f"'{key}' must be a numpy unicode array (dtype '<U...'), got {arrays[key].dtype}")
  for key in ("intent_logits", "slot_logits"):
    if arrays[key].dtype != np.float32:
      _fail(path, f"'{key}' must be float32, got {arrays[key].dtype}")
  if arrays["token_offsets"].dtype != np.int64:
    _fail(path, f"'token_offsets' must be int64, got {arrays['token_offsets'].dtype}")
  expected_ndim = {"texts": 1, "intent_labels": 1, "tag_labels": 1, "intent_logits": 2,
                   "slot_logits": 2, "token_offsets": 1, "meta": 0}
  for key, ndim in expected_ndim.items():
    if arrays[key].ndim != ndim:
      _fail(path, f"'{key}' must have {ndim} dimension(s), got shape {arrays[key].shape}")

  texts = arrays["texts"].tolist()
  n = len(texts)
  num_intents, num_tags = len(arrays["intent_labels"]), len(arrays["tag_labels"])
  for key in ("intent_labels", "tag_labels"):
    labels = arrays[key].tolist()
    if len(set(labels)) != len(labels):
      _fail(path, f"'{key}' has duplicates: {sorted({x for x in labels if labels.count(x) > 1})}")
  if arrays["intent_logits"].shape != (n, num_intents):
    _fail(path, f"'intent_logits' has shape {arrays['intent_logits'].shape}, expected "
                f"(N={n} texts, I={num_intents} intent labels)")
  offsets = arrays["token_offsets"]
  if offsets.shape != (n + 1,):
    _fail(path, f"'token_offsets' has shape {offsets.shape}, expected (N + 1 = {n + 1},)")
  num_tokens = np.array([len(t.split()) for t in texts], dtype=np.int64)
  total = int(num_tokens.sum())
  if arrays["slot_logits"].shape != (total, num_tags):
    _fail(path, f"'slot_logits' has shape {arrays['slot_logits'].shape}, expected "
                f"(T={total} whitespace tokens in all texts, S={num_tags} tag labels)")
  if offsets[0] != 0:
    _fail(path, f"'token_offsets' must start at 0, starts at {offsets[0]}")
  bad = np.flatnonzero(np.diff(offsets) != num_tokens)
  if bad.size:
    i = int(bad[0])
    _fail(path, f"'token_offsets' gives text {i} {int(offsets[i + 1] - offsets[i])} rows, but it "
                f"has {int(num_tokens[i])} whitespace tokens ({texts[i]!r})")
  for key in ("intent_logits", "slot_logits"):
    if not np.all(np.isfinite(arrays[key])):
      _fail(path, f"'{key}' contains NaN or infinite values")
  try:
    meta = json.loads(str(arrays["meta"][()]))
  except json.JSONDecodeError as e:
    _fail(path, f"'meta' is not valid JSON ({e.msg})")
  if not isinstance(meta, dict):
    _fail(path, f"'meta' must hold a JSON object, got {type(meta).__name__}")
  if meta.get("format_version") != FORMAT_VERSION:
    _fail(path, f"format_version {meta.get('format_version')!r} is not supported "
                f"(this reader knows version {FORMAT_VERSION})")
  return meta


def make_arrays(texts: Sequence[str], intent_labels: Sequence[str], tag_labels: Sequence[str],
                intent_logits: np.ndarray, slot_logits: Sequence[np.ndarray],
                meta: dict | None = None) -> dict:
  """The file's arrays from per-text slot logits (``slot_logits[i]``: ``[len(texts[i].split()), S]``)."""
  num_tags = len(tag_labels)
  lengths = [len(np.asarray(s)) for s in slot_logits]
  offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
  np.cumsum(lengths, out=offsets[1:])
  rows = [np.asarray(s, dtype=np.float32).reshape(-1, num_tags) for s in slot_logits]
  meta = dict(meta or {})
  meta["format_version"] = FORMAT_VERSION
  return {
      "texts": np.array(list(texts), dtype=np.str_).reshape(len(texts)),
      "intent_labels": np.array(list(intent_labels), dtype=np.str_).reshape(len(intent_labels)),
      "tag_labels": np.array(list(tag_labels), dtype=np.str_).reshape(num_tags),
      "intent_logits": np.asarray(intent_logits, dtype=np.float32),
      "slot_logits": (np.concatenate(rows) if rows else np.zeros((0, num_tags), np.float32)),
      "token_offsets": offsets,
      "meta": np.array(json.dumps(meta, ensure_ascii=False), dtype=np.str_),
  }


def save_teacher_logits(path: str | os.PathLike, texts: Sequence[str],
                        intent_labels: Sequence[str], tag_labels: Sequence[str],
                        intent_logits: np.ndarray, slot_logits: Sequence[np.ndarray],
                        meta: dict | None = None) -> None:
  """Validates and writes a (compressed) teacher-logits ``.npz``; see the module docstring."""
  path = os.fspath(path)
  arrays = make_arrays(texts, intent_labels, tag_labels, intent_logits, slot_logits, meta)
  validate_arrays(arrays, path)
  if os.path.dirname(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "wb") as f:  # a file object: np.savez would otherwise append ".npz"
    np.savez_compressed(f, **arrays)


def load_teacher_logits(path: str | os.PathLike) -> TeacherLogits:
  """Reads and validates a teacher-logits file; ValueError naming the file and problem."""
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such teacher-logits file")
  try:
    with np.load(path, allow_pickle=False) as data:
      arrays = {k: data[k] for k in data.files}
  except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
    raise ValueError(f"{path}: not a readable .npz file without pickled objects ({e})") from None
  meta = validate_arrays(arrays, path)
  return TeacherLogits(**{k: arrays[k] for k in KEYS if k != "meta"}, meta=meta)
