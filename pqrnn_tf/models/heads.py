"""The task heads shared by every encoder: intent classification, slot tagging."""
from __future__ import annotations

import tf_keras as keras

from pqrnn_tf.layers.attention_pooling import AttentionPooling
from pqrnn_tf.layers.token_dense import TokenDense

INTENT_OUTPUT = "intent"
SLOTS_OUTPUT = "slots"


POOLINGS = ("attention", "mean")


def attach_heads(inputs, sequence, num_intents: int, num_tags: int,
                 dropout: float = 0.0, pooling: str = "attention",
                 name: str = "model") -> keras.Model:
  """Builds the model: intent logits, plus per-token slot logits if num_tags > 0.

  Args:
    inputs: the model's `keras.Input`.
    sequence: the encoder output, `[batch, time, dim]` with a Keras mask.
    num_intents: intent classes.
    num_tags: slot tags (0 = a classification-only model).
    dropout: dropout before each head.
    pooling: how the intent head summarizes the sequence: "attention"
      (learned weights) or "mean" (masked average).
    name: model name.

  Returns:
    A model whose outputs are a dict of logits: `intent` `[batch, num_intents]`
    and `slots` `[batch, time, num_tags]`.
  """
  if pooling not in POOLINGS:
    raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
  outputs = {}
  if pooling == "attention":
    pooled = AttentionPooling(name="intent_pooling")(sequence)
  else:
    pooled = keras.layers.GlobalAveragePooling1D(name="intent_pooling")(sequence)
  pooled = keras.layers.Dropout(dropout, name="intent_dropout")(pooled)
  outputs[INTENT_OUTPUT] = keras.layers.Dense(num_intents, name=INTENT_OUTPUT)(pooled)
  if num_tags > 0:
    tokens = keras.layers.Dropout(dropout, name="slots_dropout")(sequence)
    outputs[SLOTS_OUTPUT] = TokenDense(num_tags, name=SLOTS_OUTPUT)(tokens)
  return keras.Model(inputs, outputs, name=name)
