package dev.burrow.identity;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where a node keeps its state (identity key and certificate) unless told otherwise: {@code
 * $BURROW_STATE}, else {@code ~/.burrow}. Every command resolves the default here so they agree.
 */
public final class StateDirs {
    /** Environment variable naming the state directory. */
    public static final String ENV = "BURROW_STATE";
    /** Directory under the user's home used when {@value #ENV} is not set. */
    public static final String HOME_DIR_NAME = ".burrow";

    private StateDirs() {}

    /** The default state directory for this process. */
    public static Path defaultStateDir() {
        return defaultStateDir(System.getenv(), System.getProperty("user.home"));
    }

    /** The default state directory given an environment and a home directory (testable). */
    public static Path defaultStateDir(Map<String, String> env, String userHome) {
        String fromEnv = env.get(ENV);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Path.of(fromEnv.strip());
        }
        return Path.of(userHome == null ? "." : userHome, HOME_DIR_NAME);
    }

    /** Name of the fleet CA directory inside the state directory, used when no CA directory is given. */
    public static final String CA_DIR_NAME = "ca";

    /** The default fleet CA directory: {@code <default state dir>/ca}. */
    public static Path defaultCaDir() {
        return defaultStateDir().resolve(CA_DIR_NAME);
    }

    /** {@code dir} when given, else the default. */
    public static Path resolve(Path dirOrNull) {
        return dirOrNull != null ? dirOrNull : defaultStateDir();
    }
}
