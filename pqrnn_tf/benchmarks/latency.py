"""Times one model in its own process: the per-model worker of pqrnn-benchmark.

  python -m pqrnn_tf.benchmarks.latency --job=job.json --result=result.json

The job (written by `benchmarks.cli`) names one model, a TFLite file or a
teacher deployment, and the length buckets. This process imports only the
model's runtime (LiteRT with pqrnn_tf's TFLite ops, or the teacher's runtime),
so its peak RSS is the model's plus the bare runtime's, and both are reported.

Protocol, the same for every model: one thread, batch 1; per bucket `warmup`
untimed calls, then `num_invokes` timed calls cycling through the bucket's
sentences. A timed call is string in -> outputs out: for TFLite, set the input
string, invoke, read every output (the string array is built before the clock
starts); for the teacher, one `predict([text])` (tokenization included).
Optionally a throughput pass follows: batches of `batch_size` sentences, all
`threads`, sentences per second; then, for TFLite models, the op profile
(`benchmarks.op_profile`: ops by type and time per op type), after every
other measurement so that its extra interpreters do not count in the RSS.

A portable model (`pqrnn-export --portable`: builtin ops only, projection
features in, one signature per length bucket) runs in the stock interpreter
(no custom-op registerer) and is timed two ways per bucket: `invoke` (the
sentence projected and padded to its length bucket before the clock starts;
timed: set `features` and `sequence_length`, invoke, read every output) and
`projection + invoke` (string in -> outputs out, as an app does: the TF-free
projection, the padding to the smallest bucket that holds it, then the same
calls). Inputs are set on the bucket's subgraph directly: its shapes are
static, so no resize or allocation happens per call.

Every TFLite model also reports its op counts (from the flatbuffer, per
subgraph) and what XNNPACK delegates (`xnnpack_delegation`).
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import resource
import sys
import tempfile
import time
from importlib import metadata
from typing import Callable, Sequence

import numpy as np
from absl import app, flags

from . import macs as macs_lib

FLAGS = flags.FLAGS
PERCENTILES = (50, 90, 99)


def define_flags() -> None:
  flags.DEFINE_string("job", None, "JSON job written by benchmarks.cli.")
  flags.DEFINE_string("result", None, "Where the JSON result goes.")
  flags.mark_flags_as_required(["job", "result"])


def peak_rss_kb() -> int:
  """Peak resident set size of this process so far, KiB.

  Linux's VmHWM, not getrusage's ru_maxrss: ru_maxrss survives exec, so a
  worker started by a big parent would report the parent's peak.
  """
  try:
    with open("/proc/self/status") as f:
      for line in f:
        if line.startswith("VmHWM:"):
          return int(line.split()[1])
  except OSError:
    pass
  return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def time_calls(call: Callable, inputs: Sequence, num_invokes: int, warmup: int) -> np.ndarray:
  """Microseconds of `num_invokes` calls of `call(x)`, cycling over `inputs`,
  after `warmup` untimed calls."""
  clock = time.perf_counter_ns
  for i in range(warmup):
    call(inputs[i % len(inputs)])
  micros = np.empty(num_invokes)
  for i in range(num_invokes):
    x = inputs[i % len(inputs)]
    start = clock()
    call(x)
    micros[i] = (clock() - start) / 1e3
  return micros


def summarize(micros: np.ndarray) -> dict:
  """p50 / p90 / p99 / mean / min in µs."""
  p = np.percentile(micros, PERCENTILES)
  return {"invokes": int(len(micros)), "mean_us": float(np.mean(micros)),
          "min_us": float(np.min(micros)),
          **{f"p{q}_us": float(v) for q, v in zip(PERCENTILES, p)}}


def throughput(call: Callable, batches: Sequence, batch_size: int,
               min_seconds: float) -> dict:
  """Sentences per second over whole passes through `batches` (at least one
  pass and `min_seconds`), after one untimed batch."""
  call(batches[0])
  sentences, start = 0, time.perf_counter()
  while True:
    for batch in batches:
      call(batch)
    sentences += len(batches) * batch_size
    elapsed = time.perf_counter() - start
    if elapsed >= min_seconds:
      break
  return {"sentences": sentences, "seconds": elapsed,
          "sentences_per_s": sentences / elapsed}


def _string_batches(texts: Sequence[str], batch_size: int) -> list[np.ndarray]:
  """Whole batches of encoded strings (the remainder is dropped)."""
  return [np.array([t.encode("utf-8") for t in texts[i:i + batch_size]], dtype=object)
          for i in range(0, len(texts) - batch_size + 1, batch_size)]


def interpreter_for(path: str, num_threads: int, delegates: bool = True):
  """A LiteRT interpreter with pqrnn_tf's ops; without `delegates`, no XNNPACK.

  Counting MACs needs the latter: inside an XNNPACK partition the TFLite
  tensors keep the shapes of allocation time (the delegate never writes them
  back), so only an undelegated interpreter shows every op's invoked shapes.
  """
  from pqrnn_tf import lite  # pylint: disable=g-import-not-at-top
  return lite.load_interpreter(path, num_threads=num_threads, delegates=delegates)


class TfliteCaller:
  """string[batch] in, every output read back: one call of a TFLite model."""

  def __init__(self, path: str, num_threads: int, batch_size: int, delegates: bool = True):
    self.interpreter = interpreter_for(path, num_threads, delegates)
    self.input = self.interpreter.get_input_details()[0]["index"]
    self.outputs = [d["index"] for d in self.interpreter.get_output_details()]
    # Batch size is fixed per run, so allocation happens once, not per call.
    self.interpreter.resize_tensor_input(self.input, [batch_size])
    self.interpreter.allocate_tensors()

  def __call__(self, text: np.ndarray) -> list[np.ndarray]:
    self.interpreter.set_tensor(self.input, text)
    self.interpreter.invoke()
    return [self.interpreter.get_tensor(i) for i in self.outputs]


class PortableCaller:
  """One bucket signature of a portable model in the stock interpreter: set
  `features` and `sequence_length` on its subgraph, invoke it, read every
  output. Its shapes are static, so no call resizes or allocates."""

  def __init__(self, path: str, num_threads: int, delegates: bool = True):
    from pqrnn_tf import lite  # pylint: disable=g-import-not-at-top
    from pqrnn_tf.inference import portable  # pylint: disable=g-import-not-at-top
    from pqrnn_tf.inference.projection import Projector  # pylint: disable=g-import-not-at-top
    with open(path, "rb") as f:
      self.settings = portable.read_settings(f.read(), path)
    self.interpreter = lite.load_interpreter(path, num_threads=num_threads,
                                             delegates=delegates, custom_ops=False)
    self.projector = Projector(**self.settings["projection"])
    self.buckets = list(self.settings["buckets"])
    # Bound here: `features` runs inside the clock.
    self._bucket_for, self._bucket_input = portable.bucket_for, portable.bucket_input
    self._wrapper = self.interpreter._interpreter  # pylint: disable=protected-access
    signatures = self.interpreter._get_full_signature_list()  # pylint: disable=protected-access
    self.signatures = {}  # bucket -> (subgraph, features, lengths, outputs)
    for length in self.buckets:
      signature = signatures[portable.signature_key(length)]
      self.signatures[length] = (
          int(self._wrapper.GetSubgraphIndexFromSignature(portable.signature_key(length))),
          signature["inputs"][portable.FEATURES], signature["inputs"][portable.LENGTHS],
          list(signature["outputs"].values()))
      self._wrapper.AllocateTensors(self.signatures[length][0])  # once: shapes are static

  def features(self, text: str) -> tuple[int, np.ndarray, np.ndarray]:
    """(bucket, padded features [1, bucket, F], sequence_length [1]) of `text`."""
    features, lengths = self.projector.project([text])
    bucket = self._bucket_for(int(lengths[0]), self.buckets)
    return (bucket, *self._bucket_input(features[0], lengths[0], bucket))

  def invoke(self, inputs: tuple[int, np.ndarray, np.ndarray]) -> list[np.ndarray]:
    """Runs projected `inputs` (as `features` returns them)."""
    bucket, features, lengths = inputs
    subgraph, features_index, lengths_index, outputs = self.signatures[bucket]
    self._wrapper.SetTensor(features_index, features, subgraph)
    self._wrapper.SetTensor(lengths_index, lengths, subgraph)
    self._wrapper.Invoke(subgraph)
    return [self._wrapper.GetTensor(i, subgraph) for i in outputs]

  def __call__(self, text: str) -> list[np.ndarray]:
    """String in -> outputs out: projection, padding, invoke."""
    return self.invoke(self.features(text))


def run_portable(job: dict) -> dict:
  """Latency per bucket of a portable model, invoke alone (`buckets`) and with
  the projection (`projection_buckets`); memory; its ops and delegation."""
  from pqrnn_tf import lite  # pylint: disable=g-import-not-at-top
  # The bare runtime: LiteRT loaded, no model yet.
  from ai_edge_litert import interpreter  # pylint: disable=g-import-not-at-top,unused-import
  result = {"runtime": f"LiteRT {metadata.version('ai-edge-litert')} (stock interpreter)",
            "portable": True, "rss_runtime_kb": peak_rss_kb()}
  caller = PortableCaller(job["path"], num_threads=1)
  result["buckets"], result["projection_buckets"] = [], []
  for bucket in job["buckets"]:
    texts = list(bucket["sentences"])
    projected = [caller.features(t) for t in texts]  # before the clock
    padded_to = sorted({p[0] for p in projected})
    result["buckets"].append({"length": bucket["length"], "padded_to": padded_to, **summarize(
        time_calls(caller.invoke, projected, job["num_invokes"], job["warmup"]))})
    result["projection_buckets"].append({"length": bucket["length"], "padded_to": padded_to,
                                         **summarize(time_calls(caller, texts,
                                                                job["num_invokes"],
                                                                job["warmup"]))})
  result["rss_peak_kb"] = peak_rss_kb()
  ratio = next(b for b in job["buckets"] if b["length"] == job["ratio_bucket"])
  timed = caller.signatures[caller.features(ratio["sentences"][0])[0]][0]
  with open(job["path"], "rb") as f:
    flatbuffer = f.read()
  result["ops"] = model_ops(flatbuffer, timed, xnnpack_delegation(
      lambda: lite.load_interpreter(job["path"], num_threads=1, custom_ops=False)))
  return result


def run_tflite(job: dict) -> dict:
  """Latency per bucket, MACs per bucket, memory and throughput of a TFLite
  model (a portable one: `run_portable`)."""
  from pqrnn_tf.inference import portable  # pylint: disable=g-import-not-at-top
  with open(job["path"], "rb") as f:
    if portable.read_settings(f.read(), job["path"]):
      return run_portable(job)
  from ai_edge_litert import interpreter  # pylint: disable=g-import-not-at-top,unused-import
  from pqrnn_tf.ops import _libraries  # pylint: disable=g-import-not-at-top
  # The bare runtime: LiteRT and our op libraries loaded, no model yet.
  _libraries.tflite_ops()
  _libraries.add_custom_address()
  result = {"runtime": f"LiteRT {metadata.version('ai-edge-litert')}",
            "rss_runtime_kb": peak_rss_kb()}
  caller = TfliteCaller(job["path"], num_threads=1, batch_size=1)
  counter = TfliteCaller(job["path"], num_threads=1, batch_size=1, delegates=False)
  result["buckets"] = []
  for bucket in job["buckets"]:
    inputs = _string_batches(bucket["sentences"], 1)
    row = {"length": bucket["length"],
           **summarize(time_calls(caller, inputs, job["num_invokes"], job["warmup"]))}
    counts = []
    for x in inputs:  # after each invoke the tensors have that sentence's shapes
      counter(x)
      counts.append(macs_lib.count_tflite(counter.interpreter))
    row["macs"] = float(np.mean([c.total for c in counts]))
    row["macs_by_op"] = {k: float(np.mean([c.by_op[k] for c in counts]))
                         for k in sorted(set().union(*(c.by_op for c in counts)))}
    row["macs_uncounted_ops"] = sorted(set().union(*(c.uncounted_ops for c in counts)))
    result["buckets"].append(row)
  result["rss_peak_kb"] = peak_rss_kb()
  if job.get("throughput"):
    t = job["throughput"]
    batched = TfliteCaller(job["path"], num_threads=t["threads"], batch_size=t["batch_size"])
    result["throughput"] = {"batch_size": t["batch_size"], "threads": t["threads"], **throughput(
        batched, _string_batches(t["texts"], t["batch_size"]), t["batch_size"],
        t["min_seconds"])}
  if job.get("profile_sentence"):
    from . import op_profile  # pylint: disable=g-import-not-at-top
    result["profile"] = op_profile.profile(job["path"], job["profile_sentence"],
                                           num_invokes=job["num_invokes"], warmup=job["warmup"])
  with open(job["path"], "rb") as f:
    flatbuffer = f.read()
  result["ops"] = model_ops(flatbuffer, 0, xnnpack_delegation(
      lambda: interpreter_for(job["path"], num_threads=1)))
  return result


def op_counts(flatbuffer: bytes) -> list[dict]:
  """Every subgraph's ops from the flatbuffer: [{"subgraph", "signature" (None:
  no signature runs it, e.g. a WHILE body), "ops", "ops_by_type"}]."""
  from collections import Counter  # pylint: disable=g-import-not-at-top
  from . import op_profile  # pylint: disable=g-import-not-at-top
  model = op_profile.read_model(flatbuffer)
  names = [op_profile.op_name(code) for code in model.operatorCodes]
  signatures = {int(s.subgraphIndex): s.signatureKey.decode() if isinstance(
      s.signatureKey, bytes) else s.signatureKey for s in model.signatureDefs or []}
  out = []
  for index, graph in enumerate(model.subgraphs):
    kinds = Counter(names[op.opcodeIndex] for op in graph.operators or [])
    out.append({"subgraph": index, "signature": signatures.get(index),
                "ops": sum(kinds.values()), "ops_by_type": dict(kinds.most_common())})
  return out


#: TFLite logs this (severity VERBOSE) once per subgraph a delegate takes nodes
#: from; "partitions" counts the delegated and the remaining node subsets.
_REPLACING = re.compile(
    r"Replacing (\d+) out of (\d+) node\(s\) with delegate \(([^)]*)\) node, "
    r"yielding (\d+) partitions for subgraph (\d+)")
#: The LiteRT library whose TFLite logger the Python interpreter uses, and the
#: logger's minimum severity (a static int; VERBOSE is 0, the release default
#: INFO is 1). No API sets it, so `verbose_tflite_log` writes it through its
#: address in the library's symbol table.
_LITERT_LIBRARY = "libpywrap_litert_common.so"
_SEVERITY_SYMBOL = b"_ZN6tflite16logging_internal13MinimalLogger21minimum_log_severity_E"
_VERBOSE, _SILENT = 0, 4


def elf_symbol_value(path: str, symbol: bytes) -> int | None:
  """The value (address relative to the load base) of `symbol` in the
  .symtab of the 64-bit little-endian ELF file `path`; None if it has none."""
  with open(path, "rb") as f:
    data = f.read()
  if data[:5] != b"\x7fELF\x02" or data[5] != 1:
    return None
  header = np.frombuffer(data, np.dtype([
      ("ident", "V16"), ("type", "<u2"), ("machine", "<u2"), ("version", "<u4"),
      ("entry", "<u8"), ("phoff", "<u8"), ("shoff", "<u8"), ("flags", "<u4"),
      ("ehsize", "<u2"), ("phentsize", "<u2"), ("phnum", "<u2"), ("shentsize", "<u2"),
      ("shnum", "<u2"), ("shstrndx", "<u2")]), count=1)[0]
  sections = np.frombuffer(data, np.dtype([
      ("name", "<u4"), ("type", "<u4"), ("flags", "<u8"), ("addr", "<u8"),
      ("offset", "<u8"), ("size", "<u8"), ("link", "<u4"), ("info", "<u4"),
      ("addralign", "<u8"), ("entsize", "<u8")]), count=int(header["shnum"]),
      offset=int(header["shoff"]))
  symtab = next((s for s in sections if s["type"] == 2), None)  # SHT_SYMTAB
  if symtab is None:
    return None
  strtab = sections[int(symtab["link"])]
  strings = data[int(strtab["offset"]):int(strtab["offset"] + strtab["size"])]
  at = strings.find(b"\0" + symbol + b"\0")
  if at < 0:
    return None
  symbols = np.frombuffer(data, np.dtype([
      ("name", "<u4"), ("info", "u1"), ("other", "u1"), ("shndx", "<u2"),
      ("value", "<u8"), ("size", "<u8")]), count=int(symtab["size"] // 24),
      offset=int(symtab["offset"]))
  match = np.flatnonzero(symbols["name"] == at + 1)
  return int(symbols["value"][match[0]]) if len(match) else None


def _load_base(path: str) -> int | None:
  """Where this process mapped the start (file offset 0) of the library `path`."""
  real = os.path.realpath(path)
  with open("/proc/self/maps") as f:
    for line in f:
      fields = line.split()
      if len(fields) >= 6 and fields[5] == real and int(fields[2], 16) == 0:
        return int(fields[0].split("-")[0], 16)
  return None


@contextlib.contextmanager
def verbose_tflite_log():
  """Runs the block with LiteRT's TFLite logger at VERBOSE and the process's
  stderr (file descriptor 2, where the C++ runtime writes) captured; yields a
  list that holds the captured text afterwards, or None if this LiteRT build
  has no symbol table to find the logger's setting in (nothing is captured)."""
  from ai_edge_litert import interpreter as litert  # pylint: disable=g-import-not-at-top
  library = os.path.join(os.path.dirname(litert.__file__), _LITERT_LIBRARY)
  value = elf_symbol_value(library, _SEVERITY_SYMBOL) if os.path.isfile(library) else None
  base = _load_base(library) if value is not None else None
  severity = ctypes.c_int.from_address(base + value) if base is not None else None
  if severity is None or not _VERBOSE <= severity.value <= _SILENT:
    yield None  # no such setting, or not where the symbol table says
    return
  captured, old_severity = [], severity.value
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as log:
    os.dup2(log.fileno(), 2)
    severity.value = _VERBOSE
    try:
      yield captured
    finally:
      severity.value = old_severity
      os.dup2(saved, 2)
      os.close(saved)
      log.seek(0)
      captured.append(log.read().decode("utf-8", "replace"))


