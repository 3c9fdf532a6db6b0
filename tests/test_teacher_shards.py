"""Teacher logits in shards: written atomically, shared by processes, resumed after kill -9."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from pqrnn_tf.cli_errors import UserError
from pqrnn_tf.data import teacher_logits
from pqrnn_tf.teacher import logits as logits_lib
from tests.test_teacher import make_examples, tiny_bert, trained  # noqa: F401

#: 50 texts with repeats (a corpus repeats itself; every row is kept).
TEXTS = [e.text for e in make_examples(40)] + [e.text for e in make_examples(10)]


def write_jsonl(path, texts) -> str:
  with open(path, "w", encoding="utf-8") as f:
    f.write("".join(json.dumps({"text": t}) + "\n" for t in texts))
  return str(path)


@pytest.fixture(scope="module")
def one_file(trained, tmp_path_factory):  # noqa: F811
  """The logits of TEXTS written as one file, the reference for the shards."""
  path = str(tmp_path_factory.mktemp("one_file") / "all.npz")
  logits_lib.write_logits(trained, TEXTS, path, num_threads=1)
  return teacher_logits.load_teacher_logits(path)


def assert_same_logits(got: teacher_logits.TeacherLogits, want: teacher_logits.TeacherLogits):
  assert got.texts.tolist() == want.texts.tolist()
  assert got.token_offsets.tolist() == want.token_offsets.tolist()
  np.testing.assert_allclose(got.intent_logits, want.intent_logits, atol=1e-5)
  np.testing.assert_allclose(got.slot_logits, want.slot_logits, atol=1e-5)


def shard_files(directory) -> list[str]:
  return sorted(f for f in os.listdir(directory) if f.endswith(".npz"))


def test_shards_hold_the_rows_of_one_file(trained, one_file, tmp_path):  # noqa: F811
  out = str(tmp_path / "shards")
  summary = logits_lib.write_logit_shards(trained, TEXTS, out, shard_size=8, num_threads=1,
                                          log=lambda s: None)
  assert (summary["written"], summary["present"], summary["num_shards"]) == (7, 7, 7)
  assert shard_files(out) == [f"shard-{k:05d}-of-00007.npz" for k in range(7)]
  index = teacher_logits.read_index(os.path.join(out, teacher_logits.INDEX_FILE))
  assert [s["num_texts"] for s in index["shards"]] == [8] * 6 + [2]
  for k, name in enumerate(shard_files(out)):  # Each shard is a complete file.
    part = teacher_logits.load_teacher_logits(os.path.join(out, name))
    assert part.texts.tolist() == TEXTS[8 * k:8 * k + 8]
  for spec in (out, os.path.join(out, teacher_logits.INDEX_FILE), os.path.join(out, "shard-*")):
    assert_same_logits(teacher_logits.load_teacher_logits(spec), one_file)


def test_processes_share_the_shards_and_a_second_run_writes_nothing(trained, one_file,  # noqa: F811
                                                                     tmp_path):
  out = str(tmp_path / "shards")
  first = logits_lib.write_logit_shards(trained, TEXTS, out, 8, shard_index=1, num_shards=3,
                                        num_threads=1, log=lambda s: None)
  assert (first["written"], first["present"]) == (2, 2)  # Shards 1 and 4.
  assert shard_files(out) == ["shard-00001-of-00007.npz", "shard-00004-of-00007.npz"]
  with pytest.raises(ValueError, match="5 of 7 shards are not written yet"):
    teacher_logits.load_teacher_logits(out)
  for k in (0, 2):
    logits_lib.write_logit_shards(trained, TEXTS, out, 8, shard_index=k, num_shards=3,
                                  num_threads=1, log=lambda s: None)
  assert_same_logits(teacher_logits.load_teacher_logits(out), one_file)
  again = logits_lib.write_logit_shards(trained, TEXTS, out, 8, num_threads=1,
                                        log=lambda s: None)
  assert (again["written"], again["skipped"], again["present"]) == (0, 7, 7)


def test_a_directory_of_other_texts_or_shard_size_is_refused(trained, tmp_path):  # noqa: F811
  out = str(tmp_path / "shards")
  logits_lib.write_logit_shards(trained, TEXTS[:10], out, 8, num_threads=1, log=lambda s: None)
  for texts, size in ((TEXTS[:11], 8), (TEXTS[:10], 4)):
    with pytest.raises(UserError, match="holds the teacher logits of other texts"):
      logits_lib.write_logit_shards(trained, texts, out, size, num_threads=1,
                                    log=lambda s: None)


# The CLI, killed with SIGKILL halfway through writing its `DIE_AT`-th shard
# file (`np.savez_compressed` is where the bytes go).
DYING_CLI = """
import os, runpy, signal, sys
import numpy as np
real, calls = np.savez_compressed, [0]
def dying(f, **arrays):
  calls[0] += 1
  if calls[0] == int(os.environ["DIE_AT"]):
    f.write(b"PK\\x03\\x04 half a shard")
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
  return real(f, **arrays)
