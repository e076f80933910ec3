package dev.burrow.deploy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import java.nio.file.Path;

/**
 * Runs {@code helm template} through helm-java in a child JVM (see {@link ChartRenderer} for why)
 * and prints the manifests on standard output.
 *
 * <p>Arguments: chart directory, release name, namespace, values file (or "-" for none).
 */
public final class HelmTemplateMain {
    private HelmTemplateMain() {}

    public static void main(String[] args) {
        try {
            TemplateCommand template =
                    new Helm(Path.of(args[0])).template().withName(args[1]).withNamespace(args[2]);
            if (!args[3].equals("-")) {
                template = template.withValuesFile(Path.of(args[3]));
            }
            System.out.print(template.call());
            System.out.flush();
        } catch (RuntimeException e) {
            System.err.println("helm template failed: " + e.getMessage());
            System.exit(2);
        }
    }
}
