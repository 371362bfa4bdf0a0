#!/usr/bin/env bash
# Encrypted sleeve, 2 hosts: ping and iperf3 work, a capture on the underlay shows no plaintext
# container payload (and, as a control, the same capture without a password does), and forged or
# replayed UDP datagrams are dropped and counted.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init sleeve_enc_2
for t in iperf3 tcpdump jq od; do command -v $t >/dev/null || e2e_skip "needs $t"; done

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
in_c() { local c=$1; shift; nsenter --net="/run/netns/${E2E_PREFIX}c$c" -- "$@"; }
for h in a b; do
  ip netns add "${E2E_PREFIX}c$h"
  E2E_NETNS+=("${E2E_PREFIX}c$h")
done
PATTERN=7765667470617474  # "weftpatt"

# Captures on b's underlay eth0 while a's container pings b's with the pattern as payload.
capture_has_pattern() {
  local pcap=$E2E_TMP/cap-$1.pcap
  # 6784: without a password the hosts use the kernel fast path (VXLAN).
  e2e_run b tcpdump -n -i eth0 -w "$pcap" -U udp port 6783 or udp port 6784 2>/dev/null &
  local tpid=$!
  E2E_PIDS+=("$tpid")
  sleep 1
  in_c a ping -c 5 -i 0.2 -p "$PATTERN" 10.2.1.2 >/dev/null || e2e_fail "ping with pattern ($1)"
  sleep 0.5
  e2e_kill_pid "$tpid"
  [[ -s $pcap ]] || e2e_fail "empty capture ($1)"
  od -An -tx1 -v "$pcap" | tr -d ' \n' | grep -q "$PATTERN"
}

launch() {
  for h in a b; do e2e_weave $h stop >/dev/null 2>&1 || true; done
  e2e_weave a launch "$@" >/dev/null || e2e_fail "launch a $*"
  e2e_weave b launch "$@" "$(e2e_ip a)" >/dev/null || e2e_fail "launch b $*"
  e2e_weave a attach 10.2.1.1/24 "netns:${E2E_PREFIX}ca" >/dev/null || e2e_fail "attach a"
  e2e_weave b attach 10.2.1.2/24 "netns:${E2E_PREFIX}cb" >/dev/null || e2e_fail "attach b"
  e2e_wait_for 20 in_c a ping -c 1 -W 1 10.2.1.2 || e2e_fail "no ping ($*)"
}

# Control: without a password the pattern is visible on the wire.
launch
capture_has_pattern plain || e2e_fail "control capture does not show the plaintext pattern"

launch --password 's3cret pass'
if capture_has_pattern encrypted; then e2e_fail "plaintext container payload on the underlay"; fi
[[ $(e2e_weave a status connections) == *"encrypted=true"* ]] || e2e_fail "sleeve not shown encrypted"
in_c b iperf3 -s -1 >/dev/null 2>&1 &
E2E_PIDS+=("$!")
sleep 0.5
j=$(in_c a iperf3 -c 10.2.1.2 -t 3 -J) || e2e_fail "iperf3 encrypted"
bytes=$(jq '.end.sum_received.bytes' <<<"$j")
(( bytes > 10000000 )) || e2e_fail "encrypted iperf3 moved too little: $bytes; $(jq -c .end <<<"$j" | head -c 600)"

# Replay a captured datagram from a to b, and forge one: both are dropped and counted.
pcap=$E2E_TMP/cap-encrypted.pcap
hex=$(e2e_run b tcpdump -n -r "$pcap" -x -c 1 'src host 192.168.77.1 and udp dst port 6783 and greater 120' 2>/dev/null |
  awk '/0x/{for(i=2;i<=NF;i++) printf "%s", $i}')
[[ ${#hex} -gt 120 ]] || e2e_fail "no datagram to replay"
payload=${hex:56}  # strip the 20-byte IP and 8-byte UDP headers
# One datagram per send: the bytes go to a file first (printf may write in pieces, and every
# write() to /dev/udp is a datagram), then cat writes them in one go.
send_udp() {
  printf "%b" "$(sed 's/../\\x&/g' <<<"$1")" >"$E2E_TMP/dgram"
  e2e_run a bash -c 'cat "$1" >/dev/udp/192.168.77.2/6783' _ "$E2E_TMP/dgram"
}
before=$(e2e_weave b report | jq '.Router.DatapathStats')
send_udp "$payload"
send_udp "$payload"
forged=${payload:0:12}$(head -c 80 /dev/urandom | od -An -tx1 -v | tr -d ' \n')
send_udp "$forged"
sleep 1
after=$(e2e_weave b report | jq '.Router.DatapathStats')
rep=$(( $(jq .sleeve_rx_replayed <<<"$after") - $(jq .sleeve_rx_replayed <<<"$before") ))
bad=$(( $(jq .sleeve_rx_decrypt_errors <<<"$after") - $(jq .sleeve_rx_decrypt_errors <<<"$before") ))
(( rep >= 2 )) || e2e_fail "replays not counted ($rep): $after"
(( bad >= 1 )) || e2e_fail "forgery not counted ($bad): $after"
in_c a ping -c 3 -i 0.2 -W 2 10.2.1.2 >/dev/null || e2e_fail "traffic broken after replay/forgery"
e2e_pass
