"""Times one model in its own process: the per-model worker of pqrnn-benchmark.

  python -m benchmarks.latency --job=job.json --result=result.json

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
"""
from __future__ import annotations

import json
import resource
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


def run_tflite(job: dict) -> dict:
  """Latency per bucket, MACs per bucket, memory and throughput of a TFLite model."""
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
  return result


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
  intents, tags = [], []
  for text in texts:
    intent_logits, slot_logits = teacher.predict([text])
    intents.append(teacher.intent_labels[int(np.argmax(intent_logits[0]))])
    ids = np.argmax(slot_logits[0], -1)[:len(text.split())]
    tags.append([teacher.slot_labels[int(i)] for i in ids])
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
