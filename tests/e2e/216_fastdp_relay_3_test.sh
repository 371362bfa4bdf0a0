#!/usr/bin/env bash
# The kernel fast path relaying (issue 15): 3 hosts a - b - c on the fast path where a and c share
# no link, so b relays a<->c. The relay and the broadcasts happen in b's kernel: the VXLAN frames
# for c are re-encapsulated by b's ingress program (same VNI, new outer address), and a broadcast
# from a's container goes one copy per next hop along Weave's broadcast routes (a -> b, and b -> c).
# Checks: ping, iperf3 and a checksummed transfer a->c and c->a, b's kernel relay counter moving
# while b's weaver relays (almost) nothing, and an ARP broadcast from a's container reaching the
# containers on b and c through the kernels' flood.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init fastdp_relay_3
for t in iperf3 jq sha256sum nc arping tcpdump; do command -v $t >/dev/null || e2e_skip "needs $t"; done

e2e_host a 192.168.81.1/24
e2e_host b 192.168.81.2/24
e2e_host c 192.168.81.3/24
e2e_block a c
e2e_weave b launch >/dev/null || e2e_fail "launch b"
e2e_weave a launch "$(e2e_ip b)" >/dev/null || e2e_fail "launch a"
e2e_weave c launch "$(e2e_ip b)" >/dev/null || e2e_fail "launch c"
in_c() { local c=$1; shift; nsenter --net="/run/netns/${E2E_PREFIX}c$c" -- "$@"; }
n=1
for h in a b c; do
  ip netns add "${E2E_PREFIX}c$h"
  E2E_NETNS+=("${E2E_PREFIX}c$h")
  [[ $(e2e_weave $h attach 10.2.5.$n/24 "netns:${E2E_PREFIX}c$h") == 10.2.5.$n ]] || e2e_fail "attach $h"
  n=$((n + 1))
done
fastdp_conn() { e2e_weave "$1" status connections | grep -F "$(e2e_ip "$2"):" | grep -q "established.*fastdp"; }
e2e_wait_for 30 fastdp_conn a b || e2e_fail "a-b is not fastdp: $(e2e_weave a status connections)"
e2e_wait_for 30 fastdp_conn c b || e2e_fail "c-b is not fastdp: $(e2e_weave c status connections)"
e2e_wait_for 30 in_c a ping -c 1 -W 1 10.2.5.3 || e2e_fail "a cannot reach c through b"
in_c c ping -c 10 -i 0.1 -W 2 10.2.5.1 >/dev/null || e2e_fail "c -> a lost packets"
if e2e_run a ping -c 1 -W 1 "$(e2e_ip c)" >/dev/null 2>&1; then e2e_fail "a reaches c directly"; fi

counter() { e2e_weave "$1" report | jq --arg k "$2" '.Router.DatapathStats[$k] // 0'; }
k0=$(counter b fastdp_kernel_rx_relay) u0=$(counter b forward_relayed)
in_c c iperf3 -s -1 >/dev/null 2>&1 &
E2E_PIDS+=("$!")
sleep 0.5
j=$(in_c a iperf3 -c 10.2.5.3 -t 3 -J) || e2e_fail "iperf3 a->c failed"
bytes=$(jq '.end.sum_received.bytes' <<<"$j")
(( bytes > 10000000 )) || e2e_fail "iperf3 a->c moved only $bytes bytes"
e2e_log "iperf3 a->c through b's kernel: $(jq '.end.sum_received.bits_per_second/1e6 | floor' <<<"$j") Mbit/s"
e2e_checked_transfer 20000000 "${E2E_PREFIX}ca" "${E2E_PREFIX}cc" 10.2.5.3
e2e_checked_transfer 20000000 "${E2E_PREFIX}cc" "${E2E_PREFIX}ca" 10.2.5.1 5002
k=$(( $(counter b fastdp_kernel_rx_relay) - k0 )) u=$(( $(counter b forward_relayed) - u0 ))
e2e_log "b relayed $k frames in its kernel and $u in weaver"
(( k > 1000 )) || e2e_fail "b's kernel relayed only $k frames"
(( u * 10 < k )) || e2e_fail "b's weaver relayed $u frames against $k in the kernel"

# Broadcast: an ARP request from a's container reaches b's and c's containers.
f0=$(counter a fastdp_kernel_tx_flood) g0=$(counter b fastdp_kernel_rx_flood)
for h in b c; do
  in_c $h tcpdump -n -l -i ethwe -c 1 'arp and arp[24:4] = 0x0a020563' >"$E2E_TMP/arp-$h.txt" 2>/dev/null &
  E2E_PIDS+=("$!")
done
sleep 1
in_c a arping -c 3 -w 3 -I ethwe 10.2.5.99 >/dev/null 2>&1 || true
got() { [[ -s $E2E_TMP/arp-b.txt && -s $E2E_TMP/arp-c.txt ]]; }
e2e_wait_for 10 got || e2e_fail "broadcast did not reach b and c: b=$(cat "$E2E_TMP/arp-b.txt") c=$(cat "$E2E_TMP/arp-c.txt")"
f=$(( $(counter a fastdp_kernel_tx_flood) - f0 )) g=$(( $(counter b fastdp_kernel_rx_flood) - g0 ))
e2e_log "broadcast copies: a's kernel sent $f, b's kernel passed on $g"
(( f >= 3 && g >= 3 )) || e2e_fail "the broadcasts did not go through the kernels' flood: a $f, b $g"
e2e_pass
