#!/usr/bin/env bash
# The kernel fast path (issue 15), 3 hosts: a and b run it (the default: eBPF programs and a VXLAN
# device), c runs --no-fastdp (sleeve only, the stand-in for a host without it), and c cannot
# reach b directly, so c's traffic to b is relayed by a (sleeve in, fastdp out, and back).
# Checks: a-b is "fastdp" and a-c "sleeve" in `weave status connections`; ping, iperf3 and
# checksummed transfers on every path, with the kernel counters showing that a<->b frames bypassed
# weaver and went straight into the container's namespace without b's bridge flooding them; a too-big DF frame gets ICMP "fragmentation needed" with the fastdp MTU; a MAC moving
# from b to c; b's weaver killed with -9 and relaunched; `weave stop` and `weave reset` leave no
# VXLAN device, qdisc or program; and the forced fallback (--fastdp-refuse) runs afpacket.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init fastdp_3
for t in iperf3 jq sha256sum nc tc arping; do command -v $t >/dev/null || e2e_skip "needs $t"; done

e2e_host a 192.168.80.1/24
e2e_host b 192.168.80.2/24
e2e_host c 192.168.80.3/24
e2e_block b c
e2e_weave a launch >/dev/null || e2e_fail "launch a"
e2e_weave b launch "$(e2e_ip a)" >/dev/null || e2e_fail "launch b"
e2e_weave c launch --no-fastdp "$(e2e_ip a)" >/dev/null || e2e_fail "launch c"
log_of() { cat "$(e2e_state_dir "$1")/weaver.log"; }
grep -q "Fast datapath on" <(log_of a) || e2e_fail "a did not start the fast path: $(log_of a | tail -5)"
grep -q "Fast datapath off (--no-fastdp)" <(log_of c) || e2e_fail "c did not say the fast path is off"

in_c() { local c=$1; shift; nsenter --net="/run/netns/${E2E_PREFIX}c$c" -- "$@"; }
n=1
for h in a b c; do
  ip netns add "${E2E_PREFIX}c$h"
  E2E_NETNS+=("${E2E_PREFIX}c$h")
  [[ $(e2e_weave $h attach 10.2.4.$n/24 "netns:${E2E_PREFIX}c$h") == 10.2.4.$n ]] || e2e_fail "attach $h"
  n=$((n + 1))
done

e2e_wait_for 30 in_c a ping -c 1 -W 1 10.2.4.2 || e2e_fail "a cannot ping b"
e2e_wait_for 30 in_c a ping -c 1 -W 1 10.2.4.3 || e2e_fail "a cannot ping c"
e2e_wait_for 30 in_c c ping -c 1 -W 1 10.2.4.2 || e2e_fail "c cannot ping b through a"

fastdp_conn() {  # host peer: the peer's line says fastdp
  e2e_weave "$1" status connections | grep -F "$(e2e_ip "$2"):" | grep -q "established.*fastdp.*mtu=1450"
}
e2e_wait_for 20 fastdp_conn a b || e2e_fail "a-b is not fastdp: $(e2e_weave a status connections)"
e2e_wait_for 20 fastdp_conn b a || e2e_fail "b-a is not fastdp: $(e2e_weave b status connections)"
line_c=$(e2e_weave a status connections | grep -F "$(e2e_ip c):")
[[ $line_c == *established*sleeve* ]] || e2e_fail "a-c should be sleeve: $line_c"
e2e_weave a report | jq -e '.Router.Connections[] | select(.Attrs.name == "fastdp") | .Attrs.mtu == 1450' >/dev/null ||
  e2e_fail "/report has no fastdp connection attrs"

counter() { e2e_weave "$1" report | jq --arg k "$2" '.Router.DatapathStats[$k] // 0'; }
iperf() {  # client server server-ip
  in_c "$2" iperf3 -s -1 >/dev/null 2>&1 &
  E2E_PIDS+=("$!")
  sleep 0.5
  in_c "$1" timeout 30 iperf3 -c "$3" -t 3 -J
}
iperf_bytes() {  # iperf3 JSON: bytes received, or the failure
  local b
  b=$(jq '.end.sum_received.bytes // 0' <<<"$1")
  ((b > 0)) || e2e_log "iperf3 failed: $(jq -r '.error // "no result"' <<<"$1" 2>/dev/null)"
  echo "$b"
}

# A bystander container on b: unicast between a and b's first container must not reach it, which
# it would if b's bridge forgot a's MAC because frames skip it (direct delivery).
ip netns add "${E2E_PREFIX}cb2"
E2E_NETNS+=("${E2E_PREFIX}cb2")
[[ $(e2e_weave b attach 10.2.4.12/24 "netns:${E2E_PREFIX}cb2") == 10.2.4.12 ]] || e2e_fail "attach b2"
rx_b2() { in_c b2 awk -F'[: ]+' '$2 == "ethwe" { print $4 }' /proc/net/dev; }
direct_ports() { (( $(counter "$1" fastdp_direct_ports) >= 2 )); }
e2e_wait_for 10 direct_ports b || e2e_fail "b's weaver found no container ports for direct delivery"

