"""On-device-style latency of exported TFLite models (a benchmark, not a test).

  python -m benchmarks.latency --models=a.tflite,b.tflite [--num_invokes=1000]

LiteRT, one thread, batch 1, real ATIS test sentences in turn: warm-up, then
timed invoke() calls (the text is set before the clock starts). Prints a
Markdown table (p50 / p90 / p99 µs, file size) and writes JSON.
"""
from __future__ import annotations

import json
import os
import time

import numpy as np
from absl import app, flags

from pqrnn_tf import lite
from pqrnn_tf.data.readers import read_atis

FLAGS = flags.FLAGS


def define_flags() -> None:
  flags.DEFINE_list("models", None, "TFLite files to time.")
  flags.DEFINE_integer("num_invokes", 1000, "Timed invokes per model.")
  flags.DEFINE_integer("warmup", 50, "Untimed invokes first.")
  flags.DEFINE_string("output_dir", "out/benchmarks", "Where latency.json goes.")
  flags.mark_flag_as_required("models")


def time_model(path: str, texts: list[str], num_invokes: int, warmup: int) -> dict:
  interpreter = lite.load_interpreter(path, num_threads=1)
  index = interpreter.get_input_details()[0]["index"]
  micros = []
  for i in range(warmup + num_invokes):
    text = np.array([texts[i % len(texts)].encode("utf-8")], dtype=object)
    interpreter.resize_tensor_input(index, [1])
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, text)
    start = time.perf_counter()
    interpreter.invoke()
    elapsed = time.perf_counter() - start
    if i >= warmup:
      micros.append(1e6 * elapsed)
  p50, p90, p99 = np.percentile(micros, [50, 90, 99])
  return {"model": path, "bytes": os.path.getsize(path), "invokes": num_invokes,
          "p50_us": float(p50), "p90_us": float(p90), "p99_us": float(p99)}


def markdown(rows: list[dict]) -> str:
  lines = ["| model | size | p50 µs | p90 µs | p99 µs |", "|---|---|---|---|---|"]
  for r in rows:
    lines.append(f"| {os.path.basename(r['model'])} | {r['bytes'] / 1024:.0f} KB | "
                 f"{r['p50_us']:.0f} | {r['p90_us']:.0f} | {r['p99_us']:.0f} |")
  return "\n".join(lines)


def main(argv) -> None:
  del argv
  texts = [e.text for e in read_atis("test")]
  rows = [time_model(p, texts, FLAGS.num_invokes, FLAGS.warmup) for p in FLAGS.models]
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  with open(os.path.join(FLAGS.output_dir, "latency.json"), "w") as f:
    json.dump({"sentences": "ATIS test, in order", "threads": 1, "batch": 1,
               "rows": rows}, f, indent=2)
  print("\nLiteRT, 1 thread, batch 1, ATIS test sentences:\n")
  print(markdown(rows))


if __name__ == "__main__":
  define_flags()
  app.run(main)
