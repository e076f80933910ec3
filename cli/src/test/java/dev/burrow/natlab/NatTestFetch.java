package dev.burrow.natlab;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * Lab program: connects, reads until EOF, prints {@code FETCHED <bytes> <sha256>} and exits 0, or
 * prints {@code FAILED <bytes> <error>} and exits 1 (a reset or a timeout: never a silent truncation).
 * Also prints {@code FIRST_BYTE_MS <ms>}: from the start of the TCP connect to the first byte read.
 * Args: {@code HOST:PORT [READ_TIMEOUT_SECONDS]}.
 */
public final class NatTestFetch {
    private NatTestFetch() {}

    public static void main(String[] args) throws Exception {
        String[] hp = args[0].split(":");
        int timeout = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        long n = 0;
        long start = System.nanoTime();
        long firstByte = -1;
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), 10_000);
            s.setSoTimeout(timeout * 1000);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[64 * 1024];
            int r;
            while ((r = in.read(buf)) >= 0) {
                if (firstByte < 0 && r > 0) {
                    firstByte = System.nanoTime() - start;
                }
                sha.update(buf, 0, r);
                n += r;
            }
        } catch (Exception e) {
            System.out.println("FAILED " + n + " " + e);
            System.exit(1);
        }
        System.out.println("FIRST_BYTE_MS " + firstByte / 1_000_000);
        System.out.println("FETCHED " + n + " " + HexFormat.of().formatHex(sha.digest()));
    }
}
