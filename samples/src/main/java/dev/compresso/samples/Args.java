package dev.compresso.samples;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parsed arguments: {@code --name value} options, {@code --flag} switches (declared by the command) and
 * positional words. Every option a command does not read is reported as unknown by {@link #finish()}.
 */
final class Args {
    private final Map<String, String> options = new HashMap<>();
    private final Set<String> flags = new HashSet<>();
    private final List<String> positional = new ArrayList<>();
    private final Set<String> used = new HashSet<>();

    Args(List<String> words, Set<String> flagNames) throws UsageException {
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            if (w.startsWith("--") && w.length() > 2) {
                String name = w.substring(2);
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    options.put(name.substring(0, eq), name.substring(eq + 1));
                } else if (flagNames.contains(name)) {
                    flags.add(name);
                } else if (i + 1 < words.size()) {
                    options.put(name, words.get(++i));
                } else {
                    throw new UsageException("option --" + name + " needs a value");
                }
            } else {
                positional.add(w);
            }
        }
    }

    boolean flag(String name) {
        used.add(name);
        return flags.contains(name);
    }

    String get(String name) {
        used.add(name);
        return options.get(name);
    }

    String get(String name, String dflt) {
        String v = get(name);
        return v == null ? dflt : v;
    }

    String require(String name) throws UsageException {
        String v = get(name);
        if (v == null) {
            throw new UsageException("missing --" + name);
        }
        return v;
    }

    int getInt(String name, int dflt) throws UsageException {
        String v = get(name);
        if (v == null) {
            return dflt;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " takes a whole number, not '" + v + "'");
        }
    }

    double getDouble(String name, double dflt) throws UsageException {
        String v = get(name);
        if (v == null) {
            return dflt;
        }
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " takes a number, not '" + v + "'");
        }
    }

    List<String> positional() {
        used.add("\0positional");
        return positional;
    }

    /** Fails on options and switches the command did not read, and on unread positional words. */
    void finish() throws UsageException {
        for (String k : options.keySet()) {
            if (!used.contains(k)) {
                throw new UsageException("unknown option --" + k);
            }
        }
        for (String k : flags) {
            if (!used.contains(k)) {
                throw new UsageException("unknown option --" + k);
            }
        }
        if (!positional.isEmpty() && !used.contains("\0positional")) {
            throw new UsageException("unexpected argument '" + positional.get(0) + "'");
        }
    }
}
