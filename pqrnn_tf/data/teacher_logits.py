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

Large corpora are written as shards: a directory of such files, each
complete by itself (``shard-00003-of-00040.npz``, texts ``3 * shard_size``
onwards), and ``index.json`` listing them (`plan_shards`, `read_index`);
`shard_paths` resolves a file, a shard directory, its index or a glob to the
``.npz`` files to read, in order.

The full description, with a reading example, is docs/teacher_logits.md. This
module must not import torch or TensorFlow: the student trainer imports it.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

FORMAT_VERSION = 1
#: The shard directory's list of shards.
INDEX_FILE = "index.json"
#: What `INDEX_FILE`'s "layout" says.
SHARDS_LAYOUT = "teacher_logits_shards"
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
  # Written whole or not at all: a killed writer leaves a temporary, never a
  # truncated file that a resumed run would take for finished.
  temporary = f"{path}.tmp-{os.getpid()}"
  with open(temporary, "wb") as f:  # a file object: np.savez would otherwise append ".npz"
    np.savez_compressed(f, **arrays)
    f.flush()
    os.fsync(f.fileno())
  os.replace(temporary, path)


def _read_arrays(path: str, keys: Sequence[str] | None = None) -> dict:
  """The arrays of an ``.npz`` (only `keys`, if given: members not asked for
  are not decompressed); ValueError naming the file if it is not one."""
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such teacher-logits file")
  try:
    with np.load(path, allow_pickle=False) as data:
      return {k: data[k] for k in (data.files if keys is None else keys) if k in data.files}
  except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
    raise ValueError(f"{path}: not a readable .npz file without pickled objects ({e})") from None


def _load_one(path: str) -> TeacherLogits:
  arrays = _read_arrays(path)
  meta = validate_arrays(arrays, path)
  return TeacherLogits(**{k: arrays[k] for k in KEYS if k != "meta"}, meta=meta)


def load_teacher_logits(path: str | os.PathLike) -> TeacherLogits:
  """Reads and validates a teacher-logits file, or all the shards that
  `shard_paths(path)` names, concatenated in order (in memory: for data that
  fits; the student streams large shard sets instead); ValueError naming the
  file and problem."""
  paths = shard_paths(path)
  if len(paths) == 1 and os.fspath(path) == paths[0]:
    return _load_one(paths[0])
  return concatenate([_load_one(p) for p in paths], os.fspath(path))


def concatenate(parts: Sequence[TeacherLogits], source: str) -> TeacherLogits:
  """The rows of `parts` in order, as one; they must share their label lists."""
  first = parts[0]
  for part in parts[1:]:
    for key in ("intent_labels", "tag_labels"):
      if getattr(part, key).tolist() != getattr(first, key).tolist():
        raise ValueError(f"{source}: the shards' {key} differ; one teacher writes all shards")
  sizes = [p.token_offsets[-1] for p in parts]
  starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
  offsets = np.concatenate([[0]] + [p.token_offsets[1:] + s for p, s in zip(parts, starts)])
  return TeacherLogits(
      texts=np.concatenate([p.texts for p in parts]), intent_labels=first.intent_labels,
      tag_labels=first.tag_labels,
      intent_logits=np.concatenate([p.intent_logits for p in parts]),
      slot_logits=np.concatenate([p.slot_logits for p in parts]),
      token_offsets=offsets.astype(np.int64),
      meta={**first.meta, "shards": len(parts), "num_texts": int(sum(len(p) for p in parts))})


def read_texts(path: str) -> np.ndarray:
  """Only the ``texts`` of one teacher-logits file (the logits stay on disk)."""
  arrays = _read_arrays(path, ["texts"])
  if "texts" not in arrays or arrays["texts"].dtype.kind != "U" or arrays["texts"].ndim != 1:
    _fail(path, "no 1-d unicode 'texts' array")
  return arrays["texts"]


def read_meta(path: str) -> dict:
  """Only the ``meta`` of one teacher-logits file, parsed ({} if unreadable)."""
  try:
    arrays = _read_arrays(path, ["meta"])
    meta = json.loads(str(arrays["meta"][()]))
  except (ValueError, KeyError, FileNotFoundError):
    return {}
  return meta if isinstance(meta, dict) else {}


# --- shards ----------------------------------------------------------------------


def _add_text(digest, text: str) -> None:
  """Feeds one text to a `texts_digest` hash (its length first)."""
  data = text.encode("utf-8", "surrogatepass")
  digest.update(len(data).to_bytes(8, "little"))
  digest.update(data)


def texts_digest(texts: Iterable[str]) -> str:
  """SHA-256 of a text list (lengths included: no two lists share one)."""
  digest = hashlib.sha256()
  for text in texts:
    _add_text(digest, text)
  return digest.hexdigest()


def shard_file(index: int, count: int) -> str:
  """The file name of shard `index` of `count`."""
  return f"shard-{index:05d}-of-{count:05d}.npz"


