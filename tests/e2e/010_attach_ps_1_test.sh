#!/usr/bin/env bash
# weave attach / ps / detach / reset on one host (spec §11.4-11.7), without a running weaver: the
# bridge `weave` switches locally, so two attached container namespaces reach each other through
# it. Checks the container side (ethwe: addresses, MTU, multicast route, TX offloads off), the
# host side (vethwepl* port with hairpin on), `weave ps` output, detach and reset. Everything
# lives in namespaces this test creates.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init attach_ps
command -v ethtool >/dev/null 2>&1 || e2e_skip "needs 'ethtool'"
[[ -x $E2E_WEAVER ]] || e2e_fail "no weaver binary at $E2E_WEAVER (build the 'weaver' target)"

root_links_before=$(ip -o link show | awk -F': ' '{print $2}' | sort)

e2e_host h 192.168.77.1/24
c1=${E2E_PREFIX}c1
c2=${E2E_PREFIX}c2
for ns in "$c1" "$c2"; do
  ip netns add "$ns"
  E2E_NETNS+=("$ns")
  ip -n "$ns" link set lo up
done
in_c() {
  local ns=$1
  shift
  nsenter --net="/run/netns/$ns" -- "$@"
}
mac_of() { ip -n "$1" -o link show dev "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\) .*/\1/p'; }

# ---- bridge ------------------------------------------------------------------------------------
e2e_run h "$E2E_WEAVER" util create-bridge weave || e2e_fail "weaver util create-bridge failed"
e2e_run h "$E2E_WEAVER" util create-bridge weave || e2e_fail "create-bridge is not idempotent"
links=$(ip -n "$(e2e_ns h)" -o link show)
[[ $links == *" weave: "* && $links == *"vethwe-pcap@vethwe-bridge"* ]] ||
  e2e_fail "bridge setup: $links"
[[ $(ip -n "$(e2e_ns h)" -o link show master weave) == *"vethwe-bridge@"* ]] ||
  e2e_fail "vethwe-bridge is not a port of weave"
bridge_mtu=$(ip -n "$(e2e_ns h)" -o link show dev weave | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
[[ $bridge_mtu == 65535 ]] || e2e_fail "bridge MTU is $bridge_mtu, want 65535"

# ---- attach ------------------------------------------------------------------------------------
# No weaver: net: cannot be allocated (weave's message) and the container is left alone; a
# container whose process is gone is reported dead.
out=$(e2e_weave h attach "netns:$c1" 2>&1) && e2e_fail "net:default attached without weaver: $out"
[[ $out == "weave container is not present. Have you launched it?" ]] || e2e_fail "attach without weaver: '$out'"
[[ $(ip -n "$c1" -o link show) != *ethwe* ]] || e2e_fail "a refused attach made ethwe in c1"
out=$(e2e_weave h detach net:10.40.0.0/16 "netns:$c1" 2>&1) && e2e_fail "net: detached without weaver: $out"
[[ $out == "weave container is not present. Have you launched it?" ]] || e2e_fail "detach without weaver: '$out'"
true &
dead=$!
wait "$dead"
out=$(e2e_run h "$E2E_WEAVER" util attach "$dead" "pid:$dead" weave 10.2.1.9/24 2>&1) && e2e_fail "attached a dead pid"
[[ $out == *"Container $dead died" ]] || e2e_fail "dead container: '$out'"
out=$(e2e_weave h attach 10.2.1.1/24 "netns:$c1") || e2e_fail "attach c1 failed"
[[ $out == 10.2.1.1 ]] || e2e_fail "attach c1 printed '$out'"
out=$(e2e_weave h attach ip:10.2.1.2/24 "/run/netns/$c2") || e2e_fail "attach c2 failed"
[[ $out == 10.2.1.2 ]] || e2e_fail "attach c2 printed '$out'"

addr=$(ip -n "$c1" -o addr show dev ethwe)
[[ $addr == *"inet 10.2.1.1/24 brd 10.2.1.255"* ]] || e2e_fail "c1 ethwe address: $addr"
link=$(ip -n "$c1" -o link show dev ethwe)
[[ $link == *"mtu $bridge_mtu "* && $link == *"UP"* ]] || e2e_fail "c1 ethwe: $link"
routes=$(ip -n "$c1" route show)
[[ $routes == *"224.0.0.0/4 dev ethwe scope link"* ]] ||
  e2e_fail "no multicast route in c1: $routes"
feat=$(in_c "$c1" ethtool -k ethwe)
[[ $feat == *"tx-checksumming: off"* ]] || e2e_fail "tx-checksumming is on in c1: $feat"
[[ $feat == *"tcp-segmentation-offload: off"* ]] || e2e_fail "TSO is on in c1: $feat"
[[ $feat == *"generic-segmentation-offload: off"* ]] || e2e_fail "GSO is on in c1: $feat"
ports=$(ip -n "$(e2e_ns h)" -o -d link show master weave)
[[ $ports == *"vethwepl"* ]] || e2e_fail "no vethwepl port on weave: $ports"
hostend=$(ip -n "$(e2e_ns h)" -o link show master weave |
  awk -F': ' '{ sub(/@.*/, "", $2); if ($2 ~ /^vethwepl/ && !done) { print $2; done = 1 } }')
[[ -n $hostend ]] || e2e_fail "no vethwepl port found"
hp=$(ip -n "$(e2e_ns h)" -d link show dev "$hostend")
[[ $hp == *"hairpin on"* ]] || e2e_fail "hairpin is off on $hostend: $hp"

# Attaching again with the same address changes nothing.
mac1=$(mac_of "$c1" ethwe)
mac2=$(mac_of "$c2" ethwe)
e2e_weave h attach 10.2.1.1/24 "netns:$c1" >/dev/null || e2e_fail "second attach of c1 failed"
[[ $(mac_of "$c1" ethwe) == "$mac1" ]] || e2e_fail "second attach recreated ethwe"
[[ $(ip -n "$c1" -o -4 addr show dev ethwe | wc -l) -eq 1 ]] || e2e_fail "address added twice"

# ---- traffic through the bridge ----------------------------------------------------------------
in_c "$c1" ping -c 2 -W 2 10.2.1.2 >/dev/null || e2e_fail "c1 cannot ping c2"
in_c "$c2" ping -c 2 -W 2 10.2.1.1 >/dev/null || e2e_fail "c2 cannot ping c1"
# A full-size TCP-ish payload must cross too (no TSO superframes, no partial checksums).
in_c "$c2" ping -c 1 -W 2 -s 8000 10.2.1.1 >/dev/null || e2e_fail "large ping c2 -> c1 failed"

# ---- ps ----------------------------------------------------------------------------------------
bridge_mac=$(mac_of "$(e2e_ns h)" weave)
ps=$(e2e_weave h ps) || e2e_fail "weave ps failed"
e2e_log "weave ps:"$'\n'"$ps"
[[ $'\n'$ps$'\n' == *$'\n'"weave:expose $bridge_mac"$'\n'* ]] || e2e_fail "ps: no weave:expose line"
[[ $'\n'$ps$'\n' == *$'\n'"netns:$c1 $mac1 10.2.1.1/24"$'\n'* ]] || e2e_fail "ps: no line for c1"
[[ $'\n'$ps$'\n' == *$'\n'"netns:$c2 $mac2 10.2.1.2/24"$'\n'* ]] || e2e_fail "ps: no line for c2"
ps=$(e2e_weave h ps "netns:$c2") || e2e_fail "weave ps netns:c2 failed"
[[ $ps == "netns:$c2 $mac2 10.2.1.2/24" ]] || e2e_fail "ps netns:c2 printed '$ps'"
if e2e_weave h ps "netns:${E2E_PREFIX}none" >/dev/null 2>&1; then
  e2e_fail "ps of a missing netns succeeded"
fi

# ---- expose / hide -----------------------------------------------------------------------------
out=$(e2e_weave h expose 10.2.1.254/24) || e2e_fail "expose failed"
[[ $out == 10.2.1.254 ]] || e2e_fail "expose printed '$out'"
e2e_run h ping -c 1 -W 2 10.2.1.1 >/dev/null || e2e_fail "host cannot reach c1 after expose"
ps=$(e2e_weave h ps weave:expose)
[[ $ps == "weave:expose $bridge_mac 10.2.1.254/24" ]] || e2e_fail "ps weave:expose printed '$ps'"
e2e_weave h hide 10.2.1.254/24 >/dev/null || e2e_fail "hide failed"
[[ $(ip -n "$(e2e_ns h)" -o addr show dev weave) != *10.2.1.254* ]] ||
  e2e_fail "hide left the address"

# ---- detach ------------------------------------------------------------------------------------
out=$(e2e_weave h detach 10.2.1.1/24 "netns:$c1") || e2e_fail "detach failed"
[[ $out == 10.2.1.1 ]] || e2e_fail "detach printed '$out'"
[[ $(ip -n "$c1" -o link show) != *ethwe* ]] || e2e_fail "ethwe still in c1 after detach"
[[ $(ip -n "$(e2e_ns h)" -o link show) != *"$hostend"* ]] || e2e_fail "$hostend left after detach"
ps=$(e2e_weave h ps)
[[ $ps != *"netns:$c1 "* ]] || e2e_fail "ps still lists c1: $ps"
if in_c "$c2" ping -c 1 -W 1 10.2.1.1 >/dev/null 2>&1; then
  e2e_fail "c1 still reachable after detach"
fi

# ---- reset -------------------------------------------------------------------------------------
e2e_weave h reset || e2e_fail "reset failed"
links=$(ip -n "$(e2e_ns h)" -o link show)
[[ $links != *" weave: "* && $links != *vethwe* ]] || e2e_fail "reset left links: $links"
[[ $(ip -n "$c2" -o link show) != *ethwe* ]] || e2e_fail "c2's ethwe survived reset"
e2e_weave h reset || e2e_fail "second reset failed"

root_links_after=$(ip -o link show | awk -F': ' '{print $2}' | sort)
[[ $root_links_before == "$root_links_after" ]] || e2e_fail "root namespace links changed"
e2e_pass
