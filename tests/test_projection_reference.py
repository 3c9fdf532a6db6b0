"""Unit tests of the pure-Python projection reference against facts derived by hand
from custom_ops/README.md (and well-known FNV-1a / splitmix64 values)."""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

import numpy as np
import pytest

from tests import make_golden_projection
from tests.projection_reference import (
    decode_utf8,
    fnv1a64,
    mix64,
    project,
    ternary_vector,
    text_tokens,
    tokenize,
)

M64 = 2**64
G = 0x9E3779B97F4A7C15
FFFD = 0xFFFD


# Small independent re-statements of section 5/6, used to build expected values.
def my_mix64(x):
    x ^= x >> 30
    x = x * 0xBF58476D1CE4E5B9 % M64
    x ^= x >> 27
    x = x * 0x94D049BB133111EB % M64
    return x ^ (x >> 31)


def my_key(data: bytes, domain: int) -> int:
    h = 0xCBF29CE484222325 ^ (domain * G % M64)
    for b in data:
        h = (h ^ b) * 0x100000001B3 % M64
    return my_mix64(h)


def my_vector(key: int, feature_size: int) -> list[int]:
    out = []
    for i in range(feature_size):
        w = my_mix64((key + (i // 32 + 1) * G) % M64)
        out.append({0: 0, 1: 1, 2: -1, 3: 0}[(w >> (2 * (i % 32))) & 3])
    return out


def cps(s: str) -> list[int]:
    return [ord(c) for c in s]


def toks(text, **kw) -> list[str]:
    return ["".join(map(chr, t)) for t in text_tokens(text, **kw)]


# ------------------------------------------------------------------ hashing


def test_fnv1a64_known_values():
    assert fnv1a64(b"", 0) == 0xCBF29CE484222325
    assert fnv1a64(b"a", 0) == 0xAF63DC4C8601EC8C
    assert fnv1a64(b"foobar", 0) == 0x85944171F73967E8


def test_fnv1a64_domains():
    assert fnv1a64(b"", 1) == 0xCBF29CE484222325 ^ G
    assert fnv1a64(b"", 3) == 0xCBF29CE484222325 ^ (3 * G % M64)
    assert fnv1a64(b"a", 2) == (0xCBF29CE484222325 ^ (2 * G % M64) ^ 0x61) * 0x100000001B3 % M64
    # Bytes are unsigned.
    assert fnv1a64(b"\xff", 0) == (0xCBF29CE484222325 ^ 0xFF) * 0x100000001B3 % M64


def test_mix64_splitmix64_sequence():
    assert mix64(0) == 0
    # splitmix64 seeded with 0: state += G; output mix64(state).
    expected = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    assert [mix64(k * G % M64) for k in (1, 2, 3)] == expected


def test_mix64_matches_independent_statement():
    rnd = random.Random(1)
    for _ in range(200):
        x = rnd.getrandbits(64)
        assert mix64(x) == my_mix64(x)


def test_ternary_vector_matches_bit_layout():
    rnd = random.Random(2)
    for feature_size in (1, 31, 32, 33, 64, 100, 512):
        key = rnd.getrandbits(64)
        assert ternary_vector(key, feature_size).tolist() == my_vector(key, feature_size)
    # Hand-picked: feature 0 is the low two bits of w_0, feature 32 the low bits of w_1.
    key = 12345
    w0, w1 = my_mix64(key + G), my_mix64(key + 2 * G)
    v = ternary_vector(key, 64)
    assert v[0] == [0, 1, -1, 0][w0 & 3]
    assert v[31] == [0, 1, -1, 0][w0 >> 62]
    assert v[32] == [0, 1, -1, 0][w1 & 3]


def test_ternary_statistics():
    keys = [my_key(f"tok{i}".encode(), 1) for i in range(4000)]
    v = np.stack([ternary_vector(k, 512) for k in keys])
    assert abs(np.mean(v == 0) - 0.5) < 0.005
    assert abs(np.mean(v == 1) - 0.25) < 0.005
    assert abs(np.mean(v == -1) - 0.25) < 0.005


# ------------------------------------------------------------------ decoding


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", []),
        (b"a\x00b", [0x61, 0, 0x62]),
        (b"\xc0\x80", [FFFD, FFFD]),  # overlong NUL
        (b"\xc1\xbf", [FFFD, FFFD]),
        (b"\xc2\x80", [0x80]),
        (b"\xdf\xbf", [0x7FF]),
        (b"\xe0\x9f\xbf", [FFFD] * 3),  # overlong
        (b"\xe0\xa0\x80", [0x800]),
        (b"\xed\xa0\x80", [FFFD] * 3),  # surrogate U+D800
        (b"\xed\x9f\xbf", [0xD7FF]),
        (b"\xee\x80\x80", [0xE000]),
        (b"\xef\xbf\xbf", [0xFFFF]),
        (b"\xf0\x8f\xbf\xbf", [FFFD] * 4),  # overlong
        (b"\xf0\x90\x80\x80", [0x10000]),
        (b"\xf4\x8f\xbf\xbf", [0x10FFFF]),
        (b"\xf4\x90\x80\x80", [FFFD] * 4),  # above U+10FFFF
        (b"\xf5\x80\x80\x80", [FFFD] * 4),
        (b"\x80\xbf", [FFFD, FFFD]),  # lone continuation bytes
        (b"\xfe\xff", [FFFD, FFFD]),
        (b"\xc3", [FFFD]),  # truncated
        (b"caf\xc3", cps("caf") + [FFFD]),
        (b"\xe2\x82", [FFFD, FFFD]),  # truncated: one U+FFFD per byte
        (b"\xe2\x82\xac", [0x20AC]),
        (b"\xe2\x82a", [FFFD, FFFD, 0x61]),
        (b"\xf0\x9f\x98", [FFFD] * 3),
        (b"\xf0\x9f\x98\x80", [0x1F600]),
        (b"\xc3\xc3\xa9", [FFFD, 0xE9]),  # resumes at the very next byte
    ],
)
def test_decode_utf8_cases(data, expected):
    assert decode_utf8(data) == expected


def test_decode_utf8_random_bytes_against_python():
    # Python's strict decoder follows Table 3-7; with surrogateescape every byte of
    # an ill-formed subsequence becomes its own U+DC80..U+DCFF, i.e. one per byte.
    rnd = random.Random(3)
    alphabet = [0x00, 0x41, 0x7F, 0x80, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xE1,
                0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF4, 0xF5, 0xFF]
    for _ in range(3000):
        data = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))
        py = data.decode("utf-8", errors="surrogateescape")
        expected = [FFFD if 0xDC80 <= ord(c) <= 0xDCFF else ord(c) for c in py]
        assert decode_utf8(data) == expected, data.hex()


