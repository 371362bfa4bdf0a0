#!/usr/bin/env bash
# IPAM address forms on one host: net:CIDR allocates inside that subnet, ip:CIDR claims exactly,
# no address means the default subnet, expose without a CIDR allocates for weave:expose, weave ps
# and GET /ip show them, and detach releases an IPAM address (but not the others). Mixed forms
# in one attach, weaveDNS names of `weaver util attach --fqdn` (what the script passes for a
# Docker container with a domain), and with IPAM off: net: refused, explicit CIDRs still attach.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init ipam_forms
e2e_host a 192.168.77.1/24
e2e_weave a launch >/dev/null || e2e_fail "launch a"
for c in 1 2 3 4 5 6; do
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

# net:CIDR and an explicit CIDR in one attach: printed in argument order, both held in IPAM (the
# explicit one claimed by PUT); detach of both gives back only the looked-up one.
c5=${E2E_PREFIX}c5
out=$(e2e_weave a attach net:10.40.0.0/16 10.32.7.7/12 "netns:$c5") || e2e_fail "attach mixed: $out"
[[ $out =~ ^10\.40\.[0-9]+\.[0-9]+\ 10\.32\.7\.7$ ]] || e2e_fail "attach mixed printed '$out'"
mixed_net=${out%% *}
[[ $(ip -n "$c5" -o -4 addr show dev ethwe) == *"$mixed_net/16"*"10.32.7.7/12"* ]] ||
  e2e_fail "c5 addresses: $(ip -n "$c5" -o -4 addr show dev ethwe)"
owned=$(e2e_run a curl -s http://127.0.0.1:6784/ip)
[[ $(jq -r --arg id "$c5" '.owned[] | select(.containerid == $id) | .addrs | sort | join(" ")' <<<"$owned") == \
  "10.32.7.7/12 $mixed_net/16" ]] || e2e_fail "IPAM does not hold both of c5's addresses: $owned"
out=$(e2e_weave a detach net:10.40.0.0/16 10.32.7.7/12 "netns:$c5") || e2e_fail "detach mixed"
[[ $out == "$mixed_net 10.32.7.7" ]] || e2e_fail "detach mixed printed '$out'"
[[ $(ip -n "$c5" -o link show) != *ethwe* ]] || e2e_fail "ethwe still in c5 after detach"
owned=$(e2e_run a curl -s http://127.0.0.1:6784/ip)
[[ $owned != *"$mixed_net/"* ]] || e2e_fail "detach did not release $mixed_net: $owned"
[[ $owned == *"10.32.7.7"* ]] || e2e_fail "detach released the explicit claim: $owned"

# weaveDNS: the name goes in for every address with the attach and out with the detach.
c6=${E2E_PREFIX}c6
util() { e2e_run a "$E2E_WEAVER" util "$@"; }
out=$(util attach --router-running --http-addr 127.0.0.1:6784 --fqdn db6.weave.local "$c6" "netns:$c6" weave \
  ip:10.32.6.6/12) || e2e_fail "util attach --fqdn: $out"
[[ $out == 10.32.6.6 ]] || e2e_fail "util attach --fqdn printed '$out'"
dns=$(e2e_weave a status dns)
[[ $dns == *db6*10.32.6.6* ]] || e2e_fail "db6 not in weaveDNS after attach: $dns"
out=$(util attach --without-dns --router-running --http-addr 127.0.0.1:6784 --fqdn other.weave.local "$c6" \
  "netns:$c6" weave ip:10.32.6.6/12) || e2e_fail "util attach --without-dns"
[[ $(e2e_weave a status dns) != *other* ]] || e2e_fail "--without-dns registered a name"
util detach --router-running --http-addr 127.0.0.1:6784 --fqdn db6.weave.local "$c6" "netns:$c6" weave \
  10.32.6.6/12 >/dev/null || e2e_fail "util detach --fqdn"
dns=$(e2e_weave a status dns)
[[ $dns != *db6* ]] || e2e_fail "db6 still in weaveDNS after detach: $dns"

# IPAM off: net: is refused before anything changes, an explicit CIDR attaches (the PUT's 404 is
# fine) and detach of net: finds nothing.
e2e_weave a stop >/dev/null || e2e_fail "stop"
e2e_weave a launch --ipalloc-range "" >/dev/null || e2e_fail "launch without IPAM"
out=$(e2e_weave a attach net:default "netns:$c5" 2>&1) && e2e_fail "net: attached with IPAM off: $out"
[[ $out == "IP address allocation must be enabled to use 'net:'" ]] || e2e_fail "IPAM off, net: said '$out'"
[[ $(ip -n "$c5" -o link show) != *ethwe* ]] || e2e_fail "a refused attach made ethwe in c5"
out=$(e2e_weave a attach 10.2.5.5/24 "netns:$c5" 2>&1) || e2e_fail "explicit CIDR with IPAM off: $out"
[[ $out == 10.2.5.5 ]] || e2e_fail "explicit CIDR with IPAM off printed '$out'"
out=$(e2e_weave a detach "netns:$c5" 2>&1) && e2e_fail "detach net:default with IPAM off succeeded: $out"
[[ $out == "No IP address found for $c5" ]] || e2e_fail "detach with IPAM off said '$out'"
out=$(e2e_weave a detach 10.2.5.5/24 "netns:$c5") || e2e_fail "detach explicit with IPAM off"
[[ $out == 10.2.5.5 ]] || e2e_fail "detach explicit printed '$out'"
e2e_pass
