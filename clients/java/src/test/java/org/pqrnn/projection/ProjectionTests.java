package org.pqrnn.projection;

import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Unit tests of the Java projection, run by a plain main (no test library):
 *
 * <pre>java -cp clients/java/build/classes org.pqrnn.projection.ProjectionTests tests/golden_projection.json</pre>
 *
 * Prints one line per failure and a closing "N passed, N failed" line; exits
 * 1 if any test failed.
 */
public final class ProjectionTests {
  private static String goldenPath;
  private static int passed;
  private static int failed;

  private interface Test {
    void run() throws Exception;
  }

  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: ProjectionTests tests/golden_projection.json");
      System.exit(2);
    }
    goldenPath = args[0];
    run("golden vectors (bytes)", ProjectionTests::goldenBytes);
    run("golden vectors (strings)", ProjectionTests::goldenStrings);
    run("lone surrogates read as U+FFFD", ProjectionTests::loneSurrogates);
    run("UTF-16 spans with astral characters", ProjectionTests::utf16Spans);
    run("byte spans of invalid UTF-8", ProjectionTests::byteSpansOfInvalidUtf8);
    run("spans cover cut repeats and keep the written case", ProjectionTests::spansOfCutRepeats);
    run("separators, max_tokens and unsegmented scripts", ProjectionTests::tokenBoundaries);
    run("lowercase table is Unicode 14.0, not the JVM's", ProjectionTests::lowercaseTable);
    run("n-gram rows past 32767 keys", ProjectionTests::longTokenOverflow);
    run("settings validation", ProjectionTests::settingsValidation);
    run("mini JSON parser", ProjectionTests::miniJson);
    run("model reader: archive concatenated to the model", ProjectionTests::modelRelativeOffsets);
    run("model reader: offsets from the file start", ProjectionTests::modelAbsoluteOffsets);
    run("model reader: errors", ProjectionTests::modelErrors);
    run("buckets and padded input", ProjectionTests::bucketsAndPadding);
    run("BIO chunks as get_chunks reads them", ProjectionTests::bioChunks);
    run("decoding intent and slot spans", ProjectionTests::decoding);
    run("conformance output line", ProjectionTests::conformanceLine);
    System.out.println(passed + " passed, " + failed + " failed");
    System.exit(failed == 0 ? 0 : 1);
  }

  private static void run(String name, Test test) {
    try {
      test.run();
      ++passed;
    } catch (Throwable e) {
      ++failed;
      System.out.println("FAILED: " + name + ": " + e);
      StackTraceElement[] trace = e.getStackTrace();
      for (int i = 0; i < Math.min(4, trace.length); ++i) System.out.println("    at " + trace[i]);
    }
  }

  // ------------------------------------------------------------------------
  // Assertions.

  private static void check(boolean condition, String what) {
    if (!condition) throw new AssertionError(what);
  }

  private static void checkEquals(Object expected, Object actual, String what) {
    if (expected == null ? actual != null : !expected.equals(actual)) {
      throw new AssertionError(what + ": expected <" + expected + ">, got <" + actual + ">");
    }
  }

  /** Runs code that must throw IllegalArgumentException with a message containing `part`. */
  private static void checkThrows(String part, Test code) throws Exception {
    try {
      code.run();
    } catch (IllegalArgumentException e) {
      check(e.getMessage() != null && e.getMessage().contains(part),
          "message '" + e.getMessage() + "' should contain '" + part + "'");
      check(!e.getMessage().contains("\n"), "message should be one line: " + e.getMessage());
      return;
    }
    throw new AssertionError("expected an error containing '" + part + "'");
  }

  private static void checkSameFloats(float[] expected, float[] actual, String what) {
    checkEquals(expected.length, actual.length, what + " length");
    for (int i = 0; i < expected.length; ++i) {
      if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
        throw new AssertionError(what + "[" + i + "]: expected " + expected[i] + ", got " + actual[i]);
      }
    }
  }

  private static List<Integer> spans(Projection p) {
    List<Integer> out = new ArrayList<Integer>();
    for (int t = 0; t < p.tokenCount(); ++t) {
      out.add(p.tokenStart(t));
      out.add(p.tokenEnd(t));
    }
    return out;
  }

  private static List<String> tokenTexts(String text, Projection p) {
    List<String> out = new ArrayList<String>();
    for (int t = 0; t < p.tokenCount(); ++t) out.add(text.substring(p.tokenStart(t), p.tokenEnd(t)));
    return out;
  }

  // ------------------------------------------------------------------------
  // Golden vectors (tests/golden_projection.json, made by the Python reference).

  private static Map<?, ?> golden() throws IOException {
    byte[] data = ConformanceMain.readAll(new FileInputStream(goldenPath));
    return (Map<?, ?>) MiniJson.parse(new String(data, StandardCharsets.UTF_8));
  }

  /** The golden settings this implementation covers (inference never distorts). */
  private static ProjectionSettings goldenSettings(Map<?, ?> golden, String name) {
    Map<?, ?> attrs = (Map<?, ?>) ((Map<?, ?>) golden.get("settings")).get(name);
    ProjectionSettings parsed = ProjectionSettings.fromJson(attrs, false);
    return parsed.toBuilder().featureSize((int) (long) (Long) golden.get("feature_size")).build();
  }

  private static byte[] hex(String hex) {
    byte[] out = new byte[hex.length() / 2];
    for (int i = 0; i < out.length; ++i) out[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
    return out;
  }

  /** The features the golden file describes for one case and setting. */
  private static float[] goldenFeatures(Map<?, ?> result, int featureSize) {
    List<?> rows = (List<?>) result.get("rows");
    float[] out = new float[rows.size() * featureSize];
    for (int r = 0; r < rows.size(); ++r) {
      Map<?, ?> row = (Map<?, ?>) rows.get(r);
      if (row.containsKey("values")) {
        for (Object pair : (List<?>) row.get("values")) {
          List<?> p = (List<?>) pair;
          out[r * featureSize + (int) (long) (Long) p.get(0)] = Float.parseFloat((String) p.get(1));
        }
      } else {
        for (Object i : (List<?>) row.get("plus")) out[r * featureSize + (int) (long) (Long) i] = 1f;
        for (Object i : (List<?>) row.get("minus")) out[r * featureSize + (int) (long) (Long) i] = -1f;
      }
    }
    return out;
  }

  private static void goldenBytes() throws Exception {
    Map<?, ?> golden = golden();
    int checked = 0;
    for (Object c : (List<?>) golden.get("cases")) {
      Map<?, ?> gc = (Map<?, ?>) c;
      byte[] input = hex((String) gc.get("input_hex"));
      Map<?, ?> results = (Map<?, ?>) gc.get("results");
      for (Object settingName : results.keySet()) {
        if (settingName.equals("distortion")) continue;  // training-only, not implemented
        String what = gc.get("name") + "/" + settingName;
        ProjectionSettings settings = goldenSettings(golden, (String) settingName);
        SequenceProjector projector = new SequenceProjector(settings);
        Map<?, ?> result = (Map<?, ?>) results.get(settingName);
        Projection p = projector.project(input);
        checkEquals((int) (long) (Long) result.get("sequence_length"), p.rows(), what + " rows");
        checkSameFloats(goldenFeatures(result, settings.featureSize), p.features(), what);

        // The tokens (code points after steps 1-3) and their keys, row by row.
        SequenceProjector.Tokens tokens = projector.tokenize(SequenceProjector.decodeUtf8(input, 0, input.length));
        List<?> rows = (List<?>) result.get("rows");
        int start = 0;
        for (int t = 0; t < tokens.count; ++t) {
          Map<?, ?> row = (Map<?, ?>) rows.get(t + p.firstTextRow());
          int end = tokens.ends[t];
          String token = new String(tokens.codePoints, start, end - start);
          checkEquals(row.get("token"), token, what + " token " + t);
          long key = SequenceProjector.tokenKey(tokens.codePoints, start, end, SequenceProjector.DOMAIN_TOKEN);
          checkEquals(row.get("key"), String.format("0x%016x", key), what + " key of token " + t);
          start = end;
        }
        ++checked;
      }
    }
    check(checked >= 30, "only " + checked + " golden results checked");
  }

  private static void goldenStrings() throws Exception {
    Map<?, ?> golden = golden();
    for (Object c : (List<?>) golden.get("cases")) {
      Map<?, ?> gc = (Map<?, ?>) c;
      String text = (String) gc.get("text");
      if (text == null) continue;  // not valid UTF-8
      Map<?, ?> results = (Map<?, ?>) gc.get("results");
      for (Object settingName : results.keySet()) {
        if (settingName.equals("distortion")) continue;
        ProjectionSettings settings = goldenSettings(golden, (String) settingName);
        Map<?, ?> result = (Map<?, ?>) results.get(settingName);
        Projection p = new SequenceProjector(settings).project(text);
        checkSameFloats(goldenFeatures(result, settings.featureSize), p.features(), gc.get("name") + "/" + settingName);
      }
    }
  }

  // ------------------------------------------------------------------------
  // Strings and spans.

  private static final SequenceProjector DEFAULTS = new SequenceProjector(
      ProjectionSettings.builder().featureSize(96).charNgramSize(3).build());

  private static void loneSurrogates() {
    String[][] pairs = {
      {"ab\uD800cd x", "ab\uFFFDcd x"},  // high surrogate inside a token
      {"x \uDC00", "x \uFFFD"},  // low surrogate at the end
      {"\uD83D", "\uFFFD"},  // high surrogate at the end
      {"\uDC00\uD800 y", "\uFFFD\uFFFD y"},  // reversed pair: two lone surrogates
    };
    for (String[] pair : pairs) {
      Projection lone = DEFAULTS.project(pair[0]);
      Projection replaced = DEFAULTS.project(pair[1]);
      checkSameFloats(replaced.features(), lone.features(), "features of " + Arrays.toString(pair[0].toCharArray()));
      checkEquals(spans(replaced), spans(lone), "spans");
      // The same as bytes that are not UTF-8 (an encoded surrogate is invalid).
      byte[] bytes = pair[0].replace('\uD800', '\u0001').replace('\uDC00', '\u0001').replace('\uD83D', '\u0001')
          .getBytes(StandardCharsets.UTF_8);
      for (int i = 0; i < bytes.length; ++i) if (bytes[i] == 1) bytes[i] = (byte) 0xFF;
      checkSameFloats(replaced.features(), DEFAULTS.project(bytes).features(), "bytes of " + pair[1]);
    }
  }

  private static void utf16Spans() {
    // U+1D400 MATHEMATICAL BOLD CAPITAL A and U+1F469 are surrogate pairs;
    // U+10400 DESERET CAPITAL LONG I lowercases to U+10428 (also astral).
    String text = "I \uD83D\uDC69\u200D\uD83D\uDCBB ok \uD835\uDC00b \uD801\uDC00x";
    Projection p = DEFAULTS.project(text);
    checkEquals(Arrays.asList("I", "\uD83D\uDC69\u200D\uD83D\uDCBB", "ok", "\uD835\uDC00b", "\uD801\uDC00x"),
        tokenTexts(text, p), "tokens");
    checkEquals(Arrays.asList(0, 1, 2, 7, 8, 10, 11, 14, 15, 18), spans(p), "UTF-16 spans");
    Projection bytes = DEFAULTS.project(text.getBytes(StandardCharsets.UTF_8));
    checkSameFloats(bytes.features(), p.features(), "string vs bytes");
    checkEquals(Arrays.asList(0, 1, 2, 13, 14, 16, 17, 22, 23, 28), spans(bytes), "byte spans");
    // The lowercase of U+10400 is hashed: same row as the written lowercase.
    Projection lower = DEFAULTS.project("\uD801\uDC28x");
    checkSameFloats(Arrays.copyOfRange(p.features(), 4 * 96, 5 * 96), lower.features(), "astral lowercase");
  }

  private static void byteSpansOfInvalidUtf8() {
    // C3 alone, E2 82 truncated, ED A0 80 (a surrogate) are 1, 2 and 3 replacements.
    byte[] text = {'a', (byte) 0xC3, ' ', (byte) 0xE2, (byte) 0x82, ' ', 'b', (byte) 0xED, (byte) 0xA0, (byte) 0x80};
    Projection p = DEFAULTS.project(text);
    checkEquals(Arrays.asList(0, 2, 3, 5, 6, 10), spans(p), "byte spans");
    Projection replaced = DEFAULTS.project("a\uFFFD \uFFFD\uFFFD b\uFFFD\uFFFD\uFFFD");
    checkSameFloats(replaced.features(), p.features(), "features");
  }

  private static void spansOfCutRepeats() {
    SequenceProjector projector = new SequenceProjector(
        ProjectionSettings.builder().featureSize(32).maxRepeatedChars(2).build());
    String text = "Sooooo GOOD!!!!";
    Projection p = projector.project(text);
    checkEquals(Arrays.asList("Sooooo", "GOOD!!!!"), tokenTexts(text, p), "tokens as written");
    checkSameFloats(projector.project("soo good!!").features(), p.features(), "runs cut to 2");
  }

  private static void tokenBoundaries() {
    SequenceProjector projector = new SequenceProjector(ProjectionSettings.builder()
        .featureSize(32).separators("-X").maxTokens(4).build());
    // 'X' never matches after lowercasing; '-' separates; 東京 are one token each.
    String text = "a-bXc 東京 d e";
    Projection p = projector.project(text);
    checkEquals(Arrays.asList("a", "bXc", "東", "京"), tokenTexts(text, p), "tokens");
    SequenceProjector noSplit = new SequenceProjector(ProjectionSettings.builder()
        .featureSize(32).splitUnsegmentedScripts(false).build());
    checkEquals(Arrays.asList("a-bXc", "東京", "d", "e"), tokenTexts(text, noSplit.project(text)), "no split");
    checkEquals(0, noSplit.project(" \t\u3000\u00a0\u2028 ").rows(), "whitespace only");
  }

  private static void lowercaseTable() {
    checkEquals((int) 'i', Unicode.lower(0x130), "U+0130");
    checkEquals(0x3C3, Unicode.lower(0x3A3), "capital sigma");
    checkEquals(0x1C6, Unicode.lower(0x1C5), "titlecase dz");
    checkEquals(0x10428, Unicode.lower(0x10400), "Deseret");
    checkEquals(0x1E922, Unicode.lower(0x1E900), "Adlam");
    checkEquals(0xDF, Unicode.lower(0xDF), "sharp s has no simple lowercase change");
    checkEquals(0xDF, Unicode.lower(0x1E9E), "capital sharp s");
    // Added in Unicode 14.0 (Java 17's Character is 13.0): U+2C2F GLAGOLITIC CAPITAL
    // LETTER CAUDATE CHRIVI lowercases to U+2C5F; U+10570 VITHKUQI CAPITAL A to U+10597.
    checkEquals(0x2C5F, Unicode.lower(0x2C2F), "U+2C2F (Unicode 14.0)");
    checkEquals(0x10597, Unicode.lower(0x10570), "U+10570 (Unicode 14.0)");
    // U+A7C0 LATIN CAPITAL LETTER OLD POLISH O is 14.0 too; unassigned code points stay.
    checkEquals(0xA7C1, Unicode.lower(0xA7C0), "U+A7C0");
    checkEquals(0x10FFFF, Unicode.lower(0x10FFFF), "unassigned");
  }

  private static void longTokenOverflow() {
    // 40000 distinct 'a'/'b' patterns: more than 32767 keys in one row.
    StringBuilder token = new StringBuilder();
    long state = 12345;
    for (int i = 0; i < 40000; ++i) {
      state = SequenceProjector.mix64(state + SequenceProjector.GOLDEN);
      token.append((state & 1) == 0 ? 'a' : 'b');
    }
    ProjectionSettings settings = ProjectionSettings.builder().featureSize(40).charNgramSize(5).build();
    Projection p = new SequenceProjector(settings).project(token.toString());
    // Reference: the spec's sum with plain ints.
    int[] cps = token.toString().codePoints().toArray();
    int[] sum = new int[40];
    addTernary(SequenceProjector.tokenKey(cps, 0, cps.length, SequenceProjector.DOMAIN_TOKEN), sum);
    int[] marked = new int[cps.length + 2];
    marked[0] = '<';
    System.arraycopy(cps, 0, marked, 1, cps.length);
    marked[marked.length - 1] = '>';
    int count = marked.length - 5 + 1;
    for (int i = 0; i < count; ++i) addTernary(SequenceProjector.tokenKey(marked, i, i + 5, SequenceProjector.DOMAIN_NGRAM), sum);
    float scale = 1.0f / (float) Math.sqrt((float) (1 + count));
    float[] expected = new float[40];
    for (int i = 0; i < 40; ++i) expected[i] = (float) sum[i] * scale;
    checkSameFloats(expected, p.features(), "long token");
  }

  private static void addTernary(long key, int[] sum) {
    for (int i = 0; i < sum.length; ++i) {
      long word = SequenceProjector.mix64(key + (i / 32 + 1) * SequenceProjector.GOLDEN);
      int t = (int) (word >>> (2 * (i % 32))) & 3;
      sum[i] += t == 1 ? 1 : (t == 2 ? -1 : 0);
    }
  }

  // ------------------------------------------------------------------------
  // Settings and JSON.

  private static void settingsValidation() throws Exception {
    checkThrows("'feature_size'", () -> ProjectionSettings.builder().featureSize(0).build());
    checkThrows("'feature_size'", () -> ProjectionSettings.builder().featureSize(16385).build());
    checkThrows("'max_tokens'", () -> ProjectionSettings.builder().maxTokens(-1).build());
    checkThrows("'char_ngram_size'", () -> ProjectionSettings.builder().charNgramSize(9).build());
    checkThrows("'max_repeated_chars'", () -> ProjectionSettings.builder().maxRepeatedChars(-2).build());
    checkThrows("'separators'", () -> ProjectionSettings.builder().separators("a\uD800").build());
    checkThrows("unknown projection attribute 'lower_case'",
        () -> ProjectionSettings.fromJson(MiniJson.parse("{\"lower_case\": true}"), false));
    checkThrows("'lowercase': must be true or false",
        () -> ProjectionSettings.fromJson(MiniJson.parse("{\"lowercase\": 1}"), false));
    checkThrows("'feature_size': must be an integer",
        () -> ProjectionSettings.fromJson(MiniJson.parse("{\"feature_size\": 64.5}"), false));
    checkThrows("'distortion_probability'",
        () -> ProjectionSettings.fromJson(MiniJson.parse("{\"distortion_probability\": 0.1}"), false));
    checkThrows("missing projection attribute 'max_tokens'",
        () -> ProjectionSettings.fromJson(MiniJson.parse("{\"feature_size\": 8}"), true));
    ProjectionSettings s = ProjectionSettings.fromJson(
        MiniJson.parse("{\"feature_size\": 8, \"separators\": \"\\u00e9,\", \"distortion_probability\": 0}"), false);
    checkEquals(8, s.featureSize, "feature_size");
    checkEquals("\u00e9,", s.separators, "separators");
    checkEquals(true, s.splitUnsegmentedScripts, "default split_unsegmented_scripts");
  }

  private static void miniJson() throws Exception {
    Object v = MiniJson.parse(" {\"a\": [1, -2.5e1, true, false, null, \"x\\\"\\n\\ud83d\\ude00\"], \"b\": {}, \"a2\": []} ");
    Map<?, ?> m = (Map<?, ?>) v;
    checkEquals(Arrays.asList(1L, -25.0, true, false, null, "x\"\n\uD83D\uDE00"), m.get("a"), "array");
    checkEquals(3, m.size(), "keys");
    checkEquals(2L, ((Map<?, ?>) MiniJson.parse("{\"k\": 1, \"k\": 2}")).get("k"), "last repeated key wins");
    checkThrows("offset 6", () -> MiniJson.parse("{\"a\": }"));
    checkThrows("unexpected text", () -> MiniJson.parse("{} x"));
    checkThrows("must not start with 0", () -> MiniJson.parse("012"));
    checkThrows("unterminated", () -> MiniJson.parse("\"abc"));
  }

  // ------------------------------------------------------------------------
  // The model reader, on synthetic models: some bytes, then a zip archive.

  private static final String SETTINGS_JSON = "{\"spec_version\": 1,\n"
      + " \"projection\": {\"feature_size\": 64, \"max_tokens\": 30, \"lowercase\": true,\n"
      + "  \"separators\": \"\", \"split_unsegmented_scripts\": false, \"max_repeated_chars\": 0,\n"
      + "  \"add_bos\": true, \"add_eos\": false, \"char_ngram_size\": 3},\n"
      + " \"buckets\": [16, 32]}";

  private static byte[] fakeFlatbuffer() {
    byte[] model = new byte[1000];
    for (int i = 0; i < model.length; ++i) model[i] = (byte) (i * 7);
    System.arraycopy("TFL3".getBytes(StandardCharsets.US_ASCII), 0, model, 4, 4);
    return model;
  }

  private static String[][] standardFiles() {
    return new String[][] {
      {"pqrnn_portable.json", SETTINGS_JSON},
      {"intent_labels.txt", "atis_flight\natis_airfare\n"},
      {"slot_labels.txt", "O\nB-toloc.city_name\nI-toloc.city_name\n"},
    };
  }

  /** The model bytes followed by a zip written by java.util.zip (offsets from the archive's start). */
  private static byte[] withZipOutputStream(String[][] files, boolean deflate) throws IOException {
    ByteArrayOutputStream archive = new ByteArrayOutputStream();
    ZipOutputStream zip = new ZipOutputStream(archive);
    for (String[] file : files) {
      byte[] data = file[1].getBytes(StandardCharsets.UTF_8);
      ZipEntry entry = new ZipEntry(file[0]);
      if (!deflate) {
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        entry.setCrc(crc.getValue());
      }
      zip.putNextEntry(entry);
      zip.write(data);
      zip.closeEntry();
    }
    zip.close();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(fakeFlatbuffer());
    out.write(archive.toByteArray());
    return out.toByteArray();
  }

  /**
   * The model bytes followed by a STORED zip whose offsets count from the file's
   * start, as Python's zipfile writes in append mode (a minimal writer).
   */
  private static byte[] withAbsoluteOffsets(String[][] files, String comment) {
    ByteBuffer out = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    out.put(fakeFlatbuffer());
    int[] offsets = new int[files.length];
    long[] crcs = new long[files.length];
    for (int i = 0; i < files.length; ++i) {
      byte[] name = files[i][0].getBytes(StandardCharsets.UTF_8);
      byte[] data = files[i][1].getBytes(StandardCharsets.UTF_8);
      CRC32 crc = new CRC32();
      crc.update(data);
      crcs[i] = crc.getValue();
      offsets[i] = out.position();
      out.putInt(0x04034b50).putShort((short) 20).putShort((short) 0).putShort((short) 0)
          .putInt(0).putInt((int) crcs[i]).putInt(data.length).putInt(data.length)
          .putShort((short) name.length).putShort((short) 0).put(name).put(data);
    }
    int directory = out.position();
    for (int i = 0; i < files.length; ++i) {
      byte[] name = files[i][0].getBytes(StandardCharsets.UTF_8);
      int size = files[i][1].getBytes(StandardCharsets.UTF_8).length;
      out.putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0)
          .putShort((short) 0).putInt(0).putInt((int) crcs[i]).putInt(size).putInt(size)
          .putShort((short) name.length).putShort((short) 0).putShort((short) 0)
          .putShort((short) 0).putShort((short) 0).putInt(0).putInt(offsets[i]).put(name);
    }
    int directorySize = out.position() - directory;
    byte[] commentBytes = comment.getBytes(StandardCharsets.UTF_8);
    out.putInt(0x06054b50).putShort((short) 0).putShort((short) 0)
        .putShort((short) files.length).putShort((short) files.length)
        .putInt(directorySize).putInt(directory).putShort((short) commentBytes.length).put(commentBytes);
    return Arrays.copyOf(out.array(), out.position());
  }

  private static void checkStandardModel(PortableModel model) {
    checkEquals(64, model.settings().featureSize, "feature_size");
    checkEquals(30, model.settings().maxTokens, "max_tokens");
    checkEquals(true, model.settings().addBos, "add_bos");
    checkEquals(3, model.settings().charNgramSize, "char_ngram_size");
    checkEquals(false, model.settings().splitUnsegmentedScripts, "split_unsegmented_scripts");
    checkEquals(Arrays.asList(16, 32), Arrays.asList(model.buckets()[0], model.buckets()[1]), "buckets");
    checkEquals(Arrays.asList("atis_flight", "atis_airfare"), model.intentLabels(), "intent labels");
    checkEquals(Arrays.asList("O", "B-toloc.city_name", "I-toloc.city_name"), model.slotLabels(), "slot labels");
  }

  private static void modelRelativeOffsets() throws Exception {
    byte[] file = withZipOutputStream(standardFiles(), false);
    checkStandardModel(PortableModel.read(file));
    // A direct buffer, as an app maps the model file.
    ByteBuffer direct = ByteBuffer.allocateDirect(file.length);
    direct.put(file);
    direct.flip();
    checkStandardModel(PortableModel.read(direct));
  }

  private static void modelAbsoluteOffsets() throws Exception {
    checkStandardModel(PortableModel.read(withAbsoluteOffsets(standardFiles(), "")));
    checkStandardModel(PortableModel.read(withAbsoluteOffsets(standardFiles(), "a comment PK\u0005\u0006")));
    String[][] noSlots = {standardFiles()[0], standardFiles()[1]};
    checkEquals(null, PortableModel.read(withAbsoluteOffsets(noSlots, "")).slotLabels(), "no slot head");
  }

  private static void modelErrors() throws Exception {
    String[][] files = standardFiles();
    checkThrows("no zip archive", () -> PortableModel.read(fakeFlatbuffer()));
    checkThrows("spec_version 2 is not supported", () -> {
      String[][] f = standardFiles();
      f[0][1] = SETTINGS_JSON.replace("\"spec_version\": 1", "\"spec_version\": 2");
      PortableModel.read(withZipOutputStream(f, false));
    });
    checkThrows("missing spec_version", () -> {
      String[][] f = standardFiles();
      f[0][1] = SETTINGS_JSON.replace("\"spec_version\": 1,", "");
      PortableModel.read(withZipOutputStream(f, false));
    });
    checkThrows("missing projection attribute 'char_ngram_size'", () -> {
      String[][] f = standardFiles();
      f[0][1] = SETTINGS_JSON.replace(", \"char_ngram_size\": 3", "");
      PortableModel.read(withZipOutputStream(f, false));
    });
    checkThrows("pqrnn_portable.json: invalid JSON", () -> {
      String[][] f = standardFiles();
      f[0][1] = SETTINGS_JSON.substring(0, 40);
      PortableModel.read(withZipOutputStream(f, false));
    });
    checkThrows("buckets must be ascending", () -> {
      String[][] f = standardFiles();
      f[0][1] = SETTINGS_JSON.replace("[16, 32]", "[32, 16]");
      PortableModel.read(withZipOutputStream(f, false));
    });
    checkThrows("max_tokens must be >= 1", () -> {
      String[][] f = standardFiles();
      f[0][1] = SETTINGS_JSON.replace("\"max_tokens\": 30", "\"max_tokens\": 0");
      PortableModel.read(withZipOutputStream(f, false));
    });
    checkThrows("the largest bucket (16) must hold max_tokens + BOS + EOS = 31 rows", () -> {
      String[][] f = standardFiles();
      f[0][1] = SETTINGS_JSON.replace("[16, 32]", "[16]");
      PortableModel.read(withZipOutputStream(f, false));
    });
    checkThrows("no intent_labels.txt",
        () -> PortableModel.read(withZipOutputStream(new String[][] {files[0], files[2]}, false)));
    checkThrows("no pqrnn_portable.json",
        () -> PortableModel.read(withZipOutputStream(new String[][] {files[1], files[2]}, false)));
    checkThrows("must be STORED", () -> PortableModel.read(withZipOutputStream(files, true)));
    checkThrows("CRC", () -> {
      byte[] file = withAbsoluteOffsets(files, "");
      int at = new String(file, StandardCharsets.ISO_8859_1).indexOf("atis_flight");
      file[at] = 'A';
      PortableModel.read(file);
    });
  }

  private static void bucketsAndPadding() throws Exception {
    PortableModel model = PortableModel.read(withZipOutputStream(standardFiles(), false));
    checkEquals(16, model.bucketFor(0), "empty text");
    checkEquals(16, model.bucketFor(16), "16 rows");
    checkEquals(32, model.bucketFor(17), "17 rows");
    checkThrows("exceed the model's largest bucket (32)", () -> model.bucketFor(33));
    checkEquals("bucket_32", PortableModel.signatureKey(32), "signature key");
    Projection p = model.projector().project("Flights to Boston");
    checkEquals(4, p.rows(), "rows with BOS");
    float[] padded = p.paddedFeatures(16);
    checkEquals(16 * 64, padded.length, "padded length");
    checkSameFloats(p.features(), Arrays.copyOf(padded, p.features().length), "rows first");
    for (int i = p.features().length; i < padded.length; ++i) check(padded[i] == 0f, "zero padding");
    FloatBuffer buffer = FloatBuffer.allocate(16 * 64 + 3);
    buffer.put(7f);
    p.writePaddedFeatures(16, buffer);
    checkEquals(1 + 16 * 64, buffer.position(), "buffer advanced by T * F");
    float[] written = new float[16 * 64];
    buffer.position(1);
    buffer.get(written);
    checkSameFloats(padded, written, "buffer contents");
    checkThrows("shorter than the text's 4 rows", () -> p.paddedFeatures(3));
  }

  // ------------------------------------------------------------------------
  // Decoding.

  private static OutputDecoder.Chunk chunk(String type, int first, int last) {
    return new OutputDecoder.Chunk(type, first, last);
  }

  private static void bioChunks() throws Exception {
    // Expected values worked out from conlleval's rules (pqrnn_tf.metrics.get_chunks).
    checkEquals(Arrays.asList(chunk("a", 0, 1), chunk("b", 3, 4), chunk("b", 5, 5), chunk("c", 6, 6), chunk("b", 7, 7)),
        OutputDecoder.chunks(Arrays.asList("B-a", "I-a", "O", "I-b", "I-b", "B-b", "B-c", "I-b")), "BIO");
    checkEquals(Arrays.asList(chunk("x", 0, 0), chunk("x", 1, 2)),
        OutputDecoder.chunks(Arrays.asList("I-x", "B-x", "I-x")), "I-x starts a chunk");
    checkEquals(Arrays.asList(chunk("x", 0, 1), chunk("y", 2, 2), chunk("x", 3, 3)),
        OutputDecoder.chunks(Arrays.asList("B-x", "E-x", "S-y", "I-x")), "IOBES");
    checkEquals(new ArrayList<OutputDecoder.Chunk>(), OutputDecoder.chunks(Arrays.asList("O", "O")), "all O");
    checkEquals(Arrays.asList(chunk("city.name", 0, 1)),
        OutputDecoder.chunks(Arrays.asList("B-city.name", "I-city.name")), "type with punctuation");
    checkThrows("invalid slot tag 'X-a'", () -> OutputDecoder.chunks(Arrays.asList("O", "X-a")));
    checkThrows("invalid slot tag 'B-'", () -> OutputDecoder.chunks(Arrays.asList("B-")));
  }

  private static void decoding() throws Exception {
    List<String> intents = Arrays.asList("flight", "airfare", "ground");
    List<String> tags = Arrays.asList("O", "B-city", "I-city");
    OutputDecoder decoder = new OutputDecoder(intents, tags);
    SequenceProjector projector = new SequenceProjector(
        ProjectionSettings.builder().featureSize(8).addBos(true).addEos(true).build());
    String text = "to  \uD83D\uDE00New York please";
    Projection p = projector.project(text);
    checkEquals(6, p.rows(), "rows");
    // Rows: BOS, to, 😀New, York, please, EOS; bucket 8 with garbage in padding rows.
    float[][] rows = {
      {0.1f, 0.8f, 0.1f},  // BOS: must be skipped
      {0.9f, 0.05f, 0.05f},
      {0.2f, 0.7f, 0.1f},
      {0.1f, 0.3f, 0.6f},
      {0.6f, 0.2f, 0.2f},
      {0.1f, 0.1f, 0.8f},  // EOS
      {0f, 1f, 0f}, {0f, 1f, 0f},
    };
    float[] slotProbs = new float[8 * 3];
    for (int r = 0; r < 8; ++r) System.arraycopy(rows[r], 0, slotProbs, 3 * r, 3);
    OutputDecoder.Prediction prediction = decoder.decode(p, new float[] {0.2f, 0.5f, 0.3f}, slotProbs);
    checkEquals("airfare", prediction.intent, "intent");
    checkEquals(0.5f, prediction.intentProbability, "intent probability");
    checkEquals(Arrays.asList("O", "B-city", "I-city", "O"), prediction.tags, "tags of text tokens");
    checkEquals(1, prediction.slots.size(), "one slot");
    OutputDecoder.Slot slot = prediction.slots.get(0);
    checkEquals("city", slot.type, "slot type");
    checkEquals("\uD83D\uDE00New York", text.substring(slot.start, slot.end), "slot text");
    check(Math.abs(slot.score - (0.7 + 0.6) / 2) < 1e-6, "score " + slot.score);
    // Ties go to the first label; no slot head gives no slots.
    checkEquals("flight", decoder.decode(p, new float[] {0.4f, 0.4f, 0.2f}, slotProbs).intent, "tie");
    OutputDecoder intentOnly = new OutputDecoder(intents, null);
    checkEquals(0, intentOnly.decode(p, new float[] {0f, 0f, 1f}, null).slots.size(), "no slot head");
    checkThrows("intent_probs has 2 values", () -> decoder.decode(p, new float[] {0.5f, 0.5f}, slotProbs));
    checkThrows("slot_probs has 12 values", () -> decoder.decode(p, new float[3], new float[12]));
  }

  private static void conformanceLine() {
    SequenceProjector projector = new SequenceProjector(ProjectionSettings.builder().featureSize(2).build());
    byte[] line = ConformanceMain.jsonLine(projector.project("ab c".getBytes(StandardCharsets.UTF_8)));
    String text = new String(line, StandardCharsets.US_ASCII);
    check(text.startsWith("{\"rows\": 2, \"features\": \""), text);
    check(text.endsWith("\", \"spans\": [[0, 2], [3, 4]]}\n"), text);
    String empty = new String(ConformanceMain.jsonLine(projector.project(new byte[0])), StandardCharsets.US_ASCII);
    checkEquals("{\"rows\": 0, \"features\": \"\", \"spans\": []}\n", empty, "empty line");
  }
}
