package org.pqrnn.projection;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON reader for the settings inside a portable model (no library, so
 * the projection has no dependency).
 *
 * <p>Values become {@code Map<String, Object>} (in file order; a repeated key
 * keeps its last value, as Python's {@code json} does), {@code List<Object>},
 * {@code String}, {@code Boolean}, {@code null}, and numbers: {@code Long} when
 * written without fraction or exponent and in range, else {@code Double}.
 */
public final class MiniJson {
  private final String text;
  private int pos;

  private MiniJson(String text) {
    this.text = text;
  }

  /**
   * Parses one JSON value (surrounding whitespace allowed).
   *
   * @throws IllegalArgumentException naming the offset of the first error
   */
  public static Object parse(String text) {
    MiniJson parser = new MiniJson(text);
    parser.skipWhitespace();
    Object value = parser.value();
    parser.skipWhitespace();
    if (parser.pos != text.length()) throw parser.error("unexpected text after the value");
    return value;
  }

  private IllegalArgumentException error(String what) {
    return new IllegalArgumentException("invalid JSON at offset " + pos + ": " + what);
  }

  private void skipWhitespace() {
    while (pos < text.length()) {
      char c = text.charAt(pos);
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
      ++pos;
    }
  }

  private Object value() {
    if (pos >= text.length()) throw error("unexpected end of input");
    char c = text.charAt(pos);
    switch (c) {
      case '{':
        return object();
      case '[':
        return array();
      case '"':
        return string();
      case 't':
        return literal("true", Boolean.TRUE);
      case 'f':
        return literal("false", Boolean.FALSE);
      case 'n':
        return literal("null", null);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return number();
        throw error("unexpected character '" + c + "'");
    }
  }

  private Object literal(String word, Object value) {
    if (!text.startsWith(word, pos)) throw error("expected " + word);
    pos += word.length();
    return value;
  }

  private void expect(char c) {
    if (pos >= text.length() || text.charAt(pos) != c) throw error("expected '" + c + "'");
    ++pos;
  }

  private Map<String, Object> object() {
    expect('{');
    Map<String, Object> out = new LinkedHashMap<String, Object>();
    skipWhitespace();
    if (pos < text.length() && text.charAt(pos) == '}') {
      ++pos;
      return out;
    }
    while (true) {
      skipWhitespace();
      if (pos >= text.length() || text.charAt(pos) != '"') throw error("expected a string key");
      String key = string();
      skipWhitespace();
      expect(':');
      skipWhitespace();
      out.put(key, value());
      skipWhitespace();
      if (pos < text.length() && text.charAt(pos) == ',') {
        ++pos;
        continue;
      }
      expect('}');
      return out;
    }
  }

  private List<Object> array() {
    expect('[');
    List<Object> out = new ArrayList<Object>();
    skipWhitespace();
    if (pos < text.length() && text.charAt(pos) == ']') {
      ++pos;
      return out;
    }
    while (true) {
      skipWhitespace();
      out.add(value());
      skipWhitespace();
      if (pos < text.length() && text.charAt(pos) == ',') {
        ++pos;
        continue;
      }
      expect(']');
      return out;
    }
  }

  private String string() {
    expect('"');
    StringBuilder out = new StringBuilder();
    while (true) {
      if (pos >= text.length()) throw error("unterminated string");
      char c = text.charAt(pos++);
      if (c == '"') return out.toString();
      if (c < 0x20) throw error("control character in a string");
      if (c != '\\') {
        out.append(c);
        continue;
      }
      if (pos >= text.length()) throw error("unterminated string");
      char e = text.charAt(pos++);
      switch (e) {
        case '"': out.append('"'); break;
        case '\\': out.append('\\'); break;
        case '/': out.append('/'); break;
        case 'b': out.append('\b'); break;
        case 'f': out.append('\f'); break;
        case 'n': out.append('\n'); break;
        case 'r': out.append('\r'); break;
        case 't': out.append('\t'); break;
        case 'u':
          if (pos + 4 > text.length()) throw error("short \\u escape");
          int unit = 0;
          for (int k = 0; k < 4; ++k) {
            int digit = Character.digit(text.charAt(pos + k), 16);
            if (digit < 0) throw error("bad \\u escape");
            unit = unit * 16 + digit;
          }
          pos += 4;
          out.append((char) unit);  // surrogate pairs come as two escapes
          break;
        default:
          --pos;
          throw error("bad escape '\\" + e + "'");
      }
    }
  }

  private Object number() {
    int start = pos;
    if (text.charAt(pos) == '-') ++pos;
    int digitsStart = pos;
    while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') ++pos;
    if (pos == digitsStart) throw error("expected a digit");
    if (text.charAt(digitsStart) == '0' && pos - digitsStart > 1) throw error("a number must not start with 0 and more digits");
    boolean integral = true;
    if (pos < text.length() && text.charAt(pos) == '.') {
      integral = false;
      ++pos;
      int fraction = pos;
      while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') ++pos;
      if (pos == fraction) throw error("expected a digit after '.'");
    }
    if (pos < text.length() && (text.charAt(pos) == 'e' || text.charAt(pos) == 'E')) {
      integral = false;
      ++pos;
      if (pos < text.length() && (text.charAt(pos) == '+' || text.charAt(pos) == '-')) ++pos;
      int exponent = pos;
      while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') ++pos;
      if (pos == exponent) throw error("expected a digit in the exponent");
    }
    String literal = text.substring(start, pos);
    if (integral) {
      try {
        return Long.valueOf(literal);
      } catch (NumberFormatException tooLarge) {
        // Falls through to a double, as Python would keep a big int exact;
        // no setting of the projection needs one.
      }
    }
    return Double.valueOf(literal);
  }
}
