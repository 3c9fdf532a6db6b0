"""pqrnn-predict on large inputs: streamed batch by batch, in order, bounded memory."""
import json
import os
import random
import select
import subprocess
import sys

import pytest

from pqrnn_tf.inference import TflitePredictor
from pqrnn_tf.inference import cli
from tests.test_export import model  # noqa: F401  (the suite's tiny model)
from tests.test_inference import CLI, ENV, model_path, predict_cli  # noqa: F401

WORDS = ["book", "a", "flight", "to", "boston", "fare", "Ünïcödé", "北京", "denver", "hi"]
SEPARATORS = [" ", " ", " ", "  ", "\t", "\r", "\u2028", "\u00a0"]


def random_lines(count: int, seed: int) -> list[str]:
  """Seeded texts with odd whitespace (never "\\n"), some empty."""
  rng = random.Random(seed)
  lines = []
  for _ in range(count):
    words = [rng.choice(WORDS) for _ in range(rng.randrange(0, 12))]
    lines.append("".join(w + rng.choice(SEPARATORS) for w in words).rstrip(" "))
  return lines


def reference_lines(content: bytes) -> list[str]:
  """The texts of an input as the whole-file reader split them: on "\\n" only,
  a final "\\n" ending the last text."""
  lines = content.decode("utf-8").split("\n")
  return lines[:-1] if lines and lines[-1] == "" else lines


def reference_output(model_path, texts, batch_size=32, top_k=3):  # noqa: F811
  """What predicting every text at once and writing them all gives."""
  predictor = TflitePredictor(model_path, batch_size=batch_size, top_k=top_k)
  return "".join(cli.json_line(p) + "\n" for p in predictor.predict(texts))


# --- the reader ----------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 5, 64, 1 << 16])
@pytest.mark.parametrize("content", [b"", b"\n", b"a", b"a\n", b"a\n\n", b"\n\nb",
                                     b"x\r\ny\r\n", "a\u2028b\nc\x85d".encode()])
def test_reader_splits_like_the_whole_file_reader(tmp_path, content, chunk_size):
  path = tmp_path / "in.txt"
  path.write_bytes(content)
  fd = os.open(path, os.O_RDONLY)
  reader = cli.LineReader(fd, str(path), chunk_size=chunk_size)
  got = []
  while (batch := reader.read_batch(3)) is not None:
    got.extend(batch)
  os.close(fd)
  want = reference_lines(content)
  assert [t for _, t in got] == want
  assert [n for n, _ in got] == list(range(1, len(want) + 1))


def test_reader_holds_one_batch_and_one_chunk_at_most(tmp_path):
  lines = random_lines(20_000, seed=1)
  path = tmp_path / "in.txt"
  path.write_bytes("".join(t + "\n" for t in lines).encode())
  fd = os.open(path, os.O_RDONLY)
  reader = cli.LineReader(fd, str(path), chunk_size=4096)
  count, most_bytes = 0, 0
  while (batch := reader.read_batch(32)) is not None:
    count += len(batch)
    most_bytes = max(most_bytes, len(reader._buffer))  # pylint: disable=protected-access
  os.close(fd)
  assert count == len(lines)
  assert reader.max_lines_held == 32
  # What is left unread of a chunk plus a new chunk: never the file.
  assert most_bytes <= 2 * 4096 < os.path.getsize(path)


# --- the command line ------------------------------------------------------------


@pytest.mark.parametrize("extra", [[], ["--threads=3"]])
def test_streamed_output_is_identical_to_predicting_all_at_once(model_path, tmp_path,  # noqa: F811
                                                                extra):
  texts = random_lines(300, seed=0)
  content = ("".join(t + "\n" for t in texts)).encode()
  path = tmp_path / "texts.txt"
  path.write_bytes(content)
  want = reference_output(model_path, reference_lines(content), batch_size=7)
  rc, out, err = predict_cli(f"--model={model_path}", f"--input={path}", "--batch_size=7",
                             *extra)
  assert rc == 0, err
  assert out == want
  rc, out, err = predict_cli(f"--model={model_path}", "--batch_size=7", *extra,
                             stdin=content)
  assert rc == 0, err
  assert out == want


def read_line_within(stream, seconds: float) -> bytes:
  """One line of a pipe, or b"" if none came within `seconds` (a deadline
  against hanging, far above the time one batch takes)."""
  ready, _, _ = select.select([stream], [], [], seconds)
  return stream.readline() if ready else b""


