"""Distributed training: sharded streaming input, MirroredStrategy, and two local
MultiWorkerMirroredStrategy workers (each its own process and TF_CONFIG)."""
from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import subprocess
import sys
import time

import pytest

from pqrnn_tf.metrics import HEADLINE_METRICS, METRICS_FILE

from tests.test_train_cli import make_examples, write_jsonl

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_SHARDS, SHARD_SIZE, BATCH = 4, 40, 16
STEPS = math.ceil(NUM_SHARDS * SHARD_SIZE / BATCH)  # 10 steps of 16 an epoch
WORKER_TIMEOUT = 600  # Seconds for the two-worker run: a guard against hangs (25-75 s on
# 2 idle cores; over 200 s with the cores shared by training jobs).

# Runs pqrnn-train with its strategy, streaming input and epochs recorded, as
# JSON lines in $PQRNN_TEST_RECORD: the values the functions return, not what
# they print. `TWO_CPUS=1` trains with MirroredStrategy over two logical CPUs.
RECORDING_TRAINER = """
import json, os, sys
import pqrnn_tf
import tensorflow as tf
from pqrnn_tf.train import cli, data, trainer

def record(**values):
  with open(os.environ["PQRNN_TEST_RECORD"], "a", encoding="utf-8") as f:
    f.write(json.dumps(values) + "\\n")

if os.environ.get("TWO_CPUS"):
  cpu = tf.config.list_physical_devices("CPU")[0]
  tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
  make_strategy = lambda name: tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
else:
  make_strategy = cli.make_strategy

def recorded_strategy(name):
  strategy = make_strategy(name)
  record(event="strategy", type=type(strategy).__name__,
         replicas=strategy.num_replicas_in_sync, chief=trainer.is_chief(strategy),
         workers=trainer.worker_info(strategy)[0])
  return strategy

stream = trainer.make_streaming_dataset
def recorded_stream(source, intents, tags, batch_size, **kwargs):
  shards, mode = data.worker_shards(source.paths, kwargs["num_workers"], kwargs["worker_index"])
  record(event="stream", worker=kwargs["worker_index"], workers=kwargs["num_workers"],
         batch_size=batch_size, mode=mode, shards=[os.path.basename(p) for p in shards])
  return stream(source, intents, tags, batch_size, **kwargs)

epoch_end = trainer.EpochCheckpoint.on_epoch_end
def recorded_epoch_end(self, epoch, logs=None):
  record(event="epoch", epoch=epoch + 1, steps=self._steps)
  epoch_end(self, epoch, logs)

cli.make_strategy = recorded_strategy
trainer.make_streaming_dataset = recorded_stream
trainer.EpochCheckpoint.on_epoch_end = recorded_epoch_end
cli.run()
"""


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
  return [sys.executable, "-c", RECORDING_TRAINER, "--preset=pqrnn_small",
          "--epochs=1", f"--batch_size={BATCH}", *args]


