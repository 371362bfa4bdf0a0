#!/usr/bin/env bash
# weave-kube launch end to end against the test API server (tests/kube/fake_apiserver.py, TLS,
# recorded shapes): real routers in netns started by `weaver kube-launch` from the environment
# alone, as the DaemonSet's `weave` container would be.
#   * three nodes join: each dials the others (peers from GET /api/v1/nodes), adds itself to the
#     kube-peers.weave.works/peers annotation of kube-system/weave-net in Weave's exact shape, and
#     marks its node NetworkUnavailable=False (WeaveIsUp);
#   * a node is deleted (its router gone): the reclaim daemons rmpeer it exactly once, the list
#     drops it, no lock annotation is left, and its IP space is owned by live peers;
#   * a fourth node joins and allocates.
# A 409 is injected on the first ConfigMap update and the launch survives it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube_lib.sh"
e2e_init kube_launch
command -v jq >/dev/null || e2e_skip "needs jq"

e2e_host api 192.168.84.250/24
e2e_kubeapi api
for i in 1 2 3 4; do e2e_host "n$i" "192.168.84.$i/24"; done
for i in 1 2 3; do e2e_kube_node "node-$i" "192.168.84.$i"; done
e2e_kube_ctl POST fail '{"method":"PUT","path":"/api/v1/namespaces/kube-system/configmaps/weave-net","status":409,"count":1}' >/dev/null

launch() { # launch N: weaver kube-launch on host nN as node-N
  local n=$1 root=$E2E_TMP/n$1/hostroot
  mkdir -p "$root/etc" "$E2E_TMP/n$n/weavedb"
  head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$root/etc/machine-id"
  # shellcheck disable=SC2046
  e2e_bg "n$n" "n$n-launch.log" env $(e2e_kube_env) HOSTNAME="node-$n" INIT_CONTAINER=true \
    HOST_ROOT="$root" DB_PREFIX="$E2E_TMP/n$n/weavedb/weave-net" WEAVE_METRICS_ADDR=127.0.0.1:6782 \
    "$E2E_WEAVER" kube-launch
  eval "LAUNCH_PID_$n=$E2E_LAST_PID"
}
peer_of() { e2e_weave "n$1" report -f '{{.Router.Name}}'; }
annotation() { e2e_kube_get /api/v1/namespaces/kube-system/configmaps/weave-net | jq -r '.metadata.annotations["kube-peers.weave.works/peers"] // ""'; }
listed_peers() { annotation | jq -r '.Peers[]?.PeerName' | sort | tr '\n' ' '; }

for i in 1 2 3; do launch "$i"; done
connected() { # connected N COUNT: nN has COUNT established connections
  [[ $(e2e_weave "n$1" report | jq '[.Router.Connections[]? | select(.State == "established")] | length') == "$2" ]]
}
for i in 1 2 3; do
  e2e_wait_for 60 connected "$i" 2 || e2e_fail "node-$i is not connected to the other two: $(tail -5 "$E2E_TMP/n$i-launch.log")"
done
P1=$(peer_of 1) P2=$(peer_of 2) P3=$(peer_of 3)
want=$(printf '%s\n' "$P1" "$P2" "$P3" | sort | tr '\n' ' ')
all_listed() { [[ $(listed_peers) == "$want" ]]; }
e2e_wait_for 60 all_listed || e2e_fail "peer list: $(annotation), want $want"
# Weave's exact shape: compact JSON, Go field names, node names.
annotation | grep -qE '^\{"Peers":\[\{"PeerName":"[0-9a-f:]{17}","NodeName":"node-[123]"\}' ||
  e2e_fail "annotation not in Weave's shape: $(annotation)"
[[ $(annotation | jq -r --arg p "$P2" '.Peers[] | select(.PeerName == $p) | .NodeName') == node-2 ]] ||
  e2e_fail "node-2's entry is wrong: $(annotation)"
# The injected 409 was met and retried (a second PUT of the ConfigMap).
[[ $(e2e_kube_ctl GET requests | jq '[.[] | select(.method == "PUT" and (.path | endswith("/configmaps/weave-net")))] | length') -ge 4 ]] ||
  e2e_fail "no retry after the 409"
node_up() { e2e_kube_get "/api/v1/nodes/node-$1" | jq -e '.status.conditions[] | select(.type == "NetworkUnavailable" and .status == "False" and .reason == "WeaveIsUp")' >/dev/null; }
for i in 1 2 3; do e2e_wait_for 30 node_up "$i" || e2e_fail "node-$i status not set"; done
# The bridge is exposed (weave:expose) on every node.
for i in 1 2 3; do
  e2e_run "n$i" ip -4 addr show weave | grep -q "inet 10\." || e2e_fail "node-$i bridge not exposed"
done

# node-3 owns space: allocate there.
e2e_run n3 curl -sS -X POST http://127.0.0.1:6784/ip/pod-on-3 | grep -q '^10\.' || e2e_fail "allocation on node-3"
owns() { e2e_weave "n$1" report | jq -e --arg p "$2" '[.IPAM.Entries[] | select(.Peer == $p)] | length > 0' >/dev/null; }
e2e_wait_for 30 owns 1 "$P3" || e2e_fail "node-1 does not see node-3's space"

# node-3 goes away: its router stops, then its Node object is deleted.
e2e_kill_pid "$LAUNCH_PID_3"
e2e_kube_ctl DELETE objects/nodes/_/node-3 >/dev/null
reclaimed() { ! owns 1 "$P3" && ! owns 2 "$P3"; }
e2e_wait_for 60 reclaimed || e2e_fail "node-3's space was not reclaimed: $(e2e_weave n1 status ipam)"
want=$(printf '%s\n' "$P1" "$P2" | sort | tr '\n' ' ')
e2e_wait_for 30 all_listed || e2e_fail "peer list after reclaim: $(annotation)"
locks=$(e2e_kube_get /api/v1/namespaces/kube-system/configmaps/weave-net | jq '[.metadata.annotations | keys[] | select(. != "kube-peers.weave.works/peers")] | length')
[[ $locks == 0 ]] || e2e_fail "lock annotations left behind: $(e2e_kube_get /api/v1/namespaces/kube-system/configmaps/weave-net | jq .metadata.annotations)"
rmpeers=$(grep -h "rmpeer of $P3" "$E2E_TMP"/n[12]-launch.log | wc -l)
[[ $rmpeers == 1 ]] || e2e_fail "node-3 was rmpeer'd $rmpeers times (want exactly once)"

# A fourth node joins (peers from the API: node-1 and node-2) and gets space.
e2e_kube_node node-4 192.168.84.4
launch 4
e2e_wait_for 60 connected 4 2 || e2e_fail "node-4 did not connect: $(tail -5 "$E2E_TMP/n4-launch.log")"
P4=$(peer_of 4)
want=$(printf '%s\n' "$P1" "$P2" "$P4" | sort | tr '\n' ' ')
e2e_wait_for 30 all_listed || e2e_fail "node-4 not in the peer list: $(annotation)"
e2e_run n4 curl -sS --max-time 30 -X POST http://127.0.0.1:6784/ip/pod-on-4 | grep -q '^10\.' || e2e_fail "allocation on node-4"

e2e_pass