# a<->b in the kernel: frames leave as VXLAN from the programs, weaver's capture sees almost none,
# and b's kernel puts them straight into the container's namespace.
k0=$(counter a fastdp_kernel_tx_unicast) r0=$(counter b fastdp_kernel_rx_local) cap0=$(counter a capture_rx_frames)
d0=$(counter b fastdp_kernel_rx_direct) b20=$(rx_b2) t0=$(counter a fastdp_kernel_tx_direct)
in_c a ping -c 20 -i 0.05 -W 2 10.2.4.2 >/dev/null || e2e_fail "ping a->b lost packets"
for dir in "a b 10.2.4.2" "b a 10.2.4.1"; do
  # shellcheck disable=SC2086
  j=$(iperf $dir) || e2e_fail "iperf3 $dir failed"
  bytes=$(iperf_bytes "$j")
  (( bytes > 10000000 )) || e2e_fail "iperf3 $dir moved only $bytes bytes"
  e2e_log "iperf3 $dir (fastdp): $(jq '.end.sum_received.bits_per_second/1e6 | floor' <<<"$j") Mbit/s"
done
e2e_checked_transfer 20000000 "${E2E_PREFIX}ca" "${E2E_PREFIX}cb" 10.2.4.2
e2e_checked_transfer 20000000 "${E2E_PREFIX}cb" "${E2E_PREFIX}ca" 10.2.4.1 5002
k=$(( $(counter a fastdp_kernel_tx_unicast) - k0 )) r=$(( $(counter b fastdp_kernel_rx_local) - r0 ))
cap=$(( $(counter a capture_rx_frames) - cap0 ))
e2e_log "a->b: kernel sent $k, b's kernel delivered $r, a's weaver captured $cap frames"
(( k > 1000 && r > 1000 )) || e2e_fail "the kernel carried too little: a sent $k, b delivered $r"
(( cap * 10 < k )) || e2e_fail "a's weaver still saw $cap frames against $k in the kernel"
d=$(( $(counter b fastdp_kernel_rx_direct) - d0 )) b2=$(( $(rx_b2) - b20 ))
t=$(( $(counter a fastdp_kernel_tx_direct) - t0 ))
e2e_log "a sent $t of $k from the container's port, b delivered $d of $r straight into the container; the bystander received $b2 frames"
(( t * 10 > k * 9 )) || e2e_fail "a sent only $t of $k frames straight from the container's port"
(( d * 10 > r * 9 )) || e2e_fail "b delivered only $d of $r frames straight into the container"
(( $(counter a fastdp_sending_ports) >= 1 )) || e2e_fail "a's weaver put the send program on no port"
(( b2 < 100 )) || e2e_fail "the bystander on b received $b2 frames: b's bridge floods a's traffic"
grep -q "unicast to and from containers skips the bridge" <(log_of b) ||
  e2e_fail "b's log does not say it delivers straight into containers"

# Mixed paths: a<->c on the sleeve, c->b relayed by a (sleeve in, fastdp out).
for dir in "a c 10.2.4.3" "c b 10.2.4.2"; do
  # shellcheck disable=SC2086
  j=$(iperf $dir) || e2e_fail "iperf3 $dir failed"
  bytes=$(iperf_bytes "$j")
  (( bytes > 1000000 )) || e2e_fail "iperf3 $dir moved only $bytes bytes"
  e2e_log "iperf3 $dir: $(jq '.end.sum_received.bits_per_second/1e6 | floor' <<<"$j") Mbit/s"
done
e2e_checked_transfer 5000000 "${E2E_PREFIX}cc" "${E2E_PREFIX}cb" 10.2.4.2 5003
e2e_checked_transfer 5000000 "${E2E_PREFIX}cb" "${E2E_PREFIX}cc" 10.2.4.3 5004
e2e_checked_transfer 5000000 "${E2E_PREFIX}ca" "${E2E_PREFIX}cc" 10.2.4.3 5005
(( $(counter a forward_relayed) > 0 )) || e2e_fail "a relayed nothing between c and b"

# A DF frame bigger than the fastdp MTU: ICMP "fragmentation needed" with mtu 1450 from a's router.
in_c a ip link set ethwe mtu 9000
for p in $(e2e_run a ip -o link show master weave | awk -F'[ :@]+' '{print $2}'); do
  e2e_run a ip link set "$p" mtu 9000
done
out=$(in_c a ping -M do -s 3000 -c 1 -W 2 10.2.4.2 2>&1 || true)
[[ $out == *"mtu = 1450"* || $out == *"mtu=1450"* ]] || e2e_fail "no ICMP frag-needed with mtu 1450: $out"
(( $(counter a fastdp_tx_icmp_frag_needed) > 0 )) || e2e_fail "a counted no ICMP frag-needed"
in_c a ip link set ethwe mtu 1450

