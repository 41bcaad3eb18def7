package dev.compresso.engine.text;

import java.util.List;

/**
 * The character rules of BERT's tokenizer as Hugging Face {@code tokenizers} implements them
 * ({@code BertNormalizer}, {@code BertPreTokenizer}). Everything works on code points, so characters outside
 * the BMP (emoji, CJK extension B) are never split into surrogate halves.
 */
final class BertText {
    private BertText() {}

    /**
     * The Unicode White_Space property (what Rust's {@code char::is_whitespace} tests). Not
     * {@link Character#isWhitespace}: that one excludes no-break spaces and includes U+001C..U+001F.
     */
    static boolean isWhitespace(int c) {
        return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F
                || c == 0x3000;
    }

    /**
     * Control characters removed by {@code clean_text}: Cc, Cf, Co and Cs, except tab, newline and carriage
     * return, which BERT counts as whitespace. Unassigned code points (Cn) are kept, as Hugging Face
     * tokenizers keeps them (checked against it), so they become [UNK] rather than vanish.
     */
    static boolean isControl(int c) {
        if (c == '\t' || c == '\n' || c == '\r') {
            return false;
        }
        return switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.PRIVATE_USE, Character.SURROGATE -> true;
            default -> false;
        };
    }

    /**
     * BERT punctuation: every ASCII symbol (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~, so '$' and '+' split words
     * even though Unicode files them as symbols) plus the Unicode punctuation categories P*.
     */
    static boolean isPunctuation(int c) {
        if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) {
            return true;
        }
        return switch (Character.getType(c)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                    Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION,
                    Character.FINAL_QUOTE_PUNCTUATION, Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    /**
     * The CJK Unified Ideographs blocks BERT isolates as single-character words (its
     * {@code _is_chinese_char}, as Hugging Face tokenizers implements it); Hangul and kana are not in it.
     */
    static boolean isChinese(int c) {
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
                || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F)
                // 0x2B920, not BERT's 0x2B820: Hugging Face tokenizers has it so, and we must match the
                // tokenizer the model's tokenizer.json was made for (checked against it in the tests).
                || (c >= 0x2B920 && c <= 0x2CEAF) || (c >= 0xF900 && c <= 0xFAFF)
                || (c >= 0x2F800 && c <= 0x2FA1F);
    }

    /**
     * Lower-cases one code point like Rust's {@code char::to_lowercase}: the full, context-free mapping.
     * The only unconditional one-to-many lowercase mapping in Unicode is U+0130 (İ → i + U+0307); final
     * sigma is not applied (a per-character mapping has no context).
     */
    static void appendLower(StringBuilder sb, int c) {
        if (c < 0x80) {
            sb.append((char) (c >= 'A' && c <= 'Z' ? c + 32 : c));
        } else if (c == 0x130) {
            sb.append('i').append('\u0307');
        } else {
            sb.appendCodePoint(Character.toLowerCase(c));
        }
    }

    /** The {@code BertNormalizer} settings. */
    record Normalizer(boolean cleanText, boolean handleChineseChars, boolean stripAccents, boolean lowercase) {

        /** Applies the steps in Hugging Face's order: clean, CJK spacing, strip accents, lowercase. */
        String apply(String text) {
            String s = text;
            if (cleanText || handleChineseChars) {
                StringBuilder sb = new StringBuilder(s.length() + 8);
                for (int i = 0; i < s.length(); ) {
                    int c = s.codePointAt(i);
                    i += Character.charCount(c);
                    if (cleanText) {
                        if (c == 0 || c == 0xFFFD || isControl(c)) {
                            continue;
                        }
                        if (isWhitespace(c)) {
                            sb.append(' ');
                            continue;
                        }
                    }
                    if (handleChineseChars && isChinese(c)) {
                        sb.append(' ').appendCodePoint(c).append(' ');
                    } else {
                        sb.appendCodePoint(c);
                    }
                }
                s = sb.toString();
            }
            if (stripAccents) {
                // NFD splits "é" into "e" + U+0301; dropping the non-spacing marks (Mn) leaves the base letter.
                String nfd = java.text.Normalizer.normalize(s, java.text.Normalizer.Form.NFD);
                StringBuilder sb = new StringBuilder(nfd.length());
                for (int i = 0; i < nfd.length(); ) {
                    int c = nfd.codePointAt(i);
                    i += Character.charCount(c);
                    if (Character.getType(c) != Character.NON_SPACING_MARK) {
                        sb.appendCodePoint(c);
                    }
                }
                s = sb.toString();
            }
            if (lowercase) {
                StringBuilder sb = new StringBuilder(s.length());
                for (int i = 0; i < s.length(); ) {
                    int c = s.codePointAt(i);
                    i += Character.charCount(c);
                    appendLower(sb, c);
                }
                s = sb.toString();
            }
            return s;
        }
    }

    /**
     * {@code BertPreTokenizer}: splits on whitespace (dropped) and isolates every punctuation character as its
     * own word.
     */
    static void preTokenize(String s, List<String> words) {
        int start = -1;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            int next = i + Character.charCount(c);
            if (isWhitespace(c)) {
                if (start >= 0) {
                    words.add(s.substring(start, i));
                    start = -1;
                }
            } else if (isPunctuation(c)) {
                if (start >= 0) {
                    words.add(s.substring(start, i));
                    start = -1;
                }
                words.add(s.substring(i, next));
            } else if (start < 0) {
                start = i;
            }
            i = next;
        }
        if (start >= 0) {
            words.add(s.substring(start));
        }
    }
}
