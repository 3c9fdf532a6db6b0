"""Where a TFLite model's time goes: its ops by type, and time per op type.

LiteRT's Python API has no op profiler, so the time of each op type is
measured by isolation:

1. The model runs once undelegated with every intermediate tensor kept, on a
   real sentence; that gives each op's invoked input values and shapes.
2. For each op type, a new flatbuffer holds just that model's ops of that
   type, each one standalone: its non-constant inputs become model inputs
   (set once, to the captured values, with the invoked static shapes), its
   constant inputs and options are copied, and its outputs are model outputs.
3. Each such model is invoked like the real one (LiteRT, XNNPACK, one thread)
   and its p50 invoke time, minus the p50 invoke time of a model with no ops,
   is the op type's time.

The per-type times add up to about the model's own invoke time; what they do
not show is the cost between ops (XNNPACK partition boundaries, the inputs of
a partition being repacked, dynamic resizes), which is reported as the
remainder against the whole model's invoke time measured in the same process.
"""
from __future__ import annotations

import tempfile
import time
from collections import Counter
from typing import Mapping, Sequence

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

_BUILTIN_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items()
                  if not k.startswith("_")}


def op_name(code: "schema.OperatorCodeT") -> str:
  """An operator code's name: the builtin's name or the custom op's name."""
  builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
  if builtin == schema.BuiltinOperator.CUSTOM:
    return code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode
  return _BUILTIN_NAMES.get(builtin, str(builtin))


def read_model(flatbuffer: bytes) -> "schema.ModelT":
  return schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)


def op_names(flatbuffer: bytes) -> list[str]:
  """The main subgraph's ops, in order, by name."""
  model = read_model(flatbuffer)
  names = [op_name(c) for c in model.operatorCodes]
  return [names[op.opcodeIndex] for op in model.subgraphs[0].operators or []]


def op_counts(flatbuffer: bytes) -> Counter:
  """How often each op type occurs in the main subgraph."""
  return Counter(op_names(flatbuffer))


def _pack(model: "schema.ModelT") -> bytes:
  builder = flatbuffers.Builder(1024)
  builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
  return bytes(builder.Output())


def _has_data(model: "schema.ModelT", tensor: "schema.TensorT") -> bool:
  buffer = model.buffers[tensor.buffer] if tensor.buffer < len(model.buffers) else None
  return buffer is not None and buffer.data is not None and len(buffer.data) > 0


def isolated_model(flatbuffer: bytes, op_indices: Sequence[int],
                   shapes: Mapping[int, Sequence[int]]) -> tuple[bytes, list[int]]:
  """A model of the ops `op_indices` of the main subgraph, each standalone.

  Returns the flatbuffer and, for each of its inputs in order, the index of
  the original tensor whose value it takes. `shapes` are the invoked shapes
  of the original tensors.
  """
  model = read_model(flatbuffer)
  graph = model.subgraphs[0]
  tensors, inputs, outputs, sources, operators = [], [], [], [], []

  def copy_tensor(index: int, constant: bool) -> int:
    original = graph.tensors[index]
    tensor = schema.TensorT()
    tensor.name = original.name
    tensor.type = original.type
    tensor.quantization = original.quantization
    if constant:
      tensor.shape = original.shape
      tensor.shapeSignature = original.shapeSignature
      tensor.buffer = original.buffer
    else:
      tensor.shape = np.array(list(shapes[index]), dtype=np.int32)
      tensor.buffer = 0
    tensors.append(tensor)
    return len(tensors) - 1

  for i in op_indices:
    original = graph.operators[i]
    op = schema.OperatorT()
    for field in ("opcodeIndex", "builtinOptionsType", "builtinOptions", "customOptions",
                  "customOptionsFormat", "builtinOptions2Type", "builtinOptions2"):
      if hasattr(original, field):
        setattr(op, field, getattr(original, field))
    op_inputs = []
    for t in original.inputs:
      if t < 0:
        op_inputs.append(t)
      elif _has_data(model, graph.tensors[t]):
        op_inputs.append(copy_tensor(t, constant=True))
      else:
        op_inputs.append(copy_tensor(t, constant=False))
        inputs.append(op_inputs[-1])
        sources.append(int(t))
    op.inputs = op_inputs
    op.outputs = [copy_tensor(t, constant=False) for t in original.outputs]
    outputs.extend(op.outputs)
    operators.append(op)
  subgraph = schema.SubGraphT()
  subgraph.tensors, subgraph.operators = tensors, operators
  subgraph.inputs, subgraph.outputs = inputs, outputs
  subgraph.name = "isolated"
  model.subgraphs = [subgraph]
  model.signatureDefs = []
  model.metadata = [m for m in (model.metadata or []) if m.name == b"min_runtime_version"]
  return _pack(model), sources


