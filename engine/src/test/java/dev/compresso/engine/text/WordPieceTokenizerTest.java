package dev.compresso.engine.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.json.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Token ids for tricky text, pinned. The ids were produced by the Hugging Face tokenizers library (through
 * DJL, see {@link WordPieceOracleTest}) and each was checked against {@code model.vocab} of the MiniLM
 * tokenizer.json; the comments give the reasoning so a failure can be judged without the oracle.
 */
class WordPieceTokenizerTest {

    private static final WordPieceTokenizer TOK = MiniLmTokenizer.get();

    private static void assertIds(String text, int... expected) {
        Encoding e = TOK.encode(text);
        assertArrayEquals(expected, e.ids(), () -> "ids of '" + text + "': " + e.tokens());
        int[] ones = new int[expected.length];
        Arrays.fill(ones, 1);
        assertArrayEquals(ones, e.attentionMask());
        assertArrayEquals(new int[expected.length], e.typeIds());
    }

    @Test
    void accentsAreStrippedAndLowercased() {
        // strip_accents is null, so it follows lowercase=true: NFD, drop Mn. "café"→"cafe" (7668);
        // "déjà"→"deja", not a word: "de" (2139) + "##ja" (3900); "vu" (24728). [CLS]=101, [SEP]=102.
        assertIds("Café déjà vu", 101, 7668, 2139, 3900, 24728, 102);
        // "naïve"→naive 15743, "résumé"→resume 13746, "coöperate"→cooperate 17654, "Ångström"→ang 17076 ##strom 15687.
        assertIds("naïve résumé coöperate Ångström", 101, 15743, 13746, 17654, 17076, 15687, 102);
        // İ (U+0130) lowercases to i + U+0307 after accent stripping ran, like Rust's char::to_lowercase... the
        // oracle gives "istanbul" (9960); Σ→σ (1173) everywhere (no final-sigma rule per character): σ ##α ##σ.
        assertIds("İstanbul ΣΑΣ", 101, 9960, 1173, 14608, 29733, 102);
    }

    @Test
    void punctuationIsIsolated() {
        // hello 7592, "," 1010, world 2088, "!" 999 twice.
        assertIds("Hello,world!!", 101, 7592, 1010, 2088, 999, 999, 102);
        // ASCII symbols split too ('$' and '+' are Unicode symbols, not punctuation, but BERT splits them):
        // e 1041 - 1011 mail 5653 @ 1030 example 2742 . 1012 com 4012; "x²" → x 1060 ##² 10701; + 1009; y 1061;
        // "ﬁne" keeps the ligature (NFD does not decompose it): ﬁ 1984 ##ne 2638; fullwidth ＡＢＣ lowercases to
        // ａｂｃ, not in the vocabulary → [UNK] 100; NBSP and U+3000 are whitespace: a 1037 b 1038 c 1039.
        assertIds("e-mail@example.com x²+y² ﬁne ＡＢＣ a\u00a0b\u3000c", 101, 1041, 1011, 5653, 1030, 2742, 1012,
                4012, 1060, 10701, 1009, 1061, 10701, 1984, 2638, 100, 1037, 1038, 1039, 102);
    }

    @Test
    void numbers() {
        // in 1999; "2023" → 202 (16798) ##3 (2509); 3 . 141 ##59; 1 , 000 , 000; people 2111 paid 3825 $ 1002
        // 100 2531 + 1009 tax 4171 . 1012.
        assertIds("In 2023, 3.14159 and 1,000,000 people paid $100+tax.", 101, 1999, 16798, 2509, 1010, 1017,
                1012, 15471, 28154, 1998, 1015, 1010, 2199, 1010, 2199, 2111, 3825, 1002, 2531, 1009, 4171, 1012,
                102);
    }

    @Test
    void chineseCharactersAreSingleWords() {
        // Each CJK ideograph becomes its own word: 我 1855, 爱 is not in the vocabulary → [UNK] 100,
        // 北 1781, 京 1755.
        assertIds("我爱北京", 101, 1855, 100, 1781, 1755, 102);
        // Hangul is not "Chinese": NFD turns the syllables into conjoining jamo, split greedily as subwords;
        // kana likewise (こ 1655 ##ん ##に ##ち ##は); 世 1745 is isolated, 界 is unknown → [UNK].
        assertIds("안녕하세요 こんにちは世界", 101, 1463, 30006, 30021, 29992, 30010, 30025, 30005, 30006, 29997,
                30009, 29999, 30013, 1655, 30217, 30194, 30188, 30198, 1745, 100, 102);
    }

