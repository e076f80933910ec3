package dev.burrow.netlab;

/**
 * Test helper run as a child JVM: builds a small lab, starts a process in it, prints the lab prefix,
 * then either exits normally (the shutdown hook must clean up) or waits to be killed with SIGKILL
 * (nothing runs; {@link NetLab#sweepStale()} must clean up later).
 *
 * <p>Usage: {@code CrashingLabMain exit|hang}
 */
public final class CrashingLabMain {
    private CrashingLabMain() {}

    public static void main(String[] args) throws InterruptedException {
        NetLab lab = NetLab.create();
        PublicHost h = lab.addPublicHost("crash");
        h.start("sleeper", java.util.List.of("sleep", "600"));
        System.out.println("PREFIX " + lab.prefix());
        System.out.flush();
        if ("hang".equals(args[0])) {
            Thread.sleep(600_000);
        }
        System.exit(0);
    }
}
