"""Keras model -> TFLite flatbuffer that takes raw strings."""
from __future__ import annotations

import contextlib
import io
from collections import Counter
from typing import Iterable, Sequence

import numpy as np
import tensorflow as tf
import tf_keras as keras
from tensorflow.lite.python import convert as tflite_convert  # pylint: disable=g-direct-tensorflow-import
from tensorflow.lite.python import schema_py_generated as schema  # pylint: disable=g-direct-tensorflow-import

from pqrnn_tf import lite, ops
from pqrnn_tf.layers.bidirectional_lstm import BidirectionalLSTM
from pqrnn_tf.layers.float_scope import FLOAT_SCOPE
from pqrnn_tf.layers.token_dense import TokenDense
from pqrnn_tf.keras_predictor import serving_outputs
# The signature's names live in a TF-free module, for predictors; re-exported here.
from pqrnn_tf.inference.signature import (INPUT_NAME, INTENT_PROBS,  # noqa: F401
                                          SEQUENCE_LENGTH, SLOT_PROBS)

QUANTIZATIONS = ("int8", "float16", "dynamic", "none")


class ExportError(RuntimeError):
  """The model cannot be exported as asked."""


def serving_module(model: keras.Model, batch_size: int | None = None) -> tf.Module:
  """Wraps `model` as string[batch] -> probabilities and sequence lengths.

  `batch_size` fixes the batch dimension of the signature (None: any).
  """

  class Serving(tf.Module):

    def __init__(self):
      super().__init__()
      self.model = model

    @tf.function(input_signature=[tf.TensorSpec([batch_size], tf.string, name=INPUT_NAME)])
    def serve(self, text):
      return serving_outputs(self.model(text, training=False))

  return Serving()


def with_token_dense(model: keras.Model) -> keras.Model:
  """`model`, or a copy (same weights) whose plain Dense layers are TokenDense.

  Models saved before the heads used TokenDense load their slot head as a
  Keras Dense, whose `tensordot` on `[batch, time, features]` costs eight
  shape ops around the FULLY_CONNECTED in TFLite; the copy computes the same
  function with one op.
  """
  if not any(type(layer) is keras.layers.Dense for layer in model.layers):  # pylint: disable=unidiomatic-typecheck
    return model

  def clone(layer):
    cls = TokenDense if type(layer) is keras.layers.Dense else layer.__class__  # pylint: disable=unidiomatic-typecheck
    return cls.from_config(layer.get_config())

  copy = keras.models.clone_model(model, clone_function=clone)
  for old, new in zip(model.layers, copy.layers):
    new.set_weights(old.get_weights())
  return copy


def export_batch_size(model: keras.Model) -> int | None:
  """The batch size an exported `model` takes: any (None), but 1 with LSTMs.

  The converter fuses a Keras LSTM into one UNIDIRECTIONAL_SEQUENCE_LSTM op
  only if its batch size is static; otherwise the LSTM becomes a while loop
  over TensorLists, which TFLite cannot convert. One sentence per invoke is
  how an app runs it anyway.
  """
  if any(isinstance(layer, BidirectionalLSTM) for layer in model.submodules):
    return 1
  return None


def op_counts(flatbuffer: bytes) -> Counter:
  """How often each op (builtin or custom name) occurs in the model."""
  buffer = io.StringIO()
  with contextlib.redirect_stdout(buffer):
    tf.lite.experimental.Analyzer.analyze(model_content=flatbuffer)
  names = [line.split("Op#")[1].split("(")[0].split(" ")[1]
           for line in buffer.getvalue().splitlines() if "Op#" in line]
  return Counter(names)


def check_custom_ops(flatbuffer: bytes) -> Counter:
  """Fails if the converter left a custom op that pqrnn_tf cannot run.

  `allow_custom_ops` (needed for our ops and tensorflow-text's tokenizer ops,
  both registered by `lite.load_interpreter`) also lets unsupported TF ops
  through as "custom ops", which would only fail on the device.
  """
  counts = op_counts(flatbuffer)
  builtin = {name for name in counts if name.isupper()}  # e.g. FULLY_CONNECTED
  unknown = sorted(set(counts) - builtin - set(ops.TFLITE_CUSTOM_OPS)
                   - set(lite.TFTEXT_CUSTOM_OPS))
  if unknown:
    raise ExportError(
        f"The converted model contains ops no TFLite runtime here can run: "
        f"{unknown}. Rewrite the TF code that produces them (see "
        f"custom_ops/README.md for the ops pqrnn_tf provides).")
  return counts


