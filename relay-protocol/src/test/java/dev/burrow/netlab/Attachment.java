package dev.burrow.netlab;

/**
 * Where a namespace's link plugs into a bridge: {@code owner}'s interface is one end of a veth pair
 * whose other end, {@code port}, is a port of {@code bridge} in {@code bridgeNamespace}. Lets the lab
 * splice things (a {@link DelayLink}) into the link later.
 */
record Attachment(Namespace owner, Namespace bridgeNamespace, String bridge, String port) {}
