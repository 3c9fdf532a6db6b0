package org.pqrnn.projection;

import java.util.Map;

/**
 * The attributes of the projection op (custom_ops/README.md, "Attributes"),
 * without the training-only distortion: inference never distorts.
 *
 * <p>Build one with {@link #builder()} (defaults of the attribute table) or read
 * it from a settings object with {@link #fromJson}. Instances are validated and
 * immutable.
 */
public final class ProjectionSettings {
  /** Largest valid {@code feature_size}. */
  public static final int MAX_FEATURE_SIZE = 16384;
  /** Largest valid {@code char_ngram_size}. */
  public static final int MAX_CHAR_NGRAM_SIZE = 8;

  /** The attribute names, as the settings JSON and the op spell them. */
  static final String[] ATTRIBUTES = {
    "feature_size", "max_tokens", "lowercase", "separators", "split_unsegmented_scripts",
    "max_repeated_chars", "add_bos", "add_eos", "char_ngram_size",
  };

  public final int featureSize;
  public final int maxTokens;
  public final boolean lowercase;
  public final String separators;
  public final boolean splitUnsegmentedScripts;
  public final int maxRepeatedChars;
  public final boolean addBos;
  public final boolean addEos;
  public final int charNgramSize;

  private ProjectionSettings(Builder b) {
    featureSize = b.featureSize;
    maxTokens = b.maxTokens;
    lowercase = b.lowercase;
    separators = b.separators;
    splitUnsegmentedScripts = b.splitUnsegmentedScripts;
    maxRepeatedChars = b.maxRepeatedChars;
    addBos = b.addBos;
    addEos = b.addEos;
    charNgramSize = b.charNgramSize;
    if (featureSize < 1 || featureSize > MAX_FEATURE_SIZE) {
      throw invalid("feature_size", "must be in [1, " + MAX_FEATURE_SIZE + "], got " + featureSize);
    }
    if (maxTokens < 0) throw invalid("max_tokens", "must be >= 0 (0 = no limit), got " + maxTokens);
    if (maxRepeatedChars < 0) {
      throw invalid("max_repeated_chars", "must be >= 0 (0 = off), got " + maxRepeatedChars);
    }
    if (charNgramSize < 0 || charNgramSize > MAX_CHAR_NGRAM_SIZE) {
      throw invalid("char_ngram_size",
          "must be in [0, " + MAX_CHAR_NGRAM_SIZE + "], got " + charNgramSize);
    }
    if (separators == null) throw invalid("separators", "must be a string");
    for (int i = 0; i < separators.length(); ++i) {
      char c = separators.charAt(i);
      boolean paired = Character.isHighSurrogate(c) && i + 1 < separators.length()
          && Character.isLowSurrogate(separators.charAt(i + 1));
      if (paired) {
        ++i;
      } else if (Character.isSurrogate(c)) {
        throw invalid("separators", "must be valid Unicode (a lone surrogate at index " + i + ")");
      }
    }
  }

  private static IllegalArgumentException invalid(String name, String what) {
    return new IllegalArgumentException("invalid projection attribute '" + name + "': " + what);
  }

  /** A builder holding the defaults of the attribute table. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these settings. */
  public Builder toBuilder() {
    return new Builder()
        .featureSize(featureSize)
        .maxTokens(maxTokens)
        .lowercase(lowercase)
        .separators(separators)
        .splitUnsegmentedScripts(splitUnsegmentedScripts)
        .maxRepeatedChars(maxRepeatedChars)
        .addBos(addBos)
        .addEos(addEos)
        .charNgramSize(charNgramSize);
  }

  /**
   * Settings from a JSON object of attributes (the {@code projection} object of
   * {@code pqrnn_portable.json}).
   *
   * @param object the parsed object ({@link MiniJson})
   * @param requireAll true: every attribute must be present (a portable model);
   *     false: a missing one takes its default (the conformance command)
   * @throws IllegalArgumentException for a missing, unknown or ill-typed
   *     attribute, a value out of range, or a non-zero distortion_probability
   */
  public static ProjectionSettings fromJson(Object object, boolean requireAll) {
    if (!(object instanceof Map)) {
      throw new IllegalArgumentException("projection settings must be a JSON object");
    }
    Map<?, ?> map = (Map<?, ?>) object;
    Builder b = new Builder();
    for (Map.Entry<?, ?> entry : map.entrySet()) {
      String name = (String) entry.getKey();
      Object value = entry.getValue();
      if (name.equals("feature_size")) {
        b.featureSize(intValue(name, value));
      } else if (name.equals("max_tokens")) {
        b.maxTokens(intValue(name, value));
      } else if (name.equals("lowercase")) {
        b.lowercase(boolValue(name, value));
      } else if (name.equals("separators")) {
        if (!(value instanceof String)) throw invalid(name, "must be a string, got " + value);
        b.separators((String) value);
      } else if (name.equals("split_unsegmented_scripts")) {
        b.splitUnsegmentedScripts(boolValue(name, value));
      } else if (name.equals("max_repeated_chars")) {
        b.maxRepeatedChars(intValue(name, value));
      } else if (name.equals("add_bos")) {
        b.addBos(boolValue(name, value));
      } else if (name.equals("add_eos")) {
        b.addEos(boolValue(name, value));
      } else if (name.equals("char_ngram_size")) {
        b.charNgramSize(intValue(name, value));
      } else if (name.equals("distortion_probability")) {
        if (!(value instanceof Number) || ((Number) value).doubleValue() != 0.0) {
          throw invalid(name, "must be 0: the distortion is training-only and not implemented here");
        }
      } else if (name.equals("distortion_seed")) {
        intValue(name, value);  // irrelevant without distortion, but must be a number
      } else {
        throw new IllegalArgumentException("unknown projection attribute '" + name + "'");
      }
    }
    if (requireAll) {
      for (String name : ATTRIBUTES) {
        if (!map.containsKey(name)) {
          throw new IllegalArgumentException("missing projection attribute '" + name + "'");
        }
      }
    }
    return b.build();
  }

  private static int intValue(String name, Object value) {
    if (!(value instanceof Long)) throw invalid(name, "must be an integer, got " + value);
    long v = (Long) value;
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw invalid(name, "out of range: " + v);
    return (int) v;
  }

  private static boolean boolValue(String name, Object value) {
    if (!(value instanceof Boolean)) throw invalid(name, "must be true or false, got " + value);
    return (Boolean) value;
  }

  /** Accumulates attributes; {@link #build} validates them. */
  public static final class Builder {
    private int featureSize = 512;
    private int maxTokens = 0;
    private boolean lowercase = true;
    private String separators = "";
    private boolean splitUnsegmentedScripts = true;
    private int maxRepeatedChars = 0;
    private boolean addBos = false;
    private boolean addEos = false;
    private int charNgramSize = 0;

    private Builder() {}

    public Builder featureSize(int v) { featureSize = v; return this; }
    public Builder maxTokens(int v) { maxTokens = v; return this; }
    public Builder lowercase(boolean v) { lowercase = v; return this; }
    public Builder separators(String v) { separators = v; return this; }
    public Builder splitUnsegmentedScripts(boolean v) { splitUnsegmentedScripts = v; return this; }
    public Builder maxRepeatedChars(int v) { maxRepeatedChars = v; return this; }
    public Builder addBos(boolean v) { addBos = v; return this; }
    public Builder addEos(boolean v) { addEos = v; return this; }
    public Builder charNgramSize(int v) { charNgramSize = v; return this; }

    /** @throws IllegalArgumentException naming the first invalid attribute */
    public ProjectionSettings build() {
      return new ProjectionSettings(this);
    }
  }
}
