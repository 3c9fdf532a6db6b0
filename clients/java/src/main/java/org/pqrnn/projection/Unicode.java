package org.pqrnn.projection;

/**
 * The code point classes of the spec (custom_ops/README.md, sections 2-3),
 * independent of the JVM's own Unicode version.
 */
final class Unicode {
  private Unicode() {}

  static final int REPLACEMENT = 0xFFFD;

  /** Simple lowercase of every BMP code point; a lookup beats the run search. */
  private static final char[] BMP_LOWER = new char[0x10000];

  static {
    for (int c = 0; c < BMP_LOWER.length; ++c) BMP_LOWER[c] = (char) c;
    int[] runs = UnicodeLowercase.RUNS;
    for (int r = 0; r < runs.length; r += 4) {
      int first = runs[r], last = runs[r + 1], delta = runs[r + 2], stride = runs[r + 3];
      for (int c = first; c <= last && c < 0x10000; c += stride) BMP_LOWER[c] = (char) (c + delta);
    }
  }

  /** The simple lowercase mapping of Unicode 14.0 (Python 3.11's unicodedata). */
  static int lower(int c) {
    if (c < 0x10000) return BMP_LOWER[c];
    // Astral code points: the last run whose first code point is <= c.
    int[] runs = UnicodeLowercase.RUNS;
    int lo = 0, hi = runs.length / 4 - 1, found = -1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (runs[4 * mid] <= c) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return c;
    int first = runs[4 * found], last = runs[4 * found + 1];
    int delta = runs[4 * found + 2], stride = runs[4 * found + 3];
    if (c > last || (c - first) % stride != 0) return c;
    return c + delta;
  }

  /** Unicode White_Space. */
  static boolean isWhitespace(int c) {
    if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D);
    if (c < 0x85) return false;
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A)
        || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
  }

  /** Scripts written without spaces, each code point a token of its own. */
  static boolean isUnsegmented(int c) {
    if (c < 0x0E00) return false;
    return c <= 0x0EFF  // Thai, Lao
        || (c >= 0x1000 && c <= 0x109F)  // Myanmar
        || (c >= 0x1780 && c <= 0x17FF)  // Khmer
        || (c >= 0x3001 && c <= 0x30FF)  // CJK punctuation, kana
        || (c >= 0x31F0 && c <= 0x31FF)  // katakana extensions
        || (c >= 0x3400 && c <= 0x4DBF)  // CJK extension A
        || (c >= 0x4E00 && c <= 0x9FFF)  // CJK unified ideographs
        || (c >= 0xF900 && c <= 0xFAFF)  // CJK compatibility
        || (c >= 0xFF66 && c <= 0xFF9F)  // halfwidth katakana
        || (c >= 0x20000 && c <= 0x2FA1F)
        || (c >= 0x30000 && c <= 0x3134F);
  }
}
