package dev.compresso.engine.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Compares our tokenizer with an independent implementation: Hugging Face {@code tokenizers} (Rust), loaded
 * through DJL, whose jar bundles the native library (extracted to {@code target/djl-cache}; nothing is
 * downloaded: {@code ai.djl.offline=true}). Covers handwritten tricky strings and a few thousand random
 * strings drawn from a pool of awkward characters.
 */
class WordPieceOracleTest {

    private static HuggingFaceTokenizer oracle;
    private static Path file;
    private static final WordPieceTokenizer TOK = MiniLmTokenizer.get();

    @BeforeAll
    static void load() throws Exception {
        // Must be set before DJL's classes initialise: keep its cache inside the build and off the network.
        Path cache = Path.of("target", "djl-cache").toAbsolutePath();
        Files.createDirectories(cache);
        System.setProperty("DJL_CACHE_DIR", cache.toString());
        System.setProperty("ai.djl.offline", "true");
        file = Files.createTempFile(cache, "tokenizer", ".json");
        Files.writeString(file, MiniLmTokenizer.json());
        // Truncation as in the file (128); no padding, so lengths compare directly.
        oracle = HuggingFaceTokenizer.newInstance(file, Map.of("padding", "false"));
    }

    @AfterAll
    static void close() throws Exception {
        if (oracle != null) {
            oracle.close();
        }
        if (file != null) {
            Files.deleteIfExists(file);
        }
    }

    private static void check(String text) {
        ai.djl.huggingface.tokenizers.Encoding want = oracle.encode(text);
        Encoding got = TOK.encode(text);
        assertArrayEquals(toInt(want.getIds()), got.ids(),
                () -> "'" + escape(text) + "': want " + Arrays.toString(want.getTokens()) + " got " + got.tokens());
        assertArrayEquals(toInt(want.getTypeIds()), got.typeIds());
        assertArrayEquals(toInt(want.getAttentionMask()), got.attentionMask());
    }

    private static void checkPair(String a, String b) {
        ai.djl.huggingface.tokenizers.Encoding want = oracle.encode(a, b);
        Encoding got = TOK.encodePair(a, b);
        assertArrayEquals(toInt(want.getIds()), got.ids(), () -> "pair '" + escape(a) + "' / '" + escape(b) + "'");
        assertArrayEquals(toInt(want.getTypeIds()), got.typeIds());
    }

