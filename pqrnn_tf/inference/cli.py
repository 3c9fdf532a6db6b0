"""pqrnn-predict: intents and slots of raw texts, from an exported `.tflite` model.

  pqrnn-predict --model=out/atis_int8.tflite "flights from boston to denver"
  pqrnn-predict --model=out/atis_int8.tflite --input=texts.txt > predictions.jsonl
  echo "book a flight to dallas" | pqrnn-predict --model=out/atis_int8.tflite --format=table
  cat big.txt | pqrnn-predict --model=out/atis_int8.tflite --threads=2 | head -1

Texts come from the positional arguments, else from --input (one text per
line, split on "\\n" only), else from stdin (likewise). Prints one JSON object
per text (`Prediction.to_dict`: intent, top_k, tokens with tags, slots with
character offsets into the text), or with --format=table a table for people.

Input is streamed: --batch_size lines are read, predicted and written (stdout
flushed) at a time, so memory is bounded by the batch, not the input, and the
first results appear at once. A pipe that has no further line ready yet gets
the answers to the lines it has sent (a partial batch) without waiting for
more. With --threads=N, N interpreters run batches at once; the output keeps
the input's order. A line that is not UTF-8 stops the run (after the lines
before it are written) or, with --on_bad_line=skip, is reported on stderr and
answered with an error record, so output line k still answers input line k.
Progress goes to stderr for an --input file when stderr is a terminal.

Runs in LiteRT without importing TensorFlow. A missing or unreadable model
prints `pqrnn-predict: <path>: <problem>` and exits with status 2.
"""
from __future__ import annotations

import collections
import concurrent.futures
import json
import os
import select
import sys
import time
from typing import Iterator, Sequence, TextIO

from absl import app, flags

from pqrnn_tf import cli_errors
from pqrnn_tf.inference import decoding, predictor as predictor_lib

FLAGS = flags.FLAGS
PROGRAM = "pqrnn-predict"
FORMATS = ("jsonl", "table")
ON_BAD_LINE = ("stop", "skip")
#: Bytes asked of the input at a time; with one batch, what the reader holds.
READ_CHUNK = 1 << 16
#: Batches queued per thread, so a thread never waits for the reader.
BATCHES_PER_THREAD = 2


def define_flags() -> None:
  flags.DEFINE_string("model", None, "A .tflite file written by pqrnn-export.")
  flags.DEFINE_string("input", None, "A UTF-8 file of texts, one per line (default: "
                      "the positional arguments, else stdin).")
  flags.DEFINE_enum("format", "jsonl", list(FORMATS), "jsonl: one JSON object per "
                    "text; table: aligned columns for people.")
  flags.DEFINE_integer("top_k", 3, "How many intents to list per text.", lower_bound=0)
  flags.DEFINE_integer("batch_size", 32, "Texts per invoke; also the lines read, "
                       "predicted and written at a time.", lower_bound=1)
  flags.DEFINE_integer("threads", 1, "Batches predicted at once, each thread with its "
                       "own interpreter; the output keeps the input's order.",
                       lower_bound=1)
  flags.DEFINE_enum("on_bad_line", "stop", list(ON_BAD_LINE),
                    "A line that is not UTF-8: stop (exit 2 naming FILE:LINE, after "
                    "the lines before it are written), or skip (name it on stderr and "
                    "write {\"line\": N, \"error\": \"...\"} in its place, so output "
                    "line k still answers input line k).")
  flags.DEFINE_enum("runtime", "litert", list(predictor_lib.RUNTIMES),
                    "litert (ai_edge_litert) or tf (tf.lite; imports TensorFlow).")
  flags.mark_flag_as_required("model")


class BadLine(ValueError):
  """A line that is not UTF-8; `str()` is the problem, `line` its 1-based number."""

  def __init__(self, line: int, problem: str):
    super().__init__(problem)
    self.line = line


