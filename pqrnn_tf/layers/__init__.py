"""Keras (tf_keras, Keras 2) layers of pQRNN models."""
from pqrnn_tf.layers.attention_pooling import AttentionPooling
from pqrnn_tf.layers.bottleneck import Bottleneck
from pqrnn_tf.layers.fo_pooling import fo_pool
from pqrnn_tf.layers.projection import Projection
from pqrnn_tf.layers.qrnn import QRNN

__all__ = [
    "AttentionPooling",
    "Bottleneck",
    "Projection",
    "QRNN",
    "fo_pool",
]
