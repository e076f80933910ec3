package dev.burrow.stun.probe;

import dev.burrow.stun.client.BindingRequest;
import dev.burrow.stun.client.BindingResult;
import dev.burrow.stun.client.RetransmissionPolicy;
import dev.burrow.stun.client.StunClient;
import dev.burrow.stun.client.StunErrorResponseException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * NAT behaviour discovery from one local socket (RFC 5780 §4). Sends a Binding request to every
 * server given; when one of them is an RFC 5780 server (it returns OTHER-ADDRESS) it also runs
 * the mapping tests against the server's alternate addresses and the two filtering tests with
 * CHANGE-REQUEST (the filtering tests run before anything is sent to the alternate addresses,
 * so that the NAT's filter has not been opened towards them). Blocking: call it from an ordinary thread, never from an event loop.
 */
public final class NatProbe {
    private final StunClient client;
    private final RetransmissionPolicy policy;

    public NatProbe(StunClient client, RetransmissionPolicy policy) {
        this.client = client;
        this.policy = policy;
    }

    public NatProbeReport run(List<InetSocketAddress> servers) throws InterruptedException {
        List<ServerObservation> observations = new ArrayList<>();
        List<CompletableFuture<BindingResult>> first = new ArrayList<>();
        for (InetSocketAddress s : servers) {
            first.add(client.send(BindingRequest.to(s).withPolicy(policy)));
        }
        BindingResult rfc5780 = null;
        for (int i = 0; i < servers.size(); i++) {
            Outcome o = await(first.get(i));
            observations.add(o.observation("binding", servers.get(i)));
            if (rfc5780 == null && o.result != null && o.result.otherAddress() != null) {
                rfc5780 = o.result;
            }
        }
        Boolean otherIpAndPort = null;
        Boolean otherPort = null;
        if (rfc5780 != null) {
            InetSocketAddress primary = rfc5780.server();
            InetSocketAddress other = rfc5780.otherAddress();
            InetSocketAddress altIpPrimaryPort = new InetSocketAddress(other.getAddress(), primary.getPort());
            // Filtering tests II and III (RFC 5780 §4.4) first: the answers come from addresses this
            // socket has never sent to. Running the mapping tests first would open the NAT's filter
            // towards the alternate addresses and make any filtering look endpoint-independent.
            Outcome ipAndPort = await(client.send(
                    BindingRequest.to(primary).withChange(true, true, other).withPolicy(policy)));
            observations.add(ipAndPort.observation("filtering: change IP and port", primary));
            otherIpAndPort = ipAndPort.answered();
            if (!otherIpAndPort && !ipAndPort.serverRefused()) {
                InetSocketAddress portOnly = new InetSocketAddress(primary.getAddress(), other.getPort());
                Outcome port = await(client.send(BindingRequest.to(primary)
                        .withChange(false, true, portOnly)
                        .withPolicy(policy)));
                observations.add(port.observation("filtering: change port", primary));
                otherPort = port.serverRefused() ? null : port.answered();
            }
            if (ipAndPort.serverRefused()) {
                otherIpAndPort = null; // the server would not change: nothing learned about filtering
                otherPort = null;
            }
            // Mapping tests II and III (RFC 5780 §4.3).
            observations.add(
                    await(client.send(BindingRequest.to(altIpPrimaryPort).withPolicy(policy)))
                            .observation("rfc5780 alternate IP", altIpPrimaryPort));
            observations.add(await(client.send(BindingRequest.to(other).withPolicy(policy)))
                    .observation("rfc5780 alternate IP and port", other));
        }
        InetSocketAddress local = client.localAddress();
        return new NatProbeReport(
                local,
                observations,
                NatClassifier.mapping(mappingObservations(observations)),
                NatClassifier.filtering(otherIpAndPort, otherPort),
                NatClassifier.natDetected(observations, localAddresses(local), local == null ? -1 : local.getPort()),
                NatClassifier.publicEndpoints(observations));
    }

    private static List<ServerObservation> mappingObservations(List<ServerObservation> all) {
        return all.stream().filter(o -> !o.test().startsWith("filtering")).toList();
    }

    private static Set<InetAddress> localAddresses(InetSocketAddress local) {
        Set<InetAddress> out = new HashSet<>();
        if (local != null && !local.getAddress().isAnyLocalAddress()) {
            out.add(local.getAddress());
            return out;
        }
        try {
            for (NetworkInterface nif : NetworkInterface.networkInterfaces().toList()) {
                nif.inetAddresses().forEach(out::add);
            }
        } catch (SocketException e) {
            // no interface list: every mapped address counts as rewritten
        }
        return out;
    }

    private Outcome await(CompletableFuture<BindingResult> future) throws InterruptedException {
        try {
            return new Outcome(future.get(), null);
        } catch (ExecutionException e) {
            return new Outcome(null, e.getCause());
        }
    }

    private record Outcome(BindingResult result, Throwable failure) {
        ServerObservation observation(String test, InetSocketAddress server) {
            if (result != null) {
                return new ServerObservation(test, server, result.mappedAddress(), result.elapsed(), null);
            }
            String why = failure instanceof TimeoutException
                    ? "no answer"
                    : failure instanceof StunErrorResponseException se
                            ? "error " + se.code()
                            : String.valueOf(failure.getMessage());
            return new ServerObservation(test, server, null, null, why);
        }

        boolean answered() {
            return result != null;
        }

        /** The server answered with an error (e.g. 420: no CHANGE-REQUEST support), so the test says nothing. */
        boolean serverRefused() {
            return failure instanceof StunErrorResponseException;
        }
    }

    /** A sensible probe policy: the RFC schedule cut at {@code total}. */
    public static RetransmissionPolicy policyWithin(Duration total) {
        return RetransmissionPolicy.rfc8489Within(total);
    }
}
