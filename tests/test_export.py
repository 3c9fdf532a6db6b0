"""Export: a small model, string in -> probabilities out, TF vs TFLite."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as schema  # pylint: disable=g-direct-tensorflow-import

from pqrnn_tf.data.examples import Example, LabelVocab
from pqrnn_tf.export import converter, verify
from pqrnn_tf.models import ModelConfig, build_model

@pytest.fixture(scope="module")
def model(tiny_config, texts):
  keras_model = build_model(tiny_config(), num_intents=5, num_tags=7)
  keras_model(tf.constant(texts))  # build
  return keras_model


def run(flatbuffer, tmp_path, texts):
  from pqrnn_tf import lite  # pylint: disable=g-import-not-at-top
  path = tmp_path / "model.tflite"
  path.write_bytes(flatbuffer)
  runner = lite.load_interpreter(str(path)).get_signature_runner()
  return runner(text=np.array([t.encode() for t in texts], dtype=object))


def test_float_export_matches_keras(model, tmp_path, texts):
  out = run(converter.convert(model, "none"), tmp_path, texts)
  module = converter.serving_module(model)  # tf.function holds self weakly
  want = module.serve(tf.constant(texts))
  np.testing.assert_array_equal(out["sequence_length"], [5, 4, 4, 7, 1, 0])
  for name in (converter.INTENT_PROBS, converter.SLOT_PROBS, converter.SEQUENCE_LENGTH):
    np.testing.assert_allclose(out[name], want[name].numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("quantization", ["int8", "dynamic", "float16"])
def test_quantized_exports_run_and_are_smaller(model, tmp_path, quantization, texts):
  float_size = len(converter.convert(model, "none"))
  flatbuffer = converter.convert(model, quantization, representative_texts=texts * 5)
  assert len(flatbuffer) < float_size
  ops = converter.op_counts(flatbuffer)
  assert ops["PqrnnSequenceStringProjection"] == 1 and ops["PqrnnQrnnPooling"] == 2
  out = run(flatbuffer, tmp_path, texts[:3])
  np.testing.assert_allclose(out[converter.INTENT_PROBS].sum(-1), 1.0, atol=0.02)
  if quantization == "int8":
    # Every builtin compute op is int8: FULLY_CONNECTED never sees float.
    assert ops["FULLY_CONNECTED"] >= 1 and ops["QUANTIZE"] >= 1


def test_int8_needs_calibration_data(model):
  with pytest.raises(ValueError, match="representative"):
    converter.convert(model, "int8")


def test_unsupported_tf_ops_are_refused(tmp_path):
  class Bad(tf.Module):

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def serve(self, text):
      return {"out": tf.strings.length(tf.strings.regex_replace(text, "a+", "b"))}

  module = Bad()
  conv = tf.lite.TFLiteConverter.from_concrete_functions(
      [module.serve.get_concrete_function()], module)
  conv.allow_custom_ops = True
  with pytest.raises(converter.ExportError, match="StaticRegexReplace|RegexReplace"):
    converter.check_custom_ops(conv.convert())


def test_verification_reports_agreement(model, tmp_path, texts):
  path = tmp_path / "model.tflite"
  path.write_bytes(converter.convert(model, "none"))
  intents = LabelVocab([f"i{k}" for k in range(5)])
  tags = LabelVocab(["O"] + [f"B-t{k}" for k in range(6)], fallback="O")
  examples = [Example(t, "i0", ("O",) * len(t.split())) for t in texts if t]
  report = verify.compare(model, str(path), examples, intents, tags)
  assert report["intent_agreement"] == 1.0 and report["tag_agreement"] == 1.0
  assert report["delta"]["intent_accuracy"] == 0.0


# The exported graph is what runs per sentence, op by op (docs/speed.md).
# 44: the attention pooling masks its scores with arithmetic (4 small ops more
# than two SELECTs), so that padding never reaches the int8 scores' range.
MAX_OPS = 44
# What Keras' Dense on [batch, time, features] (tensordot), Keras'
# LayerNormalization and slicing by a dynamic length bring into TFLite.
SHAPE_BOOKKEEPING = ("GATHER", "REDUCE_PROD", "PACK", "CONCATENATION", "FILL", "TRANSPOSE",
                     "RESHAPE", "SPLIT", "PAD")


def lean_model(normalization, texts):
  config = ModelConfig.from_dict({
      "model": "pqrnn", "projection": {"feature_size": 64, "char_ngram_size": 3},
      "bottleneck": {"units": 32, "normalization": normalization},
      "encoder": {"units": 16, "num_layers": 2}})
  keras_model = build_model(config, num_intents=5, num_tags=7)
  keras_model(tf.constant(texts))
  return keras_model


def quantize_round_trips(flatbuffer):
  """Tensors that a QUANTIZE turns back into what a DEQUANTIZE made, or the
  reverse: an int8 value made float only to be made int8 again."""
  from pqrnn_tf.benchmarks import op_profile  # pylint: disable=g-import-not-at-top
  model = op_profile.read_model(flatbuffer)
  graph = model.subgraphs[0]
  names = [op_profile.op_name(c) for c in model.operatorCodes]
  producer = {t: names[op.opcodeIndex] for op in graph.operators for t in op.outputs}
  pairs = {("QUANTIZE", "DEQUANTIZE"), ("DEQUANTIZE", "QUANTIZE")}
  return [graph.tensors[op.inputs[0]].name for op in graph.operators
          if (producer.get(op.inputs[0]), names[op.opcodeIndex]) in pairs]


@pytest.mark.parametrize("quantization", ["none", "dynamic", "int8"])
def test_preset_graph_is_lean(quantization, texts):
  from pqrnn_tf.models.config import load_preset  # pylint: disable=g-import-not-at-top
  normalization = load_preset("pqrnn_base").bottleneck["normalization"]
  flatbuffer = converter.convert(lean_model(normalization, texts), quantization,
                                 representative_texts=texts * 3)
  ops = converter.op_counts(flatbuffer)
  assert sum(ops.values()) <= MAX_OPS, ops
  assert not set(SHAPE_BOOKKEEPING) & set(ops), ops
  # One SHAPE and one STRIDED_SLICE: the time length of the sequence mask.
  assert ops["SHAPE"] <= 1 and ops["STRIDED_SLICE"] <= 1, ops
  # Each QRNN layer is one matrix product and the fused op.
  assert ops["PqrnnQrnnPooling"] == 2 and "PqrnnFoPooling" not in ops, ops


@pytest.mark.parametrize("normalization", ["batch", "layer"])
def test_int8_graph_quantizes_only_at_float_boundaries(normalization, texts):
  """QUANTIZE / DEQUANTIZE only where a float op meets int8 ones: after the
  projection, around each fused QRNN op, around the float attention
  softmax, and at the two float outputs; never a round trip."""
  flatbuffer = converter.convert(lean_model(normalization, texts), "int8",
                                 representative_texts=texts * 3)
  ops = converter.op_counts(flatbuffer)
  boundaries = 1 + 2 * ops["PqrnnQrnnPooling"] + 2 + 2
  assert ops["QUANTIZE"] + ops["DEQUANTIZE"] <= boundaries, ops
  assert not quantize_round_trips(flatbuffer)
  assert not set(SHAPE_BOOKKEEPING) & set(ops), ops


def test_int8_outputs_are_float_softmaxes(model, texts):
  """The output probabilities come from float SOFTMAX ops: TFLite's int8
  SOFTMAX rounds every probability to a multiple of 1/256 and is slower than
  the float one, and the outputs are float anyway."""
  from pqrnn_tf.benchmarks import op_profile  # pylint: disable=g-import-not-at-top
  flatbuffer = converter.convert(model, "int8", representative_texts=texts * 3)
  graph_model = op_profile.read_model(flatbuffer)
  graph = graph_model.subgraphs[0]
  names = [op_profile.op_name(c) for c in graph_model.operatorCodes]
  softmaxes = [op for op in graph.operators if names[op.opcodeIndex] == "SOFTMAX"]
  assert softmaxes
  for op in softmaxes:
    assert op.outputs[0] in graph.outputs
    for tensor in (op.inputs[0], op.outputs[0]):
      assert graph.tensors[tensor].type == schema.TensorType.FLOAT32, graph.tensors[tensor].name
