#!/usr/bin/env bash
# Relay PMTU (issue 16): hosts E - F - G where E and G share no link, G speaks only Weave's sleeve
# (--extended-overlay=false), and E's container has MTU 1500, above the overlay MTU. E's TSO
# superframes reach F whole on the extended overlay; F must cut them for G and cannot (DF,
# segments bigger than G's MTU), so it answers with ICMP "fragmentation needed" -- which must reach
# E's container, over the overlay, for TCP to shrink its segments and go on. A checksummed 20 MB
# transfer E -> G has to complete. The hosts run afpacket without the kernel fast path (whose
# oversized frames get ICMP from the sender's own router, tested in 215).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init relay_pmtu_3
for t in nc sha256sum jq tcpdump; do command -v $t >/dev/null || e2e_skip "needs $t"; done

e2e_host e 192.168.77.1/24
e2e_host f 192.168.77.2/24
e2e_host g 192.168.77.3/24
e2e_block e g
e2e_weave f launch --no-dns --datapath-backend afpacket >/dev/null || e2e_fail "launch f"
e2e_weave e launch --no-dns --datapath-backend afpacket "$(e2e_ip f)" >/dev/null || e2e_fail "launch e"
e2e_weave g launch --no-dns --datapath-backend afpacket --extended-overlay=false "$(e2e_ip f)" >/dev/null || e2e_fail "launch g"
in_c() { local c=$1; shift; nsenter --net="/run/netns/${E2E_PREFIX}c$c" -- "$@"; }
i=1
for h in e f g; do
  ip netns add "${E2E_PREFIX}c$h"
  E2E_NETNS+=("${E2E_PREFIX}c$h")
  e2e_weave $h attach 10.2.1.$i/24 "netns:${E2E_PREFIX}c$h" >/dev/null || e2e_fail "attach $h"
  i=$((i + 1))
done
# E's container: MTU 1500 on both ends of its veth, above the overlay MTU (as a container not
# attached by `weave attach` may have it). G's too: otherwise G's SYN would advertise an MSS that
# already fits the overlay, and E would never send a segment F cannot pass on.
for h in e g; do
  in_c $h ip link set ethwe mtu 1500
  for l in $(ip -n "$(e2e_ns $h)" -o link show master weave | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^vethwepl'); do
    ip -n "$(e2e_ns $h)" link set "$l" mtu 1500
  done
done

e2e_wait_for 30 in_c e ping -c 1 -W 1 10.2.1.3 || e2e_fail "E's container cannot reach G's through F"
if e2e_run e ping -c 1 -W 1 "$(e2e_ip g)" >/dev/null 2>&1; then e2e_fail "E reaches G directly"; fi
conns=$(e2e_weave f status connections)
[[ $conns == *weftx* ]] || e2e_fail "F-E is not on the extended overlay: $conns"

# ICMP "fragmentation needed" from F must be seen in E's container.
in_c e tcpdump -n -l -i ethwe -c 1 'icmp[0] = 3 and icmp[1] = 4' >"$E2E_TMP/icmp-e.txt" 2>/dev/null &
E2E_PIDS+=("$!")
sleep 1
before=$(e2e_weave f report | jq '.Router.DatapathStats.sleeve_tx_icmp_frag_needed')
e2e_checked_transfer 20000000 "${E2E_PREFIX}ce" "${E2E_PREFIX}cg" 10.2.1.3
after=$(e2e_weave f report | jq '.Router.DatapathStats.sleeve_tx_icmp_frag_needed')
e2e_log "F sent $((after - before)) ICMP frag-needed"
(( after > before )) || e2e_fail "F never needed to cut: the test did not exercise the relay PMTU path"
e2e_wait_for 5 test -s "$E2E_TMP/icmp-e.txt" || e2e_fail "no ICMP frag-needed reached E's container"
e2e_log "E's container saw: $(head -1 "$E2E_TMP/icmp-e.txt")"
e2e_pass