    @Test
    void emptyAndWhitespaceOnly() {
        assertIds("", 101, 102);
        assertIds("  \t\n ", 101, 102);
        assertIds("\u0000\u200b\ufffd", 101, 102);
    }

    @Test
    void emojiAndControlCharacters() {
        // Emoji are symbols (So), neither punctuation nor in the vocabulary: one [UNK] each.
        assertIds("I love 🍕 and 😀!", 101, 1045, 2293, 100, 1998, 100, 999, 102);
        // clean_text: \t is whitespace; NUL, U+200B (Cf) and soft hyphen U+00AD (Cf) are removed, joining the
        // words around them: "nullzerosoft"... minus the removed: "here" "nullzerosoft" → ##nu ##ll ##zer ...
        assertIds("tab\there\u0000null\u200bzero\u00adsoft", 101, 21628, 2182, 11231, 3363, 6290, 19137, 6199, 102);
    }

    @Test
    void longWords() {
        // 34 characters, greedy longest-first: super ##cal ##if ##rag ##ilis ##tic ##ex ##pia ##lid ##oc ##ious.
        assertIds("supercalifragilisticexpialidocious", 101, 3565, 9289, 10128, 29181, 24411, 4588, 10288, 19312,
                21273, 10085, 6313, 102);
        // Exactly max_input_chars_per_word (100) characters is still split: xx (22038) then 49 × ##xx (20348).
        int[] hundred = new int[52];
        hundred[0] = 101;
        hundred[1] = 22038;
        Arrays.fill(hundred, 2, 51, 20348);
        hundred[51] = 102;
        assertIds("x".repeat(100), hundred);
        // 101 characters → the whole word is [UNK].
        assertIds("x".repeat(101), 101, 100, 102);
    }

    @Test
    void specialTokensInTextAreMatchedBeforeNormalization() {
        // added_tokens have normalized=false: "[SEP]" in the raw text is the special token 102, not "[ sep ]";
        // lower-case "[sep]" is ordinary text.
        assertIds("hello [SEP] world[CLS]", 101, 7592, 102, 2088, 101, 102);
        Encoding e = TOK.encode("[sep]");
        assertEquals(List.of("[CLS]", "[", "sep", "]", "[SEP]"), e.tokens());
    }

    @Test
    void truncationCountsSpecialTokens() {
        // The file says max_length 128: 126 words + [CLS] + [SEP].
        Encoding e = TOK.encode("word ".repeat(300));
        assertEquals(128, TOK.maxLength());
        assertEquals(128, e.length());
        assertEquals(101, e.ids()[0]);
        assertEquals(102, e.ids()[127]);
        assertEquals(2773, e.ids()[126]); // "word"
        Encoding e5 = TOK.encode("a b c d e f", 5);
        assertArrayEquals(new int[] {101, 1037, 1038, 1039, 102}, e5.ids());
        assertThrows(IllegalArgumentException.class, () -> TOK.encode("a", 1));
    }

    @Test
    void pairsGetTypeIdsAndLongestFirstTruncation() {
        Encoding p = TOK.encodePair("a b c", "hello world");
        assertArrayEquals(new int[] {101, 1037, 1038, 1039, 102, 7592, 2088, 102}, p.ids());
        assertArrayEquals(new int[] {0, 0, 0, 0, 0, 1, 1, 1}, p.typeIds());
        // 200 + 10 words into 128 - 3 = 125: the short one stays whole, the long one gets 115.
        Encoding q = TOK.encodePair("a ".repeat(200), "b ".repeat(10));
        assertEquals(128, q.length());
        assertEquals(115, countOf(q.ids(), 1037));
        assertEquals(10, countOf(q.ids(), 1038));
        // Both long: 62 and 63 (the odd token goes to the second).
        Encoding r = TOK.encodePair("a ".repeat(200), "b ".repeat(300));
        assertEquals(62, countOf(r.ids(), 1037));
        assertEquals(63, countOf(r.ids(), 1038));
    }

