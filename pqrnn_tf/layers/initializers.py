"""Initializers and weight settings shared by the layers."""
from __future__ import annotations

import tf_keras as keras


def fresh_initializer(initializer) -> keras.initializers.Initializer:
  """A new instance of `initializer` (same class and config), one per weight.

  An unseeded instance returns the same values on every call (so a reused one
  would make e.g. a QRNN's forward and backward kernels equal), and Keras warns
  when a seeded one is reused.
  """
  return keras.initializers.get(keras.initializers.serialize(initializer))


def set_weight_settings(layer: keras.layers.Layer, kernel_initializer, bias_initializer,
                        kernel_regularizer, bias_regularizer) -> None:
  """Stores a layer's four weight settings on it (as `keras.*.get` resolves them)."""
  layer.kernel_initializer = keras.initializers.get(kernel_initializer)
  layer.bias_initializer = keras.initializers.get(bias_initializer)
  layer.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
  layer.bias_regularizer = keras.regularizers.get(bias_regularizer)


def weight_settings_config(layer: keras.layers.Layer) -> dict:
  """The four settings `set_weight_settings` stored, serialized for `get_config`."""
  return {
      "kernel_initializer": keras.initializers.serialize(layer.kernel_initializer),
      "bias_initializer": keras.initializers.serialize(layer.bias_initializer),
      "kernel_regularizer": keras.regularizers.serialize(layer.kernel_regularizer),
      "bias_regularizer": keras.regularizers.serialize(layer.bias_regularizer),
  }