np.savez_compressed = dying
sys.argv[0] = "pqrnn-teacher"
runpy.run_module("pqrnn_tf.teacher.cli", run_name="__main__")
"""


def logits_cli(*args, code=None, env=None, wait=True):
  command = [sys.executable, *(["-c", code] if code else ["-m", "pqrnn_tf.teacher.cli"]),
             "logits", *args]
  if not wait:
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=dict(os.environ, **(env or {})))
  return subprocess.run(command, capture_output=True, text=True, timeout=300,
                        env=dict(os.environ, **(env or {})))


def stats(directory) -> dict:
  """(inode, mtime) of each shard file: a rewritten shard changes them."""
  return {f: (os.stat(os.path.join(directory, f)).st_ino,
              os.stat(os.path.join(directory, f)).st_mtime_ns) for f in shard_files(directory)}


def assert_every_text_once(directory, want: teacher_logits.TeacherLogits):
  rows = [t for p in teacher_logits.shard_paths(directory)
          for t in teacher_logits.read_texts(p).tolist()]
  assert rows == want.texts.tolist()  # Each text exactly once, in order.
  assert_same_logits(teacher_logits.load_teacher_logits(directory), want)


def test_killed_while_writing_a_shard_resumes_without_rewriting_finished_ones(  # noqa: F811
    trained, one_file, tmp_path):
  data = write_jsonl(tmp_path / "texts.jsonl", TEXTS)
  out = str(tmp_path / "shards")
  args = [f"--model_dir={trained}", f"--input={data}", f"--output={out}", "--shard_size=8",
          "--num_threads=1"]
  killed = logits_cli(*args, code=DYING_CLI, env={"DIE_AT": "4"})
  assert killed.returncode == -signal.SIGKILL, killed.stderr
  assert shard_files(out) == [f"shard-{k:05d}-of-00007.npz" for k in range(3)]
  assert [f for f in os.listdir(out) if ".tmp-" in f]  # The half-written shard.
  finished = stats(out)
  resumed = logits_cli(*args)
  assert resumed.returncode == 0, resumed.stderr
  assert "wrote 4 shard(s), kept 3 finished before; 7 of 7 shards" in resumed.stdout
  assert {f: s for f, s in stats(out).items() if f in finished} == finished
  assert not [f for f in os.listdir(out) if ".tmp-" in f]
  assert_every_text_once(out, one_file)


def test_killed_at_any_moment_resumes_to_the_uninterrupted_result(trained, tmp_path):  # noqa: F811
  texts = TEXTS * 4
  data = write_jsonl(tmp_path / "texts.jsonl", texts)
  out, reference = str(tmp_path / "shards"), str(tmp_path / "reference")
  args = [f"--model_dir={trained}", f"--input={data}", "--shard_size=2", "--num_threads=1"]
  proc = logits_cli(*args, f"--output={out}", wait=False)
  deadline = time.monotonic() + 300
  while proc.poll() is None and len(shard_files(out) if os.path.isdir(out) else []) < 3:
    assert time.monotonic() < deadline, "no shard written"
    time.sleep(0.01)
  proc.kill()  # SIGKILL, wherever it is.
  assert proc.wait() == -signal.SIGKILL  # Killed, not finished: 100 shards take long.
  assert logits_cli(*args, f"--output={out}").returncode == 0
  assert logits_cli(*args, f"--output={reference}").returncode == 0
  want = teacher_logits.load_teacher_logits(reference)
  assert want.texts.tolist() == texts
  assert_every_text_once(out, want)


@pytest.mark.parametrize("flags, message", [
    (["--num_shards=2"], "--num_shards needs --shard_size"),
    (["--shard_size=4", "--num_shards=2", "--shard_index=2"], "--shard_index=2 must be below"),
])
def test_flag_errors_are_one_line(trained, tmp_path, flags, message):  # noqa: F811
  data = write_jsonl(tmp_path / "texts.jsonl", TEXTS[:4])
  r = logits_cli(f"--model_dir={trained}", f"--input={data}", f"--output={tmp_path}/o",
                 *flags)
  assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr


def reference_shards(model_dir: str, input_spec: str, shard_size: int, batch_size: int) -> dict:
  """What `pqrnn-teacher logits --shard_size` must write, built from first
  principles: {file name: {member: its .npy bytes}} and the index's JSON text.

  The input is read whole (the in-memory reader), cut into consecutive
  shards, and each shard's texts are labeled in one `predict_all` call.
  """
  import hashlib
  import io
  from pqrnn_tf.data import readers
  from pqrnn_tf.teacher import predictor as predictor_lib

  def digest(texts):
    h = hashlib.sha256()
    for text in texts:
      data = text.encode("utf-8", "surrogatepass")
      h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()

  texts = [e.text for e in readers.read_examples(input_spec)]
  count = -(-len(texts) // shard_size)
  teacher = logits_lib.teacher_meta(model_dir)
  source = os.path.abspath(input_spec)
  predictor = predictor_lib.load_torch(model_dir, num_threads=1)
  files, entries = {}, []
  for k in range(count):
    part = texts[k * shard_size:(k + 1) * shard_size]
    name = f"shard-{k:05d}-of-{count:05d}.npz"
    entries.append({"file": name, "first_text": k * shard_size, "num_texts": len(part),
                    "texts_sha256": digest(part)})
    intent, slots, uncovered = predictor_lib.predict_all(predictor, part, batch_size)
    meta = {**teacher, "source": source, "max_length": predictor.max_length, "shard": k,
            "num_shards": count, "first_text": k * shard_size, "texts_sha256": digest(part),
            "num_texts": len(part), "num_tokens": sum(len(s) for s in slots),
            "num_uncovered_tokens": uncovered, "uncovered_token_logits": "zeros",
            "format_version": 1}
    lengths = [len(t.split()) for t in part]
    arrays = {
        "texts": np.array(part, dtype=np.str_),
        "intent_labels": np.array(predictor.intent_labels, dtype=np.str_),
        "tag_labels": np.array(predictor.tag_labels, dtype=np.str_),
        "intent_logits": intent.astype(np.float32),
        "slot_logits": np.concatenate(slots).astype(np.float32),
        "token_offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "meta": np.array(json.dumps(meta, ensure_ascii=False), dtype=np.str_)}
    members = {}
    for key, value in arrays.items():
      buffer = io.BytesIO()
      np.lib.format.write_array(buffer, value, allow_pickle=False)
      members[f"{key}.npy"] = buffer.getvalue()
    files[name] = members
  index = {"format_version": 1, "layout": "teacher_logits_shards", "num_texts": len(texts),
           "shard_size": shard_size, "num_shards": count, "texts_sha256": digest(texts),
           "meta": {**teacher, "source": source}, "shards": entries}
  return {"files": files, "index": json.dumps(index, indent=1, ensure_ascii=False) + "\n"}


def test_the_cli_writes_the_shards_of_the_whole_input_read_in_memory_byte_for_byte(  # noqa: F811
    trained, tmp_path):
  import zipfile
  # Two files of two formats through one glob, labeled and not, with a TSV
  # header, repeats and whitespace that the readers normalize.
  tsv_texts = ["book   flights from boston to denver", *TEXTS[:17], " what is the fare "]
  with open(tmp_path / "a.tsv", "w", encoding="utf-8") as f:
    f.write("text\tlabel\n" + "".join(f"{t}\tflight\n" if i % 3 else f"{t}\n"
                                      for i, t in enumerate(tsv_texts)))
  write_jsonl(tmp_path / "b.jsonl", TEXTS[10:])
  spec = str(tmp_path / "*.*")
  out = str(tmp_path / "shards")
  r = logits_cli(f"--model_dir={trained}", f"--input={spec}", f"--output={out}",
                 "--shard_size=9", "--batch_size=4", "--num_threads=1")
  assert r.returncode == 0, r.stderr
  want = reference_shards(trained, spec, 9, 4)
  assert len(want["files"]) == 7  # 19 + 40 texts in 9-text shards.
  assert shard_files(out) == sorted(want["files"])
  for name, members in want["files"].items():
    with zipfile.ZipFile(os.path.join(out, name)) as z:
      assert z.namelist() == list(members)
      for member, data in members.items():
        assert z.read(member) == data, f"{name}/{member}"
  with open(os.path.join(out, teacher_logits.INDEX_FILE), encoding="utf-8") as f:
    assert f.read() == want["index"]


class ChangingTexts:
  """Texts whose second pass differs from the first (an input edited while
  it is labeled)."""

  def __init__(self, first, second):
    self.passes = [first, second]

  def __iter__(self):
    return iter(self.passes.pop(0) if len(self.passes) > 1 else self.passes[0])


def test_an_input_that_changes_between_planning_and_labeling_is_refused(trained, tmp_path):  # noqa: F811
  changed = TEXTS[:20] + ["a new text"] + TEXTS[21:30]
  with pytest.raises(UserError, match="texts 16.. are not those planned for "
                                      "shard-00002-of-00004.npz"):
    logits_lib.write_logit_shards(trained, ChangingTexts(TEXTS[:30], changed),
                                  str(tmp_path / "o"), 8, num_threads=1, log=lambda s: None)


def test_input_texts_stream_what_the_readers_read(tmp_path):
  from pqrnn_tf.data import readers
  with open(tmp_path / "a.tsv", "w", encoding="utf-8") as f:
    f.write("text\tlabel\n fly  home \tflight\nhi\n")
  with open(tmp_path / "b.atis", "w", encoding="utf-8") as f:
    f.write("to:O boston:B-to <=> flight\n")
  write_jsonl(tmp_path / "c.jsonl", TEXTS[:3])
  spec = str(tmp_path / "*.*")
  texts = logits_lib.InputTexts(spec)
  assert list(texts) == list(texts) == [e.text for e in readers.read_examples(spec)]
  assert list(texts)[:3] == ["fly home", "hi", "to boston"]
  assert next(readers.iter_examples(spec)) == readers.read_examples(spec)[0]
  with open(tmp_path / "c.jsonl", "a", encoding="utf-8") as f:
    f.write("{}\n")
  with pytest.raises(readers.DataError, match="c.jsonl:4: missing 'text'"):
    list(texts)


def test_bad_or_missing_input_of_a_streamed_run_is_one_line(trained, tmp_path):  # noqa: F811
  bad = write_jsonl(tmp_path / "bad.jsonl", TEXTS[:5])
  with open(bad, "a", encoding="utf-8") as f:
    f.write("{not json\n")
  for spec, message in ((bad, "bad.jsonl:6: invalid JSON"),
                        (str(tmp_path / "none.jsonl"), "no such file")):
    r = logits_cli(f"--model_dir={trained}", f"--input={spec}", f"--output={tmp_path}/o",
                   "--shard_size=2")
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
