"""Python API of the PqrnnSequenceStringProjection op (custom_ops/README.md)."""
from __future__ import annotations

import functools
from typing import Any

from pqrnn_tf.ops import _libraries

OP_NAME = "PqrnnSequenceStringProjection"


@functools.lru_cache(maxsize=None)
def _defaults() -> tuple[tuple[str, Any], ...]:
  from tensorflow.python.framework import op_def_registry  # pylint: disable=g-import-not-at-top

  _libraries.tf_ops()
  op_def = op_def_registry.get(OP_NAME)
  defaults = {}
  for attr in op_def.attr:
    value = attr.default_value
    kind = value.WhichOneof("value")
    defaults[attr.name] = value.s.decode() if kind == "s" else getattr(value, kind)
  return tuple(defaults.items())


def projection_defaults() -> dict[str, Any]:
  """Attribute defaults, read from the registered op (declared once in C++)."""
  return dict(_defaults())


def sequence_string_projection(texts, **attributes):
  """Projects each sentence's tokens to hashed ternary features.

  Args:
    texts: string tensor `[batch]` of UTF-8 sentences.
    **attributes: op attributes (`feature_size`, `max_tokens`, `lowercase`,
      `separators`, `split_unsegmented_scripts`, `max_repeated_chars`,
      `add_bos`, `add_eos`, `char_ngram_size`, `distortion_probability`,
      `distortion_seed`); see `projection_defaults()` and custom_ops/README.md.

  Returns:
    `(features, sequence_length)`: float32 `[batch, max_len, feature_size]`
    and int32 `[batch]`.

  Raises:
    TypeError: an unknown attribute name.
    tf.errors.InvalidArgumentError: an invalid attribute value (the message
      names the attribute).
  """
  defaults = projection_defaults()
  unknown = set(attributes) - set(defaults)
  if unknown:
    raise TypeError(f"Unknown {OP_NAME} attribute(s): {sorted(unknown)}; "
                    f"valid: {sorted(defaults)}")
  # Passing every attribute explicitly halves the eager call overhead.
  return tuple(_libraries.tf_ops().pqrnn_sequence_string_projection(
      texts, **{**defaults, **attributes}))
