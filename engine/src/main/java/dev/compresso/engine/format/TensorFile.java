package dev.compresso.engine.format;

import dev.compresso.engine.ModelException;
import dev.compresso.engine.json.Json;
import dev.compresso.engine.json.JsonException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * The container of a Compresso model file: a <a href="https://github.com/huggingface/safetensors">safetensors</a>
 * file whose data section is 64-byte aligned, whose {@code __metadata__} identifies it, and whose data carries a
 * CRC32C. See {@code docs/model-file.md} for the byte layout.
 *
 * <p>Reading maps the file ({@link FileChannel#map}) and hands out read-only {@link MemorySegment} slices, so
 * opening costs the header parse, not a copy of the weights. The mapping lives in an automatic arena: it stays
 * valid while any slice is reachable (a loaded model keeps its weights) and is unmapped by the garbage
 * collector after that. Writing goes to a temporary file in the target's
 * directory, is forced to disk and atomically renamed over the target: a crash leaves the old file or the
 * new one, never half of one.
 */
public final class TensorFile {

    /** Value of {@code __metadata__.format}; the first bytes of every Compresso header spell it. */
    public static final String FORMAT = "compresso-model";
    /** The container version this code writes and reads. */
    public static final int VERSION = 1;
    /** Alignment of the data section and of every tensor in it. */
    public static final int ALIGN = 64;
    /** Largest header accepted, so that a forged length cannot make us allocate gigabytes. */
    public static final long MAX_HEADER = 64L << 20;
    /** Names of the padding entries that keep the safetensors data section free of holes. */
    static final String PAD_PREFIX = "__pad.";
    /** Exact start of every header: lets {@link #looksLikeOne} decide from a fixed-size prefix. */
    static final String HEADER_PREFIX = "{\"__metadata__\":{\"format\":\"" + FORMAT + "\"";

    /**
     * One tensor: a name, a safetensors dtype ({@code F32, F16, I8, U8, I32, I64, BOOL, ...}), a shape and its
     * little-endian bytes.
     *
     * @param name  unique name
     * @param dtype safetensors dtype string
     * @param shape dimensions (may be empty for a scalar)
     * @param data  the bytes; exactly {@code product(shape) · size(dtype)} of them
     */
    public record Entry(String name, String dtype, long[] shape, MemorySegment data) {
        public Entry {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(dtype, "dtype");
            shape = shape.clone();
            Objects.requireNonNull(data, "data");
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }
    }

    private final Path path;
    private final MemorySegment file;
    private final long dataStart;
    private final Map<String, String> metadata;
    private final Map<String, Entry> entries;

    private TensorFile(Path path, MemorySegment file, long dataStart, Map<String, String> metadata,
            Map<String, Entry> entries) {
        this.path = path;
        this.file = file;
        this.dataStart = dataStart;
        this.metadata = metadata;
        this.entries = entries;
    }

    /** Bytes per element of a safetensors dtype, or -1 if unknown. */
    static int dtypeSize(String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
            default -> -1;
        };
    }

    /**
     * Writes a container atomically.
     *
     * @param path     the target; replaced atomically if it exists
     * @param metadata extra string metadata (the keys {@code format}, {@code format_version},
     *                 {@code data_bytes} and {@code data_crc32c} are set by this method)
     * @param tensors  the tensors, in the order they are laid out
     * @throws IOException              if writing, syncing or renaming fails (the temporary file is removed)
     * @throws IllegalArgumentException on duplicate or reserved names, unknown dtypes or a size that does not
     *                                  match the shape
     */
    public static void write(Path path, Map<String, String> metadata, List<Entry> tensors) throws IOException {
        if (!ByteOrder.nativeOrder().equals(ByteOrder.LITTLE_ENDIAN)) {
            throw new IOException("Compresso model files are little-endian; this platform is big-endian");
        }
        // Lay out the data section: each tensor 64-byte aligned, gaps filled by padding entries.
        Map<String, Object> header = new LinkedHashMap<>();
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("format_version", Integer.toString(VERSION));
        List<MemorySegment> chunks = new ArrayList<>();
        List<Long> chunkOffsets = new ArrayList<>();
        Map<String, Object> tensorHeaders = new LinkedHashMap<>();
        long offset = 0;
        int pads = 0;
        for (Entry e : tensors) {
            if (e.name().equals("__metadata__") || e.name().startsWith(PAD_PREFIX) || tensorHeaders.containsKey(e.name())) {
                throw new IllegalArgumentException("tensor name '" + e.name() + "' is reserved or repeated");
            }
            long size = checkedSize(e.name(), e.dtype(), e.shape);
            if (size != e.data().byteSize()) {
                throw new IllegalArgumentException("tensor '" + e.name() + "': " + e.data().byteSize()
                        + " bytes for dtype " + e.dtype() + " shape " + java.util.Arrays.toString(e.shape) + " (" + size + ")");
            }
            long aligned = align(offset);
            if (aligned > offset) {
                tensorHeaders.put(PAD_PREFIX + pads++, tensorHeader("U8", new long[] {aligned - offset}, offset, aligned));
                offset = aligned;
            }
            tensorHeaders.put(e.name(), tensorHeader(e.dtype(), e.shape, offset, offset + size));
            chunks.add(e.data());
            chunkOffsets.add(offset);
            offset += size;
        }
        long dataBytes = offset;
        // CRC32C over the data section as laid out (padding bytes are zeros).
        CRC32C crc = new CRC32C();
        long pos = 0;
        byte[] zeros = new byte[ALIGN];
        for (int i = 0; i < chunks.size(); i++) {
            long at = chunkOffsets.get(i);
            crc.update(zeros, 0, (int) (at - pos));
            MemorySegment c = chunks.get(i);
            if (c.byteSize() > 0) {
                crc.update(c.asByteBuffer());
            }
            pos = at + c.byteSize();
        }
        for (Map.Entry<String, String> m : metadata.entrySet()) {
            if (!meta.containsKey(m.getKey()) && !m.getKey().equals("data_bytes") && !m.getKey().equals("data_crc32c")) {
                meta.put(m.getKey(), Objects.requireNonNull(m.getValue(), m.getKey()));
            }
        }
        meta.put("data_bytes", Long.toString(dataBytes));
        meta.put("data_crc32c", String.format("%08x", crc.getValue()));
        header.put("__metadata__", meta);
        header.putAll(tensorHeaders);
        byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
        // Pad the header with spaces (valid JSON whitespace) so the data section starts 64-byte aligned.
        long headerLen = align(8 + json.length) - 8;
        ByteBuffer head = ByteBuffer.allocate((int) (8 + headerLen)).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(headerLen);
        head.put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();

        Path dir = path.toAbsolutePath().getParent();
        // An ordinary new file (0666 less the umask); temporaries of killed writers are removed first.
        Path tmp = TempFiles.create(path);
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(ch, head);
                pos = 0;
                for (int i = 0; i < chunks.size(); i++) {
                    long at = chunkOffsets.get(i);
                    if (at > pos) {
                        writeFully(ch, ByteBuffer.wrap(zeros, 0, (int) (at - pos)));
                    }
                    MemorySegment c = chunks.get(i);
                    if (c.byteSize() > 0) {
                        writeFully(ch, c.asByteBuffer());
                    }
                    pos = at + c.byteSize();
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot atomically replace " + path + ": " + e.getMessage(), e);
            }
            done = true;
            syncDirectory(dir);
        } finally {
            if (!done) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /** Makes the rename durable where the platform allows opening a directory (Linux, macOS). */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Windows cannot open directories; the rename itself is still atomic there.
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static Map<String, Object> tensorHeader(String dtype, long[] shape, long begin, long end) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("dtype", dtype);
        List<Object> s = new ArrayList<>();
        for (long d : shape) {
            s.add(d);
        }
        t.put("shape", s);
        t.put("data_offsets", List.of(begin, end));
        return t;
    }

    static long align(long x) {
        return (x + ALIGN - 1) / ALIGN * ALIGN;
    }

    private static long checkedSize(String name, String dtype, long[] shape) {
        int es = dtypeSize(dtype);
        if (es < 0) {
            throw new IllegalArgumentException("tensor '" + name + "': unknown dtype " + dtype);
        }
        long n = es;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': negative dimension " + d);
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /**
     * Whether {@code path} starts like a Compresso model file (reads at most 8 + 64 bytes; never throws for a
     * short or unreadable file, which simply is not one).
     *
     * @param path a file
     * @return true if the header length is plausible and the header starts with the Compresso metadata
     */
    public static boolean looksLikeOne(Path path) {
        byte[] want = HEADER_PREFIX.getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(8 + want.length).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && ch.read(b) >= 0) {
                // keep reading until full or EOF
            }
            if (b.hasRemaining()) {
                return false;
            }
            b.flip();
            long len = b.getLong();
            if (len < want.length || len > MAX_HEADER) {
                return false;
            }
            byte[] got = new byte[want.length];
            b.get(got);
            return java.util.Arrays.equals(got, want);
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    /**
     * Whether a file that {@link #looksLikeOne} rejects was meant to be a Compresso model file: it names the
     * format near its start, or has a safetensors-like length prefix followed by JSON. Such a file is opened
     * as one so that its error says what is wrong with its header, not that it is malformed ONNX (an ONNX
     * file starts with a protobuf tag, never with a JSON object at byte 8).
     *
     * @param path the file
     * @return true if it looks like a damaged Compresso model file
     */
    public static boolean looksDamaged(Path path) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4096);
            while (b.hasRemaining() && ch.read(b) > 0) {
                // fill the prefix
            }
            byte[] head = java.util.Arrays.copyOf(b.array(), b.position());
            if (head.length >= 10 && head[8] == '{' && head[9] == '"') {
                return true;
            }
            return new String(head, StandardCharsets.ISO_8859_1).contains(FORMAT);
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    /**
     * Maps a container and validates its header: magic/format, version, every tensor's dtype, shape and
     * offsets (inside the data section, contiguous as safetensors requires, 64-byte aligned) and the file
     * length. The data checksum is not computed here; call {@link #verify()} for that.
     *
     * @param path the file
     * @return the mapped file
     * @throws IOException    if the file cannot be read
     * @throws ModelException if the file is not a Compresso model file, is truncated, has another version,
     *                        or has an inconsistent header (the message names the file and the tensor)
     */
    public static TensorFile open(Path path) throws IOException, ModelException {
        return open(path, java.lang.foreign.Arena.ofAuto());
    }

    /**
     * Maps a model file into {@code arena} and validates its header (see {@link #open(Path)}).
     *
     * @param path  the file
     * @param arena owns the mapping: closing it unmaps the file
     * @return the mapped file
     * @throws IOException    if the file cannot be read
     * @throws ModelException as {@link #open(Path)}
     */
    public static TensorFile open(Path path, java.lang.foreign.Arena arena) throws IOException, ModelException {
        if (!ByteOrder.nativeOrder().equals(ByteOrder.LITTLE_ENDIAN)) {
            throw new ModelException(path + ": Compresso model files are little-endian; this platform is big-endian");
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new ModelException(path + ": not a Compresso model file (" + size + " bytes, truncated)");
            }
            MemorySegment file = FileBytes.of(ch, size, path, arena);
            long headerLen = file.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLen < 2 || headerLen > MAX_HEADER) {
                throw new ModelException(path + ": header length " + headerLen + " is not plausible (forged or not a Compresso model file)");
            }
            if (8 + headerLen > size) {
                throw new ModelException(path + ": truncated: header of " + headerLen + " bytes but the file has " + size);
            }
            byte[] hb = file.asSlice(8, headerLen).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            String text = new String(hb, StandardCharsets.UTF_8);
            if (!text.startsWith(HEADER_PREFIX)) {
                throw new ModelException(path + ": damaged or not a Compresso model file (the header does not start with the "
                        + FORMAT + " metadata)");
            }
            Object parsed;
            try {
                parsed = Json.parse(text);
            } catch (JsonException e) {
                throw new ModelException(path + ": corrupted header: " + e.getMessage(), e);
            }
            if (!(parsed instanceof Map<?, ?> top) || !(top.get("__metadata__") instanceof Map<?, ?> rawMeta)) {
                throw new ModelException(path + ": corrupted header: no __metadata__ object");
            }
            Map<String, String> meta = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : rawMeta.entrySet()) {
                if (!(e.getValue() instanceof String s)) {
                    throw new ModelException(path + ": corrupted header: metadata '" + e.getKey() + "' is not a string");
                }
                meta.put((String) e.getKey(), s);
            }
            String version = meta.get("format_version");
            if (!Integer.toString(VERSION).equals(version)) {
                throw new ModelException(path + ": model file version " + version + " is not supported (this build reads version "
                        + VERSION + ")");
            }
            long dataStart = 8 + headerLen;
            if (dataStart % ALIGN != 0) {
                throw new ModelException(path + ": corrupted header: data section at " + dataStart + " is not " + ALIGN + "-byte aligned");
            }
            long dataBytes = parseLong(path, meta, "data_bytes");
            if (dataBytes < 0 || dataStart + dataBytes > size) {
                throw new ModelException(path + ": truncated: " + dataBytes + " data bytes declared, " + (size - dataStart) + " present");
            }
            Map<String, Entry> entries = new LinkedHashMap<>();
            long expect = 0;
            for (Map.Entry<?, ?> e : top.entrySet()) {
                String name = (String) e.getKey();
                if (name.equals("__metadata__")) {
                    continue;
                }
                Entry t = parseEntry(path, name, e.getValue(), file, dataStart, dataBytes);
                long begin = t.data().address() - file.address() - dataStart;
                if (begin != expect) {
                    throw new ModelException(path + ": tensor '" + name + "' starts at " + begin + ", expected " + expect
                            + " (data offsets must be contiguous)");
                }
                expect = begin + t.data().byteSize();
                if (!name.startsWith(PAD_PREFIX)) {
                    if (begin % ALIGN != 0) {
                        throw new ModelException(path + ": tensor '" + name + "' is not " + ALIGN + "-byte aligned");
                    }
                    entries.put(name, t);
                }
            }
            if (expect != dataBytes) {
                throw new ModelException(path + ": tensors cover " + expect + " data bytes, header declares " + dataBytes);
            }
            return new TensorFile(path, file, dataStart, Collections.unmodifiableMap(meta),
                    Collections.unmodifiableMap(entries));
        }
    }

    private static long parseLong(Path path, Map<String, String> meta, String key) throws ModelException {
        String v = meta.get(key);
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException | NullPointerException e) {
            throw new ModelException(path + ": corrupted header: metadata '" + key + "' = " + v);
        }
    }

    private static Entry parseEntry(Path path, String name, Object value, MemorySegment file, long dataStart, long dataBytes)
            throws ModelException {
        String where = path + ": tensor '" + name + "'";
        if (!(value instanceof Map<?, ?> m) || !(m.get("dtype") instanceof String dtype)
                || !(m.get("shape") instanceof List<?> shapeList) || !(m.get("data_offsets") instanceof List<?> offs)
                || offs.size() != 2 || !(offs.get(0) instanceof Long begin) || !(offs.get(1) instanceof Long end)) {
            throw new ModelException(where + ": corrupted header entry (needs dtype, shape, data_offsets)");
        }
        int es = dtypeSize(dtype);
        if (es < 0) {
            throw new ModelException(where + ": unknown dtype " + dtype);
        }
        long[] shape = new long[shapeList.size()];
        long bytes = es;
        for (int i = 0; i < shape.length; i++) {
            if (!(shapeList.get(i) instanceof Long d) || d < 0) {
                throw new ModelException(where + ": bad dimension " + shapeList.get(i));
            }
            shape[i] = d;
            try {
                bytes = Math.multiplyExact(bytes, d);
            } catch (ArithmeticException ex) {
                throw new ModelException(where + ": shape " + shapeList + " overflows");
            }
        }
        if (begin < 0 || end < begin || end > dataBytes) {
            throw new ModelException(where + ": data offsets [" + begin + ", " + end + ") outside the data section of "
                    + dataBytes + " bytes");
        }
        if (end - begin != bytes) {
            throw new ModelException(where + ": " + (end - begin) + " bytes stored, dtype " + dtype + " shape "
                    + shapeList + " needs " + bytes);
        }
        MemorySegment data = file.asSlice(dataStart + begin, bytes).asReadOnly();
        return new Entry(name, dtype, shape, data);
    }

    /**
     * Recomputes the CRC32C of the data section and compares it with the header's.
     *
     * @throws ModelException naming the file on a mismatch (the file was corrupted after it was written)
     */
    public void verify() throws ModelException {
        String want = metadata.get("data_crc32c");
        long dataBytes = Long.parseLong(metadata.get("data_bytes"));
        CRC32C crc = new CRC32C();
        // ByteBuffer views are limited to 2 GiB: feed the section in slices.
        for (long at = 0; at < dataBytes; at += 1L << 30) {
            long len = Math.min(1L << 30, dataBytes - at);
            crc.update(file.asSlice(dataStart + at, len).asByteBuffer());
        }
        String got = String.format("%08x", crc.getValue());
        if (!got.equals(want)) {
            throw new ModelException(path + ": checksum mismatch (CRC32C of the data section is " + got + ", header says "
                    + want + "): the file is corrupted");
        }
    }

    /** The file this was read from. */
    public Path path() {
        return path;
    }

    /** The string metadata (read-only). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The tensors by name, in file order, padding excluded (read-only). */
    public Map<String, Entry> entries() {
        return entries;
    }

    /**
     * A tensor by name.
     *
     * @throws ModelException naming the file and the tensor if it is absent
     */
    public Entry get(String name) throws ModelException {
        Entry e = entries.get(name);
        if (e == null) {
            throw new ModelException(path + ": tensor '" + name + "' is missing");
        }
        return e;
    }
}
