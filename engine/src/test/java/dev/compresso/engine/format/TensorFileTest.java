package dev.compresso.engine.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.compresso.engine.ModelException;
import dev.compresso.engine.weights.BsrMatrix;
import dev.compresso.engine.weights.CsrMatrix;
import dev.compresso.engine.weights.Fp16Panels;
import dev.compresso.engine.weights.Fp32Panels;
import dev.compresso.engine.weights.Int8Panels;
import dev.compresso.engine.weights.PackedWeights;
import dev.compresso.engine.weights.Panels;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TensorFileTest {
    @TempDir
    Path dir;

    static float[] random(int len, long seed) {
        Random r = new Random(seed);
        float[] w = new float[len];
        for (int i = 0; i < len; i++) {
            w[i] = r.nextFloat() - 0.5f;
            if (i % 3 == 0) {
                w[i] = 0f; // some sparsity for CSR
            }
        }
        return w;
    }

    static MemorySegment floats(float... v) {
        MemorySegment s = Panels.allocate(v.length * 4L);
        MemorySegment.copy(v, 0, s, ValueLayout.JAVA_FLOAT, 0, v.length);
        return s;
    }

    private Path sample() throws IOException {
        Path p = dir.resolve("m.bin");
        TensorFile.write(p, Map.of("note", "hello"), List.of(
                new TensorFile.Entry("a", "F32", new long[] {3}, floats(1, 2, 3)),
                new TensorFile.Entry("b", "F32", new long[] {2, 2}, floats(4, 5, 6, 7))));
        return p;
    }

    @Test
    void roundTripIsAlignedAndMapped() throws Exception {
        Path p = sample();
        assertTrue(TensorFile.looksLikeOne(p));
        TensorFile f = TensorFile.open(p);
        f.verify();
        assertEquals("hello", f.metadata().get("note"));
        assertEquals(List.of("a", "b"), new ArrayList<>(f.entries().keySet()));
        TensorFile.Entry b = f.get("b");
        assertArrayEquals(new long[] {2, 2}, b.shape());
        assertArrayEquals(new float[] {4, 5, 6, 7}, b.data().toArray(ValueLayout.JAVA_FLOAT));
        assertEquals(0, b.data().address() % TensorFile.ALIGN, "tensor data is 64-byte aligned in memory");
        assertTrue(b.data().isReadOnly());
        assertTrue(b.data().isMapped());
        // header length: data section starts aligned
        byte[] all = Files.readAllBytes(p);
        long hl = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + hl) % 64);
        // no temporary files are left behind
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count());
        }
    }

    @Test
    void overwriteReplacesAtomically() throws Exception {
        Path p = sample();
        TensorFile.write(p, Map.of(), List.of(new TensorFile.Entry("z", "F32", new long[] {1}, floats(9))));
        assertEquals(List.of("z"), new ArrayList<>(TensorFile.open(p).entries().keySet()));
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count());
        }
    }

    @Test
    void failedWriteLeavesOldFileAndNoTemporary() throws Exception {
        Path p = sample();
        byte[] before = Files.readAllBytes(p);
        assertThrows(IllegalArgumentException.class, () -> TensorFile.write(p, Map.of(),
                List.of(new TensorFile.Entry("x", "F32", new long[] {5}, floats(1)))));
        assertArrayEquals(before, Files.readAllBytes(p));
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count());
        }
    }

    @Test
    void everyPackedTypeRoundTripsByteForByte() throws Exception {
        int n = 17, k = 13;
        float[] w = random(n * k, 1);
        byte[] q = new byte[n * k];
        float[] sc = new float[n];
        for (int i = 0; i < q.length; i++) q[i] = (byte) (i * 7 - 100);
        for (int i = 0; i < n; i++) sc[i] = 0.01f * (i + 1);
        List<PackedWeights> ws = List.of(Fp32Panels.pack(w, n, k), Fp16Panels.pack(w, n, k), Int8Panels.pack(q, sc, n, k),
                CsrMatrix.fromDense(w, n, k, CsrMatrix.ValueType.FP32), CsrMatrix.fromDense(w, n, k, CsrMatrix.ValueType.FP16),
                CsrMatrix.fromDense(w, n, k, CsrMatrix.ValueType.INT8), BsrMatrix.fromDense(w, n, k));
        List<TensorFile.Entry> es = new ArrayList<>();
        for (int i = 0; i < ws.size(); i++) {
            es.addAll(PackedCodec.entries("w" + i, ws.get(i)));
        }
        Path p = dir.resolve("packed");
        TensorFile.write(p, Map.of(), es);
        TensorFile f = TensorFile.open(p);
        f.verify();
        for (int i = 0; i < ws.size(); i++) {
            PackedWeights orig = ws.get(i);
            PackedWeights back = PackedCodec.read(f, "w" + i, orig.format(), n, k);
            assertEquals(orig.getClass(), back.getClass());
            assertEquals(orig.parts().size(), back.parts().size());
            for (int j = 0; j < orig.parts().size(); j++) {
                assertEquals(-1, orig.parts().get(j).data().mismatch(back.parts().get(j).data()), orig.format());
            }
            assertArrayEquals(orig.toDense(), back.toDense());
        }
        ModelException e = assertThrows(ModelException.class, () -> PackedCodec.read(f, "w0", "fp32-panels", n, k + 1));
        assertTrue(e.getMessage().contains("w0"), e.getMessage());
        assertThrows(ModelException.class, () -> PackedCodec.read(f, "w0", "int4-panels", n, k));
        assertThrows(ModelException.class, () -> PackedCodec.read(f, "w0", "fp16-panels", n, k)); // dtype F32 ≠ F16
    }

    // ---- damaged files: every one is a ModelException naming the file (and the tensor where there is one)

    /** Builds a file from a raw header (padded to alignment) and data bytes. */
    private Path craft(String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        int hl = (int) (TensorFile.align(8 + h.length) - 8);
        ByteBuffer b = ByteBuffer.allocate(8 + hl + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(hl).put(h);
        while (b.position() < 8 + hl) b.put((byte) ' ');
        b.put(data);
        Path p = dir.resolve("crafted" + System.nanoTime());
        Files.write(p, b.array());
        return p;
    }

    private static String header(String version, String tensors, long dataBytes) {
        return "{\"__metadata__\":{\"format\":\"compresso-model\",\"format_version\":\"" + version + "\",\"data_bytes\":\""
                + dataBytes + "\",\"data_crc32c\":\"00000000\"}" + tensors + "}";
    }

    private ModelException fails(Path p) {
        ModelException e = assertThrows(ModelException.class, () -> TensorFile.open(p));
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        return e;
    }

    @Test
    void truncatedFiles() throws Exception {
        Path p = sample();
        byte[] all = Files.readAllBytes(p);
        for (int len : new int[] {0, 5, 8, 40, all.length - 1}) {
            Path t = dir.resolve("t" + len);
            Files.write(t, java.util.Arrays.copyOf(all, len));
            ModelException e = fails(t);
            if (len == all.length - 1) {
                assertTrue(e.getMessage().contains("truncated"), e.getMessage());
            }
        }
    }

    @Test
    void badChecksumIsCaughtByVerify() throws Exception {
        Path p = sample();
        byte[] all = Files.readAllBytes(p);
        all[all.length - 2] ^= 1;
        Files.write(p, all);
        TensorFile f = TensorFile.open(p); // structure is intact
        ModelException e = assertThrows(ModelException.class, f::verify);
        assertTrue(e.getMessage().contains("checksum") && e.getMessage().contains(p.toString()), e.getMessage());
    }

    @Test
    void wrongVersion() throws Exception {
        ModelException e = fails(craft(header("2", "", 0), new byte[0]));
        assertTrue(e.getMessage().contains("version 2"), e.getMessage());
    }

    @Test
    void corruptedHeaderJson() throws Exception {
        fails(craft(header("1", ",\"a\":{\"dtype\":\"F32\",", 0), new byte[0]));
        fails(craft("{\"__metadata__\":{\"format\":\"compresso-model\"", new byte[0]));
    }

    @Test
    void notACompressoFile() throws Exception {
        Path p = dir.resolve("onnx");
        Files.write(p, new byte[] {0x08, 0x07, 0x12, 0x07, 'p', 'y', 't', 'o', 'r', 'c', 'h', 0, 0, 0, 0, 0, 0, 0, 0});
        assertFalse(TensorFile.looksLikeOne(p));
        fails(p);
        Path s = craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]); // plain safetensors
        assertFalse(TensorFile.looksLikeOne(s));
        fails(s);
    }

    @Test
    void forgedSizes() throws Exception {
        // header length far beyond the file
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE - 3).putLong(0);
        Path p = dir.resolve("huge");
        Files.write(p, b.array());
        fails(p);
        // a tensor claiming more bytes than the data section
        ModelException e = fails(craft(header("1", ",\"w\":{\"dtype\":\"F32\",\"shape\":[1000000000],\"data_offsets\":[0,4000000000]}", 64),
                new byte[64]));
        assertTrue(e.getMessage().contains("'w'"), e.getMessage());
        // shape and offsets disagree
        e = fails(craft(header("1", ",\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}", 16), new byte[16]));
        assertTrue(e.getMessage().contains("'w'"), e.getMessage());
        // shape product overflows long
        e = fails(craft(header("1", ",\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,16]}", 16),
                new byte[16]));
        assertTrue(e.getMessage().contains("'w'"), e.getMessage());
        // declared data section larger than the file
        fails(craft(header("1", "", 1L << 40), new byte[0]));
        // negative dimension, unknown dtype, overlapping tensors
        fails(craft(header("1", ",\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}", 64), new byte[64]));
        fails(craft(header("1", ",\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}", 64), new byte[64]));
        fails(craft(header("1", ",\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4), new byte[4]));
    }

    @Test
    void missingTensorIsNamed() throws Exception {
        TensorFile f = TensorFile.open(sample());
        ModelException e = assertThrows(ModelException.class, () -> f.get("nope"));
        assertTrue(e.getMessage().contains("'nope'"));
    }
}
