package dev.burrow.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
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
     * No cycle between any two packages, at any depth: each module's root package holds the
     * composition (such as {@code relay.server.RelayServer}, {@code cli.BurrowCommand}) and its parts
     * sit below it; what several parts share lives in a package of its own ({@code relay.server.config},
     * {@code cli.common}); a part that reports back up does so through a small interface it owns
     * ({@code identity.PeerVerificationRecorder}, {@code identity.enrol.EnrolmentRecorder}).
     */
    @ArchTest
    static final ArchRule noCyclesBetweenPackages = slices().matching("dev.burrow.(**)")
            .should()
            .beFreeOfCycles()
            .because("a package is an architectural box (CONTRIBUTING.md): boxes call each other in one direction, "
                    + "and a part that must call back into an earlier one does so through a small interface "
                    + "that the earlier box owns");
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
