package dev.burrow.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.library.freeze.FreezingArchRule;
import com.tngtech.archunit.library.freeze.ViolationLineMatcher;
import dev.burrow.relay.server.RelayServer;
import java.util.List;

/**
 * The module layout of CONTRIBUTING.md as tests, over the main classes of every module (this module,
 * {@code cli}, sees them all): a wrong import fails the build with the rule it breaks.
 */
@AnalyzeClasses(packages = "dev.burrow", importOptions = LayoutRulesTest.MainClassesOnly.class)
class LayoutRulesTest {
    private static final String STUN = "dev.burrow.stun..";
    private static final String[] RELAY_PROTOCOL = {
        "dev.burrow.protocol..", "dev.burrow.identity..", "dev.burrow.transport.."
    };
    private static final String RELAY_SERVER = "dev.burrow.relay..";
    private static final String RELAY_CLIENT = "dev.burrow.agent..";
    private static final String CLI = "dev.burrow.cli..";

    @ArchTest
    static final ArchRule stunImportsNothingOfOurs = noClasses()
            .that()
            .resideInAPackage(STUN)
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(concat(RELAY_PROTOCOL, RELAY_SERVER, RELAY_CLIENT, CLI))
            .because("stun/ is a standalone RFC 8489 library: it depends on nothing of ours, so the relay, the agent "
                    + "and anyone else can embed it (CONTRIBUTING.md, Modules)");

    @ArchTest
    static final ArchRule relayProtocolImportsOnlyItself = noClasses()
            .that()
            .resideInAnyPackage(RELAY_PROTOCOL)
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(STUN, RELAY_SERVER, RELAY_CLIENT, CLI)
            .because("relay-protocol/ holds the wire formats and identity both ends share: it depends on no other "
                    + "module of ours, so the relay and the agent can each use it without the other");

    @ArchTest
    static final ArchRule relayServerNeverImportsTheAgent = noClasses()
            .that()
            .resideInAPackage(RELAY_SERVER)
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(RELAY_CLIENT, CLI)
            .because("relay-server/ and relay-client/ never depend on each other: what both need belongs in "
                    + "relay-protocol/, and tests that need both live in cli/ or bench/");

    @ArchTest
    static final ArchRule agentNeverImportsTheRelay = noClasses()
            .that()
            .resideInAPackage(RELAY_CLIENT)
            .should()
            .dependOnClassesThat()
            .resideInAnyPackage(RELAY_SERVER, CLI)
            .because("relay-client/ and relay-server/ never depend on each other: what both need belongs in "
                    + "relay-protocol/, and tests that need both live in cli/ or bench/");

    @ArchTest
    static final ArchRule relayPartsNeverReachBackToTheServer = noClasses()
            .that()
            .resideInAPackage(RELAY_SERVER)
            .and()
            .doNotBelongToAnyOf(RelayServer.class)
            .should()
            .dependOnClassesThat()
            .haveFullyQualifiedName("dev.burrow.relay.server.RelayServer")
            .because("RelayServer builds the relay's parts (through RelayContext.Builder) and starts them: a part that "
                    + "imported it would close a circle; shared constants live in RelayDefaults");

    @ArchTest
    static final ArchRule relayReachesTheMeshThroughRelayMesh = noClasses()
            .that()
            .resideInAPackage("dev.burrow.relay.server..")
            .and()
            .doNotBelongToAnyOf(RelayServer.class)
            .should()
            .dependOnClassesThat()
            .resideInAPackage("dev.burrow.relay.mesh..")
            .because("the mesh is built last, from the finished RelayContext; the parts built before it reach it "
                    + "through the RelayMesh interface, and only RelayServer, which creates it, names MeshManager");

    @ArchTest
    static final ArchRule noCyclesBetweenModules = slices().matching("dev.burrow.(*)..")
            .should()
            .beFreeOfCycles()
            .because("the top-level packages (stun, protocol, identity, transport, relay, agent, cli) form a "
                    + "hierarchy: a cycle between two of them would tie modules together that must stay apart");

    /**
     * Frozen: the cycles between packages that existed when the rule came (22, most through a module's
     * root package, such as {@code relay.server}'s {@code RelayConfig} that every sub-package reads)
     * are recorded in {@code src/test/resources/archunit_store}; a new cycle fails, and a cycle that is
     * broken leaves the store (commit the smaller store). A cycle is known by its packages only
     * ({@link SameCycle}), so new calls along a known cycle do not fail the build; new cycles do.
     */
    @ArchTest
    static final ArchRule noNewCyclesBetweenPackages = FreezingArchRule.freeze(slices().matching("dev.burrow.(**)")
                    .should()
                    .beFreeOfCycles()
                    .because(
                            "a package is an architectural box (CONTRIBUTING.md): boxes call each other in one direction, "
                                    + "and a part that must call back into an earlier one does so through a small interface "
                                    + "that the earlier box owns"))
            .associateViolationLinesVia(new SameCycle());

    /** Two cycle violations are the same when they pass through the same packages in the same order. */
    static final class SameCycle implements ViolationLineMatcher {
        @Override
        public boolean matches(String stored, String actual) {
            return packages(stored).equals(packages(actual));
        }

        private static List<String> packages(String violation) {
            return violation
                    .lines()
                    .map(String::strip)
                    .map(l -> l.endsWith("\\") ? l.substring(0, l.length() - 1).strip() : l)
                    .filter(l -> l.startsWith("Cycle detected:") || l.startsWith("Slice "))
                    .toList();
        }
    }

    /** The rules above pass vacuously for a module whose classes are missing: every module must be here. */
    @ArchTest
    static void everyModuleIsImported(JavaClasses classes) {
        for (String pkg : List.of(
                "dev.burrow.stun",
                "dev.burrow.protocol",
                "dev.burrow.identity",
                "dev.burrow.transport",
                "dev.burrow.relay",
                "dev.burrow.agent",
                "dev.burrow.cli")) {
            if (!classes.containPackage(pkg)) {
                throw new AssertionError("no main classes of " + pkg + " on the test classpath: the layout rules would "
                        + "pass without checking them");
            }
        }
    }

    private static String[] concat(String[] first, String... rest) {
        String[] all = new String[first.length + rest.length];
        System.arraycopy(first, 0, all, 0, first.length);
        System.arraycopy(rest, 0, all, first.length, rest.length);
        return all;
    }

    /** Main classes only: no test classes, neither from test-classes directories nor from test jars. */
    static final class MainClassesOnly implements ImportOption {
        private static final ImportOption NO_TESTS = new ImportOption.DoNotIncludeTests();

        @Override
        public boolean includes(Location location) {
            return NO_TESTS.includes(location)
                    && !location.contains("-tests.jar")
                    && !location.contains("/test-classes/");
        }
    }
}
