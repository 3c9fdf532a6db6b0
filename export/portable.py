"""Keras pQRNN -> a portable TFLite model: builtin ops only, projection features in.

The string-in model (`converter.convert`) holds two custom ops, which the
stock runtimes cannot run (LiteRT in Play services, the Java `Interpreter`,
LiteRT.js, whole-graph delegates). The portable model leaves the projection to
the app (`pqrnn_tf.inference.projection`, `clients/java`, `clients/js`, all
implementations of custom_ops/README.md) and runs the rest in builtin ops: the
QRNN recurrence as a log-depth scan (`fo_pool_log_depth`), kept float in int8
models as the custom op is. Static shapes, for runtimes that refuse dynamic
ones: one signature per length bucket (`pqrnn_tf.inference.portable`), each
taking the valid length as an input, so padding never changes a result. The
buckets share their weights (the converter stores each constant once).
"""
from __future__ import annotations

import tempfile
from typing import Iterable, Sequence

import tensorflow as tf
import tf_keras as keras

from pqrnn_tf.export import converter
from pqrnn_tf.inference import portable
from pqrnn_tf.inference import projection as projection_lib
from pqrnn_tf.inference.signature import INTENT_PROBS, SLOT_PROBS
from pqrnn_tf.layers.projection import Projection
from pqrnn_tf.layers.qrnn import builtin_recurrence
from pqrnn_tf.models import INTENT_OUTPUT, SLOTS_OUTPUT


def projection_layer(model: keras.Model) -> Projection:
  """The model's projection layer; ExportError if it has none (a baseline)."""
  layers = [layer for layer in model.layers if isinstance(layer, Projection)]
  if len(layers) != 1:
    raise converter.ExportError(
        "--portable needs a pQRNN model (one projection layer, computed by the app); "
        f"this model has {len(layers)}")
  return layers[0]


def projection_settings(model: keras.Model) -> dict:
  """The inference attributes of the model's projection (no distortion)."""
  attributes = projection_layer(model).op_attributes(training=False)
  if attributes["max_tokens"] < 1:
    raise converter.ExportError(
        "--portable needs a token limit (projection max_tokens >= 1): its largest "
        "length bucket must hold every sentence")
  return {key: attributes[key] for key in projection_lib.settings_attributes()}


def portable_functions(model: keras.Model, buckets: Sequence[int]) -> dict:
  """{signature key: tf.function} of each bucket: features and lengths in,
  intent (and slot) probabilities out, computed by the model's layers after
  its projection with the QRNN recurrence in builtin ops."""
  projection = projection_layer(model)
  encoder = keras.Model(projection.output, model.output)
  feature_size = projection.feature_size
  with_slots = SLOTS_OUTPUT in model.output

  def bucket(length: int):

    @tf.function(input_signature=[
        tf.TensorSpec([1, length, feature_size], tf.float32, name=portable.FEATURES),
        tf.TensorSpec([1], tf.int32, name=portable.LENGTHS)])
    def serve(features, sequence_length):
      mask = tf.sequence_mask(sequence_length, length)
      with builtin_recurrence(encoder):
        logits = encoder(features, training=False, mask=mask)
      outputs = {INTENT_PROBS: tf.nn.softmax(logits[INTENT_OUTPUT])}
      if with_slots:
        outputs[SLOT_PROBS] = tf.nn.softmax(logits[SLOTS_OUTPUT])
      return outputs

    return serve

  return {portable.signature_key(length): bucket(length) for length in buckets}


def calibration_inputs(model: keras.Model, texts: Sequence[str],
                       buckets: Sequence[int]) -> Iterable[tuple[str, dict]]:
  """(signature key, inputs) for int8 calibration: every text in every bucket
  (cut to the bucket's length when longer), projected by the model's op."""
  projected = projection_layer(model)(tf.constant(list(texts)), training=False)
  lengths = tf.reduce_sum(tf.cast(projected._keras_mask, tf.int32), axis=1).numpy()  # pylint: disable=protected-access
  features = projected.numpy()
  for length in buckets:
    for row, rows in zip(features, lengths):
      padded, kept = portable.bucket_input(row, rows, length)
      yield portable.signature_key(length), {portable.FEATURES: padded,
                                             portable.LENGTHS: kept}


def convert_portable(model: keras.Model, quantization: str = "int8",
                     representative_texts: Sequence[str] | None = None,
                     buckets: Sequence[int] | None = None) -> tuple[bytes, dict]:
  """Converts `model` to a portable TFLite model.

  Args:
    model: a trained pQRNN over raw strings.
    quantization: as `converter.convert` ("int8" keeps the recurrence, the
      attention softmax and the output softmaxes float).
    representative_texts: calibration sentences, required for "int8".
    buckets: padded lengths (default `portable.bucket_lengths` of the
      model's row limit); the last must hold `max_tokens` + BOS + EOS rows.

  Returns:
    (the flatbuffer, without metadata; the `pqrnn_portable.json` settings
    that `metadata.add_metadata` packs into it).

  Raises:
    ExportError: the model has no projection or no token limit, or a
      bucket list that cannot hold every sentence.
  """
  if quantization not in converter.QUANTIZATIONS:
    raise ValueError(f"quantization must be one of {converter.QUANTIZATIONS}, "
                     f"got {quantization!r}")
  model = converter.with_token_dense(model)
  projection = projection_settings(model)
  rows = portable.max_rows(projection)
  buckets = sorted(set(buckets)) if buckets else portable.bucket_lengths(rows)
  if buckets[0] < 1 or buckets[-1] < rows:
    raise converter.ExportError(f"buckets {buckets} must be positive and reach {rows} "
                                f"rows (max_tokens + BOS + EOS)")
  functions = portable_functions(model, buckets)
  module = tf.Module()
  module.model = model
  with tempfile.TemporaryDirectory() as saved:
    # A SavedModel keeps one signature per bucket (concrete functions given
    # to the converter directly would share one signature name).
    tf.saved_model.save(module, saved, signatures={
        key: fn.get_concrete_function() for key, fn in functions.items()})
    tflite = tf.lite.TFLiteConverter.from_saved_model(saved, signature_keys=list(functions))
    representative = None
    if quantization == "int8":
      if not representative_texts:
        raise ValueError("int8 quantization needs representative_texts for calibration")

      def representative():
        return calibration_inputs(model, representative_texts, buckets)

    flatbuffer = converter.run_converter(tflite, quantization, representative)
  custom = custom_ops(flatbuffer)
  if custom:
    raise converter.ExportError(f"the portable model has custom ops {custom}; it "
                                f"must be builtin ops only")
  return flatbuffer, portable.settings(projection, buckets)


def custom_ops(flatbuffer: bytes) -> list[str]:
  """Names of the custom operator codes in a model (none in a portable one)."""
  from ai_edge_litert import schema_py_generated as schema  # pylint: disable=g-import-not-at-top
  model = schema.Model.GetRootAs(flatbuffer, 0)
  codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
  return sorted(code.CustomCode().decode("utf-8") for code in codes
                if code.CustomCode() is not None)