class LineReader:
  """The lines of a file descriptor, split on b"\\n" only, `batch_size` at a time.

  Only "\\n" ends a text (a "\\r" or Unicode line separator stays in it, and
  the model treats it as whitespace); a final "\\n" ends the last text. Bytes
  are decoded as UTF-8 per line, so no newline translation ("\\r\\n" -> "\\n")
  happens. The reader holds at most one batch of lines and one unread chunk
  of `chunk_size` bytes (plus the rest of a line longer than that).
  """

  def __init__(self, fd: int, name: str, chunk_size: int = READ_CHUNK):
    self.fd = fd
    self.name = name
    self.chunk_size = chunk_size
    self.bytes_read = 0
    self.lines_read = 0
    self.max_lines_held = 0  # The most lines one batch held (it is never more).
    self._buffer = b""
    self._pos = 0
    self._eof = False

  def _fill(self) -> None:
    try:
      data = os.read(self.fd, self.chunk_size)
    except OSError as e:
      raise cli_errors.UserError(f"{self.name}: {e.strerror or e}") from None
    self.bytes_read += len(data)
    if not data:
      self._eof = True
    self._buffer = self._buffer[self._pos:] + data
    self._pos = 0

  def _next_line(self) -> bytes | None:
    """The next complete line from the buffer (the rest at end of input), or None."""
    end = self._buffer.find(b"\n", self._pos)
    if end >= 0:
      line, self._pos = self._buffer[self._pos:end], end + 1
      return line
    if not self._eof or self._pos == len(self._buffer):
      return None
    line, self._pos = self._buffer[self._pos:], len(self._buffer)  # No final "\n".
    return line

  def ready(self) -> bool:
    """Whether the next line can be had without waiting for the writer."""
    if self._eof or self._buffer.find(b"\n", self._pos) >= 0:
      return True
    return bool(select.select([self.fd], [], [], 0)[0])

  def read_batch(self, batch_size: int) -> list[tuple[int, str | BadLine]] | None:
    """Up to `batch_size` (line number, text or BadLine) pairs; None at the end.

    Waits for the first line only: the batch ends early when the input has
    nothing more ready (an interactive pipe gets its answers at once).
    """
    batch: list[tuple[int, str | BadLine]] = []
    while len(batch) < batch_size:
      line = self._next_line()
      if line is None:
        if self._eof or (batch and not self.ready()):
          break
        self._fill()
        continue
      self.lines_read += 1
      try:
        batch.append((self.lines_read, line.decode("utf-8")))
      except UnicodeDecodeError as e:
        batch.append((self.lines_read, BadLine(self.lines_read, f"not UTF-8 ({e.reason})")))
    self.max_lines_held = max(self.max_lines_held, len(batch))
    return batch or None


# json.dumps(ensure_ascii=False) leaves these line breaks raw; escaped, every
# output line is one record even for readers that split on them
# (str.splitlines, JavaScript).
_RAW_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def json_line(prediction: decoding.Prediction) -> str:
  """One JSON Lines record (UTF-8 text kept readable, line breaks escaped)."""
  return json.dumps(prediction.to_dict(), ensure_ascii=False).translate(_RAW_LINE_BREAKS)


def error_line(bad: BadLine) -> str:
  """The JSON Lines record that stands for a skipped line."""
  return json.dumps({"line": bad.line, "error": str(bad)})


def format_table(predictions: Sequence[decoding.Prediction | BadLine]) -> str:
  """One block per text: intent and top-k, then each slot with its offsets."""
  blocks = []
  for p in predictions:
    if isinstance(p, BadLine):
      blocks.append(f"line    {p.line}\nerror   {p}")
      continue
    lines = [f"text    {p.text!r}"]
    lines.append(f"intent  {p.intent}  {p.intent_probability:.3f}")
    others = "  ".join(f"{label} {prob:.3f}" for label, prob in p.top_k[1:])
    if others:
      lines.append(f"        {others}")
    width = max([len(s.type) for s in p.slots] + [4])
    for s in p.slots:
      lines.append(f"slot    {s.type:<{width}}  {s.start:>3}:{s.end:<3}  {s.score:.3f}  "
                   f"{s.text!r}")
    blocks.append("\n".join(lines))
  return "\n\n".join(blocks) + ("\n" if blocks else "")


def fail(path: str, problem: str) -> None:
  """Prints `pqrnn-predict: <path>: <problem>` to stderr and exits with status 2."""
  problem = problem.strip().splitlines()[0] if problem.strip() else "cannot be used"
  # Exceptions about the model already start with its path.
  if problem.startswith(f"{path}: "):
    problem = problem[len(path) + 2:]
  cli_errors.fail(PROGRAM, f"{path}: {problem}")


class Writer:
  """Writes answered batches in --format, flushing each (a pipe sees it at once)."""

  def __init__(self, out: TextIO, output_format: str):
    self.out = out
    self.format = output_format
    self.batches = 0

  def write(self, answers: Sequence[decoding.Prediction | BadLine]) -> None:
    if self.format == "table":
      text = format_table(answers)
      self.out.write(("\n" if self.batches and text else "") + text)
    else:
      self.out.write("".join((error_line(a) if isinstance(a, BadLine) else json_line(a))
                             + "\n" for a in answers))
    self.out.flush()
    self.batches += 1


