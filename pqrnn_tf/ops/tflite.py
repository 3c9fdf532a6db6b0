"""Registers the TFLite kernels of pqrnn_tf's custom ops with an interpreter."""
from __future__ import annotations

from pqrnn_tf.ops import _libraries

# Every custom op a pqrnn_tf model may contain; all are registered together.
TFLITE_CUSTOM_OPS = ("PqrnnSequenceStringProjection", "PqrnnFoPooling", "PqrnnQrnnPooling")


def tflite_registerer(resolver_address: int) -> None:
  """Registers pqrnn_tf's TFLite ops with a `tflite::MutableOpResolver`.

  Pass it as `custom_op_registerers=[tflite_registerer]` to
  `ai_edge_litert.interpreter.InterpreterWithCustomOps` or TF's
  `InterpreterWithCustomOps`, or in
  `converter.target_spec._experimental_custom_op_registerers` for int8
  calibration.
  """
  _libraries.tflite_ops().PqrnnRegisterTfLiteOps(
      resolver_address, _libraries.add_custom_address())
