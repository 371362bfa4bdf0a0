#!/usr/bin/env bash
# Mesh control plane, 3 hosts A-B-C where A and C share no link: all three list all three peers,
# A's unicast route to C goes via B, and the CLI answers like Weave's.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init mesh_3

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
e2e_host c 192.168.77.3/24
e2e_block a c

e2e_weave b launch --nickname hostB >/dev/null || e2e_fail "launch b"
e2e_weave a launch --nickname hostA "$(e2e_ip b)" >/dev/null || e2e_fail "launch a"
e2e_weave c launch --nickname hostC "$(e2e_ip b)" >/dev/null || e2e_fail "launch c"

# Each peer's /status/peers starts a line per peer with name(nick).
peers_seen() { [[ $(e2e_weave "$1" status peers | grep -c '^[0-9a-f:]\{17\}(') -eq 3 ]]; }
for h in a b c; do
  e2e_wait_for 30 peers_seen $h || e2e_fail "$h does not list 3 peers: $(e2e_weave $h status peers)"
done

name_of() { e2e_weave "$1" report -f '{{.Router.Name}}'; }
na=$(name_of a)
nb=$(name_of b)
nc=$(name_of c)
[[ $na != "$nb" && $nb != "$nc" && $na != "$nc" ]] || e2e_fail "peer names are not distinct: $na $nb $nc"

# A reaches C only through B: the unicast route to C has B as next hop.
route_via_b() {
  e2e_weave a report | jq -e --arg c "$nc" --arg b "$nb" \
    '.Router.UnicastRoutes | map(select(.Dest == $c and .Via == $b)) | length == 1' >/dev/null
}
e2e_wait_for 30 route_via_b || e2e_fail "A has no route to C via B: $(e2e_weave a report | jq -c .Router.UnicastRoutes)"
# And A has no direct connection to C (the partition holds).
[[ $(e2e_weave a report | jq -r --arg c "$nc" '[.Router.Connections[]? | select(.State=="established") | .Info | contains($c)] | any') == false ]] ||
  e2e_fail "A claims an established connection to C"

status=$(e2e_weave a status)
[[ $status == *"Service: router"* && $status == *"Peers: 3"* ]] || e2e_fail "weave status: $status"
[[ $status == *"Encryption: disabled"* ]] || e2e_fail "encryption should be disabled: $status"
# The direct targets, one address per line as Weave prints them. weft appends why a target is
# not connected and lists failing discovered targets after them (here: C, which A cannot reach).
direct_targets() { e2e_weave "$1" status targets | awk '!/\(discovered\)/ {print $1}'; }
[[ $(direct_targets b) == "" ]] || e2e_fail "b has targets: $(e2e_weave b status targets)"
[[ $(direct_targets a) == "$(e2e_ip b)" ]] || e2e_fail "a's targets: $(e2e_weave a status targets)"
[[ $(e2e_weave a status connections) == *established* ]] || e2e_fail "no established connection on a"
metrics=$(e2e_run a curl -s http://127.0.0.1:6782/metrics)
[[ $metrics == *'weave_connections{'* ]] || e2e_fail "metrics: $metrics"

# forget + connect through the API.
e2e_weave a forget "$(e2e_ip b)" || e2e_fail "forget"
[[ $(direct_targets a) == "" ]] || e2e_fail "forget left a target: $(e2e_weave a status targets)"
e2e_weave a connect "$(e2e_ip b)" || e2e_fail "connect"
[[ $(direct_targets a) == "$(e2e_ip b)" ]] || e2e_fail "connect did not add the target"
out=$(e2e_weave a connect 'x:y:z:0' 2>&1) && e2e_fail "bad peer accepted"
[[ $out == *"too many colons"* ]] || e2e_fail "bad peer message: $out"

e2e_weave a stop >/dev/null || e2e_fail "stop"
e2e_pass
