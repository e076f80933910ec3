package dev.burrow.agent.caller;

import dev.burrow.protocol.HostPort;
import io.netty.util.NetUtil;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Who is behind each local connection this agent opened to an exposed service: keyed by the
 * agent's end of that connection (the address and port the target sees as its client), filled by
 * the inbound gate when the connection is made and emptied when it closes.
 *
 * <p>Bounded: at most {@link #MAX_ENTRIES} at once. A connection made while the table is full
 * still runs, but is not recorded ({@link #overflows()} counts them): whois is an aid, never a
 * reason to refuse service.
 */
public final class WhoisTable {
    /**
     * More than one agent can hold open: every service caps its connections (1024 by default) and
     * one loopback source address has fewer than 64 Ki ports.
     */
    public static final int MAX_ENTRIES = 65_536;

    private final ConcurrentHashMap<InetSocketAddress, Caller> entries = new ConcurrentHashMap<>();
    private final AtomicLong overflows = new AtomicLong();
    private final Runnable onOverflow;

    public WhoisTable() {
        this(() -> {});
    }

    /** @param onOverflow called for every connection not recorded because the table is full (a metric) */
    public WhoisTable(Runnable onOverflow) {
        this.onOverflow = onOverflow;
    }

    /** A recorded entry; closing it removes exactly that entry (idempotent). */
    public interface Registration extends AutoCloseable {
        @Override
        void close();
    }

    private static final Registration NONE = () -> {};

    /** Records {@code caller} for {@code local}; returns a no-op registration when the table is full. */
    public Registration register(InetSocketAddress local, Caller caller) {
        InetSocketAddress key = canonical(local);
        if (entries.size() >= MAX_ENTRIES) {
            overflows.incrementAndGet();
            onOverflow.run();
            return NONE;
        }
        entries.put(key, caller);
        // identity, not equals: a newer connection on the same port may carry an equal record
        return () -> entries.computeIfPresent(key, (k, v) -> v == caller ? null : v);
    }

    /** The caller behind the connection whose agent end is {@code local}. */
    public Optional<Caller> lookup(InetSocketAddress local) {
        return Optional.ofNullable(entries.get(canonical(local)));
    }

    public List<Caller> all() {
        return List.copyOf(entries.values());
    }

    public int size() {
        return entries.size();
    }

    public long overflows() {
        return overflows.get();
    }

    /**
     * Parses {@code host:port} or {@code [v6]:port} with a literal address (no name lookup: whois
     * answers about addresses, and a lookup could block or lie).
     */
    public static InetSocketAddress parseAddress(String text) {
        HostPort hp = HostPort.parse(text, HostPort.PORT_REQUIRED);
        String host = hp.host();
        int port = hp.port();
        if (port < 1) {
            throw new IllegalArgumentException("'" + text + "': port must be 1-65535");
        }
        if (!host.matches("[0-9.]+") && !host.matches("[0-9a-fA-F:.]+")) {
            throw new IllegalArgumentException("'" + text + "': give a literal IP address, not a name");
        }
        byte[] raw = NetUtil.createByteArrayFromIpAddressString(host);
        if (raw == null) {
            throw new IllegalArgumentException("'" + text + "': " + host + " is not an IP address");
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(raw), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("'" + text + "': " + host + " is not an IP address");
        }
    }

    /** {@code 127.0.0.1:54321} or {@code [::1]:54321}. */
    public static String text(InetSocketAddress a) {
        InetAddress ip = canonical(a).getAddress();
        String host = ip.getHostAddress();
        return (ip instanceof Inet6Address ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    /** IPv4-mapped IPv6 and IPv4 name the same socket. */
    private static InetSocketAddress canonical(InetSocketAddress a) {
        InetAddress ip = a.getAddress();
        if (ip instanceof Inet6Address v6) {
            byte[] b = v6.getAddress();
            boolean mapped = true;
            for (int i = 0; i < 10; i++) {
                mapped &= b[i] == 0;
            }
            mapped &= (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff;
            if (mapped) {
                try {
                    ip = InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
                } catch (UnknownHostException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return new InetSocketAddress(ip, a.getPort());
    }
}
