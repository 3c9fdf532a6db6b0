"""A large int8 fully-connected TFLite model: the peak int8 rate of one core.

Square `units` x `units` layers at a batch big enough that LiteRT's int8
matrix kernels run at full speed; input and output are int8 too, so the model
is nothing but FULLY_CONNECTED ops. Timed like the other models (LiteRT, one
thread), its MACs / p50 is the ceiling the text models are compared with.
"""
from __future__ import annotations

import numpy as np


def fc_macs(layers: int, units: int, batch: int) -> int:
  """Analytic MACs of `fc_int8_model(layers, units, batch)`."""
  return layers * batch * units * units


def fc_int8_model(layers: int, units: int, batch: int, seed: int = 0) -> bytes:
  """A full-integer int8 TFLite model of `layers` fully-connected layers."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(seed)
  weights = [tf.constant((rng.standard_normal((units, units)) / np.sqrt(units))
                         .astype(np.float32)) for _ in range(layers)]

  @tf.function(input_signature=[tf.TensorSpec([batch, units], tf.float32)])
  def serve(x):
    for w in weights:
      x = tf.nn.relu(tf.matmul(x, w))
    return x

  def representative():
    for _ in range(8):
      yield [rng.standard_normal((batch, units)).astype(np.float32)]

  converter = tf.lite.TFLiteConverter.from_concrete_functions(
      [serve.get_concrete_function()])
  converter.optimizations = [tf.lite.Optimize.DEFAULT]
  converter.representative_dataset = representative
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
  converter.inference_input_type = tf.int8
  converter.inference_output_type = tf.int8
  return converter.convert()