def test_decode_valid_text_roundtrip():
    s = "héllo wörld 東京 👩‍💻 \U0010FFFF \x00"
    assert decode_utf8(s.encode()) == cps(s)


# ------------------------------------------------------------------ lowercasing


def test_lowercase_is_simple_and_context_free():
    assert toks("ΟΔΥΣΣΕΥΣ") == ["οδυσσευσ"]  # no final sigma U+03C2
    assert toks("İ") == ["i"]  # one code point, not "i̇"
    assert toks("ẞ ǅ Ⅷ Ａ K") == ["ß", "ǆ", "ⅷ", "ａ", "k"]
    assert toks("HeLLo", lowercase=False) == ["HeLLo"]


# ------------------------------------------------------------------ tokenization


WHITE_SPACE = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
               0x2028, 0x2029, 0x202F, 0x205F, 0x3000]


@pytest.mark.parametrize("ws", WHITE_SPACE, ids=hex)
def test_whitespace_splits(ws):
    assert toks(f"ab{chr(ws)}{chr(ws)}cd{chr(ws)}") == ["ab", "cd"]


@pytest.mark.parametrize("cp", [0x1C, 0x1D, 0x1E, 0x1F, 0x180E, 0x200B, 0x2060, 0xFEFF, 0x00], ids=hex)
def test_non_whitespace_does_not_split(cp):
    # (Python's str.split() would split on U+001C..U+001F.)
    assert toks(f"ab{chr(cp)}cd") == [f"ab{chr(cp)}cd"]


def test_whitespace_only_and_empty():
    assert toks("") == []
    assert toks(" \t\u3000\u00a0\n ") == []


def test_separators():
    assert toks("a,b;;c d,", separators=",;") == ["a", "b", "c", "d"]
    assert toks("a,b", separators=b",") == ["a", "b"]
    # Separators are compared after lowercasing: an upper-case one never matches.
    assert toks("aXb", separators="X") == ["axb"]
    assert toks("aXb", separators="X", lowercase=False) == ["a", "b"]
    assert toks("axb", separators="x") == ["a", "b"]
    # A separator is dropped, even if it is also an unsegmented-script code point.
    assert toks("a。b", separators="。") == ["a", "b"]
    assert toks("a。b") == ["a", "。", "b"]
    # Non-ASCII separators.
    assert toks("x·y", separators="·") == ["x", "y"]