    private static int countOf(int[] a, int v) {
        int n = 0;
        for (int x : a) {
            n += x == v ? 1 : 0;
        }
        return n;
    }

    @Test
    void batchPadsToLongestOrFixed() {
        List<String> texts = List.of("hello world", "", "a b c d");
        BatchEncoding b = TOK.encodeBatch(texts, 128);
        assertEquals(3, b.batchSize());
        assertEquals(6, b.length());
        assertArrayEquals(new long[] {101, 7592, 2088, 102, 0, 0, 101, 102, 0, 0, 0, 0, 101, 1037, 1038, 1039,
            1040, 102}, b.inputIds());
        assertArrayEquals(new long[] {1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}, b.attentionMask());
        assertArrayEquals(new long[18], b.typeIds());
        assertArrayEquals(new long[] {3, 6}, b.shape());

        BatchEncoding f = TOK.encodeBatch(texts, 10, true);
        assertEquals(10, f.length());
        assertEquals(0, f.inputIds()[9]);
        // The file's own padding is Fixed 128.
        assertEquals(128, TOK.encodeBatch(texts).length());
        BatchEncoding cut = TOK.encodeBatch(List.of("a b c d e f g h"), 4);
        assertArrayEquals(new long[] {101, 1037, 1038, 102}, cut.inputIds());
        assertEquals(0, TOK.encodeBatch(List.of(), 16).batchSize());
    }

    @Test
    void jsonRoundTrip() {
        String json = TOK.toJson();
        WordPieceTokenizer again = WordPieceTokenizer.fromJson(json);
        for (String s : List.of("Café déjà vu", "Hello,world!!", "我爱北京", "hello [SEP] x")) {
            assertEquals(TOK.encode(s), again.encode(s));
        }
        assertEquals(Json.parse(MiniLmTokenizer.json()), Json.parse(json));
        assertEquals(30522, TOK.vocabSize());
        assertEquals(101, TOK.tokenId("[CLS]"));
        assertEquals("##ja", TOK.token(3900));
        assertEquals(-1, TOK.tokenId("no such token"));
    }

    @Test
    void readsFilesAndNamesThemInErrors(@TempDir Path dir) throws Exception {
        Path good = dir.resolve("tokenizer.json");
        Files.writeString(good, MiniLmTokenizer.json());
        assertEquals(TOK.encode("hi"), WordPieceTokenizer.fromJson(good).encode("hi"));

        Path broken = dir.resolve("broken.json");
        Files.writeString(broken, "{\"model\": {\n  \"type\": \"WordPiece\",,}}");
        TokenizerException e = assertThrows(TokenizerException.class, () -> WordPieceTokenizer.fromJson(broken));
        assertTrue(e.getMessage().startsWith(broken.toString()) && e.getMessage().contains("line 2"),
                e.getMessage());

        Path latin1 = dir.resolve("latin1.json");
        Files.write(latin1, new byte[] {'"', (byte) 0xE9, '"'});
        assertTrue(assertThrows(java.io.IOException.class, () -> WordPieceTokenizer.fromJson(latin1))
                .getMessage().contains("latin1.json"));
    }

