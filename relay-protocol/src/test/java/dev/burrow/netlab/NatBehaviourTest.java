package dev.burrow.netlab;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The rulesets each NAT type is built from; loading and measuring them is NatLab's job in cli/. */
class NatBehaviourTest {
    @Test
    void eimIsPlainMasqueradeWithConntrackFiltering() {
        String r = NatBehaviour.EIM.ruleset("wan0");
        assertThat(r)
                .contains("oifname \"wan0\" masquerade\n")
                .doesNotContain("random")
                .doesNotContain("@cone")
                .doesNotContain("udp drop");
    }

    @Test
    void symmetricUsesTheRandomFlag() {
        assertThat(NatBehaviour.SYMMETRIC.ruleset("wan0")).contains("oifname \"wan0\" masquerade random\n");
        assertThat(new NatBehaviour(
                                NatMapping.ADDRESS_AND_PORT_DEPENDENT_FULLY_RANDOM,
                                NatFiltering.ADDRESS_AND_PORT_DEPENDENT,
                                false)
                        .ruleset("wan0"))
                .contains("masquerade fully-random");
    }

    @Test
    void remappedEimMasqueradesIntoAPortRangeAndStillNatsOtherProtocols() {
        String r = NatBehaviour.EIM_REMAPPED.ruleset("wan0");
        assertThat(r)
                .contains("meta l4proto { tcp, udp } masquerade to :20000-29999")
                .contains("oifname \"wan0\" masquerade\n");
    }

    @Test
    void looserFilteringLearnsMappingsAndDnatsNewInboundFlows() {
        String full = NatBehaviour.FULL_CONE.ruleset("wan0");
        assertThat(full)
                .contains("update @cone { ct reply proto-dst : ct original ip saddr . ct original proto-src }")
                .contains("dnat ip to udp dport map @cone")
                .doesNotContain("@contacted");
        String restricted = NatBehaviour.RESTRICTED_CONE.ruleset("wan0");
        assertThat(restricted)
                .contains("update @contacted { ct reply proto-dst . ip daddr }")
                .contains("udp dport . ip saddr @contacted dnat ip to udp dport map @cone");
    }

    @Test
    void routersDropUnsolicitedInputUnlessToldOtherwise() {
        assertThat(NatBehaviour.EIM.ruleset("wan0"))
                .contains("hook input")
                .contains("iifname \"wan0\" ct state new drop");
        assertThat(NatBehaviour.EIM.ruleset("wan0", NatBehaviour.DEFAULT_MAPPING_TIMEOUT, false))
                .doesNotContain("hook input");
    }

    @Test
    void udpBlockedDropsForwardedUdp() {
        assertThat(NatBehaviour.UDP_BLOCKED.ruleset("wan0"))
                .contains("hook forward")
                .contains("meta l4proto udp drop");
    }

    @Test
    void ipv6FirewallPassesKnownFlowsAndDropsTheRestFromTheWan() {
        String r = Ipv6Firewall.ruleset("wan0");
        assertThat(r)
                .startsWith("table ip6 netlab6 {\n")
                .contains("ct state established,related accept\n")
                .contains("iifname \"wan0\" counter name \"unsolicited\" drop\n")
                .contains("iifname \"wan0\" ct state new drop\n")
                .doesNotContain("masquerade")
                .doesNotContain("type nat");
    }
}
