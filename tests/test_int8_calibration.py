"""int8 calibration sees the real calibration sentences.

Regression test: the converter once fed calibration strings as numpy object
arrays, which TFLite's calibrator turned into (nearly) empty strings; every
activation range after the projection was then calibrated on one-token
inputs, and the int8 model disagreed with the float one. Here the activation
entering the output layer is the number of tokens (times a constant), so its
calibrated int8 range tells how long the sentences the calibrator saw were.
"""
import numpy as np
import tensorflow as tf
import tf_keras as keras
from tensorflow.lite.python import schema_py_generated as schema  # pylint: disable=g-direct-tensorflow-import

from pqrnn_tf.export import converter
from pqrnn_tf.layers import Projection
from pqrnn_tf.models import INTENT_OUTPUT

CALIBRATION = ["show me all flights from boston to denver on monday morning please "
               "and also the fares of each one", "what is the cheapest fare"] * 5


def token_count_model(feature_size: int = 16) -> keras.Model:
  texts = keras.Input(shape=(), dtype=tf.string, name="text")
  features = Projection(feature_size=feature_size)(texts)
  # Each token's features are ternary, so sum |x| over features ~ feature_size
  # * 2/3 per token: the sum over tokens grows with the sentence length.
  counts = keras.layers.Lambda(
      lambda x: tf.reduce_sum(tf.abs(x), axis=[1, 2])[:, None])(features)
  intent = keras.layers.Dense(2, name=INTENT_OUTPUT)(counts)
  return keras.Model(texts, {INTENT_OUTPUT: intent})


def fully_connected_input_range(flatbuffer: bytes) -> float:
  """max - min of the int8 input of the (only) FULLY_CONNECTED op."""
  model = schema.Model.GetRootAsModel(flatbuffer, 0)
  graph = model.Subgraphs(0)
  for i in range(graph.OperatorsLength()):
    op = graph.Operators(i)
    code = model.OperatorCodes(op.OpcodeIndex())
    if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == schema.BuiltinOperator.FULLY_CONNECTED:
      q = graph.Tensors(op.Inputs(0)).Quantization()
      return float(q.Scale(0)) * 255
  raise AssertionError("no FULLY_CONNECTED op in the model")


def test_calibration_range_covers_the_longest_sentence():
  model = token_count_model()
  sums = model.layers[2](model.layers[1](tf.constant(CALIBRATION))).numpy()
  assert sums.max() > 5 * sums.min() / 2  # The two sentences differ in length.
  calibrated = fully_connected_input_range(converter.convert(model, "int8", CALIBRATION))
  # Covers the longest sentence's sum (within rounding), and is not the range of
  # a one-token sentence (what the object-array bug made the calibrator see).
  np.testing.assert_allclose(calibrated, sums.max(), rtol=0.05)
