package dev.compresso.engine.text;

import dev.compresso.engine.json.Json;
import dev.compresso.engine.json.JsonException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * BERT's WordPiece tokenizer, configured from a Hugging Face {@code tokenizer.json} and producing the same
 * ids as the Hugging Face {@code tokenizers} library for the components it supports:
 *
 * <ul>
 *   <li>{@code added_tokens}: matched in the raw text first ({@code normalized: false}) or in the normalized
 *       text ({@code normalized: true}), leftmost-longest, honouring {@code lstrip}, {@code rstrip} and
 *       {@code single_word};</li>
 *   <li>{@code normalizer}: {@code BertNormalizer} ({@code clean_text}, {@code handle_chinese_chars},
 *       {@code strip_accents} (null follows {@code lowercase}), {@code lowercase}) or none;</li>
 *   <li>{@code pre_tokenizer}: {@code BertPreTokenizer} (whitespace split, punctuation isolated) or none;</li>
 *   <li>{@code model}: {@code WordPiece} (greedy longest-match-first subwords with
 *       {@code continuing_subword_prefix}; a word that cannot be covered, or longer than
 *       {@code max_input_chars_per_word} characters, becomes {@code unk_token});</li>
 *   <li>{@code post_processor}: {@code TemplateProcessing}, {@code BertProcessing} or none;</li>
 *   <li>{@code truncation}: {@code max_length} (counting special tokens), strategies {@code LongestFirst},
 *       {@code OnlyFirst}, {@code OnlySecond}, direction {@code Right}/{@code Left}; without a
 *       {@code truncation} section, texts are cut at {@link #MODEL_MAX_LENGTH} tokens, since BERT-style models
 *       have no position embeddings beyond it;</li>
 *   <li>{@code padding}: {@code BatchLongest} or {@code Fixed}, direction, {@code pad_to_multiple_of},
 *       {@code pad_id}, {@code pad_type_id}, {@code pad_token}; used by {@link #encodeBatch(List)}.</li>
 * </ul>
 *
 * <p>Anything else (another model type, a {@code Sequence} normalizer, …) is refused when the file is read,
 * with a {@link TokenizerException} naming the file and the field, instead of tokenizing differently from the
 * model's training. {@code decoder} is ignored (this class only encodes). Instances are immutable and
 * thread-safe.
 */
public final class WordPieceTokenizer {

    /** Token limit applied when the file has no {@code truncation} section: BERT's 512 positions. */
    public static final int MODEL_MAX_LENGTH = 512;

    /**
     * Largest tokenizer file {@link #fromJson(Path)} reads: 32 MiB (the MiniLM one is 0.7 MB, multilingual ones
     * are under 20 MB); parsing a file this size stays well inside a 1 GB heap.
     */
    public static final long MAX_FILE_BYTES = 32L << 20;

    private final String source;
    private final Map<String, Object> config;
    private final Map<String, Integer> vocab;
    /** Added tokens that are not WordPiece vocabulary entries (WordPiece must never produce them). */
    private final Map<String, Integer> addedOnly = new HashMap<>();
    private final String[] idToToken;
    private final String unkToken;
    private final int unkId;
    private final String prefix;
    private final int maxInputCharsPerWord;
    private final int longestVocabEntry;
    private final BertText.Normalizer normalizer;
    private final boolean bertPreTokenizer;
    private final List<AddedToken> rawAdded;
    private final List<AddedToken> normalizedAdded;
    private final List<Piece> single;
    private final List<Piece> pair;
    private final int maxLength;
    private final boolean truncateLeft;
    private final String truncationStrategy;
    private final int fixedPadding;
    private final int padMultipleOf;
    private final boolean padLeft;
    private final int padId;
    private final int padTypeId;
    private final String padToken;

    /** An entry of {@code added_tokens}; {@code match} is the content as looked for in the text. */
    private record AddedToken(int id, String content, String match, boolean lstrip, boolean rstrip,
                              boolean singleWord) {}

    /** A template element: a run of special tokens, or the first/second sequence. */
    private record Piece(int[] ids, String[] tokens, int sequence, int typeId) {}

    /** A growable list of tokens (ids and strings). */
    private static final class Tokens {
        int[] ids = new int[16];
        String[] toks = new String[16];
        int n;

        void add(int id, String tok) {
            if (n == ids.length) {
                ids = Arrays.copyOf(ids, n * 2);
                toks = Arrays.copyOf(toks, n * 2);
            }
            ids[n] = id;
            toks[n++] = tok;
        }

        void keep(int count, boolean fromLeft) {
            if (count >= n) {
                return;
            }
            if (fromLeft) {
                // Left truncation keeps the end of the text.
                System.arraycopy(ids, n - count, ids, 0, count);
                System.arraycopy(toks, n - count, toks, 0, count);
            }
            n = count;
        }
    }

    private WordPieceTokenizer(String source, Map<String, Object> config) {
        this.source = source;
        this.config = config;

        // model
        Map<String, Object> model = object(config.get("model"), "model", false);
        String type = string(model.get("type"), "model.type", false);
        if (!type.equals("WordPiece")) {
            throw fail("model.type", "unsupported '" + type + "' (supported: WordPiece)");
        }
        Map<String, Object> vocabJson = object(model.get("vocab"), "model.vocab", false);
        vocab = new HashMap<>(vocabJson.size() * 2);
        int maxId = -1;
        int longest = 0;
        for (Map.Entry<String, Object> e : vocabJson.entrySet()) {
            int id = integer(e.getValue(), "model.vocab[\"" + e.getKey() + "\"]", 0, Integer.MAX_VALUE - 8);
            vocab.put(e.getKey(), id);
            maxId = Math.max(maxId, id);
            longest = Math.max(longest, e.getKey().codePointCount(0, e.getKey().length()));
        }
        if (maxId >= 4L * vocabJson.size() + 1024) {
            // Ids index an embedding table; a sparse forged id would only waste memory here.
            throw fail("model.vocab", "id " + maxId + " is far beyond the vocabulary size " + vocabJson.size());
        }
        unkToken = string(model.get("unk_token"), "model.unk_token", false);
        Integer unk = vocab.get(unkToken);
        if (unk == null) {
            throw fail("model.unk_token", "'" + unkToken + "' is not in model.vocab");
        }
        unkId = unk;
        prefix = model.containsKey("continuing_subword_prefix")
                ? string(model.get("continuing_subword_prefix"), "model.continuing_subword_prefix", false) : "##";
        maxInputCharsPerWord = model.get("max_input_chars_per_word") == null ? 100
                : integer(model.get("max_input_chars_per_word"), "model.max_input_chars_per_word", 1, 1 << 20);

        // added tokens (they may extend the vocabulary)
        List<AddedToken> raw = new ArrayList<>();
        List<AddedToken> norm = new ArrayList<>();
        List<Object> added = config.get("added_tokens") == null ? List.of()
                : list(config.get("added_tokens"), "added_tokens");
        for (int i = 0; i < added.size(); i++) {
            String f = "added_tokens[" + i + "]";
            Map<String, Object> t = object(added.get(i), f, false);
            int id = integer(t.get("id"), f + ".id", 0, Integer.MAX_VALUE - 8);
            String content = string(t.get("content"), f + ".content", false);
            if (content.isEmpty()) {
                throw fail(f + ".content", "is empty");
            }
            if (id >= 4L * vocabJson.size() + 1024) {
                throw fail(f + ".id", "id " + id + " is far beyond the vocabulary size " + vocabJson.size());
            }
            Integer existing = vocab.get(content);
            if (existing == null) {
                existing = addedOnly.putIfAbsent(content, id);
            }
            if (existing != null && existing != id) {
                throw fail(f + ".id", "'" + content + "' has id " + id + " but model.vocab says " + existing);
            }
            maxId = Math.max(maxId, id);
            boolean normalized = bool(t.get("normalized"), f + ".normalized", false);
            AddedToken at = new AddedToken(id, content, content, bool(t.get("lstrip"), f + ".lstrip", false),
                    bool(t.get("rstrip"), f + ".rstrip", false),
                    bool(t.get("single_word"), f + ".single_word", false));
            if (normalized) {
                norm.add(at);
            } else {
                raw.add(at);
            }
        }
        idToToken = new String[maxId + 1];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            idToToken[e.getValue()] = e.getKey();
        }
        for (Map.Entry<String, Integer> e : addedOnly.entrySet()) {
            idToToken[e.getValue()] = e.getKey();
        }
        longestVocabEntry = longest;

        // normalizer
        Object nj = config.get("normalizer");
        if (nj == null) {
            normalizer = null;
        } else {
            Map<String, Object> n = object(nj, "normalizer", false);
            String nt = string(n.get("type"), "normalizer.type", false);
            if (!nt.equals("BertNormalizer")) {
                throw fail("normalizer.type", "unsupported '" + nt + "' (supported: BertNormalizer or null)");
            }
            boolean lower = boolOr(n.get("lowercase"), "normalizer.lowercase", true);
            Object sa = n.get("strip_accents");
            normalizer = new BertText.Normalizer(boolOr(n.get("clean_text"), "normalizer.clean_text", true),
                    boolOr(n.get("handle_chinese_chars"), "normalizer.handle_chinese_chars", true),
                    sa == null ? lower : bool(sa, "normalizer.strip_accents", false), lower);
        }
        // Tokens matched after normalization are looked for in their normalized form.
        rawAdded = List.copyOf(raw);
        List<AddedToken> normMatched = new ArrayList<>();
        for (AddedToken t : norm) {
            String m = normalizer == null ? t.content() : normalizer.apply(t.content());
            if (!m.isEmpty()) {
                normMatched.add(new AddedToken(t.id(), t.content(), m, t.lstrip(), t.rstrip(), t.singleWord()));
            }
        }
        normalizedAdded = List.copyOf(normMatched);

        // pre-tokenizer
        Object pj = config.get("pre_tokenizer");
        if (pj == null) {
            bertPreTokenizer = false;
        } else {
            Map<String, Object> p = object(pj, "pre_tokenizer", false);
            String pt = string(p.get("type"), "pre_tokenizer.type", false);
            if (!pt.equals("BertPreTokenizer")) {
                throw fail("pre_tokenizer.type", "unsupported '" + pt + "' (supported: BertPreTokenizer or null)");
            }
            bertPreTokenizer = true;
        }

        // post-processor
        Object ppj = config.get("post_processor");
        if (ppj == null) {
            single = List.of(new Piece(null, null, 0, 0));
            pair = List.of(new Piece(null, null, 0, 0), new Piece(null, null, 1, 1));
        } else {
            Map<String, Object> pp = object(ppj, "post_processor", false);
            String ppt = string(pp.get("type"), "post_processor.type", false);
            switch (ppt) {
                case "TemplateProcessing" -> {
                    Map<String, Object> specials = pp.get("special_tokens") == null ? Map.of()
                            : object(pp.get("special_tokens"), "post_processor.special_tokens", false);
                    single = sequences(template(pp.get("single"), "post_processor.single", specials),
                            "post_processor.single", 1);
                    pair = pp.get("pair") == null ? null : sequences(template(pp.get("pair"), "post_processor.pair",
                            specials), "post_processor.pair", 2);
                }
                case "BertProcessing" -> {
                    Piece cls = bertSpecial(pp.get("cls"), "post_processor.cls", 0);
                    Piece sep = bertSpecial(pp.get("sep"), "post_processor.sep", 0);
                    Piece sep1 = new Piece(sep.ids(), sep.tokens(), -1, 1);
                    single = List.of(cls, new Piece(null, null, 0, 0), sep);
                    pair = List.of(cls, new Piece(null, null, 0, 0), sep, new Piece(null, null, 1, 1), sep1);
                }
                default -> throw fail("post_processor.type",
                        "unsupported '" + ppt + "' (supported: TemplateProcessing, BertProcessing or null)");
            }
        }

        // truncation
        Object tj = config.get("truncation");
        if (tj == null) {
            maxLength = MODEL_MAX_LENGTH;
            truncateLeft = false;
            truncationStrategy = "LongestFirst";
        } else {
            Map<String, Object> t = object(tj, "truncation", false);
            maxLength = integer(t.get("max_length"), "truncation.max_length", 1, Integer.MAX_VALUE / 4);
            String dir = t.get("direction") == null ? "Right" : string(t.get("direction"), "truncation.direction", false);
            if (!dir.equals("Right") && !dir.equals("Left")) {
                throw fail("truncation.direction", "unsupported '" + dir + "' (supported: Right, Left)");
            }
            truncateLeft = dir.equals("Left");
            truncationStrategy = t.get("strategy") == null ? "LongestFirst"
                    : string(t.get("strategy"), "truncation.strategy", false);
            if (!List.of("LongestFirst", "OnlyFirst", "OnlySecond").contains(truncationStrategy)) {
                throw fail("truncation.strategy", "unsupported '" + truncationStrategy
                        + "' (supported: LongestFirst, OnlyFirst, OnlySecond)");
            }
            // stride only shapes the overflowing windows, which this tokenizer does not produce.
        }
        if (maxLength < specialCount(single)) {
            throw fail("truncation.max_length", maxLength + " leaves no room for the " + specialCount(single)
                    + " special tokens");
        }

        // padding
        Object padj = config.get("padding");
        if (padj == null) {
            fixedPadding = 0;
            padMultipleOf = 0;
            padLeft = false;
            padId = Math.max(0, tokenId("[PAD]"));
            padTypeId = 0;
            padToken = idToToken.length > padId && idToToken[padId] != null ? idToToken[padId] : "[PAD]";
        } else {
            Map<String, Object> p = object(padj, "padding", false);
            Object st = p.get("strategy");
            if (st == null || "BatchLongest".equals(st)) {
                fixedPadding = 0;
            } else if (st instanceof Map<?, ?> m && m.size() == 1 && m.containsKey("Fixed")) {
                fixedPadding = integer(m.get("Fixed"), "padding.strategy.Fixed", 1, Integer.MAX_VALUE / 4);
            } else {
                throw fail("padding.strategy", "unsupported " + Json.write(st)
                        + " (supported: \"BatchLongest\", {\"Fixed\": n})");
            }
            String dir = p.get("direction") == null ? "Right" : string(p.get("direction"), "padding.direction", false);
            if (!dir.equals("Right") && !dir.equals("Left")) {
                throw fail("padding.direction", "unsupported '" + dir + "' (supported: Right, Left)");
            }
            padLeft = dir.equals("Left");
            padMultipleOf = p.get("pad_to_multiple_of") == null ? 0
                    : integer(p.get("pad_to_multiple_of"), "padding.pad_to_multiple_of", 1, 1 << 16);
            padId = p.get("pad_id") == null ? 0 : integer(p.get("pad_id"), "padding.pad_id", 0, Integer.MAX_VALUE);
            padTypeId = p.get("pad_type_id") == null ? 0
                    : integer(p.get("pad_type_id"), "padding.pad_type_id", 0, Integer.MAX_VALUE);
            padToken = p.get("pad_token") == null ? "[PAD]" : string(p.get("pad_token"), "padding.pad_token", false);
        }
    }

    private List<Piece> template(Object j, String field, Map<String, Object> specials) {
        List<Object> items = list(j, field);
        List<Piece> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            String f = field + "[" + i + "]";
            Map<String, Object> item = object(items.get(i), f, false);
            if (item.size() != 1) {
                throw fail(f, "expected one of SpecialToken, Sequence");
            }
            if (item.containsKey("Sequence")) {
                Map<String, Object> s = object(item.get("Sequence"), f + ".Sequence", false);
                String id = string(s.get("id"), f + ".Sequence.id", false);
                if (!id.equals("A") && !id.equals("B")) {
                    throw fail(f + ".Sequence.id", "must be A or B, not '" + id + "'");
                }
                out.add(new Piece(null, null, id.equals("A") ? 0 : 1,
                        integer(s.get("type_id"), f + ".Sequence.type_id", 0, Integer.MAX_VALUE)));
            } else if (item.containsKey("SpecialToken")) {
                Map<String, Object> s = object(item.get("SpecialToken"), f + ".SpecialToken", false);
                String id = string(s.get("id"), f + ".SpecialToken.id", false);
                int typeId = integer(s.get("type_id"), f + ".SpecialToken.type_id", 0, Integer.MAX_VALUE);
                Object sj = specials.get(id);
                String sf = "post_processor.special_tokens[\"" + id + "\"]";
                if (sj == null) {
                    throw fail(f + ".SpecialToken.id", "'" + id + "' is not in post_processor.special_tokens");
                }
                Map<String, Object> sp = object(sj, sf, false);
                List<Object> ids = list(sp.get("ids"), sf + ".ids");
                List<Object> toks = list(sp.get("tokens"), sf + ".tokens");
                if (ids.size() != toks.size()) {
                    throw fail(sf, "ids and tokens differ in length");
                }
                int[] idArr = new int[ids.size()];
                String[] tokArr = new String[ids.size()];
                for (int k = 0; k < idArr.length; k++) {
                    idArr[k] = integer(ids.get(k), sf + ".ids[" + k + "]", 0, Integer.MAX_VALUE);
                    tokArr[k] = string(toks.get(k), sf + ".tokens[" + k + "]", false);
                }
                out.add(new Piece(idArr, tokArr, -1, typeId));
            } else {
                throw fail(f, "expected one of SpecialToken, Sequence, not " + item.keySet());
            }
        }
        return List.copyOf(out);
    }

    /** Checks that a template holds sequence A once (and B once, for a pair template), and nothing else. */
    private List<Piece> sequences(List<Piece> template, String field, int count) {
        int a = 0, b = 0;
        for (Piece p : template) {
            a += p.ids() == null && p.sequence() == 0 ? 1 : 0;
            b += p.ids() == null && p.sequence() == 1 ? 1 : 0;
        }
        if (a != 1 || b != count - 1) {
            throw fail(field, "must hold " + (count == 1 ? "sequence A once and no sequence B"
                    : "sequences A and B once each") + ", has A " + a + " times and B " + b + " times");
        }
        return template;
    }

    private Piece bertSpecial(Object j, String field, int typeId) {
        List<Object> l = list(j, field);
        if (l.size() != 2) {
            throw fail(field, "expected [token, id]");
        }
        return new Piece(new int[] {integer(l.get(1), field + "[1]", 0, Integer.MAX_VALUE)},
                new String[] {string(l.get(0), field + "[0]", false)}, -1, typeId);
    }

    private static int specialCount(List<Piece> template) {
        int n = 0;
        for (Piece p : template) {
            if (p.ids() != null) {
                n += p.ids().length;
            }
        }
        return n;
    }

    // ---------------------------------------------------------------- construction

    /**
     * Reads a Hugging Face {@code tokenizer.json}.
     *
     * @param file the file
     * @return the tokenizer
     * @throws IOException         if the file cannot be read, is larger than {@link #MAX_FILE_BYTES}, or is
     *                             not UTF-8 (the message names the file)
     * @throws TokenizerException  if the JSON is malformed or asks for an unsupported component; the message
     *                             names the file and the field
     * @throws NullPointerException if {@code file} is null
     */
    public static WordPieceTokenizer fromJson(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        if (Files.isDirectory(file)) {
            throw new IOException(file + ": is a directory, not a tokenizer file");
        }
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new IOException(file + ": not a regular file (a device or pipe?), not a tokenizer file");
        }
        byte[] bytes;
        // Bounded read (not Files.size): devices and pipes such as /dev/zero report size 0 and never end.
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes((int) MAX_FILE_BYTES + 1);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "no such tokenizer file");
        } catch (AccessDeniedException e) {
            throw new AccessDeniedException(file.toString(), null, "tokenizer file is not readable");
        }
        if (bytes.length > MAX_FILE_BYTES) {
            throw new IOException(file + ": larger than " + MAX_FILE_BYTES + " bytes, too large for a tokenizer file");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IOException(file + ": not UTF-8 text", e);
        }
        return fromJson(text, file.toString());
    }

    /**
     * Reads a tokenizer from the text of a Hugging Face {@code tokenizer.json} (e.g. as embedded in a model
     * file by {@link #toJson()}).
     *
     * @param json the JSON text
     * @return the tokenizer
     * @throws TokenizerException  if the JSON is malformed or asks for an unsupported component
     * @throws NullPointerException if {@code json} is null
     */
    public static WordPieceTokenizer fromJson(String json) {
        return fromJson(json, "tokenizer.json");
    }

    /**
     * As {@link #fromJson(String)}, naming the source in error messages.
     *
     * @param json   the JSON text
     * @param source what to call the text in messages (a file name, "model file X")
     * @return the tokenizer
     * @throws TokenizerException  if the JSON is malformed or asks for an unsupported component
     * @throws NullPointerException if an argument is null
     */
    @SuppressWarnings("unchecked")
    public static WordPieceTokenizer fromJson(String json, String source) {
        Objects.requireNonNull(json, "json");
        Objects.requireNonNull(source, "source");
        Object root;
        try {
            root = Json.parse(json);
        } catch (JsonException e) {
            throw new TokenizerException(source + ": " + e.getMessage(), e);
        }
        if (!(root instanceof Map<?, ?>)) {
            throw new TokenizerException(source + ": expected a JSON object at the top level");
        }
        return new WordPieceTokenizer(source, (Map<String, Object>) root);
    }

    /**
     * The configuration as compact {@code tokenizer.json} text, so a model file can carry its tokenizer;
     * {@link #fromJson(String)} of it gives an equivalent tokenizer.
     *
     * @return the JSON text
     */
    public String toJson() {
        return Json.write(config);
    }

    // ---------------------------------------------------------------- accessors

    /** Number of token ids (the embedding table rows this tokenizer can index). */
    public int vocabSize() {
        return idToToken.length;
    }

    /**
     * @param token a vocabulary entry, e.g. {@code "[CLS]"} or {@code "##ing"}
     * @return its id, or -1 if it is not in the vocabulary
     */
    public int tokenId(String token) {
        Integer id = vocab.get(token);
        if (id == null) {
            id = addedOnly.get(token);
        }
        return id == null ? -1 : id;
    }

    /**
     * @param id a token id
     * @return the token, or null if no token has this id
     */
    public String token(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    /** Most tokens per encoding (special tokens included): {@code truncation.max_length} or 512. */
    public int maxLength() {
        return maxLength;
    }

    /** Where the configuration came from (a file name), for messages. */
    public String source() {
        return source;
    }

    // ---------------------------------------------------------------- encoding

    /**
     * Tokenizes one text: special tokens added per the post-processor, truncated to {@link #maxLength()},
     * not padded (attention mask all ones).
     *
     * @param text the text
     * @return the encoding
     * @throws NullPointerException if {@code text} is null
     */
    public Encoding encode(String text) {
        return encode(text, maxLength);
    }

    /**
     * As {@link #encode(String)} with another token limit.
     *
     * @param text      the text
     * @param maxLength most tokens, special tokens included
     * @return the encoding
     * @throws IllegalArgumentException if {@code maxLength} leaves no room for the special tokens
     * @throws NullPointerException     if {@code text} is null
     */
    public Encoding encode(String text, int maxLength) {
        Objects.requireNonNull(text, "text");
        return assemble(single, tokenize(text), null, maxLength);
    }

    /**
     * Tokenizes a text pair (e.g. question and passage) with the post-processor's pair template; the second
     * text gets its type id (1 for BERT).
     *
     * @param first  the first text
     * @param second the second text
     * @return the encoding, truncated to {@link #maxLength()} by the file's truncation strategy
     * @throws IllegalStateException if the post-processor has no pair template
     * @throws NullPointerException  if a text is null
     */
    public Encoding encodePair(String first, String second) {
        Objects.requireNonNull(first, "first");
        Objects.requireNonNull(second, "second");
        if (pair == null) {
            throw new IllegalStateException(source + ": post_processor has no pair template");
        }
        return assemble(pair, tokenize(first), tokenize(second), maxLength);
    }

    /**
     * Encodes texts and pads them as the file's {@code padding} section says ({@code Fixed}: to that length,
     * or the longest if longer; otherwise to the longest in the batch, rounded up to
     * {@code pad_to_multiple_of}).
     *
     * @param texts the texts
     * @return the padded batch
     * @throws NullPointerException if {@code texts} or an element is null
     */
    public BatchEncoding encodeBatch(List<String> texts) {
        return pad(encodeAll(texts, maxLength), fixedPadding);
    }

    /**
     * Encodes texts truncated to {@code maxLength} tokens each and pads them to the longest in the batch
     * (rounded up to {@code pad_to_multiple_of}) — the cheapest rectangle for a model run.
     *
     * @param texts     the texts
     * @param maxLength most tokens per text, special tokens included
     * @return the padded batch
     * @throws IllegalArgumentException if {@code maxLength} leaves no room for the special tokens
     * @throws NullPointerException     if {@code texts} or an element is null
     */
    public BatchEncoding encodeBatch(List<String> texts, int maxLength) {
        return pad(encodeAll(texts, maxLength), 0);
    }

    /**
     * Encodes texts truncated to {@code maxLength} tokens and pads them either to the longest or to exactly
     * {@code maxLength}.
     *
     * @param texts         the texts
     * @param maxLength     most tokens per text, special tokens included
     * @param padToMaxLength true: every row has {@code maxLength} tokens; false: rows have the longest length
     * @return the padded batch
     * @throws IllegalArgumentException if {@code maxLength} leaves no room for the special tokens
     * @throws NullPointerException     if {@code texts} or an element is null
     */
    public BatchEncoding encodeBatch(List<String> texts, int maxLength, boolean padToMaxLength) {
        return pad(encodeAll(texts, maxLength), padToMaxLength ? maxLength : 0);
    }

    /**
     * Pads encodings (e.g. from {@link #encode(String)}) into one batch, to the longest of them rounded up to
     * {@code pad_to_multiple_of}, with the file's pad id, pad type id and direction.
     *
     * @param encodings the encodings
     * @return the padded batch
     * @throws NullPointerException if {@code encodings} or an element is null
     */
    public BatchEncoding pad(List<Encoding> encodings) {
        return pad(encodings, 0);
    }

    private List<Encoding> encodeAll(List<String> texts, int maxLength) {
        List<Encoding> encs = new ArrayList<>(texts.size());
        for (String t : texts) {
            encs.add(encode(t, maxLength));
        }
        return encs;
    }

    private BatchEncoding pad(List<Encoding> encs, int fixed) {
        int longest = 0;
        for (Encoding e : encs) {
            longest = Math.max(longest, e.length());
        }
        int len = Math.max(longest, fixed);
        if (fixed == 0 && padMultipleOf > 1 && len % padMultipleOf != 0) {
            len += padMultipleOf - len % padMultipleOf;
        }
        int b = encs.size();
        long[] ids = new long[Math.multiplyExact(b, len)];
        long[] mask = new long[ids.length];
        long[] types = new long[ids.length];
        Arrays.fill(ids, padId);
        Arrays.fill(types, padTypeId);
        for (int r = 0; r < b; r++) {
            Encoding e = encs.get(r);
            int off = r * len + (padLeft ? len - e.length() : 0);
            for (int i = 0; i < e.length(); i++) {
                ids[off + i] = e.id(i);
                types[off + i] = e.typeId(i);
                mask[off + i] = e.mask(i);
            }
        }
        return new BatchEncoding(b, len, ids, mask, types);
    }

    /** Truncates per the strategy and lays the sequences into the template. */
    private Encoding assemble(List<Piece> template, Tokens a, Tokens b, int maxLength) {
        int specials = specialCount(template);
        int budget = maxLength - specials;
        if (budget < 0) {
            throw new IllegalArgumentException("max length " + maxLength + " leaves no room for the " + specials
                    + " special tokens");
        }
        if (b == null) {
            a.keep(budget, truncateLeft);
        } else if (a.n + b.n > budget) {
            switch (truncationStrategy) {
                case "OnlyFirst" -> a.keep(Math.max(0, budget - b.n), truncateLeft);
                case "OnlySecond" -> b.keep(Math.max(0, budget - a.n), truncateLeft);
                default -> {
                    // Hugging Face's LongestFirst: with n1 <= n2, keep the shorter whole when it fits in half,
                    // else split the budget evenly (the odd token to the longer one).
                    boolean swap = a.n > b.n;
                    int n1 = swap ? b.n : a.n;
                    int n2;
                    if (n1 > budget) {
                        n2 = n1;
                    } else {
                        n2 = Math.max(n1, budget - n1);
                    }
                    if (n1 + n2 > budget) {
                        n1 = budget / 2;
                        n2 = n1 + budget % 2;
                    }
                    a.keep(swap ? n2 : n1, truncateLeft);
                    b.keep(swap ? n1 : n2, truncateLeft);
                }
            }
        }
        int total = specials + a.n + (b == null ? 0 : b.n);
        int[] ids = new int[total];
        int[] types = new int[total];
        int[] mask = new int[total];
        Arrays.fill(mask, 1);
        String[] toks = new String[total];
        int k = 0;
        for (Piece p : template) {
            if (p.ids() != null) {
                for (int i = 0; i < p.ids().length; i++, k++) {
                    ids[k] = p.ids()[i];
                    toks[k] = p.tokens()[i];
                    types[k] = p.typeId();
                }
            } else {
                Tokens t = p.sequence() == 0 ? a : b;
                if (t == null) {
                    continue;
                }
                System.arraycopy(t.ids, 0, ids, k, t.n);
                System.arraycopy(t.toks, 0, toks, k, t.n);
                Arrays.fill(types, k, k + t.n, p.typeId());
                k += t.n;
            }
        }
        return new Encoding(ids, types, mask, Arrays.asList(toks));
    }

    /** Added tokens, normalization, pre-tokenization and WordPiece: the tokens of one text, no specials. */
    private Tokens tokenize(String text) {
        Tokens out = new Tokens();
        List<Object> rawParts = new ArrayList<>();
        splitOnAdded(text, rawAdded, rawParts);
        List<String> words = new ArrayList<>();
        List<Object> normParts = new ArrayList<>();
        for (Object part : rawParts) {
            if (part instanceof AddedToken t) {
                out.add(t.id(), t.content());
                continue;
            }
            String normalized = normalizer == null ? (String) part : normalizer.apply((String) part);
            normParts.clear();
            splitOnAdded(normalized, normalizedAdded, normParts);
            for (Object np : normParts) {
                if (np instanceof AddedToken t) {
                    out.add(t.id(), t.content());
                    continue;
                }
                words.clear();
                if (bertPreTokenizer) {
                    BertText.preTokenize((String) np, words);
                } else if (!((String) np).isEmpty()) {
                    words.add((String) np);
                }
                for (String w : words) {
                    wordPiece(w, out);
                }
            }
        }
        return out;
    }

    /** Splits text into strings and {@link AddedToken}s, leftmost-longest match first. */
    private static void splitOnAdded(String s, List<AddedToken> tokens, List<Object> out) {
        if (tokens.isEmpty()) {
            out.add(s);
            return;
        }
        int textStart = 0;
        int i = 0;
        while (i < s.length()) {
            AddedToken best = null;
            for (AddedToken t : tokens) {
                if (s.startsWith(t.match(), i) && (best == null || t.match().length() > best.match().length())
                        && (!t.singleWord() || isWordBoundary(s, i, i + t.match().length()))) {
                    best = t;
                }
            }
            if (best == null) {
                i++;
                continue;
            }
            int start = i;
            int end = i + best.match().length();
            if (best.lstrip()) {
                while (start > textStart && BertText.isWhitespace(s.charAt(start - 1))) {
                    start--;
                }
            }
            if (best.rstrip()) {
                while (end < s.length() && BertText.isWhitespace(s.charAt(end))) {
                    end++;
                }
            }
            if (start > textStart) {
                out.add(s.substring(textStart, start));
            }
            out.add(best);
            textStart = end;
            i = end;
        }
        if (textStart < s.length()) {
            out.add(s.substring(textStart));
        }
    }

    private static boolean isWordBoundary(String s, int start, int end) {
        if (start > 0) {
            int c = s.codePointBefore(start);
            if (Character.isLetterOrDigit(c) || c == '_') {
                return false;
            }
        }
        if (end < s.length()) {
            int c = s.codePointAt(end);
            return !(Character.isLetterOrDigit(c) || c == '_');
        }
        return true;
    }

    /** Greedy longest-match-first subwords of one word; the whole word is [UNK] if any part has no match. */
    private void wordPiece(String word, Tokens out) {
        int chars = word.codePointCount(0, word.length());
        if (chars > maxInputCharsPerWord) {
            out.add(unkId, unkToken);
            return;
        }
        int mark = out.n;
        int start = 0;
        while (start < word.length()) {
            // No vocabulary entry is longer than longestVocabEntry code points: start the search there.
            int end = word.length();
            int limit = start;
            for (int k = 0; k < longestVocabEntry && limit < word.length(); k++) {
                limit += Character.charCount(word.codePointAt(limit));
            }
            end = Math.min(end, limit);
            Integer found = null;
            String piece = null;
            while (end > start) {
                piece = start == 0 ? word.substring(0, end) : prefix + word.substring(start, end);
                found = vocab.get(piece);
                if (found != null) {
                    break;
                }
                end -= Character.charCount(word.codePointBefore(end));
            }
            if (found == null) {
                out.n = mark;
                out.add(unkId, unkToken);
                return;
            }
            out.add(found, piece);
            start = end;
        }
    }

    // ---------------------------------------------------------------- JSON field access with messages

    private TokenizerException fail(String field, String message) {
        return new TokenizerException(source + ": " + field + ": " + message);
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> object(Object v, String field, boolean nullable) {
        if (v == null && nullable) {
            return null;
        }
        if (!(v instanceof Map<?, ?> m)) {
            throw fail(field, v == null ? "missing" : "expected an object");
        }
        return (Map<String, Object>) m;
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object v, String field) {
        if (!(v instanceof List<?> l)) {
            throw fail(field, v == null ? "missing" : "expected an array");
        }
        return (List<Object>) l;
    }

    private String string(Object v, String field, boolean nullable) {
        if (v == null && nullable) {
            return null;
        }
        if (!(v instanceof String s)) {
            throw fail(field, v == null ? "missing" : "expected a string");
        }
        return s;
    }

    private boolean bool(Object v, String field, boolean dflt) {
        if (v == null) {
            return dflt;
        }
        if (!(v instanceof Boolean b)) {
            throw fail(field, "expected true or false");
        }
        return b;
    }

    private boolean boolOr(Object v, String field, boolean dflt) {
        return bool(v, field, dflt);
    }

    private int integer(Object v, String field, int min, int max) {
        if (!(v instanceof Long l)) {
            throw fail(field, v == null ? "missing" : "expected a whole number");
        }
        if (l < min || l > max) {
            throw fail(field, l + " is out of range [" + min + ", " + max + "]");
        }
        return (int) (long) l;
    }
}
