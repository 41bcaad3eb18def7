package dev.compresso.engine.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JsonTest {

    @Test
    void parsesScalars() {
        assertEquals(0L, Json.parse("0"));
        assertEquals(-12L, Json.parse("-12"));
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
        assertEquals(9.223372036854775808E18, Json.parse("9223372036854775808"));
        assertEquals(1.5, Json.parse("1.5"));
        assertEquals(1.0, Json.parse("1.0"));
        assertEquals(100.0, Json.parse("1e2"));
        assertEquals(-0.025, Json.parse("-2.5E-2"));
        assertEquals(-0.0, Json.parse("-0.0"));
        assertEquals(Boolean.TRUE, Json.parse("true"));
        assertEquals(Boolean.FALSE, Json.parse(" false "));
        assertNull(Json.parse("\n null \r\n"));
        assertEquals("", Json.parse("\"\""));
    }

    @Test
    void parsesStringEscapes() {
        assertEquals("a\"b\\c/d\b\f\n\r\t", Json.parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\""));
        assertEquals("é", Json.parse("\"\\u00e9\""));
        assertEquals("é", Json.parse("\"\\u00E9\""));
        assertEquals("\u0000", Json.parse("\"\\u0000\""));
        // U+1F600 as an escaped surrogate pair and as raw text.
        assertEquals("😀", Json.parse("\"\\ud83d\\ude00\""));
        assertEquals("x😀y", Json.parse("\"x😀y\""));
        assertEquals("我爱北京", Json.parse("\"我爱北京\""));
    }

    @Test
    void parsesNestedStructuresInOrder() {
        Object v = Json.parse("{\"b\": [1, 2.5, \"x\", null, true, {}], \"a\": {\"c\": []}}");
        Map<?, ?> m = assertInstanceOf(LinkedHashMap.class, v);
        assertEquals(List.of("b", "a"), new ArrayList<>(m.keySet()));
        List<?> b = (List<?>) m.get("b");
        assertEquals(6, b.size());
        assertEquals(1L, b.get(0));
        assertEquals(2.5, b.get(1));
        assertEquals("x", b.get(2));
        assertNull(b.get(3));
        assertEquals(Map.of(), b.get(5));
        assertEquals(Map.of("c", List.of()), m.get("a"));
    }

    @Test
    void skipsLeadingByteOrderMark() {
        assertEquals(1L, Json.parse("\uFEFF1"));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", " ", "{", "[", "]", "}", "[1,]", "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "{a:1}", "{'a':1}",
        "01", "-", "-01", "1.", ".5", "1e", "1e+", "+1", "NaN", "Infinity", "-Infinity", "0x10", "1.5.2",
        "tru", "nul", "True", "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"\\ud83d\"", "\"\\ude00\"",
        "\"\\ud83d\\u0041\"", "\"a\nb\"", "\"tab\there\"", "[1]x", "1 2", "{\"a\":1}{", "//c\n1", "/*c*/1",
        "{\"a\":1,\"a\":2}", "[\"a\",]", "1e400", "\"\\uＦＦＦＦ\"", "[-]", "{\"a\":}", "{,}", "[,1]"
    })
    void rejectsMalformed(String text) {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse(text));
        assertTrue(e.line() >= 1 && e.column() >= 1, e.getMessage());
        assertTrue(e.getMessage().contains("line " + e.line() + ", column " + e.column()), e.getMessage());
    }

    @Test
    void errorPositionIsLineAndColumn() {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse("{\n  \"a\": 1,\n  \"b\": tru\n}"));
        assertEquals(3, e.line());
        assertEquals(8, e.column());
        // CRLF counts as one line break; lone CR too.
        e = assertThrows(JsonException.class, () -> Json.parse("[1,\r\n2,\r3 x]"));
        assertEquals(3, e.line());
        assertEquals(3, e.column());
        e = assertThrows(JsonException.class, () -> Json.parse("{\"k\":1,\n\"k\":2}"));
        assertEquals(2, e.line());
        assertEquals(1, e.column());
        assertTrue(e.getMessage().contains("duplicate key \"k\""), e.getMessage());
    }

    @Test
    void deepNestingIsRejectedNotStackOverflow() {
        String ok = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        assertInstanceOf(List.class, Json.parse(ok));
        String deep = "[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1);
        JsonException e = assertThrows(JsonException.class, () -> Json.parse(deep));
        assertTrue(e.getMessage().contains("nesting"), e.getMessage());
        // A forged file of a million open brackets fails cleanly too.
        String forged = "{\"a\":".repeat(1_000_000);
        assertThrows(JsonException.class, () -> Json.parse(forged));
        String forgedArr = "[".repeat(1_000_000);
        assertThrows(JsonException.class, () -> Json.parse(forgedArr));
    }

    @Test
    void readerVariant() throws Exception {
        assertEquals(List.of(1L, "two"), Json.parse(new StringReader("[1,\"two\"]")));
    }

    @Test
    void writesCompactly() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "a\"\\\n\u0001\u2028é😀");
        m.put("l", 42L);
        m.put("i", -7);
        m.put("d", 1.0);
        m.put("n", null);
        m.put("b", true);
        m.put("a", List.of(1L, 2L));
        m.put("f", new float[] {0.1f, -2f});
        m.put("ia", new int[] {3, 4});
        assertEquals("{\"s\":\"a\\\"\\\\\\n\\u0001\\u2028é😀\",\"l\":42,\"i\":-7,\"d\":1.0,\"n\":null,\"b\":true,"
                + "\"a\":[1,2],\"f\":[0.1,-2.0],\"ia\":[3,4]}", Json.write(m));
        assertEquals(m.get("s"), ((Map<?, ?>) Json.parse(Json.write(m))).get("s"));
    }

    @Test
    void roundTripsDoublesAndFloatsExactly() {
        Random r = new Random(7);
        List<Object> values = new ArrayList<>();
        double[] specials = {0.0, -0.0, Double.MIN_VALUE, Double.MAX_VALUE, -Double.MIN_NORMAL, 1e-300, 1e300,
            0.1, 1.0 / 3, 123456789.0, 1e16};
        for (double d : specials) {
            values.add(d);
        }
        for (int i = 0; i < 2000; i++) {
            values.add(r.nextGaussian() * Math.pow(10, r.nextInt(40) - 20));
        }
        List<?> back = (List<?>) Json.parse(Json.write(values));
        assertEquals(values.size(), back.size());
        for (int i = 0; i < values.size(); i++) {
            assertEquals(Double.doubleToLongBits((Double) values.get(i)), Double.doubleToLongBits((Double) back.get(i)),
                    "index " + i);
        }
        float[] fs = new float[2000];
        for (int i = 0; i < fs.length; i++) {
            fs[i] = Float.intBitsToFloat(r.nextInt());
            if (!Float.isFinite(fs[i])) {
                fs[i] = 1.5f;
            }
        }
        fs[0] = Float.MIN_VALUE;
        fs[1] = Float.MAX_VALUE;
        List<?> fb = (List<?>) Json.parse(Json.write(fs));
        for (int i = 0; i < fs.length; i++) {
            assertEquals(Float.floatToIntBits(fs[i]), Float.floatToIntBits(((Double) fb.get(i)).floatValue()),
                    "index " + i);
        }
    }

    @Test
    void writeRejectsWhatJsonCannotHold() {
        assertThrows(JsonException.class, () -> Json.write(Double.NaN));
        assertThrows(JsonException.class, () -> Json.write(Float.POSITIVE_INFINITY));
        assertThrows(JsonException.class, () -> Json.write(Map.of(1, 2)));
        assertThrows(JsonException.class, () -> Json.write(new Object()));
        assertThrows(JsonException.class, () -> Json.write("\ud800x"));
        List<Object> cyclic = new ArrayList<>();
        cyclic.add(cyclic);
        assertThrows(JsonException.class, () -> Json.write(cyclic));
    }
}