class Progress:
  """Shows "N lines, P%" on a terminal (descriptor `fd`), at most twice a second.

  Written to the descriptor itself: the process's stderr may be behind
  `cli_errors.quiet_native_logs`' pipe, which passes on only whole lines.
  """

  def __init__(self, reader: LineReader, total_bytes: int, fd: int):
    self.reader, self.total_bytes, self.fd = reader, max(total_bytes, 1), fd
    self.last = 0.0

  def update(self, final: bool = False) -> None:
    now = time.monotonic()
    if not final and now - self.last < 0.5:
      return
    self.last = now
    percent = 100.0 * self.reader.bytes_read / self.total_bytes
    os.write(self.fd, (f"\r{PROGRAM}: {self.reader.lines_read} lines, {percent:.0f}%"
                       + ("\n" if final else "")).encode())


def answer(predictor: predictor_lib.Predictor, batch: list[tuple[int, str | BadLine]]
           ) -> list[decoding.Prediction | BadLine]:
  """The batch's predictions in order, a BadLine standing for each bad line."""
  texts = [t for _, t in batch if isinstance(t, str)]
  predictions = iter(predictor.predict(texts))
  return [t if isinstance(t, BadLine) else next(predictions) for _, t in batch]


def stream(predictor: predictor_lib.Predictor, reader: LineReader, writer: Writer,
           batch_size: int, threads: int = 1, on_bad_line: str = "stop",
           progress: Progress | None = None) -> None:
  """Reads, predicts and writes `reader`'s lines batch by batch, in order.

  With `threads` > 1, up to BATCHES_PER_THREAD batches a thread are in flight;
  before waiting for more input, every batch read so far is written.
  """
  pool = concurrent.futures.ThreadPoolExecutor(threads) if threads > 1 else None
  pending: collections.deque = collections.deque()

  def write_oldest() -> None:
    writer.write(pending.popleft().result())

  try:
    while True:
      if pending and not reader.ready():
        while pending:
          write_oldest()
      batch = reader.read_batch(batch_size)
      if batch is None:
        break
      bad = next((t for _, t in batch if isinstance(t, BadLine)), None)
      if bad is not None:
        if on_bad_line == "stop":
          good = batch[:[t for _, t in batch].index(bad)]
          while pending:
            write_oldest()
          if good:
            writer.write(answer(predictor, good))
          fail(f"{reader.name}:{bad.line}", str(bad))
        for _, t in batch:
          if isinstance(t, BadLine):
            print(f"{PROGRAM}: {reader.name}:{t.line}: {t}; skipped", file=sys.stderr, flush=True)
      if pool is None:
        writer.write(answer(predictor, batch))
      else:
        pending.append(pool.submit(answer, predictor, batch))
        while len(pending) > BATCHES_PER_THREAD * threads:
          write_oldest()
      if progress:
        progress.update()
    while pending:
      write_oldest()
    if progress:
      progress.update(final=True)
  finally:
    if pool is not None:
      pool.shutdown(wait=True, cancel_futures=True)


def main(argv: Sequence[str]) -> None:
  texts_args = list(argv[1:])
  if texts_args and FLAGS.input:
    raise app.UsageError("Give texts as arguments or --input, not both.")
  try:
    with cli_errors.quiet_native_logs():
      predictor = predictor_lib.TflitePredictor(
          FLAGS.model, runtime=FLAGS.runtime, batch_size=FLAGS.batch_size, top_k=FLAGS.top_k)
  except FileNotFoundError as e:
    fail(FLAGS.model, str(e) if os.path.isfile(FLAGS.model) else "no such model file")
  except (predictor_lib.ModelError, ValueError, OSError) as e:
    fail(FLAGS.model, str(e))
  writer = Writer(sys.stdout, FLAGS.format)
  try:
    if texts_args:
      writer.write(predictor.predict(texts_args))
      return
    name = FLAGS.input or "<stdin>"
    try:
      fd = os.open(FLAGS.input, os.O_RDONLY) if FLAGS.input else sys.stdin.fileno()
    except OSError as e:
      fail(name, e.strerror or str(e))
    reader = LineReader(fd, name)
    progress = None
    terminal = cli_errors.real_stderr_fd()
    if FLAGS.input and os.isatty(terminal):
      progress = Progress(reader, os.fstat(fd).st_size, terminal)
    stream(predictor, reader, writer, FLAGS.batch_size, FLAGS.threads,
           FLAGS.on_bad_line, progress)
  except BrokenPipeError:
    # The reader of stdout left (e.g. `| head -1`): stop quietly, as `cat` does.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(141)


def run() -> None:
  cli_errors.run(PROGRAM, define_flags, main)


if __name__ == "__main__":
  run()
