package org.pqrnn.projection;

import java.util.Arrays;

/**
 * The {@code PqrnnSequenceStringProjection} op on the app's side
 * (custom_ops/README.md, sections 1-3 and 5-7; inference never distorts, so
 * section 4 is not implemented). Its output is bit-identical to the C++ op's.
 *
 * <p>Thread-safe: an instance holds only its settings.
 */
public final class SequenceProjector {
  static final long GOLDEN = 0x9E3779B97F4A7C15L;
  static final long FNV_OFFSET = 0xCBF29CE484222325L;
  static final long FNV_PRIME = 0x100000001B3L;
  static final long DOMAIN_TOKEN = 1;
  static final long DOMAIN_NGRAM = 2;
  static final long DOMAIN_BOS = 3;
  static final long DOMAIN_EOS = 4;

  /** Two bits of a hash word -> feature: 0 -> 0, 1 -> +1, 2 -> -1, 3 -> 0. */
  private static final float[] TERNARY = {0f, 1f, -1f, 0f};

  /**
   * For each byte of a hash word, its four features plus one as four 16-bit
   * lanes (feature k of the byte in bits 16k..16k+15). Adding these words for
   * up to {@link #MAX_BIASED_SUMS} keys sums four features at a time with no
   * carry crossing lanes, since each lane grows by at most 2 a key.
   */
  private static final long[] BIASED = new long[256];
  private static final int MAX_BIASED_SUMS = 32767;

  static {
    for (int b = 0; b < 256; ++b) {
      long lanes = 0;
      for (int k = 0; k < 4; ++k) {
        long biased = (long) TERNARY[(b >>> (2 * k)) & 3] + 1;
        lanes |= biased << (16 * k);
      }
      BIASED[b] = lanes;
    }
  }

  private final ProjectionSettings settings;
  private final int featureSize;
  private final int numWords;  // 64-bit hash words per vector
  private final int[] separators;  // sorted code points

  public SequenceProjector(ProjectionSettings settings) {
    this.settings = settings;
    this.featureSize = settings.featureSize;
    this.numWords = (featureSize + 31) / 32;
    Decoded decoded = decodeUtf16(settings.separators);
    this.separators = Arrays.copyOf(decoded.codePoints, decoded.count);
    Arrays.sort(this.separators);
  }

  public ProjectionSettings settings() {
    return settings;
  }

  /**
   * Projects a string. Spans are in UTF-16 code units of {@code text}; a lone
   * surrogate reads as U+FFFD (what section 1 makes of bytes that are not
   * UTF-8), so the result equals that of the text's UTF-8 bytes, spans aside.
   */
  public Projection project(String text) {
    return project(decodeUtf16(text));
  }

  /**
   * Projects UTF-8 bytes (any bytes: each byte that does not start a
   * well-formed sequence reads as one U+FFFD). Spans are byte offsets.
   */
  public Projection project(byte[] utf8) {
    return project(utf8, 0, utf8.length);
  }

  /** Projects {@code length} bytes of {@code utf8} from {@code offset}; spans relative to it. */
  public Projection project(byte[] utf8, int offset, int length) {
    return project(decodeUtf8(utf8, offset, length));
  }

  // ------------------------------------------------------------------------
  // 1. Decoding: code points and the offset where each starts.

  /** Code points {@code [0, count)}; code point i spans offsets [starts[i], starts[i + 1]). */
  static final class Decoded {
    final int[] codePoints;
    final int[] starts;
    final int count;

    Decoded(int[] codePoints, int[] starts, int count) {
      this.codePoints = codePoints;
      this.starts = starts;
      this.count = count;
    }
  }

  static Decoded decodeUtf16(String text) {
    int n = text.length();
    int[] cps = new int[n];
    int[] starts = new int[n + 1];
    int count = 0;
    int i = 0;
    while (i < n) {
      char unit = text.charAt(i);
      starts[count] = i;
      if (Character.isHighSurrogate(unit) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
        cps[count++] = Character.toCodePoint(unit, text.charAt(i + 1));
        i += 2;
      } else {
        cps[count++] = Character.isSurrogate(unit) ? Unicode.REPLACEMENT : unit;
        i += 1;
      }
    }
    starts[count] = n;
    return new Decoded(cps, starts, count);
  }

