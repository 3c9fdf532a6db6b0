"""Distributed training: sharded streaming input, MirroredStrategy, and two local
MultiWorkerMirroredStrategy workers (each its own process and TF_CONFIG)."""
from __future__ import annotations

import contextlib
import json
import math
import os
import re
import socket
import subprocess
import sys
import time

import pytest

from tests.test_train_cli import make_examples, write_jsonl

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_SHARDS, SHARD_SIZE, BATCH = 4, 40, 16
STEPS = math.ceil(NUM_SHARDS * SHARD_SIZE / BATCH)  # 10 steps of 16 an epoch
WORKER_TIMEOUT = 600  # Seconds for the two-worker run: a guard against hangs (25-75 s on
# 2 idle cores; over 200 s with the cores shared by training jobs).
STREAM_RE = re.compile(r"worker (\d) of (\d) reads (\d+) of (\d+) shards \(([^)]*)\): (.*)")


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
  """4 JSONL shards of 40 examples and a dev file; returns (train glob, dev)."""
  d = tmp_path_factory.mktemp("shards")
  examples = make_examples(NUM_SHARDS * SHARD_SIZE, seed=11)
  for i in range(NUM_SHARDS):
    write_jsonl(d / f"train-{i}.jsonl", examples[i * SHARD_SIZE:(i + 1) * SHARD_SIZE])
  return f"{d}/train-*.jsonl", write_jsonl(d / "dev.jsonl", make_examples(24, seed=12))


def free_ports(n: int) -> list[int]:
  with contextlib.ExitStack() as stack:
    socks = [stack.enter_context(socket.socket()) for _ in range(n)]
    for s in socks:
      s.bind(("127.0.0.1", 0))
    return [s.getsockname()[1] for s in socks]


def cli_command(*args) -> list[str]:
  return [sys.executable, "-m", "pqrnn_tf.train.cli", "--preset=pqrnn_small",
          "--epochs=1", f"--batch_size={BATCH}", *args]