def graph_delegated_nodes(interpreter) -> list[int]:
  """How many nodes each delegate partition of the main subgraph replaced,
  found from the graph alone: a partition node's inputs and outputs are the
  partition's boundary tensors, so its nodes are the producers reached
  walking back from its outputs without crossing its inputs."""
  ops = interpreter._get_ops_details()  # pylint: disable=protected-access
  originals = [op for op in ops if op["op_name"] != "DELEGATE"]
  producer = {int(t): op["index"] for op in originals for t in op["outputs"]}
  by_index = {op["index"]: op for op in originals}
  counts = []
  for op in ops:
    if op["op_name"] != "DELEGATE":
      continue
    boundary = {int(t) for t in op["inputs"]}
    pending, seen = [int(t) for t in op["outputs"]], set()
    while pending:
      tensor = pending.pop()
      node = producer.get(tensor)
      if tensor in boundary or node is None or node in seen:
        continue
      seen.add(node)
      pending.extend(int(t) for t in by_index[node]["inputs"] if t >= 0)
    counts.append(len(seen))
  return counts


def xnnpack_delegation(make_interpreter: Callable) -> dict:
  """What XNNPACK takes of a model: `make_interpreter()` builds (and
  allocates) it with the default delegates.

  Returns {"main_partitions": DELEGATE nodes of the main subgraph,
  "main_replaced_by_graph": nodes each of them replaced (graph_delegated_nodes),
  "log": per subgraph {"subgraph", "delegate", "replaced", "nodes",
  "partitions"} from TFLite's own "Replacing N out of M node(s)" lines, or
  None when they cannot be enabled in this LiteRT build}.
  """
  with verbose_tflite_log() as captured:
    interpreter = make_interpreter()
  log = None
  if captured is not None:
    log = [{"subgraph": int(m.group(5)), "delegate": m.group(3), "replaced": int(m.group(1)),
            "nodes": int(m.group(2)), "partitions": int(m.group(4))}
           for m in _REPLACING.finditer("".join(captured))]
    # Re-delegation after a resize logs again; the first line per subgraph is
    # the allocation-time one.
    log = list({entry["subgraph"]: entry for entry in reversed(log)}.values())[::-1]
    log.sort(key=lambda entry: entry["subgraph"])
  per_partition = graph_delegated_nodes(interpreter)
  return {"main_partitions": len(per_partition), "main_replaced_by_graph": per_partition,
          "log": log}


