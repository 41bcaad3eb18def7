package dev.compresso.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.module.ModuleDescriptor;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The tests run on the module path, and the engine exports what a user needs and no more. */
class ModuleTest {
    @Test
    void testsRunInTheNamedModule() {
        assertEquals("dev.compresso.engine", Tensor.class.getModule().getName());
        assertEquals(Tensor.class.getModule(), ModuleTest.class.getModule());
    }

    @Test
    void exportsOnlyTheApi() {
        ModuleDescriptor d = Tensor.class.getModule().getDescriptor();
        Set<String> open = d.exports().stream().filter(e -> !e.isQualified()).map(ModuleDescriptor.Exports::source)
                .collect(Collectors.toSet());
        assertEquals(Set.of("dev.compresso.engine", "dev.compresso.engine.graph", "dev.compresso.engine.weights",
                "dev.compresso.engine.kernel", "dev.compresso.engine.text"), open);
        for (ModuleDescriptor.Exports e : d.exports()) {
            if (e.isQualified()) {
                assertTrue(e.targets().stream().allMatch(t -> t.startsWith("dev.compresso.")), e.toString());
            }
        }
        assertFalse(d.exports().stream().anyMatch(e -> e.source().startsWith("dev.compresso.engine.runtime")));
    }

}
