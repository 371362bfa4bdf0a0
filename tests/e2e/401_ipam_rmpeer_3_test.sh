#!/usr/bin/env bash
# IPAM consensus and dead peers: while consensus waits, `weave status ipam` says so and names the
# peers it waits for; after a host is stopped for good, its range shows as owned by an
# unreachable peer with the reclaim command, and `weave rmpeer` makes the space usable.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init ipam_rmpeer_3

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
e2e_host c 192.168.77.3/24
in_c() { local c=$1; shift; nsenter --net="/run/netns/${E2E_PREFIX}c$1" -- "${@:2}"; }

# a waits for a quorum of 2 of 3 (b and c not yet launched): the status explains.
e2e_weave a launch --ipalloc-init consensus=3 --nickname hostA >/dev/null || e2e_fail "launch a"
ip netns add "${E2E_PREFIX}ca1"
E2E_NETNS+=("${E2E_PREFIX}ca1")
(e2e_weave a attach "netns:${E2E_PREFIX}ca1" >"$E2E_TMP/a1" 2>&1) &
attach_pid=$!
waiting() { [[ $(e2e_weave a status ipam) == *"awaiting consensus"* ]]; }
e2e_wait_for 10 waiting || e2e_fail "no 'awaiting consensus': $(e2e_weave a status ipam)"
[[ $(e2e_weave a status) == *"Status: awaiting consensus (quorum: 2"* ]] || e2e_fail "status line: $(e2e_weave a status)"

e2e_weave b launch --nickname hostB "$(e2e_ip a)" >/dev/null || e2e_fail "launch b"
e2e_weave c launch --nickname hostC "$(e2e_ip a)" >/dev/null || e2e_fail "launch c"
wait "$attach_pid" || e2e_fail "attach on a failed: $(cat "$E2E_TMP/a1")"
[[ $(e2e_weave a status) == *"Status: ready"* ]] || e2e_fail "not ready after consensus"

# Make c own space: allocate there.
ip netns add "${E2E_PREFIX}cc1"
E2E_NETNS+=("${E2E_PREFIX}cc1")
e2e_weave c attach "netns:${E2E_PREFIX}cc1" >/dev/null || e2e_fail "attach c"
nc=$(e2e_weave c report -f '{{.Router.Name}}')
owns_c() { e2e_weave a report | jq -e --arg c "$nc" '[.IPAM.Entries[] | select(.Peer == $c)] | length > 0' >/dev/null; }
e2e_wait_for 20 owns_c || e2e_fail "a does not see c's ranges"

# c goes away for good.
e2e_weave c stop >/dev/null
gone() { ! e2e_weave a status peers | grep -q "$nc"; }
e2e_wait_for 90 gone || e2e_fail "a still lists c"
ipam=$(e2e_weave a status ipam)
[[ $ipam == *"weave rmpeer"* ]] || e2e_fail "no reclaim hint for c's ranges: $ipam"

out=$(e2e_weave a rmpeer "$nc") || e2e_fail "rmpeer failed: $out"
[[ $out =~ ^[1-9][0-9]*\ IPs\ taken\ over\ from ]] || e2e_fail "rmpeer said: $out"
e2e_weave a report | jq -e --arg c "$nc" '[.IPAM.Entries[] | select(.Peer == $c)] | length == 0' >/dev/null ||
  e2e_fail "c still owns ranges after rmpeer"
# b learns of the takeover too.
b_sees() { e2e_weave b report | jq -e --arg c "$nc" '[.IPAM.Entries[] | select(.Peer == $c)] | length == 0' >/dev/null; }
e2e_wait_for 20 b_sees || e2e_fail "b did not learn of the takeover"
e2e_pass
