package dev.burrow.cli.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.burrow.agent.api.ControlApi;
import dev.burrow.agent.api.ControlApiClient;
import dev.burrow.agent.caller.Caller;
import dev.burrow.cli.UsageException;
import dev.burrow.identity.StateDirs;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code burrow whois 127.0.0.1:54321}: who is behind a connection the agent made to an exposed
 * service. The address is the client address the service sees (its accept() peer, or
 * {@code $remote_addr:$remote_port} in nginx).
 */
@Command(name = "whois", mixinStandardHelpOptions = true,
        description = "Show the verified peer (node ID, name, tags, service) behind a connection the running agent opened to an "
                + "exposed service, given the client address the service sees. Exit 1 when there is no such connection.",
        footer = {"", "Example:", "  burrow whois 127.0.0.1:54321 -o json"})
public final class WhoisCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "HOST:PORT", description = "The connection's client address as the service sees it.")
    String address;

    @Option(names = "--state", paramLabel = "DIR", description = "State directory of the agent. Default: $" + StateDirs.ENV
            + ", else ~/" + StateDirs.HOME_DIR_NAME + ".")
    Path state;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "text", description = "text or json.")
    String output;

    @Override
    public Integer call() throws Exception {
        boolean json = "json".equalsIgnoreCase(output);
        if (!json && !"text".equalsIgnoreCase(output) && !"table".equalsIgnoreCase(output)) {
            throw new UsageException("--output: text or json");
        }
        try {
            dev.burrow.agent.caller.WhoisTable.parseAddress(address);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Optional<Caller> c = ControlApiClient.forStateDir(StateDirs.resolve(state)).whois(address);
        PrintWriter out = spec.commandLine().getOut();
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        if (c.isEmpty()) {
            if (json) {
                out.println(mapper.writeValueAsString(Map.of("error", ControlApi.NO_SUCH_CONNECTION, "addr", address)));
            } else {
                spec.commandLine().getErr().println(ControlApi.NO_SUCH_CONNECTION + ": the agent made no open connection from "
                        + address);
            }
            out.flush();
            return 1;
        }
        Caller who = c.get();
        if (json) {
            out.println(mapper.writeValueAsString(who));
        } else {
            out.println("connection " + who.local() + " -> " + who.target());
            out.println("node      " + who.nodeId());
            out.println("name      " + (who.name() == null ? "-" : who.name()) + (who.caIssued() ? "" : "  (no fleet CA: self-signed key only)"));
            out.println("tags      " + (who.tags().isEmpty() ? "-" : String.join(",", who.tags())));
            out.println("service   " + who.service());
            out.println("path      " + who.path());
            out.println("mapped    " + who.mappedAddress() + "  (source address in PROXY v2 headers)");
            out.println("since     " + who.since());
        }
        out.flush();
        return 0;
    }
}