  static Decoded decodeUtf8(byte[] s, int offset, int n) {
    int[] cps = new int[n];
    int[] starts = new int[n + 1];
    int count = 0;
    int i = 0;
    while (i < n) {
      starts[count] = i;
      int b0 = s[offset + i] & 0xFF;
      int c = Unicode.REPLACEMENT;
      int length = 1;
      if (b0 < 0x80) {
        c = b0;
      } else if (b0 >= 0xC2 && b0 <= 0xDF) {
        if (continuation(s, offset, n, i + 1, 0x80, 0xBF)) {
          c = ((b0 & 0x1F) << 6) | (s[offset + i + 1] & 0x3F);
          length = 2;
        }
      } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        int lo = b0 == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
        int hi = b0 == 0xED ? 0x9F : 0xBF;  // no surrogates
        if (continuation(s, offset, n, i + 1, lo, hi) && continuation(s, offset, n, i + 2, 0x80, 0xBF)) {
          c = ((b0 & 0x0F) << 12) | ((s[offset + i + 1] & 0x3F) << 6) | (s[offset + i + 2] & 0x3F);
          length = 3;
        }
      } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        int lo = b0 == 0xF0 ? 0x90 : 0x80;  // no overlong forms
        int hi = b0 == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
        if (continuation(s, offset, n, i + 1, lo, hi) && continuation(s, offset, n, i + 2, 0x80, 0xBF)
            && continuation(s, offset, n, i + 3, 0x80, 0xBF)) {
          c = ((b0 & 0x07) << 18) | ((s[offset + i + 1] & 0x3F) << 12)
              | ((s[offset + i + 2] & 0x3F) << 6) | (s[offset + i + 3] & 0x3F);
          length = 4;
        }
      }
      cps[count++] = c;
      i += length;
    }
    starts[count] = n;
    return new Decoded(cps, starts, count);
  }

  private static boolean continuation(byte[] s, int offset, int n, int i, int lo, int hi) {
    if (i >= n) return false;
    int b = s[offset + i] & 0xFF;
    return b >= lo && b <= hi;
  }

  // ------------------------------------------------------------------------
  // 2-3. Lowercasing and tokenization.

  /** The kept text tokens: code points after steps 1-3, and their spans. */
  static final class Tokens {
    final int[] codePoints;  // all tokens' code points, concatenated
    final int[] ends;  // exclusive end of token t in codePoints
    final int[] spans;  // start, end offsets of token t in the input
    final int count;

    Tokens(int[] codePoints, int[] ends, int[] spans, int count) {
      this.codePoints = codePoints;
      this.ends = ends;
      this.spans = spans;
      this.count = count;
    }
  }

  private boolean isSeparator(int c) {
    return separators.length > 0 && Arrays.binarySearch(separators, c) >= 0;
  }

  Tokens tokenize(Decoded input) {
    final int n = input.count;
    final int[] in = input.codePoints;
    final int[] starts = input.starts;
    final int[] cps = new int[n];
    int[] ends = new int[Math.min(n, 16)];
    int[] spans = new int[2 * ends.length];
    final int maxTokens = settings.maxTokens > 0 ? settings.maxTokens : Integer.MAX_VALUE;
    final int maxRun = settings.maxRepeatedChars;
    int count = 0;
    int write = 0;
    int tokenStart = 0;  // in cps
    int spanStart = 0;
    int spanEnd = 0;
    for (int i = 0; i < n && count < maxTokens; ++i) {
      final int c = settings.lowercase ? Unicode.lower(in[i]) : in[i];
      final boolean alone = settings.splitUnsegmentedScripts && Unicode.isUnsegmented(c);
      final boolean dropped = Unicode.isWhitespace(c) || isSeparator(c);
      if (dropped || alone) {
        if (write > tokenStart) {  // end the current token
          if (count == ends.length) {
            ends = Arrays.copyOf(ends, 2 * count);
            spans = Arrays.copyOf(spans, 4 * count);
          }
          ends[count] = write;
          spans[2 * count] = spanStart;
          spans[2 * count + 1] = spanEnd;
          ++count;
          tokenStart = write;
        }
        if (dropped || count >= maxTokens) continue;
        // A code point of an unsegmented script: a token of its own.
        if (count == ends.length) {
          ends = Arrays.copyOf(ends, 2 * count);
          spans = Arrays.copyOf(spans, 4 * count);
        }
        cps[write++] = c;
        ends[count] = write;
        spans[2 * count] = starts[i];
        spans[2 * count + 1] = starts[i + 1];
        ++count;
        tokenStart = write;
        continue;
      }
      if (maxRun > 0 && write - tokenStart >= maxRun) {
        boolean runFull = true;
        for (int k = 1; k <= maxRun && runFull; ++k) runFull = cps[write - k] == c;
        if (runFull) {  // cut from the token, but still part of its span
          spanEnd = starts[i + 1];
          continue;
        }
      }
      if (write == tokenStart) spanStart = starts[i];
      cps[write++] = c;
      spanEnd = starts[i + 1];
    }
    if (write > tokenStart && count < maxTokens) {
      if (count == ends.length) {
        ends = Arrays.copyOf(ends, count + 1);
        spans = Arrays.copyOf(spans, 2 * count + 2);
      }
      ends[count] = write;
      spans[2 * count] = spanStart;
      spans[2 * count + 1] = spanEnd;
      ++count;
    }
    return new Tokens(cps, ends, spans, count);
  }

  // ------------------------------------------------------------------------
  // 5. Hashing (all arithmetic wraps mod 2^64; shifts are unsigned).

  static long mix64(long x) {
    x ^= x >>> 30;
    x *= 0xBF58476D1CE4E5B9L;
    x ^= x >>> 27;
    x *= 0x94D049BB133111EBL;
    x ^= x >>> 31;
    return x;
  }

  static long fnvStart(long domain) {
    return FNV_OFFSET ^ (domain * GOLDEN);
  }

  /** FNV-1a over the UTF-8 encoding of one code point. */
  static long fnvCodePoint(long h, int c) {
    if (c < 0x80) return (h ^ c) * FNV_PRIME;
    if (c < 0x800) {
      h = (h ^ (0xC0 | (c >>> 6))) * FNV_PRIME;
      return (h ^ (0x80 | (c & 0x3F))) * FNV_PRIME;
    }
    if (c < 0x10000) {
      h = (h ^ (0xE0 | (c >>> 12))) * FNV_PRIME;
      h = (h ^ (0x80 | ((c >>> 6) & 0x3F))) * FNV_PRIME;
      return (h ^ (0x80 | (c & 0x3F))) * FNV_PRIME;
    }
    h = (h ^ (0xF0 | (c >>> 18))) * FNV_PRIME;
    h = (h ^ (0x80 | ((c >>> 12) & 0x3F))) * FNV_PRIME;
    h = (h ^ (0x80 | ((c >>> 6) & 0x3F))) * FNV_PRIME;
    return (h ^ (0x80 | (c & 0x3F))) * FNV_PRIME;
  }

  /** mix64(fnv1a64(utf8(code points [from, to)), domain)). */
  static long tokenKey(int[] cps, int from, int to, long domain) {
    long h = fnvStart(domain);
    for (int i = from; i < to; ++i) h = fnvCodePoint(h, cps[i]);
    return mix64(h);
  }

  // ------------------------------------------------------------------------
  // 6-7. Features and output order.

  private Projection project(Decoded input) {
    Tokens tokens = tokenize(input);
    final int f = featureSize;
    final int rows = tokens.count + (settings.addBos ? 1 : 0) + (settings.addEos ? 1 : 0);
    float[] out = new float[rows * f];
    int row = 0;
    if (settings.addBos) writeTernaryRow(mix64(fnvStart(DOMAIN_BOS)), out, row++ * f);
    long[] lanes = settings.charNgramSize > 0 ? new long[numWords * 8] : null;
    int start = 0;
    for (int t = 0; t < tokens.count; ++t) {
      int end = tokens.ends[t];
      if (lanes != null) {
        writeNgramRow(tokens.codePoints, start, end, lanes, out, row++ * f);
      } else {
        writeTernaryRow(tokenKey(tokens.codePoints, start, end, DOMAIN_TOKEN), out, row++ * f);
      }
      start = end;
    }
    if (settings.addEos) writeTernaryRow(mix64(fnvStart(DOMAIN_EOS)), out, row * f);
    return new Projection(out, rows, f, Arrays.copyOf(tokens.spans, 2 * tokens.count),
        settings.addBos ? 1 : 0);
  }

  /** The ternary vector v(key) at out[offset, offset + featureSize). */
  private void writeTernaryRow(long key, float[] out, int offset) {
    for (int word = 0; word < numWords; ++word) {
      long bits = mix64(key + (word + 1) * GOLDEN);
      int base = 32 * word;
      int n = Math.min(32, featureSize - base);
      for (int k = 0; k < n; ++k) out[offset + base + k] = TERNARY[(int) (bits >>> (2 * k)) & 3];
    }
  }

  /** Adds key's ternary features + 1 to the 16-bit lanes. */
  private void accumulateBiased(long key, long[] lanes) {
    for (int word = 0, lane = 0; word < numWords; ++word, lane += 8) {
      long bits = mix64(key + (word + 1) * GOLDEN);
      lanes[lane] += BIASED[(int) bits & 0xFF];
      lanes[lane + 1] += BIASED[(int) (bits >>> 8) & 0xFF];
      lanes[lane + 2] += BIASED[(int) (bits >>> 16) & 0xFF];
      lanes[lane + 3] += BIASED[(int) (bits >>> 24) & 0xFF];
      lanes[lane + 4] += BIASED[(int) (bits >>> 32) & 0xFF];
      lanes[lane + 5] += BIASED[(int) (bits >>> 40) & 0xFF];
      lanes[lane + 6] += BIASED[(int) (bits >>> 48) & 0xFF];
      lanes[lane + 7] += BIASED[(int) (bits >>> 56) & 0xFF];
    }
  }

  /**
   * The row of a token with its character n-grams: the sum s of the token's
   * vector and its n-grams' vectors, times 1 / sqrt(k) in float32 (k = 1 + the
   * number of n-grams).
   */
  private void writeNgramRow(int[] cps, int from, int to, long[] lanes, float[] out, int offset) {
    Arrays.fill(lanes, 0L);
    int[] sums = null;  // only for tokens of more than MAX_BIASED_SUMS keys
    int keysInLanes = 0;
    accumulateBiased(tokenKey(cps, from, to, DOMAIN_TOKEN), lanes);
    ++keysInLanes;

    // n-grams of the marked sequence '<' token '>'; index i of it is at(i).
    final int length = to - from;
    final int marked = length + 2;
    final int window = Math.min(settings.charNgramSize, marked);
    final int numNgrams = marked - window + 1;
    for (int first = 0; first < numNgrams; ++first) {
      long h = fnvStart(DOMAIN_NGRAM);
      for (int i = first; i < first + window; ++i) {
        int c = i == 0 ? '<' : (i == marked - 1 ? '>' : cps[from + i - 1]);
        h = fnvCodePoint(h, c);
      }
      if (keysInLanes == MAX_BIASED_SUMS) {
        if (sums == null) sums = new int[featureSize];
        for (int i = 0; i < featureSize; ++i) sums[i] += lane(lanes, i) - keysInLanes;
        Arrays.fill(lanes, 0L);
        keysInLanes = 0;
      }
      accumulateBiased(mix64(h), lanes);
      ++keysInLanes;
    }
    // Both the square root and the division in float32: sqrt of a float,
    // computed in double and rounded once, is the correctly rounded float sqrt.
    final float scale = 1.0f / (float) Math.sqrt((float) (1 + numNgrams));
    for (int i = 0; i < featureSize; ++i) {
      int sum = lane(lanes, i) - keysInLanes + (sums == null ? 0 : sums[i]);
      out[offset + i] = (float) sum * scale;
    }
  }

  /** Feature i's biased sum: lane i % 4 of word i / 4. */
  private static int lane(long[] lanes, int i) {
    return (int) (lanes[i >>> 2] >>> (16 * (i & 3))) & 0xFFFF;
  }
}
