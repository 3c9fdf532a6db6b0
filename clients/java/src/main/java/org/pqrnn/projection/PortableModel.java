package org.pqrnn.projection;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * What an app needs besides the runtime to use a portable model
 * (custom_ops/README.md, "Portable models"): the projection settings, the
 * length buckets and the labels, read from the zip archive at the end of the
 * {@code .tflite} file.
 */
public final class PortableModel {
  /** The spec version this implementation follows. */
  public static final int SPEC_VERSION = 1;
  public static final String SETTINGS_FILE = "pqrnn_portable.json";
  public static final String INTENT_LABELS_FILE = "intent_labels.txt";
  public static final String SLOT_LABELS_FILE = "slot_labels.txt";

  private final ProjectionSettings settings;
  private final int[] buckets;
  private final List<String> intentLabels;
  private final List<String> slotLabels;

  private PortableModel(ProjectionSettings settings, int[] buckets, List<String> intentLabels,
      List<String> slotLabels) {
    this.settings = settings;
    this.buckets = buckets;
    this.intentLabels = intentLabels;
    this.slotLabels = slotLabels;
  }

  /**
   * Reads a model file's settings and labels.
   *
   * @param model the whole {@code .tflite} file, from index 0 to its limit
   * @throws IllegalArgumentException (one line, naming the file inside the
   *     model) for a missing archive or file, an unknown spec_version, or a
   *     missing or invalid setting
   */
  public static PortableModel read(ByteBuffer model) {
    AppendedZip zip = AppendedZip.read(model);
    byte[] json = required(zip, SETTINGS_FILE);
    Object parsed;
    try {
      parsed = MiniJson.parse(new String(json, StandardCharsets.UTF_8));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(SETTINGS_FILE + ": " + e.getMessage());
    }
    if (!(parsed instanceof Map)) throw new IllegalArgumentException(SETTINGS_FILE + ": not a JSON object");
    Map<?, ?> root = (Map<?, ?>) parsed;
    Object version = root.get("spec_version");
    if (version == null) throw new IllegalArgumentException(SETTINGS_FILE + ": missing spec_version");
    if (!(version instanceof Long) || (Long) version != SPEC_VERSION) {
      throw new IllegalArgumentException(SETTINGS_FILE + ": spec_version " + version
          + " is not supported (this projection implements spec version " + SPEC_VERSION + ")");
    }
    if (!root.containsKey("projection")) throw new IllegalArgumentException(SETTINGS_FILE + ": missing projection");
    ProjectionSettings settings;
    try {
      settings = ProjectionSettings.fromJson(root.get("projection"), true);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(SETTINGS_FILE + ": " + e.getMessage());
    }
    if (settings.maxTokens < 1) {
      throw new IllegalArgumentException(SETTINGS_FILE + ": max_tokens must be >= 1 (a portable model has a "
          + "largest bucket), got " + settings.maxTokens);
    }
    int[] buckets = readBuckets(root.get("buckets"));
    int maxRows = settings.maxTokens + (settings.addBos ? 1 : 0) + (settings.addEos ? 1 : 0);
    if (buckets[buckets.length - 1] < maxRows) {
      throw new IllegalArgumentException(SETTINGS_FILE + ": the largest bucket (" + buckets[buckets.length - 1]
          + ") must hold max_tokens + BOS + EOS = " + maxRows + " rows");
    }
    List<String> intents = labels(required(zip, INTENT_LABELS_FILE));
    byte[] slots = zip.entry(SLOT_LABELS_FILE);
    return new PortableModel(settings, buckets, intents, slots == null ? null : labels(slots));
  }

  /** Reads a model file's settings and labels from its bytes. */
  public static PortableModel read(byte[] model) {
    return read(ByteBuffer.wrap(model));
  }

  private static byte[] required(AppendedZip zip, String name) {
    byte[] data = zip.entry(name);
    if (data == null) throw new IllegalArgumentException("the model has no " + name + " (not a portable pQRNN model?)");
    return data;
  }

  private static int[] readBuckets(Object value) {
    if (!(value instanceof List) || ((List<?>) value).isEmpty()) {
      throw new IllegalArgumentException(SETTINGS_FILE + ": buckets must be a non-empty list, got " + value);
    }
    List<?> list = (List<?>) value;
    int[] out = new int[list.size()];
    for (int i = 0; i < out.length; ++i) {
      Object v = list.get(i);
      if (!(v instanceof Long) || (Long) v < 1 || (Long) v > Integer.MAX_VALUE
          || (i > 0 && (Long) v <= out[i - 1])) {
        throw new IllegalArgumentException(SETTINGS_FILE + ": buckets must be ascending positive integers, got " + list);
      }
      out[i] = (int) (long) (Long) v;
    }
    return out;
  }

  /** One label per line, each ending in '\n' (a last line without one counts too). */
  static List<String> labels(byte[] data) {
    String text = new String(data, StandardCharsets.UTF_8);
    List<String> out = new ArrayList<String>();
    int start = 0;
    while (start < text.length()) {
      int end = text.indexOf('\n', start);
      if (end < 0) end = text.length();
      out.add(text.substring(start, end));
      start = end + 1;
    }
    return Collections.unmodifiableList(out);
  }

  public ProjectionSettings settings() {
    return settings;
  }

  /** A projector with this model's settings. */
  public SequenceProjector projector() {
    return new SequenceProjector(settings);
  }

  /** The bucket lengths T of the model's signatures {@code bucket_<T>}, ascending. */
  public int[] buckets() {
    return buckets.clone();
  }

  /**
   * The smallest bucket length {@code T >= rows}.
   *
   * @throws IllegalArgumentException if rows exceed the largest bucket
   */
  public int bucketFor(int rows) {
    return bucketFor(buckets, rows);
  }

  /** The smallest of ascending {@code buckets} that is {@code >= rows}. */
  public static int bucketFor(int[] buckets, int rows) {
    for (int t : buckets) {
      if (t >= rows) return t;
    }
    throw new IllegalArgumentException(
        rows + " rows exceed the model's largest bucket (" + buckets[buckets.length - 1] + ")");
  }

  /** The name of the signature for a bucket length. */
  public static String signatureKey(int bucketLength) {
    return "bucket_" + bucketLength;
  }

  /** Intent labels, in the order of {@code intent_probs}. */
  public List<String> intentLabels() {
    return intentLabels;
  }

  /** Slot tags, in the order of {@code slot_probs}' last axis; null without a slot head. */
  public List<String> slotLabels() {
    return slotLabels;
  }
}