def base_env(**extra) -> dict:
  env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
  return dict(env, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", **extra)


def run(command, timeout=600, **env) -> str:
  result = subprocess.run(command, cwd=REPO, env=base_env(**env), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
  assert result.returncode == 0, f"exit {result.returncode}:\n{result.stdout[-6000:]}"
  return result.stdout


def recorded(path) -> dict[str, list[dict]]:
  """{event: [values, ...]} from a RECORDING_TRAINER record file."""
  events = {}
  with open(path, encoding="utf-8") as f:
    for line in f:
      values = json.loads(line)
      events.setdefault(values.pop("event"), []).append(values)
  return events


def check_metrics(model_dir):
  with open(os.path.join(model_dir, METRICS_FILE)) as f:
    metrics = json.load(f)
  assert metrics["num_params"] > 1000 and 0 < metrics["train_minutes"] < 10
  assert metrics["dev"]["num_examples"] == 24
  for key in HEADLINE_METRICS:
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


@pytest.mark.parametrize("num_shards, num_workers, expected_mode", [
    (4, 1, "single worker"), (4, 2, "by file"), (4, 3, "by file"), (4, 5, "by data")])
def test_worker_shards(num_shards, num_workers, expected_mode):
  """By file, every shard goes to exactly one worker; by data, all to each."""
  from pqrnn_tf.train import data  # pylint: disable=g-import-not-at-top
  paths = [f"train-{i}.jsonl" for i in range(num_shards)]
  shares = [data.worker_shards(paths, num_workers, i) for i in range(num_workers)]
  assert {mode for _, mode in shares} == {expected_mode}
  if expected_mode == "by file":
    assert sorted(p for share, _ in shares for p in share) == paths
  else:
    assert all(share == paths for share, _ in shares)


def test_mirrored(shards, tmp_path):
  """--strategy=mirrored on this CPU machine: one replica, the whole data."""
  pattern, dev = shards
  record = tmp_path / "record.jsonl"
  run(cli_command("--strategy=mirrored", f"--train_file={pattern}", f"--eval_file={dev}",
                  f"--model_dir={tmp_path / 'run'}"), PQRNN_TEST_RECORD=str(record))
  events = recorded(record)
  assert events["strategy"] == [{"type": "MirroredStrategy", "replicas": 1, "chief": True,
                                 "workers": 1}]
  assert [e["steps"] for e in events["epoch"]] == [STEPS]
  check_metrics(tmp_path / "run")


def test_mirrored_two_replicas(shards, tmp_path):
  """MirroredStrategy over two logical CPUs: the custom op and per-replica batches."""
  pattern, dev = shards
  record = tmp_path / "record.jsonl"
  run(cli_command(f"--train_file={pattern}", f"--eval_file={dev}",
                  f"--model_dir={tmp_path / 'run'}"),
      PQRNN_TEST_RECORD=str(record), TWO_CPUS="1")
  events = recorded(record)
  assert [(e["type"], e["replicas"]) for e in events["strategy"]] == [("MirroredStrategy", 2)]
  # One input pipeline, batched per replica: 10 steps of 2 x 8 examples.
  assert {e["batch_size"] for e in events["stream"]} == {BATCH // 2}
  assert [e["steps"] for e in events["epoch"]] == [STEPS]
  check_metrics(tmp_path / "run")


def run_local_workers(command, log_dir, worker_env=lambda index: {}, num_workers=2) -> str:
  """Runs `command` as `num_workers` MultiWorkerMirroredStrategy workers on
  127.0.0.1 (each its own process, TF_CONFIG and `worker_env(index)`); asserts
  that all exit 0 within WORKER_TIMEOUT and returns their logs' tails."""
  cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(num_workers)]}
  procs, logs = [], []
  try:
    for index in range(num_workers):
      logs.append(open(os.path.join(log_dir, f"worker{index}.log"), "w+", encoding="utf-8"))
      tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
      procs.append(subprocess.Popen(
          command, cwd=REPO, stdout=logs[-1], stderr=subprocess.STDOUT,
          env=base_env(TF_CONFIG=tf_config, **worker_env(index))))
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
  report = "\n".join(f"--- worker {i} (exit {p.returncode}):\n{t[-5000:]}"
                     for i, (p, t) in enumerate(zip(procs, text)))
  assert not any(timed_out), f"timed out after {WORKER_TIMEOUT}s\n{report}"
  assert [p.returncode for p in procs] == [0] * num_workers, report
  return report


def test_two_local_workers(shards, tmp_path):
  """Two MultiWorkerMirroredStrategy workers on 127.0.0.1 train one model."""
  pattern, dev = shards
  model_dir = tmp_path / "run"
  command = cli_command("--strategy=multi_worker", f"--train_file={pattern}",
                        f"--eval_file={dev}", f"--model_dir={model_dir}")
  records = [tmp_path / f"worker{index}.record.jsonl" for index in range(2)]
  report = run_local_workers(command, tmp_path,
                             lambda index: {"PQRNN_TEST_RECORD": str(records[index])})
  events = [recorded(path) for path in records]

  # Worker 0 is the chief; both see two replicas, one each. (The class behind
  # tf.distribute.MultiWorkerMirroredStrategy is CollectiveAllReduceStrategy.)
  assert [e["strategy"] for e in events] == [
      [{"type": "CollectiveAllReduceStrategy", "replicas": 2, "chief": chief, "workers": 2}]
      for chief in (True, False)], report
  # Each worker streamed its own half of the shards (by file)...
  shard_sets = []
  for index, worker in enumerate(events):
    (stream,) = worker["stream"]
    assert (stream["worker"], stream["workers"], stream["mode"]) == (index, 2, "by file")
    assert len(stream["shards"]) == NUM_SHARDS // 2
    shard_sets.append(set(stream["shards"]))
  assert not shard_sets[0] & shard_sets[1]
  assert shard_sets[0] | shard_sets[1] == {f"train-{i}.jsonl" for i in range(NUM_SHARDS)}
  # ...and took half of each global batch: 10 steps of 8 examples per worker
  # cover the 80 examples of its shards, the 10 steps of 16 of one process.
  for worker in events:
    assert worker["stream"][0]["batch_size"] == BATCH // 2
    assert [e["steps"] for e in worker["epoch"]] == [STEPS]

  metrics = check_metrics(model_dir)
  assert metrics["best_epoch"] == 1
  # Only the chief wrote to model_dir; worker 1's scratch copies are gone.
  assert (model_dir / "saved_model" / "saved_model.pb").exists()
  assert (model_dir / "checkpoints" / "checkpoint").exists()
  leftovers = [str(p) for p in model_dir.rglob("workertemp_*")]
  assert not leftovers, leftovers
