#!/usr/bin/env bash
# Sleeve relay and broadcast, 3 hosts A-B-C where A and C share no link: A's container reaches
# C's through B, a checksummed 20 MB TCP transfer crosses B (as superframes on the extended
# overlay, re-fragmented by B), and a broadcast (arping) from A's container reaches the
# containers on B and C. The hosts run afpacket without the kernel fast path (216 is its relay test).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init sleeve_relay_3
for t in arping tcpdump nc sha256sum jq; do command -v $t >/dev/null || e2e_skip "needs $t"; done

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
e2e_host c 192.168.77.3/24
e2e_block a c
e2e_weave b launch --datapath-backend afpacket >/dev/null || e2e_fail "launch b"
e2e_weave a launch --datapath-backend afpacket "$(e2e_ip b)" >/dev/null || e2e_fail "launch a"
e2e_weave c launch --datapath-backend afpacket "$(e2e_ip b)" >/dev/null || e2e_fail "launch c"
in_c() { local c=$1; shift; nsenter --net="/run/netns/${E2E_PREFIX}c$c" -- "$@"; }
i=1
for h in a b c; do
  ip netns add "${E2E_PREFIX}c$h"
  E2E_NETNS+=("${E2E_PREFIX}c$h")
  e2e_weave $h attach 10.2.1.$i/24 "netns:${E2E_PREFIX}c$h" >/dev/null || e2e_fail "attach $h"
  i=$((i + 1))
done

e2e_wait_for 30 in_c a ping -c 1 -W 1 10.2.1.3 || e2e_fail "a's container cannot reach c's through b"
in_c c ping -c 3 -i 0.2 -W 2 10.2.1.1 >/dev/null || e2e_fail "c's container cannot reach a's"
relayed=$(e2e_weave b report | jq '.Router.DatapathStats.forward_relayed')
(( relayed > 0 )) || e2e_fail "b relayed nothing ($relayed)"
# The hosts themselves still cannot reach each other: the relay is the only path.
if e2e_run a ping -c 1 -W 1 "$(e2e_ip c)" >/dev/null 2>&1; then e2e_fail "a reaches c directly"; fi

# TCP through the relay: superframes from a reach c whole via b, which relays them on the
# extended overlay.
ext0=$(e2e_weave b report | jq '.Router.DatapathStats.sleeve_tx_ext_frames')
e2e_checked_transfer 20000000 "${E2E_PREFIX}ca" "${E2E_PREFIX}cc" 10.2.1.3
ext=$(( $(e2e_weave b report | jq '.Router.DatapathStats.sleeve_tx_ext_frames') - ext0 ))
(( ext > 100 )) || e2e_fail "b relayed only $ext frames on the extended overlay"
e2e_log "b relayed $ext extended frames"

# Broadcast: tcpdump in b's and c's containers sees an ARP request from a's container.
for h in b c; do
  in_c $h tcpdump -n -l -i ethwe -c 1 'arp and arp[24:4] = 0x0a020163' >"$E2E_TMP/arp-$h.txt" 2>/dev/null &
  E2E_PIDS+=("$!")
done
sleep 1
in_c a arping -c 3 -w 3 -I ethwe 10.2.1.99 >/dev/null 2>&1 || true
got() { [[ -s $E2E_TMP/arp-b.txt && -s $E2E_TMP/arp-c.txt ]]; }
e2e_wait_for 10 got || e2e_fail "broadcast did not reach b and c: b=$(cat "$E2E_TMP/arp-b.txt") c=$(cat "$E2E_TMP/arp-c.txt")"
e2e_pass
