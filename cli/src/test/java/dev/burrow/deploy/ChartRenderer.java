package dev.burrow.deploy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Lints and renders the burrow-relay chart with helm-java (the native Helm library it bundles).
 *
 * <p>{@code helm template} runs in a child JVM because helm-java 0.0.21 renders with dry-run "none":
 * Helm's {@code lookup} then talks to whatever cluster the default kubeconfig names (on a laptop, a
 * real one). The child gets a kubeconfig that points at {@link FakeKubeApi} on loopback and its own
 * HOME and Helm directories, so rendering is hermetic. Lint does not talk to a cluster and runs here.
 *
 * <p>The child's class path is a private copy of {@link HelmTemplateMain} plus the helm-java and JNA
 * jars from the local repository, never {@code target/} directories: other builds in the same
 * checkout may recompile {@code cli/target/test-classes} while these tests run.
 */
final class ChartRenderer implements AutoCloseable {
    static final String RELEASE = "burrow-relay";
    static final String NAMESPACE = "edge";
    /** Bound on one render (the first one unpacks the native Helm library). */
    private static final long RENDER_TIMEOUT_SECONDS = 180;

    private static final ObjectMapper YAML = new YAMLMapper();

    private final Path work;
    private final FakeKubeApi api = new FakeKubeApi();
    private final Path kubeconfig;
    private final String childClassPath;
    private final AtomicInteger renders = new AtomicInteger();
    private final String chart;
    private final String release;

    ChartRenderer(Path work) {
        this(work, "burrow-relay", RELEASE);
    }

    /** Renders deploy/helm/{@code chart} as release {@code release}. */
    ChartRenderer(Path work, String chart, String release) {
        this.chart = chart;
        this.release = release;
        this.work = work;
        try {
            this.kubeconfig = api.writeKubeconfig(work);
            Files.createDirectories(work.resolve("home"));
            this.childClassPath = childClassPath(work.resolve("child-classes"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String childClassPath(Path classes) throws IOException {
        String mainResource = HelmTemplateMain.class.getName().replace('.', '/') + ".class";
        Path mainCopy = classes.resolve(mainResource);
        Files.createDirectories(mainCopy.getParent());
        try (InputStream in = ChartRenderer.class.getClassLoader().getResourceAsStream(mainResource)) {
            if (in == null) {
                throw new IllegalStateException(mainResource + " not on the class path");
            }
            Files.copy(in, mainCopy, StandardCopyOption.REPLACE_EXISTING);
        }
        Set<Path> path = new LinkedHashSet<>();
        path.add(classes);
        ClassLoader loader = ChartRenderer.class.getClassLoader();
        for (String resource : List.of(
                "com/marcnuri/helm/Helm.class",
                "com/marcnuri/helm/jni/HelmLib.class",
                "com/sun/jna/Native.class",
                "com/sun/jna/platform/FileUtils.class")) {
            URL url = loader.getResource(resource);
            if (url == null) {
                throw new IllegalStateException(resource + " not on the class path");
            }
            path.add(jarOf(url));
        }
        // The platform jar(s) with the native Helm library.
        for (URL url : Collections.list(loader.getResources("META-INF/native-libraries.properties"))) {
            path.add(jarOf(url));
        }
        return String.join(File.pathSeparator, path.stream().map(Path::toString).toList());
    }

    private static Path jarOf(URL url) {
        String s = url.toString();
        if (!s.startsWith("jar:file:") || !s.contains("!/")) {
            throw new IllegalStateException("expected a resource inside a jar: " + s);
        }
        return Path.of(URI.create(s.substring(4, s.indexOf("!/"))));
    }

    FakeKubeApi api() {
        return api;
    }

    /** The chart directory, found from the module directory Maven runs tests in (or the root). */
    static Path chartDir() {
        return chartDir("burrow-relay");
    }

    static Path chartDir(String name) {
        Path dir = Path.of("").toAbsolutePath();
        for (int i = 0; i < 4 && dir != null; i++, dir = dir.getParent()) {
            Path chart = dir.resolve("deploy/helm/" + name);
            if (Files.isRegularFile(chart.resolve("Chart.yaml"))) {
                return chart;
            }
        }
        throw new IllegalStateException(
                "deploy/helm/" + name + " not found above " + Path.of("").toAbsolutePath());
    }

    static LintResult lintStrict(String name) {
        return new Helm(chartDir(name)).lint().strict().call();
    }

    static Path repoRoot() {
        return chartDir().getParent().getParent().getParent();
    }

    static LintResult lintStrict() {
        return new Helm(chartDir()).lint().strict().call();
    }

    /** Renders with the chart's defaults overridden by {@code values} (nested maps, see {@link #values}). */
    Manifests render(Map<String, Object> values) {
        int n = renders.incrementAndGet();
        Path file = null;
        if (!values.isEmpty()) {
            file = work.resolve("values-" + n + ".yaml");
            try {
                YAML.writeValue(file.toFile(), values);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return render(file, n);
    }

    /** Renders with the chart's defaults overridden by a values file (null for none). */
    Manifests render(Path valuesFile) {
        return render(valuesFile, renders.incrementAndGet());
    }

    private Manifests render(Path valuesFile, int n) {
        try {
            String valuesArg = valuesFile == null ? "-" : valuesFile.toString();
            Path out = work.resolve("render-" + n + ".out");
            Path err = work.resolve("render-" + n + ".err");
            String java =
                    Path.of(System.getProperty("java.home"), "bin", "java").toString();
            ProcessBuilder pb = new ProcessBuilder(
                            java,
                            "--enable-native-access=ALL-UNNAMED",
                            "-cp",
                            childClassPath,
                            HelmTemplateMain.class.getName(),
                            chartDir(chart).toString(),
                            release,
                            NAMESPACE,
                            valuesArg)
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile());
            Map<String, String> env = pb.environment();
            env.keySet().removeIf(k -> k.startsWith("HELM_") || k.startsWith("KUBERNETES_"));
            env.put("KUBECONFIG", kubeconfig.toString());
            env.put("HOME", work.resolve("home").toString());
            env.put("HELM_CACHE_HOME", work.resolve("home/cache").toString());
            env.put("HELM_CONFIG_HOME", work.resolve("home/config").toString());
            env.put("HELM_DATA_HOME", work.resolve("home/data").toString());
            Process process = pb.start();
            if (!process.waitFor(RENDER_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                throw new IllegalStateException("helm template did not finish in " + RENDER_TIMEOUT_SECONDS + " s");
            }
            String stdout = Files.readString(out, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new RenderException(Files.readString(err, StandardCharsets.UTF_8));
            }
            return Manifests.parse(stdout);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    Manifests render() {
        return render(Map.of());
    }

    /** Nested values from dotted keys: values("relay.port", 9443, "replicaCount", 3). */
    static Map<String, Object> values(Object... keysAndValues) {
        if (keysAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("keys and values come in pairs");
        }
        Map<String, Object> root = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            String[] path = ((String) keysAndValues[i]).split("\\.");
            Map<String, Object> node = root;
            for (int j = 0; j < path.length - 1; j++) {
                @SuppressWarnings("unchecked")
                Map<String, Object> child =
                        (Map<String, Object>) node.computeIfAbsent(path[j], k -> new LinkedHashMap<>());
                node = child;
            }
            node.put(path[path.length - 1], keysAndValues[i + 1]);
        }
        return root;
    }

    @Override
    public void close() {
        api.close();
    }

    /** helm template failed; the message is Helm's. */
    static final class RenderException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RenderException(String message) {
            super(message);
        }
    }
}
