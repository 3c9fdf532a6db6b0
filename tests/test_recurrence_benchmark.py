"""pqrnn_tf.benchmarks.recurrence: the unrolled fixed-length variant equals the op model.

The exactness claim of the benchmark, on a tiny untrained model: with the same
weights, padding the projection to L steps and running fo-pooling as unrolled
builtin ops gives the op model's outputs, in TF and in float TFLite.
"""

import numpy as np
import pytest
import tensorflow as tf

from pqrnn_tf.benchmarks import recurrence
from pqrnn_tf.export import converter
from pqrnn_tf.layers.qrnn import QRNN
from pqrnn_tf.models import build_model

LENGTH = 8
TEXTS = ["book a flight to boston", "what is the fare", "hi", "",
         "show me all flights from denver to pittsburgh"]  # the last is exactly 8
LONG = "show me all flights from denver to pittsburgh tomorrow morning please"


@pytest.fixture(scope="module")
def models(tiny_config):
  # Random biases so that padded steps would show if they leaked in.
  config = tiny_config(encoder={"bias_initializer": "random_normal"})
  model = build_model(config, num_intents=5, num_tags=7)
  model(tf.constant(TEXTS))  # build
  return model, recurrence.fixed_length_model(model, LENGTH)


def assert_outputs_close(want: dict, got: dict, atol: float) -> None:
  np.testing.assert_allclose(got[converter.INTENT_PROBS], want[converter.INTENT_PROBS],
                             atol=atol)
  np.testing.assert_array_equal(got[converter.SEQUENCE_LENGTH],
                                want[converter.SEQUENCE_LENGTH])
  for a, b in zip(want[converter.SLOT_PROBS], got[converter.SLOT_PROBS]):
    np.testing.assert_allclose(b, a, atol=atol)


def test_fixed_length_model_is_unrolled_and_static(models):
  _, fixed = models
  qrnns = [l for l in fixed.layers if isinstance(l, QRNN)]
  assert len(qrnns) == 2 and all(l.implementation == "unrolled" for l in qrnns)
  assert fixed.get_layer("projection").length == LENGTH


def test_unrolled_equals_op_in_tf(models):
  model, fixed = models
  assert_outputs_close(recurrence.serve(model, TEXTS), recurrence.serve(fixed, TEXTS),
                       atol=1e-6)


def test_longer_sentences_are_cut_to_their_first_tokens(models):
  model, fixed = models
  cut = " ".join(LONG.split()[:LENGTH])
  assert_outputs_close(recurrence.serve(model, [cut]), recurrence.serve(fixed, [LONG]),
                       atol=1e-6)


def test_unrolled_equals_op_in_float_tflite(models, tmp_path):
  model, fixed = models
  paths = {}
  for name, keras_model in (("op", model), ("unrolled", fixed)):
    paths[name] = str(tmp_path / f"{name}.tflite")
    with open(paths[name], "wb") as f:
      f.write(converter.convert(keras_model, "none"))
  op_out = recurrence.tflite_serve(paths["op"], TEXTS)
  unrolled_out = recurrence.tflite_serve(paths["unrolled"], TEXTS)
  assert_outputs_close(op_out, unrolled_out, atol=1e-6)
  assert_outputs_close(recurrence.serve(model, TEXTS), unrolled_out, atol=1e-6)
  # The recurrence is builtin ops only: no custom fo-pooling, no loop.
  with open(paths["unrolled"], "rb") as f:
    ops = converter.op_counts(f.read())
  assert not {"PqrnnFoPooling", "PqrnnQrnnPooling", "WHILE"} & set(ops)