def test_unsegmented_scripts():
    assert toks("ab東京cd") == ["ab", "東", "京", "cd"]
    assert toks("ab東京cd", split_unsegmented_scripts=False) == ["ab東京cd"]
    assert toks("สวัสดี") == list("สวัสดี")
    assert toks("東京タワー、です") == list("東京タワー、です")
    assert toks("안녕하세요") == ["안녕하세요"]  # Hangul is not split
    assert toks("a\u3000b") == ["a", "b"]  # U+3000 is whitespace: dropped


@pytest.mark.parametrize(
    "cp, split",
    [(0x0DFF, False), (0x0E00, True), (0x0EFF, True), (0x0F00, False), (0x0FFF, False),
     (0x1000, True), (0x109F, True), (0x10A0, False), (0x177F, False), (0x1780, True),
     (0x17FF, True), (0x1800, False), (0x3001, True), (0x30FF, True), (0x3100, False),
     (0x31EF, False), (0x31F0, True), (0x31FF, True), (0x3200, False), (0x33FF, False),
     (0x3400, True), (0x4DBF, True), (0x4DC0, False), (0x4DFF, False), (0x4E00, True),
     (0x9FFF, True), (0xA000, False), (0xF8FF, False), (0xF900, True), (0xFAFF, True),
     (0xFB00, False), (0xFF65, False), (0xFF66, True), (0xFF9F, True), (0xFFA0, False),
     (0x1FFFF, False), (0x20000, True), (0x2FA1F, True), (0x2FA20, False), (0x2FFFF, False),
     (0x30000, True), (0x3134F, True), (0x31350, False)],
    ids=lambda x: hex(x) if isinstance(x, int) and not isinstance(x, bool) else str(x),
)
def test_unsegmented_range_boundaries(cp, split):
    got = tokenize([0x61, cp, 0x62])
    assert got == ([[0x61], [cp], [0x62]] if split else [[0x61, cp, 0x62]])


def test_max_repeated_chars():
    assert toks("heeeello!!!!!!", max_repeated_chars=2) == ["heello!!"]
    assert toks("aaabbbaaa", max_repeated_chars=1) == ["aba"]
    assert toks("aaabbbaaa", max_repeated_chars=3) == ["aaabbbaaa"]
    assert toks("aaabbbaaa", max_repeated_chars=0) == ["aaabbbaaa"]
    assert toks("哈哈哈", max_repeated_chars=1) == ["哈", "哈", "哈"]  # separate tokens
    assert toks("Aaa", max_repeated_chars=1) == ["a"]  # after lowercasing
    a, _ = project(["heeeello"], feature_size=64, max_repeated_chars=2)
    b, _ = project(["heello"], feature_size=64)
    np.testing.assert_array_equal(a, b)


def test_max_tokens():
    assert toks("a b c d e", max_tokens=3) == ["a", "b", "c"]
    assert toks("a b", max_tokens=3) == ["a", "b"]
    assert toks("a b c d e", max_tokens=0) == list("abcde")


# ------------------------------------------------------------------ features / output


def test_token_row_is_ternary_vector_of_utf8_key():
    f, n = project(["Héllo"], feature_size=100)
    assert n.tolist() == [1] and f.shape == (1, 1, 100) and f.dtype == np.float32
    assert f[0, 0].tolist() == my_vector(my_key("héllo".encode(), 1), 100)


def test_invalid_bytes_hash_as_replacement_character():
    a, _ = project([b"a\xffb \xe2\x82"], feature_size=64)
    b, _ = project(["a\ufffdb \ufffd\ufffd"], feature_size=64)
    np.testing.assert_array_equal(a, b)
    assert a.shape[1] == 2


def test_str_and_bytes_inputs_agree():
    a, _ = project(["héllo 東京"], feature_size=64)
    b, _ = project(["héllo 東京".encode()], feature_size=64)
    np.testing.assert_array_equal(a, b)


def test_feature_prefix_property():
    a, _ = project(["some words here"], feature_size=100)
    b, _ = project(["some words here"], feature_size=40)
    np.testing.assert_array_equal(a[..., :40], b)


