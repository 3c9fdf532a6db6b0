package org.pqrnn.projection;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Reads the zip archive at the end of a {@code .tflite} file (where TFLite
 * Metadata keeps associated files): finds the End Of Central Directory record
 * from the end, then reads STORED entries.
 *
 * <p>Offsets in the archive may count from the start of the file (Python's
 * {@code zipfile} in append mode writes those) or from the start of the
 * archive (an archive concatenated to the model): the difference between
 * where the central directory is and where the record says it is tells which.
 */
public final class AppendedZip {
  private static final int EOCD_SIGNATURE = 0x06054b50;
  private static final int CENTRAL_SIGNATURE = 0x02014b50;
  private static final int LOCAL_SIGNATURE = 0x04034b50;
  private static final int EOCD_SIZE = 22;
  private static final int MAX_COMMENT = 0xFFFF;

  private final Map<String, byte[]> entries;

  private AppendedZip(Map<String, byte[]> entries) {
    this.entries = entries;
  }

  /** The archive of {@code file} (its bytes from position 0 to the limit). */
  public static AppendedZip read(ByteBuffer file) {
    ByteBuffer buf = file.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    buf.position(0);
    int size = buf.limit();
    int eocd = -1;
    for (int at = size - EOCD_SIZE; at >= 0 && at >= size - EOCD_SIZE - MAX_COMMENT; --at) {
      if (buf.getInt(at) == EOCD_SIGNATURE && at + EOCD_SIZE + u16(buf, at + 20) == size) {
        eocd = at;
        break;
      }
    }
    if (eocd < 0) throw new IllegalArgumentException("no zip archive at the end of the model file");
    int count = u16(buf, eocd + 10);
    long directorySize = u32(buf, eocd + 12);
    long directoryOffset = u32(buf, eocd + 16);
    long directoryStart = eocd - directorySize;
    long shift = directoryStart - directoryOffset;  // 0 when offsets count from the file start
    if (directoryStart < 0 || shift < 0) throw new IllegalArgumentException("corrupt zip archive: bad central directory");

    Map<String, byte[]> entries = new LinkedHashMap<String, byte[]>();
    long at = directoryStart;
    for (int e = 0; e < count; ++e) {
      if (at + 46 > eocd || buf.getInt((int) at) != CENTRAL_SIGNATURE) {
        throw new IllegalArgumentException("corrupt zip archive: bad central directory entry " + e);
      }
      int p = (int) at;
      int method = u16(buf, p + 10);
      long crc = u32(buf, p + 16);
      long compressedSize = u32(buf, p + 20);
      long uncompressedSize = u32(buf, p + 24);
      int nameLength = u16(buf, p + 28);
      int extraLength = u16(buf, p + 30);
      int commentLength = u16(buf, p + 32);
      long localOffset = u32(buf, p + 42) + shift;
      String name = utf8(buf, p + 46, nameLength);
      at += 46L + nameLength + extraLength + commentLength;
      if (method != 0) {
        throw new IllegalArgumentException("zip entry '" + name + "' is compressed (method "
            + method + "); the model's files must be STORED");
      }
      if (compressedSize != uncompressedSize) {
        throw new IllegalArgumentException("corrupt zip archive: sizes of '" + name + "' differ");
      }
      if (localOffset + 30 > directoryStart || buf.getInt((int) localOffset) != LOCAL_SIGNATURE) {
        throw new IllegalArgumentException("corrupt zip archive: no local header for '" + name + "'");
      }
      int local = (int) localOffset;
      long dataStart = localOffset + 30 + u16(buf, local + 26) + u16(buf, local + 28);
      if (dataStart + compressedSize > directoryStart) {
        throw new IllegalArgumentException("corrupt zip archive: '" + name + "' runs past its end");
      }
      byte[] data = new byte[(int) compressedSize];
      ByteBuffer slice = buf.duplicate();
      slice.position((int) dataStart);
      slice.get(data);
      CRC32 check = new CRC32();
      check.update(data, 0, data.length);
      if (check.getValue() != crc) {
        throw new IllegalArgumentException("corrupt zip archive: CRC of '" + name + "' does not match");
      }
      entries.put(name, data);
    }
    return new AppendedZip(entries);
  }

  /** The archive of a model file's bytes. */
  public static AppendedZip read(byte[] file) {
    return read(ByteBuffer.wrap(file));
  }

  /** The bytes of entry {@code name}, or null if the archive has none. */
  public byte[] entry(String name) {
    return entries.get(name);
  }

  /** Entry names, in archive order. */
  public Iterable<String> names() {
    return entries.keySet();
  }

  private static int u16(ByteBuffer buf, int at) {
    return buf.getShort(at) & 0xFFFF;
  }

  private static long u32(ByteBuffer buf, int at) {
    return buf.getInt(at) & 0xFFFFFFFFL;
  }

  private static String utf8(ByteBuffer buf, int at, int length) {
    byte[] bytes = new byte[length];
    ByteBuffer slice = buf.duplicate();
    slice.position(at);
    slice.get(bytes);
    return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
  }
}
