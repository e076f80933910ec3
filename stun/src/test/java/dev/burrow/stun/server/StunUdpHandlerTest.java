package dev.burrow.stun.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.stun.codec.Integrity;
import dev.burrow.stun.codec.IntegrityAlgorithm;
import dev.burrow.stun.codec.StunAttribute.*;
import dev.burrow.stun.codec.StunClass;
import dev.burrow.stun.codec.StunCodec;
import dev.burrow.stun.codec.StunMessage;
import dev.burrow.stun.codec.TransactionId;
import dev.burrow.stun.limit.SourceRateLimiter;
import dev.burrow.stun.metrics.CountingStunMetrics;
import dev.burrow.stun.metrics.DropReason;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelOption;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The UDP handler in an {@link EmbeddedChannel}: attack: malformed STUN datagrams and STUN amplification to pooled-buffer reuse. */
class StunUdpHandlerTest {
    static final InetSocketAddress CLIENT = new InetSocketAddress(ip("198.51.100.20"), 40000);
    static final InetSocketAddress CLIENT6 = new InetSocketAddress(ip("2001:db8::20"), 40000);
    static final InetSocketAddress SERVER = new InetSocketAddress(ip("192.0.2.1"), 3478);

    private final CountingStunMetrics metrics = new CountingStunMetrics();
    private final List<DatagramPacket> sent = new ArrayList<>();
    private EmbeddedChannel channel;
    private io.netty.buffer.ByteBufAllocator requestAllocator = PooledByteBufAllocator.DEFAULT;

    @AfterEach
    void releaseEverything() {
        if (channel != null) {
            assertThat(channel.finishAndReleaseAll())
                    .as("nothing left in the channel")
                    .isFalse();
        }
        for (DatagramPacket p : sent) {
            assertThat(p.refCnt()).as("request released").isZero();
        }
    }

