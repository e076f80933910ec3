package dev.burrow.bench.relay;

import java.util.HashMap;
import java.util.Map;

/** {@code --name value} options of one bench command; every option must be read, unknown ones are an error. */
final class Args {
    private final Map<String, String> values = new HashMap<>();

    Args(String[] args, int from) {
        for (int i = from; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --name value, got '" + args[i] + "'");
            }
            values.put(args[i].substring(2), args[++i]);
        }
    }

    String string(String name, String def) {
        String v = values.remove(name);
        return v != null ? v : def;
    }

    String required(String name) {
        String v = values.remove(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v;
    }

    int integer(String name, int def) {
        String v = values.remove(name);
        return v != null ? Integer.parseInt(v) : def;
    }

    long longValue(String name, long def) {
        String v = values.remove(name);
        return v != null ? Long.parseLong(v) : def;
    }

    /** Fails on options nobody read (typos). */
    void done() {
        if (!values.isEmpty()) {
            throw new IllegalArgumentException("unknown options " + values.keySet());
        }
    }
}
