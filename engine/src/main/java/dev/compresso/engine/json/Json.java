package dev.compresso.engine.json;

import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A small, strict JSON (RFC 8259) reader and a compact writer, so the engine can read Hugging Face
 * {@code tokenizer.json} files and store metadata without a dependency.
 *
 * <p>Value mapping: object → {@code Map<String, Object>} (a {@link LinkedHashMap}, key order kept), array →
 * {@code List<Object>}, string → {@link String}, number → {@link Long} when written without fraction and
 * exponent and within {@code long} range, otherwise {@link Double}; {@code true}/{@code false} →
 * {@link Boolean}; {@code null} → {@code null}.
 *
 * <p>Strictness: no comments, no trailing commas, no single quotes, no leading zeros, no {@code NaN},
 * no raw control characters in strings, no duplicate keys, no unpaired surrogate escapes, nothing after the
 * value but whitespace. A leading byte-order mark is skipped (RFC 8259 §8.1 allows ignoring it). Nesting
 * deeper than {@link #MAX_DEPTH} is rejected, so forged input cannot overflow the stack.
 */
public final class Json {

    /** Deepest nesting of arrays and objects accepted by {@link #parse(String)}. */
    public static final int MAX_DEPTH = 512;

    private Json() {}

    /**
     * Parses one JSON text.
     *
     * @param text the JSON text
     * @return the value (see the class comment for the mapping); {@code null} for the text {@code null}
     * @throws JsonException        if the text is not valid JSON; the message names line and column
     * @throws NullPointerException if {@code text} is null
     */
    public static Object parse(String text) {
        Objects.requireNonNull(text, "text");
        return new Parser(text).parseDocument();
    }

    /**
     * Reads the reader to its end and parses it as one JSON text. The reader is not closed.
     *
     * @param reader the source
     * @return the value
     * @throws IOException          if reading fails
     * @throws JsonException        if the text is not valid JSON
     * @throws NullPointerException if {@code reader} is null
     */
    public static Object parse(Reader reader) throws IOException {
        Objects.requireNonNull(reader, "reader");
        StringBuilder sb = new StringBuilder();
        char[] buf = new char[8192];
        for (int n; (n = reader.read(buf)) >= 0; ) {
            sb.append(buf, 0, n);
        }
        return parse(sb.toString());
    }

    /**
     * Writes a value as compact JSON. Accepted: {@code null}, {@link Boolean}, {@link String},
     * {@link Character}, integral {@link Number}s ({@code Long}, {@code Integer}, {@code Short}, {@code Byte},
     * {@link java.math.BigInteger}), {@link Double} and {@link Float} (finite; written in the shortest form
     * that reads back to the same value, so no precision is lost), {@link java.math.BigDecimal}, {@link Map}
     * with {@code String} keys, {@link Iterable}, and arrays {@code float[]}, {@code double[]}, {@code int[]},
     * {@code long[]}, {@code Object[]}. Doubles always carry a fraction or exponent, so they read back as
     * {@code Double}.
     *
     * @param value the value
     * @return the JSON text
     * @throws JsonException if the value (or something inside it) cannot be written: a non-finite number,
     *                       a non-String key, an unsupported type, or nesting deeper than {@link #MAX_DEPTH}
     */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, int depth) {
        if (depth > MAX_DEPTH) {
            throw new JsonException("nesting deeper than " + MAX_DEPTH + " (a cycle?)");
        }
        switch (v) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b.booleanValue());
            case String s -> quote(sb, s);
            case Character c -> quote(sb, c.toString());
            case Long l -> sb.append(l.longValue());
            case Integer i -> sb.append(i.intValue());
            case Short s -> sb.append(s.shortValue());
            case Byte b -> sb.append(b.byteValue());
            case java.math.BigInteger b -> sb.append(b);
            case java.math.BigDecimal b -> sb.append(b.toString());
            case Double d -> writeDouble(sb, d);
            case Float f -> writeFloat(sb, f);
            case Map<?, ?> m -> {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!(e.getKey() instanceof String k)) {
                        throw new JsonException("object key is not a String: " + e.getKey());
                    }
                    if (!first) {
                        sb.append(',');
                    }
                    first = false;
                    quote(sb, k);
                    sb.append(':');
                    write(sb, e.getValue(), depth + 1);
                }
                sb.append('}');
            }
            case Iterable<?> it -> {
                sb.append('[');
                boolean first = true;
                for (Object o : it) {
                    if (!first) {
                        sb.append(',');
                    }
                    first = false;
                    write(sb, o, depth + 1);
                }
                sb.append(']');
            }
            case float[] a -> {
                sb.append('[');
                for (int i = 0; i < a.length; i++) {
                    if (i > 0) {
                        sb.append(',');
                    }
                    writeFloat(sb, a[i]);
                }
                sb.append(']');
            }
            case double[] a -> {
                sb.append('[');
                for (int i = 0; i < a.length; i++) {
                    if (i > 0) {
                        sb.append(',');
                    }
                    writeDouble(sb, a[i]);
                }
                sb.append(']');
            }
            case int[] a -> {
                sb.append('[');
                for (int i = 0; i < a.length; i++) {
                    if (i > 0) {
                        sb.append(',');
                    }
                    sb.append(a[i]);
                }
                sb.append(']');
            }
            case long[] a -> {
                sb.append('[');
                for (int i = 0; i < a.length; i++) {
                    if (i > 0) {
                        sb.append(',');
                    }
                    sb.append(a[i]);
                }
                sb.append(']');
            }
            case Object[] a -> write(sb, java.util.Arrays.asList(a), depth);
            default -> throw new JsonException("cannot write a " + v.getClass().getName() + " as JSON");
        }
    }

    private static void writeDouble(StringBuilder sb, double d) {
        if (!Double.isFinite(d)) {
            throw new JsonException("JSON has no " + d);
        }
        // Double.toString is the shortest decimal that reads back to the same double (JDK 19+), and its
        // forms ("1.0", "1.0E-5", "-0.0") are all valid JSON numbers that keep a fraction or exponent.
        sb.append(d);
    }

    private static void writeFloat(StringBuilder sb, float f) {
        if (!Float.isFinite(f)) {
            throw new JsonException("JSON has no " + f);
        }
        // Shortest decimal for the float: parsing it as a double and casting to float gives f back exactly.
        sb.append(f);
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    boolean lone = Character.isSurrogate(c)
                            && !(Character.isHighSurrogate(c) && i + 1 < s.length()
                                    && Character.isLowSurrogate(s.charAt(i + 1)))
                            && !(Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1)));
                    if (lone) {
                        // Cannot be encoded in UTF-8; the reader would reject it, so refuse it here.
                        throw new JsonException("string holds an unpaired surrogate U+"
                                + Integer.toHexString(c).toUpperCase() + " at index " + i);
                    }
                    if (c < 0x20 || c == '\u2028' || c == '\u2029') {
                        // Control chars must be escaped; U+2028/9 too, so the text is also valid JavaScript.
                        sb.append("\\u").append(HEX[c >> 12]).append(HEX[(c >> 8) & 0xF])
                                .append(HEX[(c >> 4) & 0xF]).append(HEX[c & 0xF]);
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /** Recursive-descent parser over the whole text; depth is bounded by {@link #MAX_DEPTH}. */
    private static final class Parser {
        private final String s;
        private final int n;
        private int pos;

        Parser(String s) {
            this.s = s;
            this.n = s.length();
        }

        Object parseDocument() {
            if (n > 0 && s.charAt(0) == '\uFEFF') {
                pos = 1;
            }
            skipWs();
            if (pos >= n) {
                throw error("empty input, expected a value");
            }
            Object v = value(0);
            skipWs();
            if (pos < n) {
                throw error("unexpected " + describe(pos) + " after the value");
            }
            return v;
        }

        private Object value(int depth) {
            if (pos >= n) {
                throw error("unexpected end of input, expected a value");
            }
            char c = s.charAt(pos);
            return switch (c) {
                case '{' -> object(depth + 1);
                case '[' -> array(depth + 1);
                case '"' -> string();
                case 't' -> literal("true", Boolean.TRUE);
                case 'f' -> literal("false", Boolean.FALSE);
                case 'n' -> literal("null", null);
                default -> {
                    if (c == '-' || (c >= '0' && c <= '9')) {
                        yield number();
                    }
                    throw error("unexpected " + describe(pos) + ", expected a value");
                }
            };
        }

        private Map<String, Object> object(int depth) {
            if (depth > MAX_DEPTH) {
                throw error("nesting deeper than " + MAX_DEPTH);
            }
            pos++; // '{'
            Map<String, Object> map = new LinkedHashMap<>();
            skipWs();
            if (pos < n && s.charAt(pos) == '}') {
                pos++;
                return map;
            }
            while (true) {
                skipWs();
                if (pos >= n || s.charAt(pos) != '"') {
                    throw error(pos >= n ? "unexpected end of input, expected a key"
                            : "unexpected " + describe(pos) + ", expected a string key");
                }
                int keyPos = pos;
                String key = string();
                skipWs();
                expect(':');
                skipWs();
                Object v = value(depth);
                if (map.containsKey(key)) {
                    pos = keyPos;
                    throw error("duplicate key \"" + key + "\"");
                }
                map.put(key, v);
                skipWs();
                if (pos >= n) {
                    throw error("unexpected end of input, expected ',' or '}'");
                }
                char c = s.charAt(pos++);
                if (c == '}') {
                    return map;
                }
                if (c != ',') {
                    pos--;
                    throw error("unexpected " + describe(pos) + ", expected ',' or '}'");
                }
            }
        }

        private List<Object> array(int depth) {
            if (depth > MAX_DEPTH) {
                throw error("nesting deeper than " + MAX_DEPTH);
            }
            pos++; // '['
            List<Object> list = new ArrayList<>();
            skipWs();
            if (pos < n && s.charAt(pos) == ']') {
                pos++;
                return list;
            }
            while (true) {
                skipWs();
                list.add(value(depth));
                skipWs();
                if (pos >= n) {
                    throw error("unexpected end of input, expected ',' or ']'");
                }
                char c = s.charAt(pos++);
                if (c == ']') {
                    return list;
                }
                if (c != ',') {
                    pos--;
                    throw error("unexpected " + describe(pos) + ", expected ',' or ']'");
                }
            }
        }

        private Object literal(String word, Object v) {
            if (!s.startsWith(word, pos)) {
                throw error("unexpected " + describe(pos) + ", expected a value");
            }
            pos += word.length();
            return v;
        }

        private Object number() {
            int start = pos;
            boolean integral = true;
            if (s.charAt(pos) == '-') {
                pos++;
            }
            if (pos >= n || !isDigit(s.charAt(pos))) {
                throw error("a number needs a digit here, not " + describe(pos));
            }
            if (s.charAt(pos) == '0') {
                pos++;
                if (pos < n && isDigit(s.charAt(pos))) {
                    throw error("leading zeros are not allowed in a number");
                }
            } else {
                while (pos < n && isDigit(s.charAt(pos))) {
                    pos++;
                }
            }
            if (pos < n && s.charAt(pos) == '.') {
                integral = false;
                pos++;
                if (pos >= n || !isDigit(s.charAt(pos))) {
                    throw error("a fraction needs a digit here, not " + describe(pos));
                }
                while (pos < n && isDigit(s.charAt(pos))) {
                    pos++;
                }
            }
            if (pos < n && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
                integral = false;
                pos++;
                if (pos < n && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) {
                    pos++;
                }
                if (pos >= n || !isDigit(s.charAt(pos))) {
                    throw error("an exponent needs a digit here, not " + describe(pos));
                }
                while (pos < n && isDigit(s.charAt(pos))) {
                    pos++;
                }
            }
            String text = s.substring(start, pos);
            if (integral) {
                try {
                    return Long.parseLong(text);
                } catch (NumberFormatException outOfRange) {
                    // Beyond long: keep the magnitude as a double rather than failing on a valid number.
                    return Double.parseDouble(text);
                }
            }
            double d = Double.parseDouble(text);
            if (Double.isInfinite(d)) {
                pos = start;
                throw error("number " + text + " is out of range for a double");
            }
            return d;
        }

        private String string() {
            pos++; // opening quote
            StringBuilder sb = null;
            int runStart = pos;
            while (true) {
                if (pos >= n) {
                    throw error("unterminated string");
                }
                char c = s.charAt(pos);
                if (c == '"') {
                    String out = sb == null ? s.substring(runStart, pos) : sb.append(s, runStart, pos).toString();
                    pos++;
                    return out;
                }
                if (c < 0x20) {
                    throw error("raw control character U+" + String.format("%04X", (int) c)
                            + " in a string (escape it)");
                }
                if (c != '\\') {
                    pos++;
                    continue;
                }
                if (sb == null) {
                    sb = new StringBuilder();
                }
                sb.append(s, runStart, pos);
                int escPos = pos;
                pos++;
                if (pos >= n) {
                    throw error("unterminated string");
                }
                char e = s.charAt(pos++);
                switch (e) {
                    case '"' -> sb.append('"');
                    case '\\' -> sb.append('\\');
                    case '/' -> sb.append('/');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        char u = hex4();
                        if (Character.isHighSurrogate(u)) {
                            // A pair must follow as a second \\uXXXX escape holding the low half.
                            if (pos + 1 < n && s.charAt(pos) == '\\' && s.charAt(pos + 1) == 'u') {
                                pos += 2;
                                char low = hex4();
                                if (!Character.isLowSurrogate(low)) {
                                    pos = escPos;
                                    throw error("high surrogate escape not followed by a low surrogate");
                                }
                                sb.append(u).append(low);
                            } else {
                                pos = escPos;
                                throw error("unpaired high surrogate escape");
                            }
                        } else if (Character.isLowSurrogate(u)) {
                            pos = escPos;
                            throw error("unpaired low surrogate escape");
                        } else {
                            sb.append(u);
                        }
                    }
                    default -> {
                        pos = escPos;
                        throw error("invalid escape \\" + printable(e));
                    }
                }
                runStart = pos;
            }
        }

        private char hex4() {
            if (pos + 4 > n) {
                throw error("\\u needs four hex digits");
            }
            int v = 0;
            for (int i = 0; i < 4; i++) {
                int d = Character.digit(s.charAt(pos), 16);
                if (d < 0 || s.charAt(pos) > 'f') {
                    throw error("\\u needs four hex digits, not " + describe(pos));
                }
                v = (v << 4) | d;
                pos++;
            }
            return (char) v;
        }

        private void expect(char c) {
            if (pos >= n) {
                throw error("unexpected end of input, expected '" + c + "'");
            }
            if (s.charAt(pos) != c) {
                throw error("unexpected " + describe(pos) + ", expected '" + c + "'");
            }
            pos++;
        }

        private void skipWs() {
            while (pos < n) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                    pos++;
                } else {
                    return;
                }
            }
        }

        private static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }

        private String describe(int p) {
            return p >= n ? "end of input" : "'" + printable(s.charAt(p)) + "'";
        }

        private static String printable(char c) {
            return c < 0x20 || c == 0x7F || Character.isSurrogate(c)
                    ? String.format("U+%04X", (int) c) : String.valueOf(c);
        }

        /** An error at {@link #pos}; line and column are computed only now, since errors are rare. */
        private JsonException error(String message) {
            int line = 1;
            int col = 1;
            int end = Math.min(pos, n);
            for (int i = 0; i < end; i++) {
                char c = s.charAt(i);
                if (c == '\n' || (c == '\r' && (i + 1 >= n || s.charAt(i + 1) != '\n'))) {
                    line++;
                    col = 1;
                } else if (c != '\r') {
                    col++;
                }
            }
            return new JsonException(message, line, col);
        }
    }
}
