"""pqrnn_tf custom ops: the TF op wrappers and the TFLite registerer.

Importing this package does not import TensorFlow (apps running LiteRT alone
only need `tflite_registerer`); the TF wrappers load it on first use.
"""
from pqrnn_tf.ops.projection import OP_NAME as PROJECTION_OP_NAME
from pqrnn_tf.ops.projection import projection_defaults
from pqrnn_tf.ops.projection import sequence_string_projection
from pqrnn_tf.ops.tflite import TFLITE_CUSTOM_OPS
from pqrnn_tf.ops.tflite import tflite_registerer

FO_POOLING_OP_NAME = "PqrnnFoPooling"
QRNN_POOLING_OP_NAME = "PqrnnQrnnPooling"


def fo_pooling(u, f, sequence_length, reverse: bool = False):
  """QRNN fo-pooling; see `pqrnn_tf.ops.pooling.fo_pooling`."""
  from pqrnn_tf.ops import pooling  # pylint: disable=g-import-not-at-top
  return pooling.fo_pooling(u, f, sequence_length, reverse=reverse)


def qrnn_pooling(taps, sequence_length, kernel_width: int = 2, bidirectional: bool = True):
  """A QRNN layer after its matrix product; see `pqrnn_tf.ops.pooling.qrnn_pooling`."""
  from pqrnn_tf.ops import pooling  # pylint: disable=g-import-not-at-top
  return pooling.qrnn_pooling(taps, sequence_length, kernel_width=kernel_width,
                              bidirectional=bidirectional)

__all__ = [
    "FO_POOLING_OP_NAME",
    "fo_pooling",
    "QRNN_POOLING_OP_NAME",
    "qrnn_pooling",
    "PROJECTION_OP_NAME",
    "TFLITE_CUSTOM_OPS",
    "projection_defaults",
    "sequence_string_projection",
    "tflite_registerer",
]