def plan_shards(texts: Iterable[str], shard_size: int, meta: dict | None = None) -> dict:
  """The index of `texts` cut into shards of `shard_size` texts (the last may
  be shorter): shard k holds texts ``[k * shard_size, (k + 1) * shard_size)``.

  One pass over `texts`, holding none of them (an iterator of a corpus too
  large for memory will do). The plan depends on nothing but its arguments,
  so every process labeling the corpus computes (and may write) the same index.
  """
  if shard_size < 1:
    raise ValueError(f"shard_size must be >= 1, got {shard_size}")
  whole, parts, count = hashlib.sha256(), [], 0
  for text in texts:
    if count % shard_size == 0:
      parts.append(hashlib.sha256())
    _add_text(whole, text)
    _add_text(parts[-1], text)
    count += 1
  parts = parts or [hashlib.sha256()]  # No text: one empty shard.
  shards = [{"file": shard_file(k, len(parts)), "first_text": k * shard_size,
             "num_texts": min(count - k * shard_size, shard_size),
             "texts_sha256": part.hexdigest()} for k, part in enumerate(parts)]
  return {"format_version": FORMAT_VERSION, "layout": SHARDS_LAYOUT,
          "num_texts": count, "shard_size": shard_size, "num_shards": len(parts),
          "texts_sha256": whole.hexdigest(), "meta": dict(meta or {}), "shards": shards}


def write_json(path: str, value: dict) -> None:
  """Writes `value` as JSON to `path` atomically (a temporary, then a rename)."""
  temporary = f"{path}.tmp-{os.getpid()}"
  with open(temporary, "w", encoding="utf-8") as f:
    json.dump(value, f, indent=1, ensure_ascii=False)
    f.write("\n")
  os.replace(temporary, path)


def read_index(path: str) -> dict:
  """A shard index (`INDEX_FILE`), checked; ValueError naming the file."""
  try:
    with open(path, encoding="utf-8") as f:
      index = json.load(f)
  except json.JSONDecodeError as e:
    raise ValueError(f"{path}: not a teacher-logits shard index ({e.msg})") from None
  if not isinstance(index, dict) or index.get("layout") != SHARDS_LAYOUT:
    raise ValueError(f"{path}: not a teacher-logits shard index (no \"layout\": "
                     f"\"{SHARDS_LAYOUT}\")")
  if index.get("format_version") != FORMAT_VERSION:
    raise ValueError(f"{path}: format_version {index.get('format_version')!r} is not "
                     f"supported (this reader knows version {FORMAT_VERSION})")
  shards = index.get("shards")
  if not isinstance(shards, list) or not all(isinstance(s, dict) and "file" in s
                                              for s in shards):
    raise ValueError(f"{path}: 'shards' must be a list of {{\"file\": ...}} objects")
  return index


def _is_glob(path: str) -> bool:
  return any(c in path for c in "*?[")


def is_sharded(path: str | os.PathLike) -> bool:
  """Whether `path` names shards (a directory, its index, or a glob) rather
  than one file."""
  path = os.fspath(path)
  return os.path.isdir(path) or path.endswith(".json") or _is_glob(path)


def shard_paths(path: str | os.PathLike) -> list[str]:
  """The ``.npz`` files `path` names, in order: itself (a file), the shards a
  directory's `INDEX_FILE` (or an index file) lists, or a glob's matches
  (sorted). A shard the index lists but that is missing (labeling not
  finished) is an error naming how many are missing."""
  path = os.fspath(path)
  if _is_glob(path):
    paths = sorted(p for p in glob.glob(path) if os.path.isfile(p) and p.endswith(".npz"))
    if not paths:
      raise FileNotFoundError(f"{path}: no teacher-logits (.npz) files match")
    return paths
  index_path = os.path.join(path, INDEX_FILE) if os.path.isdir(path) else path
  if os.path.isdir(path) and not os.path.isfile(index_path):
    raise FileNotFoundError(f"{path}: a directory without {INDEX_FILE}: not teacher-logits "
                            "shards")
  if not index_path.endswith(".json"):
    if not os.path.isfile(path):
      raise FileNotFoundError(f"{path}: no such teacher-logits file")
    return [path]
  if not os.path.isfile(index_path):
    raise FileNotFoundError(f"{index_path}: no such teacher-logits shard index")
  index = read_index(index_path)
  directory = os.path.dirname(index_path)
  paths = [os.path.join(directory, s["file"]) for s in index["shards"]]
  missing = [p for p in paths if not os.path.isfile(p)]
  if missing:
    raise ValueError(f"{index_path}: {len(missing)} of {len(paths)} shards are not written "
                     f"yet, e.g. {os.path.basename(missing[0])} (finish `pqrnn-teacher "
                     "logits` on this directory)")
  return paths
