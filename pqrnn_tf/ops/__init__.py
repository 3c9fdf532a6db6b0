"""pqrnn_tf custom ops: the TF op wrappers and the TFLite registerer."""
from pqrnn_tf.ops.projection import OP_NAME as PROJECTION_OP_NAME
from pqrnn_tf.ops.projection import projection_defaults
from pqrnn_tf.ops.projection import sequence_string_projection
from pqrnn_tf.ops.tflite import TFLITE_CUSTOM_OPS
from pqrnn_tf.ops.tflite import tflite_registerer

__all__ = [
    "PROJECTION_OP_NAME",
    "TFLITE_CUSTOM_OPS",
    "projection_defaults",
    "sequence_string_projection",
    "tflite_registerer",
]
