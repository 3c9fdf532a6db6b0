"""The pQRNN projection without TensorFlow, for portable models.

A portable model (custom_ops/README.md, "Portable models") reads what the
`PqrnnSequenceStringProjection` op outputs; the app computes that itself.
`Projector` does it in Python through the C API of the same C++ core the TF
and TFLite ops run (custom_ops/c/projection_c_api.h, built by setup.py as
pqrnn_tf/ops/_pqrnn_projection.so), so its output equals the op's bit for bit.

    projector = Projector(feature_size=512, char_ngram_size=3, max_tokens=512,
                          split_unsegmented_scripts=False)
    features, lengths = projector.project(["book a flight", b"raw \\xff bytes"])

Speed (pqrnn_base settings: feature_size 512, char_ngram_size 3, max_tokens
512, split_unsegmented_scripts false; 16-token ASCII sentences, one thread on
a 2-core VM at load 8; `python -m pqrnn_tf.inference.projection`, best of 5):
12 µs per sentence at batch 1, 11-20 µs per sentence at batch 32 (its 1 MB
output array is fresh memory each call). About 5-10 µs of a batch-1 call is
Python and ctypes overhead.

Threads: a `Projector` may be shared by threads. Each thread keeps its own
scratch storage, and the C calls release the GIL, so threads project at once.
With distortion (training only), every `project` call counts as one execution
of the op, in the order calls reach the C++ core.
"""
from __future__ import annotations

import ctypes
import functools
import itertools
import json
import struct
import threading
import time
from typing import Any, Mapping, Sequence, Union

import numpy as np

from pqrnn_tf.cli_errors import UserError
from pqrnn_tf.ops import _libraries

#: The spec version this implementation follows (custom_ops/README.md).
SPEC_VERSION = 1
#: Attributes only training uses; a portable model's settings leave them out.
TRAINING_ONLY_ATTRIBUTES = ("distortion_probability", "distortion_seed")

Text = Union[str, bytes]
_ERROR_CAPACITY = 1024


@functools.lru_cache(maxsize=None)
def attribute_table() -> dict[str, tuple[str, Any]]:
  """{name: (type, default)} of every attribute of the op, read from the C++
  table (core/projection_config.h); type is int32, int64, bool, float or string."""
  table = json.loads(_libraries.projection_library().PqrnnProjectionAttributes())
  return {name: (kind, default) for name, kind, default in table}


def settings_attributes() -> list[str]:
  """The attributes a portable model's `projection` settings hold (all but
  the training-only ones), in the table's order."""
  return [name for name in attribute_table() if name not in TRAINING_ONLY_ATTRIBUTES]


def _checked_value(name: str, kind: str, value: Any, where: str) -> Any:
  """`value` as the Python type of `kind`, or a UserError naming `name`."""
  is_bool = isinstance(value, (bool, np.bool_))
  if kind in ("int32", "int64") and isinstance(value, (int, np.integer)) and not is_bool:
    value = int(value)
    bits = 31 if kind == "int32" else 63
    if -2**bits <= value < 2**bits:
      return value
    raise UserError(f"{where}: attribute '{name}' does not fit in {bits + 1} bits: {value}")
  if kind == "bool" and is_bool:
    return bool(value)
  if kind == "float" and isinstance(value, (int, float, np.integer, np.floating)) and not is_bool:
    return float(value)
  if kind == "string" and isinstance(value, str):
    return value
  wanted = {"int32": "an integer", "int64": "an integer", "bool": "true or false",
            "float": "a number", "string": "a string"}[kind]
  raise UserError(f"{where}: attribute '{name}' must be {wanted}, got {value!r}")


class _Scratch:
  """One thread's tokenized-batch storage in the C library."""

  def __init__(self, lib: ctypes.CDLL):
    self._lib = lib
    self.handle = lib.PqrnnTokenizedBatchCreate()

  def __del__(self):
    self._lib.PqrnnTokenizedBatchDestroy(self.handle)


def _buffer(array: np.ndarray):
  """A ctypes view of a non-empty array's memory, for a POINTER(c_char) argument."""
  return ctypes.byref(ctypes.c_char.from_buffer(array))