def empty_model() -> bytes:
  """A model with one float input that is also its output and no ops: the
  fixed cost of an invoke."""
  model = schema.ModelT()
  model.version = 3
  model.buffers = [schema.BufferT()]
  tensor = schema.TensorT()
  tensor.name, tensor.type, tensor.shape, tensor.buffer = "x", schema.TensorType.FLOAT32, [1], 0
  subgraph = schema.SubGraphT()
  subgraph.tensors, subgraph.operators, subgraph.inputs, subgraph.outputs = [tensor], [], [0], [0]
  model.subgraphs = [subgraph]
  model.operatorCodes = []
  return _pack(model)


def _invoke_p50(interpreter, num_invokes: int, warmup: int) -> float:
  for _ in range(warmup):
    interpreter.invoke()
  micros = np.empty(num_invokes)
  clock = time.perf_counter_ns
  for i in range(num_invokes):
    start = clock()
    interpreter.invoke()
    micros[i] = (clock() - start) / 1e3
  return float(np.median(micros))


def _interpreter(content: bytes, delegates: bool, preserve: bool = False):
  """A one-thread LiteRT interpreter (pqrnn_tf's ops registered) of `content`."""
  from pqrnn_tf import lite  # pylint: disable=g-import-not-at-top
  with tempfile.NamedTemporaryFile(suffix=".tflite") as f:
    f.write(content)
    f.flush()
    return lite.load_interpreter(f.name, num_threads=1, delegates=delegates,
                                 preserve_all_tensors=preserve)


def profile(path: str, sentence: str, num_invokes: int = 300, warmup: int = 30) -> dict:
  """Ops by type and time by op type of the model at `path` on one sentence.

  Returns {"ops": count, "ops_by_type": {type: count}, "xnnpack_partitions",
  "invoke_us" (the whole model, invoke only), "empty_invoke_us",
  "us_by_type": {type: µs}, "remainder_us"}.
  """
  with open(path, "rb") as f:
    flatbuffer = f.read()
  names = op_names(flatbuffer)
  # Invoked shapes and values of every tensor.
  probe = _interpreter(flatbuffer, delegates=False, preserve=True)
  text = np.array([sentence.encode("utf-8")], dtype=object)
  probe.resize_tensor_input(probe.get_input_details()[0]["index"], [1])
  probe.allocate_tensors()
  probe.set_tensor(probe.get_input_details()[0]["index"], text)
  probe.invoke()
  values = {}
  for d in probe.get_tensor_details():
    try:
      values[d["index"]] = probe.get_tensor(d["index"])
    except ValueError:  # a tensor no op kept (e.g. an unused scratch buffer)
      pass
  shapes = {i: list(np.shape(v)) for i, v in values.items()}
  # The whole model, delegated as in the latency table.
  whole = _interpreter(flatbuffer, delegates=True)
  whole.resize_tensor_input(whole.get_input_details()[0]["index"], [1])
  whole.allocate_tensors()
  whole.set_tensor(whole.get_input_details()[0]["index"], text)
  partitions = sum(1 for op in whole._get_ops_details() if op["op_name"] == "DELEGATE")  # pylint: disable=protected-access
  invoke_us = _invoke_p50(whole, num_invokes, warmup)
  empty = _interpreter(empty_model(), delegates=True)
  empty.allocate_tensors()
  empty_us = _invoke_p50(empty, num_invokes, warmup)
  by_type = {}
  for kind in sorted(set(names), key=names.index):
    content, sources = isolated_model(
        flatbuffer, [i for i, n in enumerate(names) if n == kind], shapes)
    interpreter = _interpreter(content, delegates=True)
    interpreter.allocate_tensors()
    for detail, source in zip(interpreter.get_input_details(), sources):
      interpreter.set_tensor(detail["index"], values[source])
    by_type[kind] = max(0.0, _invoke_p50(interpreter, num_invokes, warmup) - empty_us)
  counts = Counter(names)
  return {"ops": len(names), "ops_by_type": dict(counts.most_common()),
          "xnnpack_partitions": partitions, "sentence": sentence,
          "invoke_us": invoke_us, "empty_invoke_us": empty_us,
          "us_by_type": dict(sorted(by_type.items(), key=lambda kv: -kv[1])),
          "remainder_us": invoke_us - empty_us - sum(by_type.values())}
