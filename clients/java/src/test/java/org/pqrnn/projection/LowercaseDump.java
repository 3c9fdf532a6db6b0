package org.pqrnn.projection;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Writes the Java lowercase mapping of every code point U+0000..U+10FFFF to
 * stdout as little-endian int32, for tests/test_java_client.py to compare
 * with Python's unicodedata.
 */
public final class LowercaseDump {
  private LowercaseDump() {}

  public static void main(String[] args) throws IOException {
    OutputStream out = new BufferedOutputStream(System.out, 1 << 16);
    for (int c = 0; c < 0x110000; ++c) {
      int lower = Unicode.lower(c);
      out.write(lower);
      out.write(lower >>> 8);
      out.write(lower >>> 16);
      out.write(lower >>> 24);
    }
    out.flush();
  }
}