class Projector:
  """The projection op's output for texts, computed by the C++ core."""

  def __init__(self, *, where: str = "Projector", **attributes: Any):
    """Validates `attributes` (the op's, custom_ops/README.md; missing ones
    take the table's defaults) and creates the projector.

    Args:
      where: what the attributes came from, for error messages.
      **attributes: feature_size, max_tokens, lowercase, separators,
        split_unsegmented_scripts, max_repeated_chars, add_bos, add_eos,
        char_ngram_size, distortion_probability, distortion_seed.

    Raises:
      UserError: an unknown attribute, a value of the wrong type, or an
        invalid value (the message names the attribute).
    """
    table = attribute_table()
    unknown = sorted(set(attributes) - set(table))
    if unknown:
      raise UserError(f"{where}: unknown projection attribute(s) {unknown}; "
                      f"valid: {sorted(table)}")
    values = {name: default for name, (_, default) in table.items()}
    for name, value in attributes.items():
      values[name] = _checked_value(name, table[name][0], value, where)
    self._lib = lib = _libraries.projection_library()
    error = ctypes.create_string_buffer(_ERROR_CAPACITY)
    config = lib.PqrnnProjectionConfigCreate()
    try:
      for name, value in values.items():
        kind, key = table[name][0], name.encode()
        if kind == "string":
          data = value.encode("utf-8", "surrogatepass")
          status = lib.PqrnnProjectionConfigSetString(config, key, data, len(data), error,
                                                      _ERROR_CAPACITY)
        elif kind == "bool":
          status = lib.PqrnnProjectionConfigSetBool(config, key, value, error, _ERROR_CAPACITY)
        elif kind == "float":
          status = lib.PqrnnProjectionConfigSetFloat(config, key, value, error, _ERROR_CAPACITY)
        else:
          status = lib.PqrnnProjectionConfigSetInt(config, key, value, error, _ERROR_CAPACITY)
        if status != 0:
          raise UserError(f"{where}: {error.value.decode('utf-8', 'replace')}")
      handle = lib.PqrnnProjectorCreate(config, error, _ERROR_CAPACITY)
    finally:
      lib.PqrnnProjectionConfigDestroy(config)
    if not handle:
      raise UserError(f"{where}: {error.value.decode('utf-8', 'replace')}")
    self._handle = handle
    self._attributes = values
    self._feature_size = values["feature_size"]
    self._text_rows_offset = int(values["add_bos"])
    self._extra_rows = int(values["add_bos"]) + int(values["add_eos"])
    self._local = threading.local()

  @classmethod
  def from_settings(cls, settings: Any, *, where: str = "projection",
                    fill_defaults: bool = False) -> Projector:
    """The projector of a portable model's `projection` settings object.

    Args:
      settings: a JSON object (dict) with every attribute of
        `settings_attributes()` (the training-only ones are refused).
      where: what the settings came from, for error messages (e.g.
        "model.tflite: pqrnn_portable.json: projection").
      fill_defaults: missing attributes take their defaults (the conformance
        command's settings files) instead of being an error.
    """
    if not isinstance(settings, Mapping):
      raise UserError(f"{where}: must be a JSON object, got {type(settings).__name__}")
    allowed = settings_attributes()
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
      raise UserError(f"{where}: unknown attribute(s) {unknown}; valid: {allowed}")
    missing = [name for name in allowed if name not in settings]
    if missing and not fill_defaults:
      raise UserError(f"{where}: missing attribute(s) {missing}")
    return cls(where=where, **settings)

  def __del__(self):
    handle = getattr(self, "_handle", None)
    if handle:
      self._lib.PqrnnProjectorDestroy(handle)
      self._handle = None

  @property
  def attributes(self) -> dict[str, Any]:
    """Every attribute's value (defaults filled in)."""
    return dict(self._attributes)

  @property
  def feature_size(self) -> int:
    return self._feature_size

  def _scratch(self) -> _Scratch:
    scratch = getattr(self._local, "scratch", None)
    if scratch is None:
      scratch = self._local.scratch = _Scratch(self._lib)
    return scratch

  def _tokenize(self, texts: Sequence[Text], record_spans: bool):
    """Steps 1-4: (scratch, max_len, lengths) of the batch."""
    if isinstance(texts, (str, bytes)):
      raise TypeError("texts must be a sequence of str or bytes, not a single "
                      f"{type(texts).__name__}")
    encoded = [t.encode("utf-8", "surrogatepass") if isinstance(t, str) else bytes(t)
               for t in texts]
    batch = len(encoded)
    scratch = self._scratch()
    if not batch:  # No C call: it would get no buffer to write to.
      return scratch, 1, np.zeros(0, np.int32)
    data = b"".join(encoded)
    offsets = struct.pack(f"={batch + 1}q", 0, *itertools.accumulate(map(len, encoded)))
    lengths = np.empty(batch, np.int32)
    max_len = self._lib.PqrnnProjectorTokenize(
        self._handle, data, offsets, batch, int(record_spans), scratch.handle,
        _buffer(lengths))
    return scratch, max_len, lengths

  def _project(self, scratch: _Scratch, batch: int, max_len: int) -> np.ndarray:
    features = np.empty((batch, max_len, self._feature_size), np.float32)
    if batch:
      self._lib.PqrnnProjectorProject(self._handle, scratch.handle, _buffer(features))
    return features

  def project(self, texts: Sequence[Text]) -> tuple[np.ndarray, np.ndarray]:
    """The op's outputs for a batch of texts.

    Args:
      texts: str (encoded as UTF-8; a lone surrogate becomes bytes that are
        not UTF-8, each read as U+FFFD) or bytes (any bytes).

    Returns:
      `(features, lengths)`: float32 `[batch, max_len, feature_size]` with
      max_len = max(lengths) but at least 1 and zero rows past each length,
      and int32 `[batch]` (rows per text, BOS/EOS included).
    """
    scratch, max_len, lengths = self._tokenize(texts, record_spans=False)
    return self._project(scratch, len(lengths), max_len), lengths

  def project_with_spans(self, texts: Sequence[Text]
                         ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """`project(texts)` and, per text, its text tokens' `[start, end)` byte
    offsets (int64 `[tokens, 2]`; in the UTF-8 encoding for a str). Text
    token k is row k + add_bos; a span covers every input code point of the
    token (repeats that max_repeated_chars dropped included)."""
    scratch, max_len, lengths = self._tokenize(texts, record_spans=True)
    features = self._project(scratch, len(lengths), max_len)
    total = self._lib.PqrnnTokenizedBatchNumTokens(scratch.handle) if len(lengths) else 0
    flat = np.empty((total, 2), np.int64)
    error = ctypes.create_string_buffer(_ERROR_CAPACITY)
    if total and self._lib.PqrnnTokenizedBatchSpans(scratch.handle, _buffer(flat), error,
                                                    _ERROR_CAPACITY) != 0:
      raise RuntimeError(error.value.decode("utf-8", "replace"))
    counts = lengths.astype(np.int64) - self._extra_rows
    spans = np.split(flat, np.cumsum(counts)[:-1]) if len(counts) else []
    return features, lengths, spans


def _benchmark() -> None:
  """Prints µs per sentence of the pqrnn_base settings at batch 1 and 32."""
  projector = Projector(feature_size=512, char_ngram_size=3, max_tokens=512,
                        split_unsegmented_scripts=False)
  rng = np.random.default_rng(0)
  words = ["flights", "from", "boston", "to", "denver", "on", "monday", "morning",
           "show", "me", "the", "cheapest", "fare", "with", "a", "stop", "in", "dallas"]
  sentences = [" ".join(rng.choice(words, 16)) for _ in range(256)]
  for batch in (1, 32):
    batches = [sentences[i:i + batch] for i in range(0, len(sentences), batch)]
    best = float("inf")
    for _ in range(5):
      start = time.perf_counter()
      for texts in batches * max(1, 64 // len(batches)):
        projector.project(texts)
      runs = len(batches) * max(1, 64 // len(batches))
      best = min(best, (time.perf_counter() - start) / (runs * batch))
    print(f"batch {batch}: {best * 1e6:.1f} µs per 16-token sentence")


if __name__ == "__main__":
  _benchmark()