# A MAC moves from b to c. As in Weave, a host drops local frames from a MAC it has bound to
# another peer, so m is plugged in by hand (no gratuitous ARP, no IPv6) and c never hears of it
# while it is on b; a learns it from m's unicast ARP reply. After the move m announces itself
# from c, and a's kernel tables must follow it from the fastdp peer b to the sleeve peer c.
ip netns add "${E2E_PREFIX}cm"
E2E_NETNS+=("${E2E_PREFIX}cm")
in_m() { nsenter --net="/run/netns/${E2E_PREFIX}cm" -- "$@"; }
in_m sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
plug_m() {  # host
  e2e_run "$1" ip link add "${E2E_PREFIX}m" type veth peer name ethwe netns "${E2E_PREFIX}cm"
  e2e_run "$1" ip link set "${E2E_PREFIX}m" master weave mtu 1438 up
  in_m ip link set ethwe address 02:15:15:15:15:09 mtu 1438
  in_m ip addr add 10.2.4.9/24 dev ethwe
  in_m ip link set ethwe up
}
plug_m b
e2e_wait_for 20 in_c a ping -c 1 -W 1 10.2.4.9 || e2e_fail "a cannot reach m on b"
e2e_run b ip link del "${E2E_PREFIX}m"
plug_m c
in_m arping -U -c 2 -I ethwe 10.2.4.9 >/dev/null 2>&1 || true
e2e_wait_for 20 in_c a ping -c 1 -W 1 10.2.4.9 || e2e_fail "a cannot reach m after it moved to c"
e2e_checked_transfer 2000000 "${E2E_PREFIX}ca" "${E2E_PREFIX}cm" 10.2.4.9 5006

# Router restart: b's weaver killed with -9 (its VXLAN device and programs stay behind), then
# relaunched: they are replaced and a-b is fastdp again. It comes back with --no-fastdp-direct:
# frames for its containers then go through the bridge (as under weave-npc, --expect-npc).
kill -9 "$(cat "$(e2e_state_dir b)/weaver.pid")"
sleep 0.5
e2e_weave b launch --no-fastdp-direct "$(e2e_ip a)" >/dev/null || e2e_fail "relaunch b"
e2e_wait_for 30 in_c a ping -c 1 -W 1 10.2.4.2 || e2e_fail "a cannot ping b after b's restart"
e2e_wait_for 20 fastdp_conn a b || e2e_fail "a-b is not fastdp after b's restart"
e2e_checked_transfer 5000000 "${E2E_PREFIX}ca" "${E2E_PREFIX}cb" 10.2.4.2 5007
grep -q "delivery through the bridge (--no-fastdp-direct)" <(log_of b) || e2e_fail "b's log does not say --no-fastdp-direct"
# The killed weaver's programs on the containers' ports are gone (they ran on its old maps).
n=$(e2e_run b tc qdisc show | awk '/clsact/ { n++ } END { print n + 0 }')
(( n == 2 )) || e2e_fail "b has $n clsact qdiscs (vethwe-bridge and the VXLAN device only): $(e2e_run b tc qdisc show | grep clsact)"
r=$(counter b fastdp_kernel_rx_local) d=$(counter b fastdp_kernel_rx_direct)
(( r > 50 && d == 0 )) || e2e_fail "with --no-fastdp-direct b delivered $d of $r frames straight into containers"
[[ $(e2e_run b ip -o link show type vxlan | wc -l) == 1 ]] || e2e_fail "b has more than one VXLAN device"

# Nothing left behind: stop on a, reset on b.
leftovers() {  # host
  e2e_run "$1" ip -o link show type vxlan
  e2e_run "$1" tc qdisc show | grep clsact || true
  e2e_run "$1" tc filter show dev vethwe-bridge egress 2>/dev/null || true
}
e2e_weave a stop >/dev/null || e2e_fail "stop a"
[[ -z $(leftovers a) ]] || e2e_fail "weave stop left: $(leftovers a)"
e2e_weave b reset >/dev/null || e2e_fail "reset b"
[[ -z $(leftovers b) ]] || e2e_fail "weave reset left: $(leftovers b)"
! e2e_run b ip link show weave >/dev/null 2>&1 || e2e_fail "weave reset left the bridge"

# The forced fallback: a kernel that refuses the programs means afpacket and a clear log line.
e2e_weave a launch --fastdp-refuse "$(e2e_ip c)" >/dev/null || e2e_fail "relaunch a with --fastdp-refuse"
grep -q "Fast datapath unavailable: .*refused.*falling back to the userspace datapath (afpacket)" <(log_of a) ||
  e2e_fail "no fallback log line: $(log_of a | grep -i fast)"
[[ -z $(e2e_run a ip -o link show type vxlan) ]] || e2e_fail "the fallback created a VXLAN device"
e2e_wait_for 30 in_c a ping -c 1 -W 1 10.2.4.3 || e2e_fail "a cannot ping c on the fallback"
line_c=$(e2e_weave a status connections | grep -F "$(e2e_ip c):")
[[ $line_c == *established*sleeve* ]] || e2e_fail "a-c should be sleeve on the fallback: $line_c"
e2e_checked_transfer 5000000 "${E2E_PREFIX}ca" "${E2E_PREFIX}cc" 10.2.4.3 5008
e2e_pass