def test_bos_eos_and_max_tokens():
    f, n = project(["a b c d e", "x"], feature_size=64, max_tokens=3, add_bos=True, add_eos=True)
    assert n.tolist() == [5, 3]
    bos = my_vector(my_key(b"", 3), 64)
    eos = my_vector(my_key(b"", 4), 64)
    assert f[0, 0].tolist() == bos and f[1, 0].tolist() == bos
    for t, tok in enumerate("abc", start=1):
        assert f[0, t].tolist() == my_vector(my_key(tok.encode(), 1), 64)
    assert f[0, 4].tolist() == eos and f[1, 2].tolist() == eos
    assert not f[1, 3:].any()  # padding
    assert bos != eos


def test_empty_sentence_with_bos_eos():
    f, n = project([""], feature_size=32, add_bos=True)
    assert n.tolist() == [1]
    f, n = project(["  "], feature_size=32, add_bos=True, add_eos=True)
    assert n.tolist() == [2]


def test_padding_and_empty_elements():
    f, n = project(["a b c", "", "x", " \t "], feature_size=64)
    assert n.dtype == np.int32 and n.tolist() == [3, 0, 1, 0]
    assert f.shape == (4, 3, 64)
    assert not f[1].any() and not f[2, 1:].any() and not f[3].any()
    assert f[0].any(axis=1).all()


def test_all_empty_and_empty_batch():
    f, n = project(["", " "], feature_size=16)
    assert f.shape == (2, 1, 16) and n.tolist() == [0, 0] and not f.any()
    f, n = project([], feature_size=16)
    assert f.shape == (0, 1, 16) and n.shape == (0,)


# ------------------------------------------------------------------ character n-grams


def expected_ngram_row(token: str, grams: list[str], feature_size: int) -> np.ndarray:
    s = np.array(my_vector(my_key(token.encode(), 1), feature_size))
    for g in grams:
        s += np.array(my_vector(my_key(g.encode(), 2), feature_size))
    k = 1 + len(grams)
    return np.float32(s) * (np.float32(1) / np.sqrt(np.float32(k)))


@pytest.mark.parametrize(
    "token, n, grams",
    [
        ("abc", 3, ["<ab", "abc", "bc>"]),
        ("ab", 1, ["<", "a", "b", ">"]),
        ("ab", 4, ["<ab>"]),
        ("a", 5, ["<a>"]),  # m + 2 < n: the whole marked sequence once
        ("é東", 2, ["<é", "é東", "東>"]),
        ("hello", 8, ["<hello>"]),
    ],
)
def test_ngram_row(token, n, grams):
    f, _ = project([token], feature_size=96, char_ngram_size=n, split_unsegmented_scripts=False)
    np.testing.assert_array_equal(f[0, 0], expected_ngram_row(token, grams, 96))


def test_ngram_values_are_multiples_of_inverse_sqrt_k():
    f, n = project(["hello a 東"], feature_size=512, char_ngram_size=3)
    assert n.tolist() == [3]
    for row, k in zip(f[0], [6, 2, 2]):  # hello: 5 trigrams; "<a>", "<東>": 1
        scaled = row.astype(np.float64) * math.sqrt(k)
        np.testing.assert_allclose(scaled, np.round(scaled), atol=1e-5)
        assert np.abs(np.round(scaled)).max() <= k
        assert row.any()


def test_ngram_bos_eos_stay_ternary():
    f, n = project(["abc"], feature_size=64, char_ngram_size=3, add_bos=True, add_eos=True)
    assert f[0, 0].tolist() == my_vector(my_key(b"", 3), 64)
    assert f[0, 2].tolist() == my_vector(my_key(b"", 4), 64)


# ------------------------------------------------------------------ distortion


LONG = "the quick brown fox jumps over the lazy dog " * 20


def test_distortion_deterministic():
    kw = dict(feature_size=64, distortion_probability=0.3, distortion_seed=42)
    a, _ = project([LONG], call_index=5, **kw)
    b, _ = project([LONG], call_index=5, **kw)
    c, _ = project([LONG], call_index=6, **kw)
    d, _ = project([LONG], call_index=5, **{**kw, "distortion_seed": 43})
    plain, _ = project([LONG], feature_size=64)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, d)
    assert not np.array_equal(a, plain)


