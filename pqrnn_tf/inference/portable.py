"""Portable models: builtin ops only, the projection computed by the app (TF-free).

A portable model (`pqrnn-export --portable`; custom_ops/README.md, "Portable
models") takes the projection op's output instead of strings, so any stock
TFLite runtime runs it. It has one signature per length bucket,
`bucket_<T>`: `features` float32 `[1, T, feature_size]` and
`sequence_length` int32 `[1]` in, `intent_probs` and `slot_probs` out. The
projection settings, the bucket lengths and the projection spec's version are
the JSON file `pqrnn_portable.json` in the zip archive at the end of the
`.tflite` file, beside the label files.
"""
from __future__ import annotations

import io
import json
import zipfile
from typing import Any, Sequence

import numpy as np

from pqrnn_tf.inference.projection import SPEC_VERSION, settings_attributes

#: The settings file packed into the model.
SETTINGS_FILE = "pqrnn_portable.json"
#: Input names of every bucket signature.
FEATURES = "features"
LENGTHS = "sequence_length"
#: The shortest bucket; each next one doubles, up to the model's row limit.
SMALLEST_BUCKET = 16


class PortableModelError(ValueError):
  """A portable model's settings are missing or cannot be used."""


#: Bucket signatures are named this prefix and their length.
SIGNATURE_PREFIX = "bucket_"


def signature_key(length: int) -> str:
  """The signature of the bucket of padded length `length`."""
  return f"{SIGNATURE_PREFIX}{length}"


def max_rows(projection: dict[str, Any]) -> int:
  """The most rows the projection gives a sentence: `max_tokens` + BOS + EOS."""
  return (int(projection["max_tokens"]) + int(bool(projection["add_bos"]))
          + int(bool(projection["add_eos"])))


def bucket_lengths(rows: int, smallest: int = SMALLEST_BUCKET) -> list[int]:
  """Padded lengths 16, 32, 64, ... below `rows`, then `rows` itself, so that
  the last bucket fits every sentence and no bucket is longer than needed."""
  if rows < 1:
    raise ValueError(f"rows must be >= 1, got {rows}")
  lengths, length = [], smallest
  while length < rows:
    lengths.append(length)
    length *= 2
  return lengths + [rows]


def bucket_for(rows: int, buckets: Sequence[int]) -> int:
  """The smallest bucket length that holds `rows` rows."""
  for length in buckets:
    if rows <= length:
      return length
  raise ValueError(f"{rows} rows do not fit the largest bucket ({max(buckets)})")


def bucket_input(row: np.ndarray, rows: int, length: int) -> tuple[np.ndarray, np.ndarray]:
  """The `features` and `sequence_length` inputs of bucket `length` for one
  projected sentence (`row`: its projection rows, of which `rows` are valid):
  the valid rows, at most `length` of them, zero-padded to `[1, length, F]`,
  and their count `[1]`."""
  kept = min(int(rows), length)
  features = np.zeros((1, length, row.shape[-1]), np.float32)
  features[0, :kept] = row[:kept]
  return features, np.array([kept], np.int32)


def settings(projection: dict[str, Any], buckets: Sequence[int]) -> dict[str, Any]:
  """The contents of `pqrnn_portable.json`."""
  return {"spec_version": SPEC_VERSION,
          "projection": {key: projection[key] for key in settings_attributes()},
          "buckets": [int(b) for b in buckets]}


def read_settings(content: bytes, source: str = "model") -> dict[str, Any] | None:
  """The checked settings of a portable model's bytes, or None if the model
  is not portable (it packs no `pqrnn_portable.json`).

  Raises:
    PortableModelError: the file is there but unreadable, of an unknown spec
      version, or lacks a setting; the message names `source`.
  """
  try:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
      if SETTINGS_FILE not in archive.namelist():
        return None
      text = archive.read(SETTINGS_FILE).decode("utf-8")
  except zipfile.BadZipFile:
    return None
  try:
    values = json.loads(text)
  except (UnicodeDecodeError, json.JSONDecodeError) as e:
    raise PortableModelError(f"{source}: {SETTINGS_FILE} is not JSON ({e})") from None
  if not isinstance(values, dict):
    raise PortableModelError(f"{source}: {SETTINGS_FILE} is not a JSON object")
  version = values.get("spec_version")
  if version != SPEC_VERSION:
    raise PortableModelError(
        f"{source}: projection spec version {version!r} is not the one this runtime "
        f"implements ({SPEC_VERSION}); use a pqrnn_tf release that knows it")
  projection = values.get("projection")
  missing = [k for k in settings_attributes()
             if not isinstance(projection, dict) or k not in projection]
  if missing:
    raise PortableModelError(f"{source}: {SETTINGS_FILE} lacks the projection "
                             f"setting(s) {', '.join(missing)}")
  if not isinstance(projection["max_tokens"], int) or projection["max_tokens"] < 1:
    raise PortableModelError(f"{source}: {SETTINGS_FILE} max_tokens must be a positive "
                             f"int (a portable model has a largest bucket), got "
                             f"{projection['max_tokens']!r}")
  buckets = values.get("buckets")
  if (not isinstance(buckets, list) or not buckets
      or not all(isinstance(b, int) and b > 0 for b in buckets)
      or buckets != sorted(set(buckets)) or buckets[-1] < max_rows(projection)):
    raise PortableModelError(
        f"{source}: {SETTINGS_FILE} 'buckets' must be increasing positive lengths "
        f"up to at least {max_rows(projection)} rows, got {buckets!r}")
  return values
