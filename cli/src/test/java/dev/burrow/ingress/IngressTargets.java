package dev.burrow.ingress;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Local targets for the ingress end-to-end test, on loopback: {@link #proxy} reads a PROXY v2
 * header (Netty's decoder), records it, answers {@code client <addr>:<port>\n} and then echoes;
 * {@link #echo} only echoes (a service without proxy-protocol must see the client's bytes alone).
 */
final class IngressTargets implements AutoCloseable {
    /** What the PROXY target decoded from each connection's header: "addr:port". */
    final List<String> proxySources = new CopyOnWriteArrayList<>();

    final ServerSocket proxy;
    final ServerSocket echo;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "ingress-target");
        t.setDaemon(true);
        return t;
    });

    IngressTargets() throws IOException {
        InetAddress lo = InetAddress.getLoopbackAddress();
        proxy = serve(lo, this::proxyConnection);
        echo = serve(lo, (s, in, out) -> in.transferTo(out));
    }

    private interface Conn {
        void handle(Socket s, InputStream in, OutputStream out) throws Exception;
    }

    private ServerSocket serve(InetAddress lo, Conn conn) throws IOException {
        ServerSocket ss = new ServerSocket();
        ss.bind(new InetSocketAddress(lo, 0), 64);
        threads.execute(() -> {
            while (!ss.isClosed()) {
                try {
                    Socket s = ss.accept();
                    threads.execute(() -> {
                        try (s) {
                            s.setSoTimeout(60_000);
                            conn.handle(s, s.getInputStream(), s.getOutputStream());
                        } catch (Exception ignored) {
                            // the client went away
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
        return ss;
    }

    private void proxyConnection(Socket s, InputStream in, OutputStream out) throws Exception {
        DataInputStream data = new DataInputStream(in);
        byte[] fixed = new byte[16]; // signature[12], version/command, family/protocol, u16 length
        data.readFully(fixed);
        int len = ((fixed[14] & 0xFF) << 8) | (fixed[15] & 0xFF);
        byte[] rest = new byte[len];
        data.readFully(rest);
        EmbeddedChannel decoder = new EmbeddedChannel(new HAProxyMessageDecoder());
        ByteBuf all = Unpooled.wrappedBuffer(fixed, rest);
        decoder.writeInbound(all);
        HAProxyMessage m = decoder.readInbound();
        String source = m.sourceAddress() + ":" + m.sourcePort();
        m.release();
        decoder.finishAndReleaseAll();
        proxySources.add(source);
        out.write(("client " + source + "\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        in.transferTo(out);
    }

    @Override
    public void close() throws IOException {
        proxy.close();
        echo.close();
        threads.shutdownNow();
    }
}
