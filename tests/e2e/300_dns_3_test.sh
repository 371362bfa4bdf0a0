#!/usr/bin/env bash
# weaveDNS across hosts: a name registered on B resolves from a container on A (dig and
# nslookup), two containers with one name give both addresses, a removal propagates, PTR works,
# a non-weave name is answered by an upstream dnsmasq (in its own namespace) through weft, and a
# flood of garbage datagrams leaves the server answering.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init dns_3
for t in dig nslookup dnsmasq; do command -v $t >/dev/null || e2e_skip "needs $t"; done

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
e2e_host up 192.168.77.9/24  # the upstream resolver
in_c() { local c=$1; shift; nsenter --net="/run/netns/${E2E_PREFIX}c$c" -- "$@"; }

# Upstream: dnsmasq answering example.test only.
e2e_bg up dnsmasq.log dnsmasq --no-daemon --no-resolv --no-hosts --listen-address=192.168.77.9 \
  --bind-interfaces --address=/upstream.example.test/192.0.2.7 --pid-file="$E2E_TMP/dnsmasq.pid"
echo "nameserver 192.168.77.9" >"$E2E_TMP/resolv.conf"

e2e_weave a launch --resolv-conf "$E2E_TMP/resolv.conf" >/dev/null || e2e_fail "launch a"
e2e_weave b launch "$(e2e_ip a)" >/dev/null || e2e_fail "launch b"
for c in a a2 b; do
  ip netns add "${E2E_PREFIX}c$c"
  E2E_NETNS+=("${E2E_PREFIX}c$c")
done
e2e_weave a attach 10.2.1.1/24 "netns:${E2E_PREFIX}ca" >/dev/null || e2e_fail "attach a"
e2e_weave a attach 10.2.1.3/24 "netns:${E2E_PREFIX}ca2" >/dev/null || e2e_fail "attach a2"
e2e_weave b attach 10.2.1.2/24 "netns:${E2E_PREFIX}cb" >/dev/null || e2e_fail "attach b"
# Host a joins the weave network so its containers can reach its DNS server.
e2e_weave a expose 10.2.1.100/24 >/dev/null || e2e_fail "expose"
DNS=10.2.1.100

e2e_weave b dns-add 10.2.1.2 "netns:${E2E_PREFIX}cb" -h web.weave.local || e2e_fail "dns-add web on b"
q() { in_c a dig @$DNS +short +time=2 +tries=1 "$@"; }
resolved() { [[ $(q "$1") == *"$2"* ]]; }
e2e_wait_for 15 resolved web.weave.local 10.2.1.2 || e2e_fail "web.weave.local does not resolve from a: $(q web.weave.local)"
resolved WEB.weave.local 10.2.1.2 || e2e_fail "case-insensitive lookup failed"
resolved web 10.2.1.2 || e2e_fail "single-label lookup failed"
ns_out=$(in_c a nslookup web.weave.local $DNS 2>&1) || e2e_fail "nslookup failed: $ns_out"
[[ $ns_out == *"10.2.1.2"* ]] || e2e_fail "nslookup: $ns_out"
[[ $(in_c a dig @$DNS +short -x 10.2.1.2) == "web.weave.local." ]] || e2e_fail "PTR: $(in_c a dig @$DNS +short -x 10.2.1.2)"
[[ $(in_c a dig @$DNS nothere.weave.local | grep -c NXDOMAIN) -ge 1 ]] || e2e_fail "unknown name is not NXDOMAIN"
[[ $(e2e_weave a status dns) == *web* ]] || e2e_fail "status dns: $(e2e_weave a status dns)"

# Two containers, one name: both addresses.
e2e_weave b dns-add 10.2.1.2 "netns:${E2E_PREFIX}cb" -h db.weave.local || e2e_fail "dns-add db on b"
e2e_weave a dns-add 10.2.1.3 "netns:${E2E_PREFIX}ca2" -h db.weave.local || e2e_fail "dns-add db on a"
both() { local o; o=$(q db.weave.local); [[ $o == *10.2.1.2* && $o == *10.2.1.3* ]]; }
e2e_wait_for 15 both || e2e_fail "db.weave.local does not give both addresses: $(q db.weave.local)"

# Removal on b propagates to a.
e2e_weave b dns-remove 10.2.1.2 "netns:${E2E_PREFIX}cb" -h db.weave.local || e2e_fail "dns-remove"
only_a() { [[ $(q db.weave.local) == "10.2.1.3" ]]; }
e2e_wait_for 15 only_a || e2e_fail "removal did not propagate: $(q db.weave.local)"

# Upstream for other names.
resolved upstream.example.test 192.0.2.7 || e2e_fail "upstream name not forwarded: $(q upstream.example.test)"
[[ $(e2e_weave a status) == *"Upstream: 192.168.77.9"* ]] || e2e_fail "status upstream: $(e2e_weave a status)"

# Garbage flood, then it still answers.
in_c a bash -c 'for i in $(seq 1 3000); do head -c $((RANDOM % 200 + 1)) /dev/urandom >/dev/udp/10.2.1.100/53; done' 2>/dev/null || true
e2e_wait_for 10 resolved web.weave.local 10.2.1.2 || e2e_fail "server stopped answering after the flood"
kill -0 "$(cat "$(e2e_state_dir a)/weaver.pid")" || e2e_fail "weaver died"
e2e_pass
