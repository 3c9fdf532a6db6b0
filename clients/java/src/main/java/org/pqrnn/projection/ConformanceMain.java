package org.pqrnn.projection;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The conformance command of custom_ops/README.md ("Conformance"):
 *
 * <pre>java -cp clients/java/build/classes org.pqrnn.projection.ConformanceMain SETTINGS.json</pre>
 *
 * reads texts from stdin, one per line (split on the byte '\n' only, each
 * line's bytes exactly; a last line without '\n' counts), and writes one JSON
 * line per text: {@code {"rows": R, "features": "<base64 of R * feature_size
 * little-endian float32>", "spans": [[start, end], ...]}}, spans in byte
 * offsets, formatted as Python's {@code json.dumps} does.
 */
public final class ConformanceMain {
  private ConformanceMain() {}

  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: ConformanceMain SETTINGS.json (texts on stdin, one per line)");
      System.exit(2);
    }
    SequenceProjector projector;
    try {
      String json = new String(readAll(new FileInputStream(args[0])), StandardCharsets.UTF_8);
      projector = new SequenceProjector(ProjectionSettings.fromJson(MiniJson.parse(json), false));
    } catch (IOException e) {
      System.err.println("ConformanceMain: cannot read " + args[0] + ": " + e.getMessage());
      System.exit(2);
      return;
    } catch (IllegalArgumentException e) {
      System.err.println("ConformanceMain: " + args[0] + ": " + e.getMessage());
      System.exit(2);
      return;
    }
    try {
      byte[] input = readAll(System.in);
      OutputStream out = new BufferedOutputStream(System.out, 1 << 16);
      int start = 0;
      while (start < input.length) {
        int end = start;
        while (end < input.length && input[end] != '\n') ++end;
        out.write(jsonLine(projector.project(input, start, end - start)));
        start = end + 1;
      }
      out.flush();
    } catch (IOException e) {
      System.err.println("ConformanceMain: " + e.getMessage());
      System.exit(1);
    }
  }

  /** One output line, '\n' included. */
  static byte[] jsonLine(Projection p) {
    float[] features = p.features();
    ByteBuffer bytes = ByteBuffer.allocate(4 * features.length).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(features);
    StringBuilder line = new StringBuilder(64 + features.length * 16 / 3);
    line.append("{\"rows\": ").append(p.rows())
        .append(", \"features\": \"").append(Base64.getEncoder().encodeToString(bytes.array()))
        .append("\", \"spans\": [");
    for (int t = 0; t < p.tokenCount(); ++t) {
      if (t > 0) line.append(", ");
      line.append('[').append(p.tokenStart(t)).append(", ").append(p.tokenEnd(t)).append(']');
    }
    line.append("]}\n");
    return line.toString().getBytes(StandardCharsets.US_ASCII);
  }

  static byte[] readAll(InputStream in) throws IOException {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] chunk = new byte[1 << 16];
      int n;
      while ((n = in.read(chunk)) > 0) out.write(chunk, 0, n);
      return out.toByteArray();
    } finally {
      in.close();
    }
  }
}
