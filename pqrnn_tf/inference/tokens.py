"""Where an exported model's tokens are in the original string.

The token boundaries themselves have one home, `pqrnn_tf.data.tokens.
Tokenization` (the projection op's rules, tested against the op); this module
finds the `Tokenization` an exported model was built with, from the
projection op's attributes inside the `.tflite` file.
"""
from __future__ import annotations

from flatbuffers import flexbuffers
from ai_edge_litert import schema_py_generated as tflite_schema

from pqrnn_tf.data.tokens import Tokenization
from pqrnn_tf.ops import PROJECTION_OP_NAME


def model_tokenization(flatbuffer: bytes) -> Tokenization | None:
  """The tokenization of the model's projection op, or None without one.

  The converter stores the op's attributes as its FlexBuffers custom options,
  e.g. `{"max_tokens": 512, "split_unsegmented_scripts": False, ...}`.

  Args:
    flatbuffer: the contents of a `.tflite` file.

  Returns:
    The `Tokenization` of the first `PqrnnSequenceStringProjection` op (a
    pQRNN has one), or None if the model has none (e.g. a baseline with its
    own tokenizer ops).
  """
  model = tflite_schema.Model.GetRootAs(flatbuffer, 0)
  codes = [model.OperatorCodes(i).CustomCode() for i in range(model.OperatorCodesLength())]
  for g in range(model.SubgraphsLength()):
    subgraph = model.Subgraphs(g)
    for i in range(subgraph.OperatorsLength()):
      op = subgraph.Operators(i)
      if codes[op.OpcodeIndex()] == PROJECTION_OP_NAME.encode():
        attributes = flexbuffers.Loads(op.CustomOptionsAsNumpy().tobytes())
        return Tokenization.from_projection(attributes)
  return None


def token_spans(text: str, tokenization: Tokenization | None = None
                ) -> list[tuple[int, int]]:
  """Character offsets of the tokens a model reads in `text`.

  Args:
    text: the original string.
    tokenization: the model's (`model_tokenization`); None: whitespace
      tokens, no limit (`Tokenization.words()`).

  Returns:
    One `(start, end)` per text token (BOS / EOS rows have no characters and
    are not included): `text[start:end]` is the token, `end` exclusive,
    offsets in code points (Python `str` indices).
  """
  return (tokenization or Tokenization.words()).spans(text)