    private static int[] toInt(long[] a) {
        int[] r = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = Math.toIntExact(a[i]);
        }
        return r;
    }

    private static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        s.codePoints().forEach(c -> {
            if (c < 0x20 || c > 0x7E) {
                sb.append(String.format("\\u{%X}", c));
            } else {
                sb.appendCodePoint(c);
            }
        });
        return sb.toString();
    }

    @Test
    void handwrittenCases() {
        List<String> cases = List.of("Café déjà vu", "Hello,world!!", "我爱北京", "", " ", "\t\n\r", "I love 🍕 and 😀!",
                "In 2023, 3.14159 and 1,000,000 people paid $100+tax.", "supercalifragilisticexpialidocious",
                "x".repeat(100), "x".repeat(101), "é".repeat(101), "tab\there\u0000null\u200bzero\u00adsoft",
                "naïve résumé coöperate Ångström", "안녕하세요 こんにちは世界", "İstanbul ΣΑΣ ς", "hello [SEP] world[CLS]",
                "[MASK] [PAD] [UNK] [sep]", "e-mail@example.com x²+y² ﬁne ＡＢＣ a\u00a0b\u3000c\u2028d\u0085e",
                "«quotes» „German“ ‘single’ — dash – en … ellipsis ¿qué? ¡sí!", "word ".repeat(300),
                "Ǆemal ǅ ǆ Ⅻ ⅻ ß ẞ ŉ ﬀ", "\ud800 lone high \udc00 lone low", "emoji 👨‍👩‍👧 flag 🇩🇪 skin 👍🏽",
                "𠀀𠀁 𪜀 𫝀 𫠠 𬺰 丽", "Ελληνικά Русский עברית العربية हिन्दी ไทย", "a\u0301\u0302b c\u20dd",
                "\u00a0\u1680\u2000\u200a\u202f\u205f\u3000", "\u000b\u000c\u001c\u001f\u007f\u0080\u009f",
                "😀".repeat(60), "ab\uFFFDcd\uFEFFef\uE000gh",
                // CJK block edges: Hugging Face starts the Ext E range at U+2B920, BERT at U+2B820; U+2B830 tells them apart.
                "a\uD86E\uDC30b", "a\uD86D\uDF40b", "a\uF900b", "a\u4DBFb\u4E00c\u9FFFd\uA000e");
        for (String s : cases) {
            check(s);
        }
        checkPair("a b c", "hello world");
        checkPair("a ".repeat(200), "b ".repeat(10));
        checkPair("a ".repeat(10), "b ".repeat(200));
        checkPair("a ".repeat(200), "b ".repeat(300));
        checkPair("a ".repeat(63), "b ".repeat(62));
        checkPair("", "");
    }

    @Test
    void randomStrings() {
        // A pool of characters that exercise each rule: ASCII letters/digits/symbols, whitespace variants,
        // controls and format characters, accented letters (precomposed and combining), CJK (BMP and beyond),
        // Hangul, kana, emoji, private use, special-token fragments.
        String[] pool = {"a", "b", "e", "s", "t", "A", "Z", "0", "7", " ", " ", " ", "\t", "\n", "\r", ",", ".",
            "!", "?", "'", "\"", "-", "_", "$", "+", "=", "<", "@", "#", "~", "`", "^", "|", "\\", "/", "(", ")",
            "é", "É", "ñ", "ü", "ø", "ß", "İ", "ı", "Σ", "ς", "\u0301", "\u0308", "\u00a0", "\u2009", "\u3000",
            "\u0000", "\u0007", "\u007f", "\u0085", "\u200b", "\u200d", "\u00ad", "\ufeff", "\ufffd", "\ue000",
            "我", "爱", "京", "\u3400", "𠀀", "丽", "한", "국", "こ", "カ", "😀", "🍕", "👍🏽", "«", "»", "—", "…",
            "¿", "§", "°", "²", "€", "£", "™", "ﬁ", "Ａ", "[SEP]", "[CLS]", "[MASK]", "##", "the", "ing", "un",
            "able", "token", "izer", "x", "xxxxxxxxxx"};
        Random r = new Random(20261123);
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            int len = r.nextInt(i < 2900 ? 30 : 200);
            StringBuilder sb = new StringBuilder();
            for (int k = 0; k < len; k++) {
                sb.append(pool[r.nextInt(pool.length)]);
            }
            texts.add(sb.toString());
        }
        int checked = 0;
        for (String s : texts) {
            check(s);
            checked++;
        }
        assertTrue(checked == 3000);
        for (int i = 0; i + 1 < 200; i += 2) {
            checkPair(texts.get(i), texts.get(i + 1));
        }
    }

    /**
     * Blocks whose assignments (and categories) have not changed since Unicode 8, so both sides agree no
     * matter which Unicode version their tables follow (Java 25 uses Unicode 16; Hugging Face's Rust crates
     * older tables, which differ for characters assigned later, e.g. the Unicode 14 mark U+089E).
     */
    private static final int[][] STABLE_BLOCKS = {
        {0x0000, 0x052F}, {0x1E00, 0x1FFF}, {0x2000, 0x2064}, {0x2070, 0x27BF}, {0x3000, 0x30FF},
        {0x4E00, 0x9FA5}, {0xAC00, 0xD7A3}, {0xFF00, 0xFFEF}, {0x1F300, 0x1F5FF}, {0x20000, 0x2A6D6},
        {0x05D0, 0x05EA}, {0x0620, 0x064A}, {0x0E00, 0x0E7F}, {0x0900, 0x097F}};

    @Test
    void randomCodePoints() {
        // Letters of many scripts, marks, symbols, punctuation, controls, mixed with spaces: exercises the
        // Unicode category tables of both implementations.
        Random r = new Random(77);
        for (int i = 0; i < 3000; i++) {
            StringBuilder sb = new StringBuilder();
            int len = 1 + r.nextInt(12);
            for (int k = 0; k < len; k++) {
                int[] block = STABLE_BLOCKS[r.nextInt(STABLE_BLOCKS.length)];
                int c = block[0] + r.nextInt(block[1] - block[0] + 1);
                if (c >= 0xD800 && c <= 0xDFFF) {
                    continue;
                }
                sb.appendCodePoint(c);
                if (r.nextInt(3) == 0) {
                    sb.append(' ');
                }
            }
            check(sb.toString());
        }
    }
}
