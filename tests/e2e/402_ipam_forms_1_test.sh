#!/usr/bin/env bash
# IPAM address forms on one host: net:CIDR allocates inside that subnet, ip:CIDR claims exactly,
# no address means the default subnet, expose without a CIDR allocates for weave:expose, weave ps
# and GET /ip show them, and detach releases an IPAM address (but not the others).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init ipam_forms
e2e_host a 192.168.77.1/24
e2e_weave a launch >/dev/null || e2e_fail "launch a"
for c in 1 2 3 4; do
  ip netns add "${E2E_PREFIX}c$c"
  E2E_NETNS+=("${E2E_PREFIX}c$c")
done
net=$(e2e_weave a attach net:10.40.0.0/16 "netns:${E2E_PREFIX}c1") || e2e_fail "attach net:"
[[ $net == 10.40.* ]] || e2e_fail "net:10.40.0.0/16 gave $net"
ip=$(e2e_weave a attach ip:10.32.5.5/12 "netns:${E2E_PREFIX}c2") || e2e_fail "attach ip:"
[[ $ip == 10.32.5.5 ]] || e2e_fail "ip:10.32.5.5/12 gave $ip"
dflt=$(e2e_weave a attach "netns:${E2E_PREFIX}c3") || e2e_fail "attach default"
[[ $dflt =~ ^10\.(3[2-9]|4[0-7])\. && $dflt != 10.32.5.5 ]] || e2e_fail "default gave $dflt"
# A claim of an address another container holds is refused with Weave's message.
out=$(e2e_weave a attach ip:10.32.5.5/12 "netns:${E2E_PREFIX}c4" 2>&1) && e2e_fail "double claim accepted"
[[ $out == *"already owned by"* ]] || e2e_fail "double claim message: $out"
exp=$(e2e_weave a expose) || e2e_fail "expose"
[[ $exp =~ ^10\.(3[2-9]|4[0-7])\. ]] || e2e_fail "expose gave $exp"
[[ $(e2e_run a ip -o -4 addr show dev weave) == *"$exp/12"* ]] || e2e_fail "bridge lacks $exp"
ps=$(e2e_weave a ps)
for want in "weave:expose" "$net/16" "$ip/12" "$dflt/12"; do
  [[ $ps == *"$want"* ]] || e2e_fail "weave ps lacks $want: $ps"
done
owned=$(e2e_run a curl -s http://127.0.0.1:6784/ip)
[[ $(jq -r '.owned | length' <<<"$owned") == 4 ]] || e2e_fail "GET /ip: $owned"
e2e_weave a detach "netns:${E2E_PREFIX}c3" >/dev/null || e2e_fail "detach"
owned=$(e2e_run a curl -s http://127.0.0.1:6784/ip)
[[ $owned != *"$dflt"* ]] || e2e_fail "detach did not release $dflt: $owned"
[[ $owned == *"10.32.5.5"* ]] || e2e_fail "a claim vanished: $owned"
e2e_pass