def convert(model: keras.Model, quantization: str = "int8",
            representative_texts: Sequence[str] | None = None) -> bytes:
  """Converts `model` (string in) to TFLite.

  Args:
    model: a trained model over raw strings.
    quantization: "int8" (full integer: every builtin compute op int8 but
      those of `float_nodes`; the custom ops float), "float16" (float16
      weights), "dynamic" (int8 weights, float activations), or "none".
    representative_texts: calibration sentences, required for "int8".

  Returns:
    The flatbuffer, with one signature `serving_default` (batch size: see
    `export_batch_size`).
  """
  if quantization not in QUANTIZATIONS:
    raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}")
  model = with_token_dense(model)
  module = serving_module(model, export_batch_size(model))
  converter = tf.lite.TFLiteConverter.from_concrete_functions(
      [module.serve.get_concrete_function()], module)
  converter.allow_custom_ops = True
  representative = None
  if quantization == "int8":
    if not representative_texts:
      raise ValueError("int8 quantization needs representative_texts for calibration")

    def representative() -> Iterable[dict]:
      for text in representative_texts:
        # numpy bytes ('S' dtype), not dtype=object: with object arrays the
        # calibrator sees (nearly) empty strings and every activation range
        # after the projection is calibrated on one-token inputs.
        yield {INPUT_NAME: np.array([text.encode("utf-8")])}

  # Calibration runs the model, so it needs our kernels.
  flatbuffer = run_converter(converter, quantization, representative,
                             custom_op_registerers=[ops.tflite_registerer,
                                                    *lite.tftext_registerers()])
  check_custom_ops(flatbuffer)
  return flatbuffer


def run_converter(converter: tf.lite.TFLiteConverter, quantization: str,
                  representative_dataset=None, custom_op_registerers=()) -> bytes:
  """Converts with the settings of `quantization` (one of QUANTIZATIONS).

  Args:
    converter: a converter of the model's signatures.
    quantization: as `convert`.
    representative_dataset: the calibration generator function, for "int8".
    custom_op_registerers: kernels calibration needs besides the builtins.

  Returns:
    The flatbuffer ("int8" through `quantize_int8`).
  """
  if quantization != "none":
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
  if quantization == "float16":
    converter.target_spec.supported_types = [tf.float16]
  if quantization != "int8":
    return converter.convert()
  if representative_dataset is None:
    raise ValueError("int8 quantization needs a representative dataset for calibration")
  converter.representative_dataset = representative_dataset
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
  if custom_op_registerers:
    converter.target_spec._experimental_custom_op_registerers = list(  # pylint: disable=protected-access
        custom_op_registerers)
  return quantize_int8(converter)


def float_nodes(flatbuffer: bytes) -> list[str]:
  """Output tensor names of the ops int8 keeps float: those built inside
  `FLOAT_SCOPE`, and the SOFTMAX ops that produce the model's outputs (the
  outputs are float anyway; TFLite's int8 SOFTMAX rounds each probability to
  a multiple of 1/256 and is slower than the float one)."""
  model = schema.Model.GetRootAsModel(flatbuffer, 0)
  names = []
  for g in range(model.SubgraphsLength()):
    graph = model.Subgraphs(g)
    outputs = set(graph.OutputsAsNumpy().tolist())
    for i in range(graph.OperatorsLength()):
      op = graph.Operators(i)
      code = model.OperatorCodes(op.OpcodeIndex())
      softmax = schema.BuiltinOperator.SOFTMAX in (code.BuiltinCode(),
                                                   code.DeprecatedBuiltinCode())
      for k in range(op.OutputsLength()):
        name = graph.Tensors(op.Outputs(k)).Name().decode("utf-8")
        if FLOAT_SCOPE in name or (softmax and op.Outputs(k) in outputs):
          names.append(name)
  return names


def quantize_int8(converter: tf.lite.TFLiteConverter) -> bytes:
  """Full-integer quantization that leaves the ops of `float_nodes` float.

  The converter's own int8 path quantizes every op it can; TFLite's selective
  quantization (what `tf.lite.experimental.QuantizationDebugger` does with
  `denylisted_nodes`) is calibration alone, then the MLIR quantizer with a
  deny list. The debugger itself is not used: it also builds an instrumented
  model that crashes on dynamic shapes.
  """
  converter._experimental_calibrate_only = True  # pylint: disable=protected-access
  calibrated = converter.convert()
  return tflite_convert.mlir_quantize(
      calibrated, disable_per_channel=converter._experimental_disable_per_channel,  # pylint: disable=protected-access
      denylisted_nodes=float_nodes(calibrated))