    @Test
    void unsupportedComponentsNameTheField() {
        assertUnsupported(c -> c.put("normalizer", Map.of("type", "Sequence")), "normalizer.type");
        assertUnsupported(c -> c.put("pre_tokenizer", Map.of("type", "ByteLevel")), "pre_tokenizer.type");
        assertUnsupported(c -> model(c).put("type", "BPE"), "model.type");
        assertUnsupported(c -> c.put("post_processor", Map.of("type", "RobertaProcessing")), "post_processor.type");
        assertUnsupported(c -> model(c).put("unk_token", "<unk>"), "model.unk_token");
        assertUnsupported(c -> model(c).remove("vocab"), "model.vocab");
        assertUnsupported(c -> c.remove("model"), "model");
        assertUnsupported(c -> model(c).put("max_input_chars_per_word", 0L), "model.max_input_chars_per_word");
        assertUnsupported(c -> model(c).put("max_input_chars_per_word", "100"), "model.max_input_chars_per_word");
        assertUnsupported(c -> truncation(c).put("max_length", 1L), "truncation.max_length");
        assertUnsupported(c -> truncation(c).put("strategy", "Weird"), "truncation.strategy");
        assertUnsupported(c -> c.put("padding", Map.of("strategy", "Sometimes")), "padding.strategy");
        assertUnsupported(c -> ((Map<String, Object>) model(c).get("vocab")).put("[X]", 1L << 40),
                "model.vocab[\"[X]\"]");
        assertUnsupported(c -> ((Map<String, Object>) model(c).get("vocab")).put("[X]", 1_000_000_000L),
                "model.vocab");
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> WordPieceTokenizer.fromJson("[]", "x.json"));
        assertTrue(e.getMessage().startsWith("x.json:"), e.getMessage());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> model(Map<String, Object> c) {
        return (Map<String, Object>) c.get("model");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> truncation(Map<String, Object> c) {
        return (Map<String, Object>) c.get("truncation");
    }

    @SuppressWarnings("unchecked")
    private static void assertUnsupported(java.util.function.Consumer<Map<String, Object>> edit, String field) {
        Map<String, Object> c = (Map<String, Object>) Json.parse(MiniLmTokenizer.json());
        edit.accept(c);
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> WordPieceTokenizer.fromJson(Json.write(c), "my-tokenizer.json"));
        assertTrue(e.getMessage().startsWith("my-tokenizer.json: " + field + ":"), e.getMessage());
    }

    @Test
    void minimalConfigsWork() {
        // No normalizer, no pre-tokenizer, no post-processor, BertProcessing, left truncation and padding.
        String vocab = "{\"[UNK]\":0,\"[CLS]\":1,\"[SEP]\":2,\"[PAD]\":3,\"ab\":4,\"##c\":5,\"a\":6,\"##b\":7}";
        WordPieceTokenizer bare = WordPieceTokenizer.fromJson("{\"model\":{\"type\":\"WordPiece\",\"unk_token\":"
                + "\"[UNK]\",\"vocab\":" + vocab + "}}");
        assertArrayEquals(new int[] {4, 5}, bare.encode("abc").ids());
        assertArrayEquals(new int[] {0}, bare.encode("ab c").ids()); // no pre-tokenizer: one word, "##" + " c"
        assertArrayEquals(new int[] {0}, bare.encode("ABC").ids()); // no lower-casing
        WordPieceTokenizer bert = WordPieceTokenizer.fromJson("{\"model\":{\"type\":\"WordPiece\",\"unk_token\":"
                + "\"[UNK]\",\"vocab\":" + vocab + "},\"normalizer\":{\"type\":\"BertNormalizer\"},"
                + "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},\"post_processor\":{\"type\":\"BertProcessing\","
                + "\"sep\":[\"[SEP]\",2],\"cls\":[\"[CLS]\",1]},\"truncation\":{\"max_length\":4,\"direction\":"
                + "\"Left\"},\"padding\":{\"strategy\":\"BatchLongest\",\"direction\":\"Left\",\"pad_id\":3,"
                + "\"pad_to_multiple_of\":4}}");
        assertArrayEquals(new int[] {1, 4, 5, 2}, bert.encode("ABC").ids());
        assertArrayEquals(new int[] {1, 6, 4, 2}, bert.encode("ab a ab").ids()); // keeps the end
        Encoding p = bert.encodePair("a", "ab");
        // Budget 4 - 3 specials = 1; LongestFirst splits it 0 / 1 (the odd token goes to the second).
        assertArrayEquals(new int[] {1, 2, 4, 2}, p.ids());
        assertArrayEquals(new int[] {0, 0, 1, 1}, p.typeIds());
        assertArrayEquals(new long[] {3, 1, 6, 2, 3, 1, 4, 2}, bert.encodeBatch(List.of("a", "ab")).inputIds());
        assertArrayEquals(new long[] {0, 1, 1, 1}, bert.encodeBatch(List.of("a")).attentionMask());
    }

    @Test
    void tokenizesLongTextQuickly() {
        // Not a timing assertion: a 1 MB text with no spaces and one with many words must just complete.
        List<String> big = new ArrayList<>();
        big.add("ab".repeat(500_000));
        big.add("word ".repeat(200_000));
        for (String s : big) {
            assertTrue(TOK.encode(s, 512).length() <= 512);
        }
    }
}