def model_ops(flatbuffer: bytes, timed_subgraph: int, delegation: dict) -> dict:
  """The op figures of one model: every subgraph's ops (with the nodes
  XNNPACK replaced in it, when the runtime's log tells), their total, and
  which subgraph runs a sentence of the ratio bucket."""
  subgraphs = op_counts(flatbuffer)
  if delegation["log"] is not None:
    replaced = {entry["subgraph"]: entry["replaced"] for entry in delegation["log"]}
    for graph in subgraphs:
      graph["xnnpack_replaced"] = replaced.get(graph["subgraph"], 0)
  return {"total": sum(g["ops"] for g in subgraphs), "subgraphs": subgraphs,
          "timed_subgraph": timed_subgraph, "xnnpack": delegation}


def run_raw_tflite(job: dict) -> dict:
  """Latency and MACs of a TFLite model with one numeric input (random data)."""
  from pqrnn_tf import lite  # pylint: disable=g-import-not-at-top
  interpreter = lite.load_interpreter(job["path"], num_threads=1)
  detail = interpreter.get_input_details()[0]
  rng = np.random.default_rng(0)
  if np.issubdtype(detail["dtype"], np.integer):
    info = np.iinfo(detail["dtype"])
    x = rng.integers(info.min, info.max, size=detail["shape"], dtype=detail["dtype"])
  else:
    x = rng.standard_normal(detail["shape"]).astype(detail["dtype"])
  interpreter.set_tensor(detail["index"], x)
  result = summarize(time_calls(lambda _: interpreter.invoke(), [None],
                                job["num_invokes"], job["warmup"]))
  counter = interpreter_for(job["path"], 1, delegates=False)
  counter.set_tensor(detail["index"], x)
  counter.invoke()
  count = macs_lib.count_tflite(counter)
  return {"runtime": f"LiteRT {metadata.version('ai-edge-litert')}", **result,
          "macs": count.total, "macs_by_op": dict(count.by_op)}


