package dev.compresso.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class KernelsCommandTest {

    private record Result(int code, String out, String err) {}

    private static Result run(String... argv) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int code = Main.run(argv, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static final Pattern ROW = Pattern.compile(
            "\\{\"kernel\":\"[a-z0-9-]+\",\"m\":\\d+,\"n\":\\d+,\"k\":\\d+,\"sparsity\":[0-9.]+,\"threads\":\\d+,"
                    + "\"gflops\":[0-9.]+,\"ms\":[0-9.]+}");

    @Test
    void jsonLinesHaveTheContractFields() {
        Result r = run("kernels", "--quick", "--json", "--threads", "1", "--shapes", "2x17x9,1x16x8",
                "--kernels", "fp32,csr");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        // 2 shapes × (fp32 + csr at 2 quick sparsities), one thread count
        assertEquals(6, lines.size(), r.out());
        for (String l : lines) {
            assertTrue(ROW.matcher(l).matches(), l);
        }
        assertTrue(lines.get(0).startsWith("{\"kernel\":\"fp32\",\"m\":2,\"n\":17,\"k\":9,\"sparsity\":0,"), lines.get(0));
        assertTrue(lines.get(1).contains("\"kernel\":\"csr\"") && lines.get(1).contains("\"sparsity\":0.50"), lines.get(1));
    }

    @Test
    void textTableHasAHeaderAndOneRowPerCase() {
        Result r = run("kernels", "--quick", "--threads", "1", "--shapes", "3x5x7", "--kernels", "fp32");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(2, lines.size(), r.out());
        assertTrue(lines.get(0).startsWith("kernel") && lines.get(0).contains("gflops"), lines.get(0));
        assertTrue(lines.get(1).startsWith("fp32"), lines.get(1));
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertEquals(2, run("kernels", "--shapes", "12x0x3").code());
        assertEquals(2, run("kernels", "--shapes", "axbxc").code());
        assertEquals(2, run("kernels", "--kernels", "fp64").code());
        assertEquals(2, run("kernels", "--threads", "0").code());
        assertEquals(2, run("kernels", "--threads", "two").code());
        assertEquals(2, run("kernels", "--bogus", "1").code());
    }
}
