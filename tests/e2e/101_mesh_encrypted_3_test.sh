#!/usr/bin/env bash
# Encrypted mesh: 3 hosts A-B-C (A and C share no link) with a password form the mesh and route
# A->C via B; a fourth peer D with the wrong password is refused with a clear log line and never
# appears in anyone's topology.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init mesh_enc_3

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
e2e_host c 192.168.77.3/24
e2e_host d 192.168.77.4/24
e2e_block a c

e2e_weave b launch --password s3cret >/dev/null || e2e_fail "launch b"
e2e_weave a launch --password s3cret "$(e2e_ip b)" >/dev/null || e2e_fail "launch a"
WEAVE_PASSWORD=s3cret e2e_weave c launch "$(e2e_ip b)" >/dev/null || e2e_fail "launch c"
e2e_weave d launch --password wrong "$(e2e_ip b)" >/dev/null || e2e_fail "launch d"

peers_seen() { [[ $(e2e_weave "$1" status peers | grep -c '^[0-9a-f:]\{17\}(') -eq 3 ]]; }
for h in a b c; do
  e2e_wait_for 30 peers_seen $h || e2e_fail "$h does not list 3 peers: $(e2e_weave $h status peers)"
done
nb=$(e2e_weave b report -f '{{.Router.Name}}')
nc=$(e2e_weave c report -f '{{.Router.Name}}')
nd=$(e2e_weave d report -f '{{.Router.Name}}')
route_via_b() {
  e2e_weave a report | jq -e --arg c "$nc" --arg b "$nb" \
    '.Router.UnicastRoutes | map(select(.Dest == $c and .Via == $b)) | length == 1' >/dev/null
}
e2e_wait_for 30 route_via_b || e2e_fail "A has no route to C via B"
[[ $(e2e_weave a status) == *"Encryption: enabled"* ]] || e2e_fail "encryption not shown as enabled"
[[ $(e2e_weave a status connections) == *"established encrypted"* ]] || e2e_fail "connection not shown encrypted: $(e2e_weave a status connections)"

# D keeps failing; its error is logged on both sides and it never joins.
logd=$(e2e_state_dir d)/weaver.log
logb=$(e2e_state_dir b)/weaver.log
refused() { grep -qiE 'password' "$logd" && grep -qiE 'password' "$logb"; }
e2e_wait_for 30 refused || e2e_fail "no clear refusal logged; d: $(tail -5 "$logd"); b: $(tail -5 "$logb")"
sleep 3
for h in a b c; do
  e2e_weave $h report | jq -e --arg d "$nd" '[.Router.Peers[].Name] | index($d) == null' >/dev/null ||
    e2e_fail "$h lists the wrong-password peer"
done
[[ $(e2e_weave d status peers | grep -c '^[0-9a-f:]\{17\}(') -eq 1 ]] || e2e_fail "d learned peers"
e2e_pass
