"""Faulty data files and data flags: each is refused with one clear message.

The reader cases run in-process; the CLI cases run the commands as
subprocesses and stop before any training (a few seconds each, mostly the
TensorFlow import).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc

import pytest

from pqrnn_tf.data import readers
from pqrnn_tf.data.examples import Example
from pqrnn_tf.data.readers import DataError
from pqrnn_tf.metrics import METRICS_FILE
from tests.test_train_cli import REPO, make_examples, run_cli, write_jsonl, write_tsv

LIMIT = readers.MAX_LINE_CHARS if hasattr(readers, "MAX_LINE_CHARS") else 1 << 20


def run_module(module: str, *args, timeout: float = 120) -> subprocess.CompletedProcess:
  """Runs `python -m module *args`; stdout and stderr kept apart."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
  return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                        capture_output=True, text=True, timeout=timeout, check=False)


def write(path, content: str):
  path.write_bytes(content.encode("utf-8"))
  return path


# ----------------------------------------------------------------------------- line splitting

# Characters str.splitlines() breaks at besides "\n" and "\r".
OTHER_LINE_BREAKS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]


@pytest.mark.parametrize("char", OTHER_LINE_BREAKS, ids=lambda c: f"U+{ord(c):04X}")
def test_only_newline_ends_a_jsonl_line(tmp_path, char):
  # json.dumps escapes the C0 ones (raw, JSON refuses them); U+0085, U+2028 and
  # U+2029 are written as they are.
  rows = [{"text": f"fly{char}home", "label": "flight"}, {"text": "hi", "label": "greet"}]
  p = write(tmp_path / "a.jsonl",
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
  # The character is whitespace inside the text, which the readers normalize.
  assert readers.read_jsonl(p) == [Example("fly home", "flight"), Example("hi", "greet")]


@pytest.mark.parametrize("char", OTHER_LINE_BREAKS, ids=lambda c: f"U+{ord(c):04X}")
def test_only_newline_ends_a_tsv_or_atis_line(tmp_path, char):
  tsv = write(tmp_path / "a.tsv", f"fly{char}home\tflight\nhi\tgreet\n")
  assert readers.read_tsv(tsv) == [Example("fly home", "flight"), Example("hi", "greet")]
  atis = write(tmp_path / "a.atis", f"fly:O{char}home:B-to <=> flight\nhi:O <=> greet\n")
  assert readers.read_atis_file(atis) == [Example("fly home", "flight", ("O", "B-to")),
                                          Example("hi", "greet", ("O",))]


def test_crlf_lone_cr_and_no_final_newline(tmp_path):
  p = write(tmp_path / "a.tsv", "a\rb\tx\r\nc\ty\r\nd\tz")
  assert readers.read_tsv(p) == [Example("a b", "x"), Example("c", "y"), Example("d", "z")]
  blank = write(tmp_path / "b.tsv", "a\tx\n\r\nc\ty\n")
  with pytest.raises(DataError, match=r"b\.tsv:2: empty text"):
    readers.read_tsv(blank)


# ----------------------------------------------------------------------------- directories


@pytest.mark.parametrize("reader", [readers.read_examples, readers.read_tsv])
def test_directory_is_a_directory_not_missing(tmp_path, reader):
  d = tmp_path / "data.tsv"
  d.mkdir()
  with pytest.raises(DataError, match=rf"^{d}: is a directory$"):
    reader(d)


# ----------------------------------------------------------------------------- TSV header


@pytest.mark.parametrize("header", ["Text\tLabel", "TEXT\tLABEL", " text \t label ",
                                    "Text\tlabel\r", "\ufefftext\tlabel"])
def test_tsv_header_any_case_and_whitespace(tmp_path, header):
  p = write(tmp_path / "h.tsv", f"{header}\nhi\tgreet\n")
  assert readers.read_tsv(p) == [Example("hi", "greet")]
  # Only line 1 is a header.
  text, label = header.lstrip("\ufeff").split("\t")
  p = write(tmp_path / "h2.tsv", f"hi\tgreet\n{text}\t{label}\n")
  assert readers.read_tsv(p)[1] == Example(text.strip(), label.strip())


# ----------------------------------------------------------------------------- line length


def test_line_length_limit_is_one_mebichar():
  assert readers.MAX_LINE_CHARS == 1_048_576


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_line_at_the_limit_is_read(tmp_path, ending):
  text = "a" * (LIMIT - 2) + " b"
  p = write(tmp_path / "ok.tsv", "hi\tgreet\n" + text + ending)
  assert readers.read_tsv(p)[1] == Example(text, None)


@pytest.mark.parametrize("length", [LIMIT + 1, LIMIT + 2, 3 * LIMIT + 5])
@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_longer_line_names_file_line_and_length(tmp_path, length, ending):
  after = "bye\tbye\n" if ending else ""  # Without an ending, the long line is the last.
  p = write(tmp_path / "long.tsv", "hi\tgreet\n" + "a" * length + ending + after)
  with pytest.raises(DataError, match=rf"long\.tsv:2: line of {length} characters exceeds "
                                      rf"the limit of 1048576"):
    readers.read_examples(p)


def test_long_jsonl_line_and_non_ascii_count_characters(tmp_path):
  p = write(tmp_path / "long.jsonl",
            '{"text": "ok"}\n' + json.dumps({"text": "é" * LIMIT}, ensure_ascii=False) + "\n")
  with pytest.raises(DataError, match=rf"long\.jsonl:2: line of {LIMIT + 12} characters"):
    readers.read_jsonl(p)


def test_huge_line_is_not_held_in_memory(tmp_path):
  length = 16 * LIMIT
  p = tmp_path / "huge.tsv"
  with open(p, "w", encoding="utf-8") as f:
    f.write("hi\tgreet\n")
    for _ in range(16):
      f.write("a" * LIMIT)
    f.write("\n")
  tracemalloc.start()
  try:
    with pytest.raises(DataError, match=f"line of {length} characters"):
      readers.read_tsv(p)
    _, peak = tracemalloc.get_traced_memory()
  finally:
    tracemalloc.stop()
  # One line's worth (ASCII: a byte a character) plus buffers; not the 16 MB file.
  assert peak < 4 * LIMIT, peak


# ----------------------------------------------------------------------------- evaluation data


@pytest.mark.parametrize("name, content, lineno", [
    ("dev.tsv", "text\tlabel\nhi\tgreet\nbye\n", 3),
    ("dev.jsonl", '{"text": "hi", "label": "greet"}\n{"text": "bye"}\n', 2),
    ("dev.jsonl", '{"text": "hi", "label": null}\n', 1),
])
def test_unlabeled_evaluation_line_is_refused(tmp_path, name, content, lineno):
  p = write(tmp_path / name, content)
  with pytest.raises(DataError, match=rf"^{p}:{lineno}: unlabeled example in evaluation data$"):
    readers.read_labeled_examples(p)
  # Training data may hold unlabeled lines (a teacher labels them).
  assert readers.read_examples(p)[lineno - 1 - name.endswith(".tsv")].intent is None


def test_unlabeled_line_in_a_glob_of_evaluation_shards(tmp_path):
  write(tmp_path / "dev-0.tsv", "hi\tgreet\n")
  bad = write(tmp_path / "dev-1.jsonl", '{"text": "a", "label": "x"}\n{"text": "b"}\n')
  with pytest.raises(DataError, match=rf"^{bad}:2: unlabeled"):
    readers.read_labeled_examples(str(tmp_path / "dev-*"))


@pytest.mark.parametrize("content", ["", "text\tlabel\n"], ids=["empty", "header_only"])
def test_evaluation_file_without_examples_is_refused(tmp_path, content):
  p = write(tmp_path / "dev.tsv", content)
  with pytest.raises(DataError, match=rf"^{p}: no examples$"):
    readers.read_labeled_examples(p)
  with pytest.raises(DataError, match=rf"^{p}: no examples$"):
    readers.read_examples(p, allow_empty=False)
  assert readers.read_examples(p) == []


def test_labeled_evaluation_data_reads_as_usual(tmp_path):
  p = write(tmp_path / "dev.atis", "hi:O <=> greet\n")
  assert readers.read_labeled_examples(p) == [Example("hi", "greet", ("O",))]


# ----------------------------------------------------------------------------- pqrnn-train


@pytest.fixture
def data(tmp_path):
  """Good train/dev files and an empty, an unlabeled and a directory 'file'."""
  d = tmp_path
  (d / "dir.tsv").mkdir()
  return {"train": write_jsonl(d / "train.jsonl", make_examples(16, seed=1)),
          "dev": write_jsonl(d / "dev.jsonl", make_examples(8, seed=2)),
          "empty": str(write(d / "empty.tsv", "")),
          "unlabeled": str(write(d / "unlabeled.tsv", "hi\tgreet\nbye\n")),
          "dir": str(d / "dir.tsv")}


@pytest.mark.parametrize("flags, message", [
    ({"train": "train", "eval": "empty"}, "{empty}: no examples"),
    ({"train": "empty", "eval": "dev"}, "{empty}: no examples"),
    ({"train": "train", "eval": "unlabeled"},
     "{unlabeled}:2: unlabeled example in evaluation data"),
    ({"train": "train", "eval": "dev", "test": "unlabeled"},
     "{unlabeled}:2: unlabeled example in evaluation data"),
    ({"train": "train", "eval": "dir"}, "{dir}: is a directory"),
], ids=["empty_eval", "empty_train", "unlabeled_eval", "unlabeled_test", "directory"])
def test_train_cli_refuses_bad_data_before_training(tmp_path, data, flags, message):
  args = [f"--{k}_file={data[v]}" for k, v in flags.items()]
  result = run_cli(*args, f"--model_dir={tmp_path / 'run'}", "--epochs=1", timeout=120)
  assert result.returncode != 0
  assert message.format(**data) in result.stdout.splitlines()[-1], result.stdout[-3000:]
  assert "Epoch 1" not in result.stdout
  assert not (tmp_path / "run" / METRICS_FILE).exists()


def test_train_cli_refuses_empty_streamed_shards(tmp_path, data):
  write(tmp_path / "shard-0.tsv", "")
  write(tmp_path / "shard-1.tsv", "text\tlabel\n")
  pattern = str(tmp_path / "shard-*.tsv")
  result = run_cli(f"--train_file={pattern}", f"--eval_file={data['dev']}",
                   f"--model_dir={tmp_path / 'run'}", "--epochs=1", timeout=120)
  assert result.returncode != 0
  assert f"{pattern}: no examples" in result.stdout.splitlines()[-1], result.stdout[-3000:]


def test_eval_cli_refuses_unlabeled_eval_file(tmp_path, data):
  result = run_module("pqrnn_tf.train.eval_cli", f"--model_dir={tmp_path / 'none'}",
                      f"--eval_file={data['unlabeled']}")
  assert result.returncode != 0
  last = result.stderr.strip().splitlines()[-1]
  assert f"{data['unlabeled']}:2: unlabeled example in evaluation data" in last, result.stderr


# ----------------------------------------------------------------------------- pqrnn-augment


def run_augment(*args) -> subprocess.CompletedProcess:
  return run_module("pqrnn_tf.data.augment_cli", *args, timeout=60)


def test_augment_refuses_output_equal_to_train_file_before_reading(tmp_path):
  train = tmp_path / "train.tsv"
  content = "show flights\tflight\ntoo\tmany\tcolumns\n"  # Malformed: must not be read.
  write(train, content)
  os.symlink(train, tmp_path / "link.tsv")
  for output in (train, tmp_path / "sub" / ".." / "train.tsv", tmp_path / "link.tsv"):
    result = run_augment(f"--train_file={train}", f"--output={output}")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--output" in lines[0] and "--train_file" in lines[0], lines
    assert train.read_text(encoding="utf-8") == content


def test_augment_refuses_output_equal_to_a_shard(tmp_path):
  rows = make_examples(4, seed=3)
  write_tsv(tmp_path / "train-0.tsv", rows)
  shard = write_tsv(tmp_path / "train-1.tsv", rows)
  before = open(shard, encoding="utf-8").read()
  result = run_augment(f"--train_file={tmp_path}/train-*.tsv", f"--output={shard}")
  assert result.returncode == 2 and "--output" in result.stderr, result.stderr
  assert open(shard, encoding="utf-8").read() == before


def test_augment_writes_output_whole(tmp_path):
  train = write_jsonl(tmp_path / "train.jsonl", make_examples(8, seed=4))
  output = tmp_path / "aug" / "out.jsonl"
  result = run_augment(f"--train_file={train}", f"--output={output}", "--multiplier=2")
  assert result.returncode == 0, result.stderr
  variants = readers.read_jsonl(output)
  assert variants and all(e.intent is None for e in variants)
  assert os.listdir(output.parent) == ["out.jsonl"]  # No temporary file left.


def test_write_jsonl_failure_leaves_the_old_file(tmp_path):
  path = tmp_path / "out.jsonl"
  path.write_text('{"text": "old"}\n', encoding="utf-8")

  def examples():
    yield Example("new one")
    raise RuntimeError("disk full")

  with pytest.raises(RuntimeError, match="disk full"):
    readers.write_jsonl(examples(), path)
  assert path.read_text(encoding="utf-8") == '{"text": "old"}\n'
  assert os.listdir(tmp_path) == ["out.jsonl"]
  assert readers.write_jsonl([Example("new one")], path) == 1
  assert readers.read_jsonl(path) == [Example("new one")]
  assert os.listdir(tmp_path) == ["out.jsonl"]
