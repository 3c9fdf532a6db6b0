"""Multiply-accumulates per inference: counted from a TFLite interpreter, or
analytic for a BERT-style encoder.

Only matrix-product ops are counted (fully-connected, batched matmul,
convolutions, LSTM gates): element-wise ops, softmax, the projection op's
hashing and the QRNN's fo-pooling are cheap next to them and are not MACs.
A model whose main graph has control flow (WHILE, IF, CALL_ONCE, ...) runs
ops this counter cannot see, so its count is a lower bound and says so.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from math import prod
from typing import Mapping

# Ops that run other subgraphs: the ops inside them are not counted.
CONTROL_FLOW_OPS = frozenset({"WHILE", "IF", "CALL_ONCE", "CALL",
                              "STABLEHLO_WHILE", "STABLEHLO_CASE"})


@dataclasses.dataclass
class MacCount:
  """MACs of one inference; `lower_bound` when some ops could not be counted."""

  total: int = 0
  by_op: Counter = dataclasses.field(default_factory=Counter)
  uncounted_ops: tuple[str, ...] = ()

  @property
  def lower_bound(self) -> bool:
    return bool(self.uncounted_ops)


def _numel(shape) -> int:
  return int(prod(int(d) for d in shape))


def op_macs(name: str, inputs: list, outputs: list) -> int | None:
  """MACs of one op from its input/output shapes (None: not a MAC op).

  `inputs` / `outputs` are shapes (lists of ints), None for an absent
  optional input. Weight layouts are TFLite's.
  """
  if name == "FULLY_CONNECTED":
    # weights [units, depth]: every output element is a depth-long dot product.
    return _numel(outputs[0]) * int(inputs[1][-1])
  if name == "BATCH_MATMUL":
    # lhs holds M x K per batch entry (transposed or not), output M x N.
    lhs, out = inputs[0], outputs[0]
    k = int(lhs[-1]) * int(lhs[-2]) // max(int(out[-2]), 1)
    return _numel(out) * k
  if name in ("CONV_2D", "CONV_3D"):
    # filter [out_ch, kh, kw, in_ch] (2-D) or [kd, kh, kw, in_ch, out_ch] (3-D).
    filt = inputs[1]
    per_output = _numel(filt[1:]) if name == "CONV_2D" else _numel(filt[:-1])
    return _numel(outputs[0]) * per_output
  if name == "DEPTHWISE_CONV_2D":
    filt = inputs[1]  # [1, kh, kw, out_ch]
    return _numel(outputs[0]) * int(filt[1]) * int(filt[2])
  if name == "TRANSPOSE_CONV":
    filt = inputs[1]  # [out_ch, kh, kw, in_ch]; every input pixel scatters to all.
    return _numel(inputs[2]) * _numel(filt[:3])
  if name in ("UNIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_LSTM",
              "UNIDIRECTIONAL_SEQUENCE_RNN", "BIDIRECTIONAL_SEQUENCE_RNN"):
    # Every 2-D weight matrix [units, in] is applied once per (batch, step).
    x = inputs[0]
    steps = _numel(x[:-1])
    weights = [s for s in inputs[1:] if s is not None and len(s) == 2]
    return steps * sum(_numel(w) for w in weights)
  if name == "SVDF":
    return _numel(inputs[0][:-1]) * _numel(inputs[1])
  return None


def count_tflite(interpreter) -> MacCount:
  """MACs of the interpreter's last invoke (tensor shapes are the invoked ones).

  Uses the interpreter's experimental `_get_ops_details`, the only Python view
  of its ops (main subgraph only).
  """
  shapes: Mapping[int, list] = {
      d["index"]: [int(x) for x in d["shape"]] for d in interpreter.get_tensor_details()}
  count = MacCount()
  uncounted = set()
  for op in interpreter._get_ops_details():  # pylint: disable=protected-access
    name = op["op_name"]
    if name in CONTROL_FLOW_OPS:
      uncounted.add(name)
      continue
    inputs = [shapes.get(int(i)) if int(i) >= 0 else None for i in op["inputs"]]
    outputs = [shapes.get(int(i)) for i in op["outputs"]]
    macs = op_macs(name, inputs, outputs)
    if macs:
      count.by_op[name] += macs
      count.total += macs
  count.uncounted_ops = tuple(sorted(uncounted))
  return count


def transformer_macs(num_layers: int, hidden: int, intermediate: int, seq_len: int,
                     num_intents: int = 0, num_tags: int = 0) -> int:
  """MACs of a BERT-style encoder (plus linear heads) on one sequence.

  Per layer: Q, K, V and output projections (4 L H^2), attention scores and
  weighted values (2 L^2 H), and the feed-forward block (2 L H I). Embedding
  look-ups, layer norms and softmax are not MACs. Heads: one intent
  classifier on the pooled vector, one tag classifier per token.
  """
  per_layer = 4 * seq_len * hidden * hidden + 2 * seq_len * seq_len * hidden
  per_layer += 2 * seq_len * hidden * intermediate
  return num_layers * per_layer + hidden * num_intents + seq_len * hidden * num_tags
