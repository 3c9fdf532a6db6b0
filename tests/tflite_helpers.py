"""Builds small TFLite models around the projection op for tests."""
from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from pqrnn_tf import lite, ops


@functools.lru_cache(maxsize=None)
def cached_model_path(tmp_dir: str, key: tuple) -> str:
  path = f"{tmp_dir}/projection_{abs(hash(key))}.tflite"
  with open(path, "wb") as f:
    f.write(lite.projection_model(**dict(key)))
  return path


def run_tflite(interpreter, texts: list[bytes]):
  runner = interpreter.get_signature_runner()
  out = runner(text=np.array(texts, dtype=object))
  return out["features"], out["sequence_length"]


def run_tf(texts: list[bytes], **attributes):
  features, lengths = ops.sequence_string_projection(
      tf.constant(texts, dtype=tf.string), **attributes)
  return features.numpy(), lengths.numpy()


def load(path: str, runtime: str):
  return lite.load_interpreter(path, runtime=runtime)
