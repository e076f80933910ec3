package dev.burrow.cli.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.burrow.agent.api.ControlApi;
import dev.burrow.agent.api.ControlApiClient;
import dev.burrow.agent.caller.Caller;
import dev.burrow.agent.caller.WhoisTable;
import dev.burrow.cli.common.OutputFormat;
import dev.burrow.cli.common.UsageException;
import dev.burrow.identity.StateDirs;
import java.io.IOException;
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
@Command(
        name = "whois",
        mixinStandardHelpOptions = true,
        description =
                "Show the verified peer (node ID, name, tags, service) behind a connection the running agent opened to an "
                        + "exposed service, given the client address the service sees.",
        footer = {"", "Example:", "  burrow whois 127.0.0.1:54321 -o json"},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:The caller was found.",
            "1:The agent has no open connection from that address.",
            "2:Bad usage (the address is not IP:PORT, or -o is not text or json).",
            "3:No agent runs on this state directory (or it does not answer)."
        })
public final class WhoisCommand implements Callable<Integer> {
    /** Exit code: the agent answered, and made no open connection from that address. */
    public static final int NO_SUCH_CONNECTION = 1;
    /** Exit code: no agent to ask (not running on this state directory, or not answering). */
    public static final int NO_AGENT = 3;

    @Spec
    CommandSpec spec;

    @Parameters(
            index = "0",
            paramLabel = "HOST:PORT",
            description = "The connection's client address as the service sees it.")
    String address;

    @Option(
            names = "--state",
            paramLabel = "DIR",
            description = "State directory of the agent. Default: $" + StateDirs.ENV + ", else ~/"
                    + StateDirs.HOME_DIR_NAME + ".")
    Path state;

    @Option(
            names = {"-o", "--output"},
            paramLabel = "FORMAT",
            defaultValue = "text",
            description = "text or json.")
    String output;

    @Override
    public Integer call() throws Exception {
        boolean json = OutputFormat.parse(output) == OutputFormat.JSON;
        try {
            WhoisTable.parseAddress(address);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        Optional<Caller> c;
        try {
            ControlApiClient api = ControlApiClient.forStateDir(StateDirs.resolve(state));
            try {
                c = api.whois(address);
            } catch (IOException e) {
                if (String.valueOf(e.getMessage()).contains("does not answer")) {
                    throw e;
                }
                throw new UsageException(address + ": " + e.getMessage()); // the agent refused the address itself
            }
        } catch (IOException e) {
            if (json) {
                out.println(mapper.writeValueAsString(
                        Map.of("error", "no_agent", "message", String.valueOf(e.getMessage()))));
                out.flush();
            }
            spec.commandLine()
                    .getErr()
                    .println("burrow: " + e.getMessage() + " (start one, or pass --state DIR of the running agent)");
            return NO_AGENT;
        }
        if (c.isEmpty()) {
            if (json) {
                out.println(mapper.writeValueAsString(Map.of("error", ControlApi.NO_SUCH_CONNECTION, "addr", address)));
            } else {
                spec.commandLine()
                        .getErr()
                        .println(ControlApi.NO_SUCH_CONNECTION + ": the agent made no open connection from " + address);
            }
            out.flush();
            return NO_SUCH_CONNECTION;
        }
        Caller who = c.get();
        if (json) {
            out.println(mapper.writeValueAsString(who));
        } else {
            out.println("connection " + who.local() + " -> " + who.target());
            out.println("node      " + who.nodeId());
            out.println("name      " + (who.name() == null ? "-" : who.name())
                    + (who.caIssued() ? "" : "  (no fleet CA: self-signed key only)"));
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