def run_teacher(job: dict) -> dict:
  """The same measurements as `run_tflite` for one teacher deployment."""
  from . import teacher as teacher_lib  # pylint: disable=g-import-not-at-top
  load = lambda threads: teacher_lib.load(  # noqa: E731
      job["teacher_dir"], job["deployment"], threads, factory=job.get("teacher_factory"))
  # The runtime's own footprint: load() imports it; the model is what follows.
  teacher_lib.import_runtime(job["deployment"], factory=job.get("teacher_factory"))
  result = {"rss_runtime_kb": peak_rss_kb()}
  teacher = load(1)
  result.update(runtime=teacher.runtime, bytes=teacher.bytes, files=list(teacher.files),
                buckets=[])
  for bucket in job["buckets"]:
    texts = list(bucket["sentences"])
    row = {"length": bucket["length"], **summarize(time_calls(
        lambda text: teacher.predict([text]), texts, job["num_invokes"], job["warmup"]))}
    row["macs"] = float(np.mean([teacher.macs(t) for t in texts]))
    row["teacher_tokens"] = float(np.mean([teacher.count_tokens(t) for t in texts]))
    row["macs_uncounted_ops"] = []
    result["buckets"].append(row)
  result["rss_peak_kb"] = peak_rss_kb()
  if job.get("predict_texts"):
    result["predictions"] = predict_labels(teacher, job["predict_texts"])
  if job.get("throughput"):
    t = job["throughput"]
    del teacher
    batched = load(t["threads"])
    texts = t["texts"]
    batches = [texts[i:i + t["batch_size"]]
               for i in range(0, len(texts) - t["batch_size"] + 1, t["batch_size"])]
    result["throughput"] = {"batch_size": t["batch_size"], "threads": t["threads"],
                            **throughput(batched.predict, batches, t["batch_size"],
                                         t["min_seconds"])}
  return result


def predict_labels(teacher, texts: Sequence[str]) -> dict:
  """The teacher's intent and per-word tags, one sentence per call (as the
  TFLite models are scored)."""
  # Imported here, not above: after the memory measurements.
  from pqrnn_tf.teacher.predictor import decode  # pylint: disable=g-import-not-at-top
  intents, tags = [], []
  for text in texts:
    intent_logits, slot_logits = teacher.predict([text])
    (intent,), (text_tags,) = decode(teacher.intent_labels, teacher.slot_labels, intent_logits,
                                     [slot_logits[0][:len(text.split())]])
    intents.append(intent)
    tags.append(list(text_tags))
  return {"intents": intents, "tags": tags}


RUNNERS = {"tflite": run_tflite, "raw_tflite": run_raw_tflite, "teacher": run_teacher}


def run_job(job: dict) -> dict:
  """Runs one job (a dict as written by benchmarks.cli)."""
  return RUNNERS[job["kind"]](job)


def main(argv) -> None:
  del argv
  with open(FLAGS.job) as f:
    job = json.load(f)
  result = run_job(job)
  with open(FLAGS.result, "w") as f:
    json.dump(result, f, indent=2)


if __name__ == "__main__":
  define_flags()
  app.run(main)
