"""Initializers shared by the layers."""
from __future__ import annotations

import tf_keras as keras


def fresh_initializer(initializer) -> keras.initializers.Initializer:
  """A new instance of `initializer` (same class and config), one per weight.

  An unseeded instance returns the same values on every call (so a reused one
  would make e.g. a QRNN's forward and backward kernels equal), and Keras warns
  when a seeded one is reused.
  """
  return keras.initializers.get(keras.initializers.serialize(initializer))