def test_a_line_is_answered_before_stdin_is_closed(model_path):  # noqa: F811
  proc = subprocess.Popen([sys.executable, "-c", CLI, f"--model={model_path}"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=ENV)
  try:
    answers = []
    for text in ["book a flight to boston", "hi"]:
      proc.stdin.write(text.encode() + b"\n")
      proc.stdin.flush()
      answers.append(read_line_within(proc.stdout, 120))
    assert [json.loads(a)["text"] for a in answers if a] == ["book a flight to boston", "hi"]
    proc.stdin.close()
    assert proc.stdout.read() == b""
    assert proc.wait(timeout=60) == 0
  finally:
    proc.kill()
    proc.wait()


def test_a_closed_output_pipe_stops_the_run_quietly(model_path, tmp_path):  # noqa: F811
  path = tmp_path / "texts.txt"
  path.write_bytes(b"book a flight\n" * 200_000)
  proc = subprocess.Popen([sys.executable, "-c", CLI, f"--model={model_path}",
                           f"--input={path}"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
  first = read_line_within(proc.stdout, 120)
  proc.stdout.close()  # As `| head -1` does.
  rc = proc.wait(timeout=120)
  err = proc.stderr.read().decode()
  assert json.loads(first)["text"] == "book a flight"
  assert rc == 141
  assert "Traceback" not in err and "Error" not in err, err


BAD = b"book a flight\nto boston\nbad \xff byte\nhi\n\nlast"


def test_a_line_that_is_not_utf8_stops_after_the_lines_before_it(model_path, tmp_path):  # noqa: F811
  path = tmp_path / "texts.txt"
  path.write_bytes(BAD)
  rc, out, err = predict_cli(f"--model={model_path}", f"--input={path}")
  assert rc == 2
  assert err == f"pqrnn-predict: {path}:3: not UTF-8 (invalid start byte)\n"
  assert out == reference_output(model_path, ["book a flight", "to boston"])
  rc, out, err = predict_cli(f"--model={model_path}", stdin=BAD)
  assert (rc, err) == (2, "pqrnn-predict: <stdin>:3: not UTF-8 (invalid start byte)\n")


@pytest.mark.parametrize("output_format", ["jsonl", "table"])
def test_skipped_bad_lines_keep_the_output_aligned(model_path, tmp_path, output_format):  # noqa: F811
  path = tmp_path / "texts.txt"
  path.write_bytes(BAD + b"\n\xc3\n")
  rc, out, err = predict_cli(f"--model={model_path}", f"--input={path}", "--batch_size=2",
                             "--on_bad_line=skip", f"--format={output_format}")
  assert rc == 0, err
  assert err.splitlines() == [
      f"pqrnn-predict: {path}:3: not UTF-8 (invalid start byte); skipped",
      f"pqrnn-predict: {path}:7: not UTF-8 (unexpected end of data); skipped"]
  good = ["book a flight", "to boston", "hi", "", "last"]
  if output_format == "table":
    blocks = out.rstrip("\n").split("\n\n")
    assert len(blocks) == 7
    assert blocks[2] == "line    3\nerror   not UTF-8 (invalid start byte)"
    assert [b.splitlines()[0] for b in blocks[:2] + blocks[3:6]] == [
        f"text    {t!r}" for t in good]
    return
  records = [json.loads(line) for line in out.splitlines()]
  assert records[2] == {"line": 3, "error": "not UTF-8 (invalid start byte)"}
  assert records[6] == {"line": 7, "error": "not UTF-8 (unexpected end of data)"}
  kept = out.splitlines()
  del kept[6], kept[2]
  assert "".join(k + "\n" for k in kept) == reference_output(model_path, good)


# The CLI, reporting its peak resident memory at exit. VmHWM, not ru_maxrss:
# the kernel starts a child's ru_maxrss at its parent's size when it forks,
# and the parent here is a test process with TensorFlow loaded.
MEASURED_CLI = ("import atexit, re, runpy, sys\n"
                "def report():\n"
                "  status = open('/proc/self/status').read()\n"
                "  sys.stderr.write('PEAK_KIB=%s\\n' % re.search(r'VmHWM:\\s*(\\d+)', status)[1])\n"
                "atexit.register(report)\n"
                "sys.argv[0] = 'pqrnn-predict'\n"
                "runpy.run_module('pqrnn_tf.inference.cli', run_name='__main__')\n")


def peak_rss_kib(args) -> int:
  """Peak resident memory (KiB) of one run of pqrnn-predict."""
  proc = subprocess.run([sys.executable, "-c", MEASURED_CLI, *args], stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE, env=ENV, timeout=600)
  err = proc.stderr.decode()
  assert proc.returncode == 0, err
  return int(err.rsplit("PEAK_KIB=", 1)[1].split()[0])


def test_memory_is_bounded_by_the_batch_not_the_input(model_path, tmp_path):  # noqa: F811
  lines = random_lines(5_000, seed=2)
  small, large = tmp_path / "small.txt", tmp_path / "large.txt"
  small.write_bytes("".join(t + "\n" for t in lines).encode())
  large.write_bytes("".join(t + "\n" for t in lines * 8).encode())  # 40,000 lines
  common = [f"--model={model_path}", "--batch_size=64"]
  small_kib = peak_rss_kib(common + [f"--input={small}"])
  large_kib = peak_rss_kib(common + [f"--input={large}"])
  # Holding every text and prediction of 40,000 lines takes over 150 MB
  # (the whole-file reader peaked at 1.06 GB on 200,000); streamed, the large
  # run's peak is the small run's within noise.
  assert large_kib < small_kib + 40 * 1024, (small_kib, large_kib)


def stderr_on_a_terminal(args) -> str:
  """What the pqrnn-predict console script writes to stderr when it is a terminal."""
  import pty  # pylint: disable=g-import-not-at-top
  script = os.path.join(os.path.dirname(sys.executable), "pqrnn-predict")
  main_end, tool_end = pty.openpty()
  proc = subprocess.Popen([script, *args], stdout=subprocess.DEVNULL, stderr=tool_end, env=ENV)
  os.close(tool_end)
  data = b""
  while True:
    try:
      chunk = os.read(main_end, 4096)
    except OSError:  # The tool closed its end.
      break
    if not chunk:
      break
    data += chunk
  os.close(main_end)
  assert proc.wait(timeout=120) == 0
  return data.decode()


def test_progress_shows_on_a_terminal_only(model_path, tmp_path):  # noqa: F811
  path = tmp_path / "texts.txt"
  path.write_bytes("".join(t + "\n" for t in random_lines(500, seed=3)).encode())
  shown = stderr_on_a_terminal([f"--model={model_path}", f"--input={path}"])
  assert shown.endswith("pqrnn-predict: 500 lines, 100%\r\n"), shown  # The pty adds "\r".
  rc, _, err = predict_cli(f"--model={model_path}", f"--input={path}")
  assert (rc, err) == (0, "")
