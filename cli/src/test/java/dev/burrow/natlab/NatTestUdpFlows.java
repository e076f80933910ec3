package dev.burrow.natlab;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Lab program: {@code N} UDP flows at once (one socket, so one local source, each) towards an echo
 * at {@code HOST:PORT}. Each round sends one datagram {@code flow-<i>} on every flow not yet answered,
 * then collects replies for 3 s; a reply must carry its own flow's text. Prints
 * {@code ANSWERED <k>/<N> ROUNDS <r> WRONG <w>} and exits 0 when every flow was answered with its
 * own text, else 1. Args: {@code HOST:PORT N MAX_ROUNDS}.
 */
public final class NatTestUdpFlows {
    private NatTestUdpFlows() {}

    public static void main(String[] args) throws Exception {
        String[] hp = args[0].split(":");
        InetSocketAddress target = new InetSocketAddress(hp[0], Integer.parseInt(hp[1]));
        int n = Integer.parseInt(args[1]);
        int maxRounds = Integer.parseInt(args[2]);
        List<DatagramSocket> sockets = new ArrayList<>();
        boolean[] answered = new boolean[n];
        int done = 0;
        int wrong = 0;
        int rounds = 0;
        try {
            for (int i = 0; i < n; i++) {
                DatagramSocket s = new DatagramSocket(new InetSocketAddress(hp[0], 0));
                s.setSoTimeout(1);
                sockets.add(s);
            }
            while (done < n && rounds < maxRounds) {
                rounds++;
                for (int i = 0; i < n; i++) {
                    if (!answered[i]) {
                        byte[] msg = ("flow-" + i).getBytes(StandardCharsets.UTF_8);
                        sockets.get(i).send(new DatagramPacket(msg, msg.length, target));
                    }
                }
                long until = System.nanoTime() + 3_000_000_000L;
                while (done < n && System.nanoTime() < until) {
                    for (int i = 0; i < n; i++) {
                        if (answered[i]) {
                            continue;
                        }
                        byte[] buf = new byte[100];
                        DatagramPacket p = new DatagramPacket(buf, buf.length);
                        try {
                            sockets.get(i).receive(p);
                        } catch (SocketTimeoutException e) {
                            continue;
                        }
                        if (new String(buf, 0, p.getLength(), StandardCharsets.UTF_8).equals("flow-" + i)) {
                            answered[i] = true;
                            done++;
                        } else {
                            wrong++;
                        }
                    }
                }
            }
        } finally {
            sockets.forEach(DatagramSocket::close);
        }
        System.out.println("ANSWERED " + done + "/" + n + " ROUNDS " + rounds + " WRONG " + wrong);
        System.exit(done == n && wrong == 0 ? 0 : 1);
    }
}
