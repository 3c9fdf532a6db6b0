"""Export of the baselines: string in -> probabilities out, TF vs TFLite.

A tiny LSTM (word vocabulary) and a tiny Transformer are converted like
`pqrnn-export` does and run in LiteRT, tokenization included.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from pqrnn_tf import lite
from pqrnn_tf.export import converter
from pqrnn_tf.models import build_model, load_preset

TRAIN_TEXTS = ["book a flight to boston", "show flights from denver to boston",
               "what is the fare to Boston", "list ground transportation in denver"]
# Unseen words, case, an empty sentence: the tokenizer runs in TFLite too.
TEXTS = ["Book a flight to BOSTON", "hi", "", "flights from denver to boston "
         "on monday morning to see the ground transportation in boston"]
SMALL = {
    "lstm_vocab": {"encoder": {"units": 8, "num_layers": 1},
                   "projection": {"tokenizer": "word_vocab",
                                  "embedding_dim": 16}},
    "transformer_base": {"encoder": {"hidden_dim": 16, "num_layers": 2,
                                     "num_heads": 2, "intermediate_dim": 32,
                                     "max_length": 8}},
}
# Each model is converted once (an LSTM conversion takes tens of seconds):
# the LSTM as int8, whose fused LSTM op is the one at risk, the Transformer
# as float, compared exactly.
EXPORTS = [("lstm_vocab", "int8"), ("transformer_base", "none")]
TOLERANCE = {"int8": 0.05, "none": 1e-5}


@pytest.fixture(scope="module", params=EXPORTS, ids=[p for p, _ in EXPORTS])
def exported(request, tmp_path_factory):
  """(Keras model, quantization, path of its TFLite export)."""
  preset, quantization = request.param
  config = dataclasses.replace(load_preset(preset), **SMALL[preset])
  keras.utils.set_random_seed(0)
  model = build_model(config, num_intents=3, num_tags=5, train_texts=TRAIN_TEXTS)
  path = tmp_path_factory.mktemp(preset) / "model.tflite"
  path.write_bytes(converter.convert(model, quantization, TRAIN_TEXTS * 5))
  return model, quantization, str(path)


def test_export_matches_keras_one_sentence_per_invoke(exported):
  model, quantization, path = exported
  runner = lite.load_interpreter(path).get_signature_runner()
  module = converter.serving_module(model)
  for text in TEXTS:
    out = runner(text=np.array([text.encode()], dtype=object))
    want = module.serve(tf.constant([text]))
    assert out[converter.SEQUENCE_LENGTH].tolist() == [len(text.split())]
    for name in (converter.INTENT_PROBS, converter.SLOT_PROBS):
      np.testing.assert_allclose(out[name], want[name].numpy(),
                                 atol=TOLERANCE[quantization])


def test_export_ops(exported):
  model, quantization, path = exported
  with open(path, "rb") as f:
    ops = converter.check_custom_ops(f.read())
  assert ops["TFText>WhitespaceTokenizeWithOffsetsV2"] == 1
  assert ops["FastWordpieceTokenizeWithOffsets"] == 1  # The word lookup.
  assert "WHILE" not in ops
  if converter.export_batch_size(model) == 1:
    assert ops["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 2  # Forward and backward.
  if quantization == "int8":
    interpreter = lite.load_interpreter(path)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    for op in interpreter._get_ops_details():  # pylint: disable=protected-access
      if op["op_name"] in ("UNIDIRECTIONAL_SEQUENCE_LSTM", "FULLY_CONNECTED"):
        # int8 input and weights (an LSTM's cell state is int16).
        assert all(tensors[i]["dtype"] == np.int8 for i in op["inputs"][:2])