def test_distortion_zero_is_identity():
    plain, _ = project([LONG, "東京"], feature_size=64)
    for seed in (0, 7, -1):
        z, _ = project([LONG, "東京"], feature_size=64, distortion_probability=0.0,
                       distortion_seed=seed, call_index=3)
        np.testing.assert_array_equal(z, plain)


def test_distortion_one_replaces_every_code_point():
    text = "Crème brûlée 東京 ΟΔΥΣΣΕΥΣ"
    got = text_tokens(text, distortion_probability=1.0, distortion_seed=9)
    assert [len(t) for t in got] == [len(t) for t in text_tokens(text)]
    assert all(ord("a") <= c <= ord("z") for t in got for c in t)


def test_distortion_first_draws_by_hand():
    seed, call = 5, 2
    state = my_mix64(my_mix64(seed + call) + 0)
    state = (state + G) % M64
    u = my_mix64(state)
    assert (u >> 11) * 2.0**-53 < 1.0
    state = (state + G) % M64
    expected = chr(ord("a") + my_mix64(state) % 26)
    assert toks("Q", distortion_probability=1.0, distortion_seed=seed, call_index=call) == [expected]


def test_distortion_seed_is_twos_complement_and_batch_index_matters():
    kw = dict(distortion_probability=0.5)
    assert text_tokens(LONG, distortion_seed=-1, call_index=1, **kw) == text_tokens(
        LONG, distortion_seed=0, call_index=0, **kw
    )
    assert text_tokens(LONG, distortion_seed=-5, call_index=2, **kw) == text_tokens(
        LONG, distortion_seed=M64 - 3, call_index=0, **kw
    )
    f, _ = project([LONG, LONG], feature_size=64, **kw)
    assert not np.array_equal(f[0], f[1])
    assert text_tokens(LONG, batch_index=1, **kw) != text_tokens(LONG, batch_index=0, **kw)


def test_distortion_draws_only_for_kept_code_points():
    kw = dict(distortion_probability=0.5, distortion_seed=11)
    spaced = "".join(toks("abc  def\u3000ghi", **kw))
    (joined,) = toks("abcdefghi", **kw)
    assert spaced == joined
    # Tokens after max_tokens are not distorted, but they consume nothing either.
    assert text_tokens("abc def ghi", max_tokens=2, **kw) == text_tokens("abc def ghi", **kw)[:2]


def test_distortion_rate():
    text = "é" * 20000  # é is never produced by a replacement
    (tok,) = text_tokens(text, distortion_probability=0.25, distortion_seed=1)
    assert abs(sum(c != 0xE9 for c in tok) / len(tok) - 0.25) < 0.012


# ------------------------------------------------------------------ speed


def test_long_string_is_fast():
    rnd = random.Random(4)
    words = ["".join(rnd.choice("abcdefghij") for _ in range(rnd.randint(1, 9))) for _ in range(20000)]
    text = " ".join(words)[:100_000]
    start = time.perf_counter()
    f, n = project([text], feature_size=128, char_ngram_size=3)
    assert time.perf_counter() - start < 15
    assert n[0] == len(text.split())


# ------------------------------------------------------------------ golden file


def golden_dense(entry: dict, feature_size: int) -> np.ndarray:
    rows = np.zeros((entry["sequence_length"], feature_size), dtype=np.float32)
    for r, row in enumerate(entry["rows"]):
        if "values" in row:
            for i, v in row["values"]:
                rows[r, i] = np.float32(v)
        else:
            rows[r, row["plus"]] = 1
            rows[r, row["minus"]] = -1
    return rows


def test_golden_file_reproduced():
    golden = json.loads(make_golden_projection.GOLDEN_PATH.read_text(encoding="utf-8"))
    fs = golden["feature_size"]
    assert len(golden["cases"]) >= 12
    for case in golden["cases"]:
        data = bytes.fromhex(case["input_hex"])
        for name, attrs in golden["settings"].items():
            entry = case["results"][name]
            f, n = project([data], feature_size=fs, **attrs)
            assert n.tolist() == [entry["sequence_length"]], (case["name"], name)
            want = golden_dense(entry, fs)
            np.testing.assert_array_equal(f[0, :len(want)], want, err_msg=f"{case['name']}/{name}")
            assert not f[0, len(want):].any()


def test_golden_file_up_to_date():
    text = make_golden_projection.GOLDEN_PATH.read_text(encoding="utf-8")
    assert text == make_golden_projection.render(make_golden_projection.build())
    assert len(text.encode()) < 200_000