def base_env(**extra) -> dict:
  env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
  return dict(env, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", **extra)


def run(command, timeout=600, **env) -> str:
  result = subprocess.run(command, cwd=REPO, env=base_env(**env), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
  assert result.returncode == 0, f"exit {result.returncode}:\n{result.stdout[-6000:]}"
  return result.stdout


def steps_logged(log: str) -> list[int]:
  return [int(n) for n in re.findall(r"Epoch 1: (\d+) training steps", log)]


def check_metrics(model_dir):
  with open(os.path.join(model_dir, "metrics.json")) as f:
    metrics = json.load(f)
  assert metrics["num_params"] > 1000 and 0 < metrics["train_minutes"] < 10
  assert metrics["dev"]["num_examples"] == 24
  for key in ("intent_accuracy", "slot_f1", "exact_match"):
    assert 0.0 <= metrics["dev"][key] <= 1.0, metrics
  return metrics


def test_worker_shards_are_disjoint_and_complete(shards):
  """Each worker's pipeline holds exactly its share, in per-replica batches."""
  import pqrnn_tf  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  from pqrnn_tf.train import data  # pylint: disable=g-import-not-at-top
  pattern, _ = shards
  source = data.ShardedExamples(pattern)
  scan = source.scan()
  assert scan.num_examples == NUM_SHARDS * SHARD_SIZE
  intents, tags = (data.LabelVocab(scan.intent_labels),
                   data.LabelVocab(scan.tag_labels, fallback="O"))
  every = sorted(e.text for e in source)
  for num_workers in (2, 3, 5):  # By FILE (2, 3 workers: uneven), by DATA (5 > 4 shards).
    seen = []
    for index in range(num_workers):
      ds = data.make_streaming_dataset(source, intents, tags, batch_size=8, shuffle=True,
                                       seed=3, num_workers=num_workers, worker_index=index)
      batches = [(texts.numpy().tolist(), targets) for texts, targets in ds]
      assert all(len(t) <= 8 for t, _ in batches)
      for texts, targets in batches:  # Slot targets padded to this batch's longest text.
        longest = max(len(t.split()) for t in texts)
        assert targets["slots"].shape == (len(texts), longest)
      seen += [t.decode() for texts, _ in batches for t in texts]
    assert sorted(seen) == every, num_workers


def test_mirrored(shards, tmp_path):
  """--strategy=mirrored on this CPU machine: one replica, the whole data."""
  pattern, dev = shards
  log = run(cli_command("--strategy=mirrored", f"--train_file={pattern}",
                        f"--eval_file={dev}", f"--model_dir={tmp_path}"))
  assert "Strategy MirroredStrategy: 1 replica(s), worker 0 of 1 (chief)" in log
  assert steps_logged(log) == [STEPS]
  check_metrics(tmp_path)


def test_mirrored_two_replicas(shards, tmp_path):
  """MirroredStrategy over two logical CPUs: the custom op and per-replica batches."""
  pattern, dev = shards
  script = (
      "import sys, pqrnn_tf, tensorflow as tf\n"
      "cpu = tf.config.list_physical_devices('CPU')[0]\n"
      "tf.config.set_logical_device_configuration(\n"
      "    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)\n"
      "from pqrnn_tf.train import cli\n"
      "cli.make_strategy = lambda name: tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])\n"
      "cli.run()\n")
  log = run([sys.executable, "-c", script] + cli_command(
      f"--train_file={pattern}", f"--eval_file={dev}", f"--model_dir={tmp_path}")[3:])
  assert "Strategy MirroredStrategy: 2 replica(s)" in log
  assert f"2 replicas: {STEPS} steps of {BATCH // 2} examples per replica" in log
  assert steps_logged(log) == [STEPS]
  check_metrics(tmp_path)


def test_two_local_workers(shards, tmp_path):
  """Two MultiWorkerMirroredStrategy workers on 127.0.0.1 train one model."""
  pattern, dev = shards
  model_dir = tmp_path / "run"
  cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(2)]}
  command = cli_command("--strategy=multi_worker", f"--train_file={pattern}",
                        f"--eval_file={dev}", f"--model_dir={model_dir}")
  procs, logs = [], []
  try:
    for index in range(2):
      logs.append(open(tmp_path / f"worker{index}.log", "w+", encoding="utf-8"))
      tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
      procs.append(subprocess.Popen(command, cwd=REPO, env=base_env(TF_CONFIG=tf_config),
                                    stdout=logs[-1], stderr=subprocess.STDOUT))
    deadline = time.monotonic() + WORKER_TIMEOUT
    for proc in procs:
      try:
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
      except subprocess.TimeoutExpired:
        break
  finally:
    timed_out = [p.poll() is None for p in procs]
    for proc in procs:
      if proc.poll() is None:
        proc.kill()
        proc.wait()
    text = []
    for log in logs:
      log.seek(0)
      text.append(log.read())
      log.close()

  def report() -> str:
    return "\n".join(f"--- worker {i} (exit {p.returncode}):\n{t[-5000:]}"
                     for i, (p, t) in enumerate(zip(procs, text)))

  assert not any(timed_out), f"timed out after {WORKER_TIMEOUT}s\n{report()}"
  assert [p.returncode for p in procs] == [0, 0], report()

  # Each worker streamed its own half of the shards (by file)...
  shard_sets = []
  for index, log in enumerate(text):
    (match,) = STREAM_RE.findall(log)
    assert match[:5] == (str(index), "2", "2", "4", "by file"), match
    shard_sets.append(set(match[5].split(", ")))
  assert not shard_sets[0] & shard_sets[1]
  assert shard_sets[0] | shard_sets[1] == {f"train-{i}.jsonl" for i in range(NUM_SHARDS)}
  # ...and took half of each global batch: 10 steps of 8 examples per worker
  # cover the 80 examples of its shards, the 10 steps of 16 of one process.
  for log in text:
    assert f"2 replicas: {STEPS} steps of {BATCH // 2} examples per replica" in log
    assert steps_logged(log) == [STEPS]
  assert "(chief)" in text[0] and "(chief)" not in text[1]
  assert "Worker 1 done; the chief writes metrics.json." in text[1]

  metrics = check_metrics(model_dir)
  assert metrics["best_epoch"] == 1
  # Only the chief wrote to model_dir; worker 1's scratch copies are gone.
  assert (model_dir / "saved_model" / "saved_model.pb").exists()
  assert (model_dir / "checkpoints" / "checkpoint").exists()
  leftovers = [str(p) for p in model_dir.rglob("workertemp_*")]
  assert not leftovers, leftovers
