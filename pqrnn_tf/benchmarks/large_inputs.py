"""Large inputs end to end: peak memory and throughput of each stage.

  python -m pqrnn_tf.benchmarks.large_inputs --sentences=1000000 --work_dir=/tmp/large
  python -m pqrnn_tf.benchmarks.large_inputs --sentences=100000 --model=out/atis_int8.tflite \\
      --json=large_100k.json

Makes a seeded corpus of ATIS-like sentences (`make_corpus`: texts.txt for
pqrnn-predict, corpus.jsonl for the teacher, a small labeled gold.jsonl and
dev.jsonl for the student), a small teacher (a randomly initialized 2-layer
BERT fine-tuned briefly on the gold data: its speed, not its accuracy, is
measured) and, without --model, a small untrained pQRNN export. Then runs
each stage as its own process, as a user would:

  predict   pqrnn-predict --input=texts.txt (stdout read and dropped)
  teacher   pqrnn-teacher logits --input=corpus.jsonl --shard_size=...
  student   pqrnn-train --teacher_logits=<the shards> --epochs=1
  train     pqrnn-train --train_file=gold.jsonl --epochs=1 (in memory, the
            preset pqrnn-train picks; --gold sentences; not a default stage)

and reports, per stage, the items handled, wall seconds, items per second
and the process's peak resident memory (its VmHWM at exit), plus the time to
pqrnn-predict's first output line, as a table and as JSON (--json). The work
directory is kept: a second run reuses corpus and models.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time

from pqrnn_tf.benchmarks import provenance
from pqrnn_tf.metrics import METRICS_FILE

#: Runs a tool's module as its console script does, then writes the process's
#: peak resident memory to stderr. VmHWM rather than ru_maxrss: a child's
#: ru_maxrss starts at its parent's size when it forks.
MEASURED = ("import atexit, re, runpy, sys\n"
            "def report():\n"
            "  status = open('/proc/self/status').read()\n"
            "  sys.stderr.write('PEAK_KIB=%s\\n' % re.search(r'VmHWM:\\s*(\\d+)', status)[1])\n"
            "atexit.register(report)\n"
            "module = sys.argv.pop(1)\n"
            "runpy.run_module(module, run_name='__main__')\n")

CITIES = [("boston",), ("denver",), ("new", "york"), ("dallas",), ("san", "francisco"),
          ("pittsburgh",), ("salt", "lake", "city"), ("atlanta",), ("las", "vegas")]
TIMES = [(), ("tomorrow",), ("on", "monday"), ("in", "the", "morning"), ("after", "5", "pm")]
#: Tiny BERT vocabulary: the corpus' words, so the teacher sees real ids.
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
STUDENT_PRESET = {"model": "pqrnn", "projection": {"feature_size": 64},
                  "bottleneck": {"units": 32}, "encoder": {"units": 16, "num_layers": 1}}


def sentence(rng: random.Random) -> tuple[str, str, list[str]]:
  """(text, intent, word tags) of one ATIS-like sentence."""
  a, b, when = rng.choice(CITIES), rng.choice(CITIES), rng.choice(TIMES)
  city = lambda words, role: [f"B-{role}"] + [f"I-{role}"] * (len(words) - 1)  # noqa: E731
  kind = rng.randrange(3)
  if kind == 0:
    words = ["show", "me", "flights", "from", *a, "to", *b, *when]
    tags = ["O", "O", "O", "O", *city(a, "fromloc"), "O", *city(b, "toloc")] + ["O"] * len(when)
    return " ".join(words), "flight", tags
  if kind == 1:
    words = ["what", "is", "the", "fare", "to", *b, *when]
    return " ".join(words), "airfare", ["O"] * 5 + city(b, "toloc") + ["O"] * len(when)
  words = ["ground", "transportation", "in", *a]
  return " ".join(words), "ground_service", ["O"] * 3 + city(a, "city")


def make_corpus(directory: str, sentences: int, gold: int, dev: int, seed: int = 0) -> dict:
  """Writes texts.txt and corpus.jsonl (`sentences` texts), gold.jsonl (the
  first `gold` of them, labeled) and dev.jsonl (`dev` more, labeled)."""
  rng = random.Random(seed)
  os.makedirs(directory, exist_ok=True)
  paths = {name: os.path.join(directory, name)
           for name in ("texts.txt", "corpus.jsonl", "gold.jsonl", "dev.jsonl")}
  with open(paths["texts.txt"], "w", encoding="utf-8") as texts, \
       open(paths["corpus.jsonl"], "w", encoding="utf-8") as corpus, \
       open(paths["gold.jsonl"], "w", encoding="utf-8") as labeled:
    for k in range(sentences):
      text, intent, tags = sentence(rng)
      texts.write(text + "\n")
      corpus.write(json.dumps({"text": text}) + "\n")
      if k < gold:
        labeled.write(json.dumps({"text": text, "label": intent, "tags": tags}) + "\n")
  with open(paths["dev.jsonl"], "w", encoding="utf-8") as f:
    for _ in range(dev):
      text, intent, tags = sentence(rng)
      f.write(json.dumps({"text": text, "label": intent, "tags": tags}) + "\n")
  return paths


def vocabulary() -> list[str]:
  words = {"show", "me", "flights", "from", "to", "what", "is", "the", "fare", "ground",
           "transportation", "in"}
  words.update(w for c in CITIES for w in c)
  words.update(w for t in TIMES for w in t)
  return SPECIAL + sorted(words)


def make_teacher(directory: str, gold_path: str, dev_path: str) -> str:
  """A small teacher run directory (a 2-layer BERT, hidden size 64), trained
  one short round on the gold data."""
  model_dir = os.path.join(directory, "teacher")
  if os.path.isfile(os.path.join(model_dir, METRICS_FILE)):
    return model_dir
  from transformers import BertConfig, BertModel, BertTokenizer  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.data import readers  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.teacher import train as train_lib  # pylint: disable=g-import-not-at-top
  bert = os.path.join(directory, "tiny_bert")
  os.makedirs(bert, exist_ok=True)
  vocab = vocabulary()
  with open(os.path.join(bert, "vocab.txt"), "w", encoding="utf-8") as f:
    f.write("\n".join(vocab) + "\n")
  BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True,
                model_max_length=64).save_pretrained(bert)
  torch.manual_seed(0)
  BertModel(BertConfig(vocab_size=len(vocab), hidden_size=64, num_hidden_layers=2,
                       num_attention_heads=2, intermediate_size=128,
                       max_position_embeddings=64)).save_pretrained(bert)
  config = train_lib.TeacherConfig(pretrained=bert, epochs=1, min_steps=0, learning_rate=1e-3,
                                   batch_size=32, num_threads=1,
                                   data={"train_file": gold_path, "eval_file": dev_path})
  dev = readers.read_examples(dev_path)
  summary = train_lib.train(config, model_dir, readers.read_examples(gold_path), dev,
                            log=lambda s: None)
  train_lib.evaluate_and_save(model_dir, {"dev": dev}, summary, num_threads=1)
  return model_dir


def make_student_model(directory: str) -> str:
  """A small untrained pQRNN exported to TFLite, with label files (for
  pqrnn-predict's speed and memory, which do not depend on the weights)."""
  path = os.path.join(directory, "student.tflite")
  if os.path.isfile(path):
    return path
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.export import converter  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.inference import labels as labels_lib  # pylint: disable=g-import-not-at-top
  from pqrnn_tf.models import ModelConfig, build_model  # pylint: disable=g-import-not-at-top
  intents = ["airfare", "flight", "ground_service"]
  tags = ["O"] + [f"{p}-{r}" for r in ("city", "fromloc", "toloc") for p in "BI"]
  model = build_model(ModelConfig.from_dict(STUDENT_PRESET), num_intents=len(intents),
                      num_tags=len(tags))
  model(tf.constant(["show me flights"]))
  with open(path, "wb") as f:
    f.write(converter.convert(model, "none"))
  label_files = labels_lib.label_paths(path)
  for key, labels in (("intents", intents), ("slots", tags)):
    with open(label_files[key], "w", encoding="utf-8") as f:
      f.write("".join(f"{x}\n" for x in labels))
  return path


def measured(module: str, args: list[str], stdout=subprocess.DEVNULL,
             first_line: bool = False) -> dict:
  """Runs `module` like its console script; {seconds, peak_mb[, first_line_s]}.
  Fails (naming the stage's stderr) if the tool fails."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  start = time.perf_counter()
  proc = subprocess.Popen([sys.executable, "-c", MEASURED, module, *args],
                          stdout=subprocess.PIPE if first_line else stdout,
                          stderr=subprocess.PIPE, env=env)
  result = {}
  if first_line:
    proc.stdout.readline()
    result["first_line_s"] = time.perf_counter() - start
    while proc.stdout.read(1 << 20):
      pass
  err = proc.stderr.read().decode(errors="replace")
  proc.wait()
  result["seconds"] = time.perf_counter() - start
  if proc.returncode != 0:
    raise RuntimeError(f"{module} {' '.join(args)} failed ({proc.returncode}):\n{err[-2000:]}")
  result["peak_mb"] = int(err.rsplit("PEAK_KIB=", 1)[1].split()[0]) / 1024
  return result


def fresh_run_dir(run_dir: str) -> str:
  """`run_dir`, emptied: a finished run would only resume, so train afresh."""
  shutil.rmtree(run_dir, ignore_errors=True)
  return run_dir


def run(sentences: int, work_dir: str, model: str | None, stages: list[str],
        shard_size: int, gold: int, batch_size: int) -> dict:
  """Runs the stages; returns the report (see the module doc)."""
  corpus_dir = os.path.join(work_dir, f"corpus_{sentences}")
  paths = make_corpus(corpus_dir, sentences, min(gold, sentences), dev=200)
  report = {"sentences": sentences, "shard_size": shard_size, "stages": {}}
  if "predict" in stages:
    model = model or make_student_model(work_dir)
    r = measured("pqrnn_tf.inference.cli", [f"--model={model}", f"--input={paths['texts.txt']}",
                                            f"--batch_size={batch_size}"], first_line=True)
    report["stages"]["predict"] = {**r, "items": sentences, "model": model}
  shards = os.path.join(corpus_dir, "teacher_logits")
  if "teacher" in stages:
    teacher = make_teacher(work_dir, paths["gold.jsonl"], paths["dev.jsonl"])
    r = measured("pqrnn_tf.teacher.cli", ["logits", f"--model_dir={teacher}",
                                          f"--input={paths['corpus.jsonl']}",
                                          f"--output={shards}", f"--shard_size={shard_size}",
                                          "--num_threads=1", "--batch_size=64"])
    report["stages"]["teacher"] = {**r, "items": sentences}
  if "train" in stages:
    run_dir = fresh_run_dir(os.path.join(corpus_dir, "train"))
    r = measured("pqrnn_tf.train.cli", [f"--train_file={paths['gold.jsonl']}",
                                        f"--eval_file={paths['dev.jsonl']}", "--epochs=1",
                                        f"--model_dir={run_dir}"])
    report["stages"]["train"] = {**r, "items": min(gold, sentences)}
  if "student" in stages:
    preset = os.path.join(work_dir, "student_preset.json")
    with open(preset, "w", encoding="utf-8") as f:
      json.dump(STUDENT_PRESET, f)
    run_dir = fresh_run_dir(os.path.join(corpus_dir, "student"))
    r = measured("pqrnn_tf.train.cli", [f"--train_file={paths['gold.jsonl']}",
                                        f"--eval_file={paths['dev.jsonl']}",
                                        f"--teacher_logits={shards}", f"--preset={preset}",
                                        "--model=pqrnn", "--epochs=1", "--batch_size=64",
                                        f"--model_dir={run_dir}"])
    report["stages"]["student"] = {**r, "items": sentences}
  for stage in report["stages"].values():
    stage["items_per_s"] = stage["items"] / stage["seconds"]
  return report


def table(report: dict) -> str:
  lines = [f"{report['sentences']:,} sentences",
           f"{'stage':<8} {'items':>10} {'seconds':>9} {'items/s':>9} {'peak MB':>8} "
           f"{'1st line s':>10}"]
  for name, s in report["stages"].items():
    first = f"{s['first_line_s']:.2f}" if "first_line_s" in s else ""
    lines.append(f"{name:<8} {s['items']:>10,} {s['seconds']:>9.1f} {s['items_per_s']:>9.0f} "
                 f"{s['peak_mb']:>8.0f} {first:>10}")
  return "\n".join(lines)


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--sentences", type=int, default=1_000_000)
  parser.add_argument("--work_dir", default="/tmp/pqrnn_large_inputs")
  parser.add_argument("--model", help="a .tflite for the predict stage (default: a small "
                      "untrained pQRNN)")
  parser.add_argument("--stages", default="predict,teacher,student")
  parser.add_argument("--shard_size", type=int, default=50_000)
  parser.add_argument("--gold", type=int, default=2000, help="labeled sentences")
  parser.add_argument("--batch_size", type=int, default=32, help="pqrnn-predict's")
  parser.add_argument("--json", help="also write the report here")
  args = parser.parse_args(argv)
  stages = [s for s in args.stages.split(",") if s]
  unknown = sorted(set(stages) - {"predict", "teacher", "student", "train"})
  if unknown or args.sentences < 1 or args.shard_size < 1:
    parser.error(f"--stages: unknown {unknown}" if unknown
                 else "--sentences and --shard_size must be >= 1")
  report = run(args.sentences, args.work_dir, args.model, stages, args.shard_size, args.gold,
               args.batch_size)
  print(table(report))
  if args.json:
    with open(args.json, "w", encoding="utf-8") as f:
      # argv holds the arguments only; provenance expects a program name first.
      arguments = sys.argv[1:] if argv is None else list(argv)
      json.dump({provenance.KEY: provenance.measured(
          "python -m pqrnn_tf.benchmarks.large_inputs", ["", *arguments]), **report}, f, indent=1)
      f.write("\n")


if __name__ == "__main__":
  main()
