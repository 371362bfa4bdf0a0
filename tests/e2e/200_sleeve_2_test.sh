#!/usr/bin/env bash
# Sleeve datapath, 2 hosts: containers attached with `weave attach` (offloads left to weft) ping
# and move TCP both ways with iperf3; a 20 MB transfer arrives intact (checksum); per-peer
# counters show the traffic.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init sleeve_2
for t in iperf3 jq sha256sum; do command -v $t >/dev/null || e2e_skip "needs $t"; done

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
# E2E_BACKEND_A/B pick each host's capture backend (204 runs this with afpacket on a, pcap on b).
BACKEND_A=${E2E_BACKEND_A:-pcap} BACKEND_B=${E2E_BACKEND_B:-pcap}
e2e_weave a launch --datapath-backend "$BACKEND_A" >/dev/null || e2e_fail "launch a"
e2e_weave b launch --datapath-backend "$BACKEND_B" "$(e2e_ip a)" >/dev/null || e2e_fail "launch b"
[[ $(e2e_weave a status) == *"Datapath: vethwe-pcap (via $BACKEND_A"* ]] || e2e_fail "status a: $(e2e_weave a status)"
[[ $(e2e_weave b status) == *"Datapath: vethwe-pcap (via $BACKEND_B"* ]] || e2e_fail "status b: $(e2e_weave b status)"
for h in a b; do
  ip netns add "${E2E_PREFIX}c$h"
  E2E_NETNS+=("${E2E_PREFIX}c$h")
done
in_c() { local c=$1; shift; nsenter --net="/run/netns/${E2E_PREFIX}c$c" -- "$@"; }
[[ $(e2e_weave a attach 10.2.1.1/24 "netns:${E2E_PREFIX}ca") == 10.2.1.1 ]] || e2e_fail "attach a"
[[ $(e2e_weave b attach 10.2.1.2/24 "netns:${E2E_PREFIX}cb") == 10.2.1.2 ]] || e2e_fail "attach b"

e2e_wait_for 15 in_c a ping -c 1 -W 1 10.2.1.2 || e2e_fail "a's container cannot ping b's"
in_c a ping -c 5 -i 0.2 -W 2 10.2.1.2 >/dev/null || e2e_fail "ping a->b lost packets"
in_c b ping -c 5 -i 0.2 -W 2 10.2.1.1 >/dev/null || e2e_fail "ping b->a lost packets"

# The connection is carried by the sleeve and established.
conns=$(e2e_weave a status connections)
[[ $conns == *"established sleeve"* ]] || e2e_fail "connection not on sleeve: $conns"

iperf() {  # client-container server-container server-ip
  in_c "$2" iperf3 -s -1 >/dev/null 2>&1 &
  E2E_PIDS+=("$!")
  sleep 0.5
  in_c "$1" iperf3 -c "$3" -t 3 -J
}
for dir in "a b 10.2.1.2" "b a 10.2.1.1"; do
  # shellcheck disable=SC2086
  j=$(iperf $dir) || e2e_fail "iperf3 $dir failed"
  bytes=$(jq '.end.sum_received.bytes' <<<"$j")
  (( bytes > 10000000 )) || e2e_fail "iperf3 $dir moved only $bytes bytes"
  e2e_log "iperf3 $dir: $(jq '.end.sum_received.bits_per_second/1e6 | floor' <<<"$j") Mbit/s"
done

# A large transfer checked end to end: 20 MB of random data through a TCP connection.
command -v nc >/dev/null || e2e_skip "needs nc (netcat-openbsd)"
e2e_checked_transfer 20000000 "${E2E_PREFIX}ca" "${E2E_PREFIX}cb" 10.2.1.2

traffic=$(e2e_weave a report | jq '[.Router.PeerTraffic[].TxFrames] | add')
(( traffic > 1000 )) || e2e_fail "per-peer counters did not move: $traffic"
metrics=$(e2e_run a curl -s http://127.0.0.1:6782/metrics)
[[ $metrics == *'weft_sleeve_frames_total{peer='* ]] || e2e_fail "no per-peer metrics"
e2e_pass