    private EmbeddedChannel channel(StunServerConfig config) {
        UdpSockets sockets = new UdpSockets(1);
        SourceRateLimiter limiter =
                config.rateLimit() == null ? null : config.rateLimit().newLimiter();
        BindingResponder responder = new BindingResponder(config, limiter, sockets, metrics);
        channel = new EmbeddedChannel(
                new StunUdpHandler(responder, 0, sockets, metrics, StunUdpHandler.READ_BUFFER_BYTES));
        channel.config().setOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT);
        sockets.set(0, channel);
        return channel;
    }

    private EmbeddedChannel channel() {
        return channel(StunServerConfig.udp(SERVER));
    }

    /** Sends bytes as a datagram; returns the response bytes or null (and releases the response). */
    private byte[] exchange(byte[] request, InetSocketAddress from) {
        ByteBuf content = requestAllocator.directBuffer(request.length);
        content.writeBytes(request);
        DatagramPacket packet = new DatagramPacket(content, SERVER, from);
        sent.add(packet);
        channel.writeInbound(packet);
        assertThat(channel.isActive()).isTrue();
        DatagramPacket response = channel.readOutbound();
        if (response == null) {
            return null;
        }
        try {
            assertThat(response.recipient()).isEqualTo(from);
            return ByteBufUtil.getBytes(response.content());
        } finally {
            response.release();
        }
    }

    private static StunMessage decode(byte[] b) throws Exception {
        return StunCodec.decode(Unpooled.wrappedBuffer(b));
    }

    static byte[] encode(StunMessage m, Integrity integrity, boolean fingerprint) {
        ByteBuf buf = Unpooled.buffer();
        StunCodec.encode(m, buf, integrity, fingerprint);
        return ByteBufUtil.getBytes(buf);
    }

    static byte[] tailscaleRequest(TransactionId id) {
        return encode(StunMessage.bindingRequest(id, new Software("tailnode")), null, true);
    }

    // ------------------------------------------------------------ basic answers and STUN amplification sizes

    @Test
    void answersBindingWithMinimalIpv4AndIpv6Responses() throws Exception {
        channel();
        TransactionId id = TransactionId.random();
        byte[] request = tailscaleRequest(id);
        assertThat(request).hasSize(40);
        byte[] v4 = exchange(request, CLIENT);
        assertThat(v4).hasSize(32);
        StunMessage m = decode(v4);
        assertThat(m.messageClass()).isEqualTo(StunClass.SUCCESS_RESPONSE);
        assertThat(m.transactionId()).isEqualTo(id);
        assertThat(m.attributes()).containsExactly(new XorMappedAddress(CLIENT));

        byte[] v6 = exchange(request, CLIENT6);
        assertThat(v6).hasSize(44);
        assertThat(decode(v6).attributes()).containsExactly(new XorMappedAddress(CLIENT6));
        assertThat(metrics.responses(false)).isEqualTo(2);
    }

    @Test
    void responsesStayWithinASmallFactorOfTheRequest() throws Exception {
        channel();
        List<byte[]> requests = List.of(
                encode(StunMessage.bindingRequest(TransactionId.random()), null, false),
                encode(StunMessage.bindingRequest(TransactionId.random()), null, true),
                tailscaleRequest(TransactionId.random()),
                encode(
                        StunMessage.bindingRequest(TransactionId.random(), new Unknown(0x0024, new byte[4])),
                        null,
                        false),
                encode(StunMessage.bindingRequest(TransactionId.random(), new ChangeRequest(true, true)), null, false),
                encode(new StunMessage(StunClass.REQUEST, 0x003, TransactionId.random(), List.of()), null, false));
        for (InetSocketAddress from : List.of(CLIENT, CLIENT6)) {
            for (byte[] request : requests) {
                byte[] response = exchange(request, from);
                assertThat(response).isNotNull();
                // RFC 8489 §16.1.2: a 20-byte request can get at most a 44-byte IPv6 answer; never more.
                assertThat(response.length).isLessThanOrEqualTo(Math.max(request.length, 20) + 24);
                StunMessage m = decode(response);
                assertThat(m.attribute(Software.class)).isEmpty();
                assertThat(m.attribute(MappedAddress.class)).isEmpty();
                assertThat(m.attribute(OtherAddress.class)).isEmpty();
                assertThat(m.attribute(ResponseOrigin.class)).isEmpty();
                assertThat(m.attribute(Fingerprint.class)).isEmpty();
                m.attribute(ErrorCode.class)
                        .ifPresent(e -> assertThat(e.reason()).isEmpty());
            }
        }
    }

    @Test
    void unknownComprehensionRequiredAttributesAndChangeRequestGet420() throws Exception {
        channel();
        byte[] r = exchange(
                encode(
                        StunMessage.bindingRequest(
                                TransactionId.random(),
                                new Unknown(0x0024, new byte[4]),
                                new ChangeRequest(true, false),
                                new Unknown(0x8029, new byte[8])),
                        null,
                        false),
                CLIENT);
        StunMessage m = decode(r);
        assertThat(m.messageClass()).isEqualTo(StunClass.ERROR_RESPONSE);
        assertThat(m.attribute(ErrorCode.class).orElseThrow().code()).isEqualTo(420);
        assertThat(m.attribute(UnknownAttributes.class).orElseThrow().types()).containsExactly(0x0024, 0x0003);

        // comprehension-optional unknowns are ignored
        byte[] ok = exchange(
                encode(
                        StunMessage.bindingRequest(TransactionId.random(), new Unknown(0x8029, new byte[8])),
                        null,
                        false),
                CLIENT);
        assertThat(decode(ok).messageClass()).isEqualTo(StunClass.SUCCESS_RESPONSE);
    }

    @Test
    void optionalAttributesOnlyWhenConfigured() throws Exception {
        channel(StunServerConfig.udp(SERVER).withSoftware("burrow").withFingerprint(true));
        StunMessage m = decode(exchange(tailscaleRequest(TransactionId.random()), CLIENT));
        assertThat(m.attribute(Software.class)).contains(new Software("burrow"));
        assertThat(m.attribute(Fingerprint.class)).isPresent();
    }

    @Test
    void nonRequestsAreDropped() {
        channel();
        for (StunClass cls : List.of(StunClass.INDICATION, StunClass.SUCCESS_RESPONSE, StunClass.ERROR_RESPONSE)) {
            assertThat(exchange(
                            encode(
                                    new StunMessage(cls, StunMessage.BINDING, TransactionId.random(), List.of()),
                                    null,
                                    false),
                            CLIENT))
                    .isNull();
        }
        assertThat(metrics.droppedCount(DropReason.NOT_A_REQUEST)).isEqualTo(3);
    }

    // ------------------------------------------------------------ malformed STUN datagrams: malformed datagrams

    @Test
    void malformedDatagramsAreDroppedCountedAndServingContinues() {
        channel();
        byte[] valid = tailscaleRequest(TransactionId.random());
        List<byte[]> bad = new ArrayList<>();
        bad.add(new byte[0]);
        bad.add(new byte[19]);
        bad.add(java.util.Arrays.copyOf(valid, 19));
        byte[] cookie = valid.clone();
        cookie[5] ^= 0x10;
        bad.add(cookie);
        byte[] top = valid.clone();
        top[0] |= (byte) 0x80;
        bad.add(top);
        byte[] attrLen = valid.clone();
        attrLen[22] = (byte) 0xFF;
        attrLen[23] = (byte) 0xFF;
        bad.add(attrLen);
        byte[] unpadded = valid.clone();
        unpadded[23] = 9;
        bad.add(unpadded);
        bad.add(java.util.Arrays.copyOf(valid, 36)); // truncated
        byte[] flipped = valid.clone();
        flipped[30] ^= 0x04; // inside SOFTWARE: FINGERPRINT no longer matches
        bad.add(flipped);
        bad.add(new byte[StunUdpHandler.READ_BUFFER_BYTES]); // fills the read buffer
        byte[] huge = new byte[65_507];
        System.arraycopy(valid, 0, huge, 0, valid.length);
        bad.add(huge);
        for (byte[] b : bad) {
            assertThat(exchange(b, CLIENT)).isNull();
        }
        assertThat(metrics.totalDropped()).isEqualTo(bad.size());
        assertThat(metrics.droppedCount(DropReason.POSSIBLY_TRUNCATED)).isEqualTo(2);
        assertThat(metrics.droppedCount(DropReason.BAD_FINGERPRINT)).isEqualTo(1);
        assertThat(metrics.droppedCount(DropReason.INTERNAL_ERROR)).isZero();
        assertThat(exchange(valid, CLIENT)).hasSize(32);
    }

    @Test
    void boundedRandomAndMutatedInputNeverEscapesThePipeline() {
        // The JUnit property test that backs up the Jazzer fuzz test: fixed seed, bounded loop.
        channel();
        Random random = new Random(5769);
        byte[] valid = tailscaleRequest(TransactionId.random());
        int answered = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] input;
            switch (i % 4) {
                case 0 -> {
                    input = new byte[random.nextInt(120)];
                    random.nextBytes(input);
                }
                case 1 -> {
                    input = valid.clone();
                    input[random.nextInt(input.length)] ^= (byte) (1 << random.nextInt(8));
                }
                case 2 -> input = java.util.Arrays.copyOf(valid, random.nextInt(valid.length + 8));
                default -> {
                    // valid header, random attribute bytes of a consistent length
                    int body = 4 * random.nextInt(30);
                    input = new byte[20 + body];
                    random.nextBytes(input);
                    System.arraycopy(valid, 0, input, 0, 20);
                    input[0] = 0;
                    input[1] = 1;
                    input[2] = (byte) (body >> 8);
                    input[3] = (byte) body;
                }
            }
            if (exchange(input, CLIENT) != null) {
                answered++;
            }
        }
        assertThat(metrics.droppedCount(DropReason.INTERNAL_ERROR)).isZero();
        assertThat(answered + metrics.totalDropped()).isEqualTo(20_000);
        assertThat(exchange(valid, CLIENT)).hasSize(32);
    }

    // ------------------------------------------------------------ spoofed-source floods: spoofed sources

    @Test
    void spoofedSourceFloodCreatesNoPerSourceStateBeyondTheBoundedLimiter() throws Exception {
        channel(StunServerConfig.udp(SERVER).withRateLimit(new RateLimit(5, 5, 1_000)));
        SourceRateLimiter limiter =
                ((BindingResponder) readField(channel.pipeline().first(), "responder")).limiter();
        // 10^5 packets under the paranoid leak detector would take minutes; buffers here are plain heap.
        requestAllocator = new io.netty.buffer.UnpooledByteBufAllocator(false, true);
        channel.config().setAllocator(requestAllocator);
        byte[] request = tailscaleRequest(TransactionId.random());
        Random random = new Random(4);
        int answered = 0;
        for (int i = 0; i < 100_000; i++) {
            byte[] ip = {(byte) 10, (byte) (i >> 16), (byte) (i >> 8), (byte) i};
            InetSocketAddress from = new InetSocketAddress(InetAddress.getByAddress(ip), 1024 + random.nextInt(60000));
            if (exchange(request, from) != null) {
                answered++;
            }
        }
        assertThat(answered).isEqualTo(100_000); // each source sent one request: all under the limit
        assertThat(limiter.trackedSources()).isLessThanOrEqualTo(1_000);
    }

    @Test
    void rateLimitKeysOnIpWithPortZeroed() {
        channel(StunServerConfig.udp(SERVER).withRateLimit(new RateLimit(1, 3, 100)));
        byte[] request = tailscaleRequest(TransactionId.random());
        int answered = 0;
        for (int port = 1000; port < 1010; port++) {
            if (exchange(request, new InetSocketAddress(CLIENT.getAddress(), port)) != null) {
                answered++;
            }
        }
        assertThat(answered).isEqualTo(3);
        assertThat(metrics.droppedCount(DropReason.RATE_LIMITED)).isEqualTo(7);
        // another IP is unaffected
        assertThat(exchange(request, new InetSocketAddress(ip("198.51.100.21"), 1000)))
                .isNotNull();
    }

    // ------------------------------------------------------------ fingerprint abuse: fingerprint required

    @Test
    void fingerprintRequiredDropsRequestsWithoutOne() {
        channel(StunServerConfig.udp(SERVER).withRequireFingerprint(true));
        assertThat(exchange(encode(StunMessage.bindingRequest(TransactionId.random()), null, false), CLIENT))
                .isNull();
        assertThat(metrics.droppedCount(DropReason.FINGERPRINT_REQUIRED)).isEqualTo(1);
        byte[] wrong = tailscaleRequest(TransactionId.random());
        wrong[wrong.length - 1] ^= 1;
        assertThat(exchange(wrong, CLIENT)).isNull();
        assertThat(metrics.droppedCount(DropReason.BAD_FINGERPRINT)).isEqualTo(1);
        assertThat(exchange(tailscaleRequest(TransactionId.random()), CLIENT)).hasSize(32);
    }

    // ------------------------------------------------------------ integrity abuse: short-term credentials

    private static final String PASSWORD = "correct horse battery staple";

    private EmbeddedChannel authenticatingChannel() {
        return channel(StunServerConfig.udp(SERVER)
                .withCredentials(user -> user.equals("alice") ? PASSWORD.getBytes(StandardCharsets.UTF_8) : null));
    }

    @Test
    void authenticatedRequestGetsIntegrityProtectedResponse() throws Exception {
        authenticatingChannel();
        for (IntegrityAlgorithm alg : IntegrityAlgorithm.values()) {
            Integrity key = Integrity.shortTerm(alg, PASSWORD);
            byte[] r = exchange(
                    encode(StunMessage.bindingRequest(TransactionId.random(), new Username("alice")), key, true),
                    CLIENT);
            StunMessage m = decode(r);
            assertThat(m.messageClass()).isEqualTo(StunClass.SUCCESS_RESPONSE);
            var verified = StunCodec.verifyIntegrity(Unpooled.wrappedBuffer(r), key);
            assertThat(verified.check()).isEqualTo(StunCodec.IntegrityCheck.VALID);
            assertThat(verified.algorithm()).isEqualTo(alg);
        }
    }

    @Test
    void tamperedUnknownOrMissingCredentialsGetBareErrors() throws Exception {
        authenticatingChannel();
        Integrity key = Integrity.shortTerm(IntegrityAlgorithm.HMAC_SHA1, PASSWORD);
        byte[] good = encode(StunMessage.bindingRequest(TransactionId.random(), new Username("alice")), key, false);
        byte[] tampered = good.clone();
        tampered[tampered.length - 1] ^= 1; // one byte of the HMAC
        assertError(exchange(tampered, CLIENT), 401);
        assertError(
                exchange(
                        encode(StunMessage.bindingRequest(TransactionId.random(), new Username("mallory")), key, false),
                        CLIENT),
                401);
        assertError(
                exchange(
                        encode(StunMessage.bindingRequest(TransactionId.random(), new Username("alice")), null, false),
                        CLIENT),
                400);
        assertError(exchange(encode(StunMessage.bindingRequest(TransactionId.random()), key, false), CLIENT), 400);
        // Attributes appended after MESSAGE-INTEGRITY are ignored: still authenticated.
        ByteBuf appended = Unpooled.buffer().writeBytes(good);
        appended.writeShort(0x8022).writeShort(4).writeInt(0x41414141);
        appended.setShort(2, appended.readableBytes() - 20);
        assertThat(decode(exchange(ByteBufUtil.getBytes(appended), CLIENT)).messageClass())
                .isEqualTo(StunClass.SUCCESS_RESPONSE);
    }

    private static void assertError(byte[] response, int code) throws Exception {
        StunMessage m = decode(response);
        assertThat(m.messageClass()).isEqualTo(StunClass.ERROR_RESPONSE);
        assertThat(m.attribute(ErrorCode.class).orElseThrow().code()).isEqualTo(code);
        assertThat(m.attribute(MessageIntegrity.class)).isEmpty();
        assertThat(m.attribute(MessageIntegritySha256.class)).isEmpty();
        assertThat(m.attribute(Username.class)).isEmpty();
    }

    // ------------------------------------------------------------ pooled-buffer reuse: pooled buffer reuse

    @Test
    void responsesCarryNoBytesFromEarlierPackets() throws Exception {
        channel(StunServerConfig.udp(SERVER).withSoftware("odd")); // 3 bytes: one padding byte
        for (int round = 0; round < 50; round++) {
            // A large request full of 0xEE, then a small one; the response must be exactly what we encode.
            byte[] big = encode(
                    StunMessage.bindingRequest(TransactionId.random(), new Unknown(0x8050, filled(1500, (byte) 0xEE))),
                    null,
                    false);
            assertThat(exchange(big, CLIENT)).isNotNull();
            TransactionId id = TransactionId.random();
            byte[] small = exchange(encode(StunMessage.bindingRequest(id), null, false), CLIENT);
            byte[] expected = encode(
                    StunMessage.bindingSuccess(id, new XorMappedAddress(CLIENT), new Software("odd")), null, false);
            assertThat(small).isEqualTo(expected);
            assertThat(small[small.length - 1]).isZero();
        }
    }

    static byte[] filled(int n, byte b) {
        byte[] a = new byte[n];
        java.util.Arrays.fill(a, b);
        return a;
    }

    static InetAddress ip(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static Object readField(Object o, String name) throws Exception {
        var f = o.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f.get(o);
    }
}
