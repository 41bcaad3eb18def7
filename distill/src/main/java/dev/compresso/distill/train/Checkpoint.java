package dev.compresso.distill.train;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.zip.CRC32;

/**
 * A training checkpoint: every parameter's values and AdamW moments, the optimiser's step count, the training
 * step and a fingerprint of the run's settings, so {@code --resume} continues exactly where the run stopped.
 * Written atomically (a temporary file beside the target, forced to disk, then renamed over it), so a crash
 * leaves the previous checkpoint or the new one, never a torn file. A CRC-32 over the content detects damage.
 *
 * <p>Layout (little-endian): magic {@code CMPRCKPT}, int version 1, long step, long optimiser steps, UTF-8 settings
 * fingerprint (int length + bytes), int parameter count, then per parameter: name (int length + UTF-8), int size,
 * size floats of values, of m, of v; finally the long CRC-32 of everything before it.
 */
public final class Checkpoint {
    private static final byte[] MAGIC = "CMPRCKPT".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;

    private Checkpoint() {}

    /** What a checkpoint restores besides the parameters. */
    public record State(long step, String fingerprint) {}

    /**
     * Writes a checkpoint atomically.
     *
     * @throws IOException naming the file when writing fails (the target is then unchanged)
     */
    public static void write(Path file, List<Param> params, AdamW opt, long step, String fingerprint) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                CRC32 crc = new CRC32();
                ByteBuffer head = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
                head.put(MAGIC).putInt(VERSION).putLong(step).putLong(opt.steps());
                putString(head, fingerprint);
                head.putInt(params.size());
                flush(ch, head, crc);
                ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
                for (Param p : params) {
                    if (!p.trainable()) {
                        throw new IllegalArgumentException("parameter " + p.name() + " is frozen");
                    }
                    putString(buf, p.name());
                    buf.putInt(p.size());
                    for (float[] a : new float[][] {p.value, p.m, p.v}) {
                        for (float x : a) {
                            if (buf.remaining() < 4) {
                                flush(ch, buf, crc);
                            }
                            buf.putFloat(x);
                        }
                    }
                    flush(ch, buf, crc);
                }
                buf.putLong(crc.getValue());
                buf.flip();
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            if (e instanceof IOException io) {
                throw new IOException(file + ": cannot write checkpoint: " + io.getMessage(), io);
            }
            throw e;
        }
    }

    /**
     * Reads a checkpoint into {@code params} (same names and sizes, in the same order) and the optimiser.
     *
     * @throws IOException naming the file and what is wrong (damaged, truncated, another model's parameters)
     */
    public static State read(Path file, List<Param> params, AdamW opt) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE) {
            throw new IOException(file + ": checkpoint of " + size + " bytes is larger than this reader's 2 GiB limit");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size).order(ByteOrder.LITTLE_ENDIAN);
            if (size < MAGIC.length + 4 + 8 + 8 + 4 + 4 + 8) {
                throw new IOException(file + ": not a Compresso checkpoint (" + size + " bytes)");
            }
            byte[] magic = new byte[MAGIC.length];
            all.get(magic);
            if (!java.util.Arrays.equals(magic, MAGIC)) {
                throw new IOException(file + ": not a Compresso checkpoint (bad magic)");
            }
            CRC32 crc = new CRC32();
            ByteBuffer body = all.duplicate().order(ByteOrder.LITTLE_ENDIAN).position(0).limit((int) (size - 8));
            crc.update(body);
            if (all.getLong((int) (size - 8)) != crc.getValue()) {
                throw new IOException(file + ": checkpoint is damaged or truncated (checksum mismatch)");
            }
            int version = all.getInt();
            if (version != VERSION) {
                throw new IOException(file + ": checkpoint version " + version + ", this build reads " + VERSION);
            }
            long step = all.getLong(), optSteps = all.getLong();
            String fingerprint = getString(all, file);
            int n = all.getInt();
            if (n != params.size()) {
                throw new IOException(file + ": checkpoint holds " + n + " parameters, the model has " + params.size());
            }
            for (Param p : params) {
                String name = getString(all, file);
                int count = all.getInt();
                if (!name.equals(p.name()) || count != p.size()) {
                    throw new IOException(file + ": checkpoint parameter " + name + " [" + count + "] does not match "
                            + p.name() + " [" + p.size() + "]");
                }
                if (all.remaining() < 12L * count + 8) {
                    throw new IOException(file + ": checkpoint truncated in parameter " + name);
                }
                all.asFloatBuffer().get(p.value);
                all.position(all.position() + 4 * count);
                all.asFloatBuffer().get(p.m);
                all.position(all.position() + 4 * count);
                all.asFloatBuffer().get(p.v);
                all.position(all.position() + 4 * count);
                p.changed();
            }
            opt.restore(optSteps);
            return new State(step, fingerprint);
        }
    }

    private static void putString(ByteBuffer b, String s) {
        byte[] u = s.getBytes(StandardCharsets.UTF_8);
        b.putInt(u.length).put(u);
    }

    private static String getString(ByteBuffer b, Path file) throws IOException {
        int n = b.getInt();
        if (n < 0 || n > b.remaining()) {
            throw new IOException(file + ": checkpoint string of " + n + " bytes overruns the file");
        }
        byte[] u = new byte[n];
        b.get(u);
        return new String(u, StandardCharsets.UTF_8);
    }

    private static void flush(FileChannel ch, ByteBuffer b, CRC32 crc) throws IOException {
        b.flip();
        crc.update(b.duplicate());
        while (b.hasRemaining()) {
            ch.write(b);
        }
        b.clear();
    }
}
