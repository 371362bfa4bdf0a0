#!/usr/bin/env bash
# NetworkPolicy, end to end (issue 14): two weft routers launched with --expect-npc, a weave-npc on
# each host, the test API server (tests/kube/fake_apiserver.py) on a third host serving namespaces,
# pods and policies and then changing them while the watches are open. "Pods" are network
# namespaces attached to the weave bridge with the pods' IPs, two on each host. nc and ping assert
# what passes and what is dropped, on one host and between hosts. The steps carry the names of the
# Kubernetes network-policy e2e cases they mirror (test/e2e/network/netpol).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/kube_lib.sh"
e2e_init network_policy_3
for t in nc ipset iptables iptables-restore; do command -v $t >/dev/null || e2e_skip "needs $t"; done
NPC=$WEFT_BUILD_DIR/bin/weave-npc
[[ -x $NPC ]] || e2e_fail "no $NPC (build it)"

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
e2e_host api 192.168.77.3/24
e2e_kubeapi api

# Pods: name -> host, namespace, IP. a1/a2 on host a, b1/b2 on host b.
declare -A HOST=([a1]=a [a2]=a [b1]=b [b2]=b)
declare -A IP=([a1]=10.2.1.1 [a2]=10.2.1.2 [b1]=10.2.1.3 [b2]=10.2.1.4)
PORTS="53 80 8080 9090"

e2e_weave a launch --expect-npc >/dev/null || e2e_fail "launch a"
e2e_weave b launch --expect-npc "$(e2e_ip a)" >/dev/null || e2e_fail "launch b"
for h in a b; do
  # The router's --expect-npc hooks (spec §11.8) send bridge traffic through the npc chains.
  e2e_run "$h" iptables -S FORWARD | grep -q -- '-o weave .*-j WEAVE-NPC$' || e2e_fail "no WEAVE-NPC hook on $h"
  e2e_run "$h" sysctl -qw net.bridge.bridge-nf-call-iptables=1
done

in_pod() { local p=$1; shift; nsenter --net="/run/netns/${E2E_PREFIX}p$p" -- "$@"; }
for p in a1 a2 b1 b2; do
  ip netns add "${E2E_PREFIX}p$p"
  E2E_NETNS+=("${E2E_PREFIX}p$p")
  [[ $(e2e_weave "${HOST[$p]}" attach "${IP[$p]}/24" "netns:${E2E_PREFIX}p$p") == "${IP[$p]}" ]] || e2e_fail "attach $p"
  for port in $PORTS; do
    # NB: nsenter execs nc, so $! is the listener itself (a function in the background would leave
    # nc behind when the cleanup kills the subshell).
    nsenter --net="/run/netns/${E2E_PREFIX}p$p" -- nc -lk "${IP[$p]}" "$port" </dev/null >/dev/null 2>&1 &
    E2E_PIDS+=("$!")
  done
done

# --- the cluster as the API server serves it -------------------------------------------------------
obj() { e2e_kube_ctl POST objects "$1" >/dev/null || e2e_fail "API server refused $1"; }
del() { e2e_kube_ctl DELETE "objects/$1" >/dev/null || e2e_fail "API server could not delete $1"; }
namespace() {  # NAME LABELS-JSON
  obj "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"$1\",\"labels\":$2}}"
}
pod() {  # NAME NAMESPACE LABELS-JSON [PORTS-JSON]
  obj "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"$2\",\"uid\":\"uid-$1\",\"labels\":$3},
       \"spec\":{\"nodeName\":\"${HOST[$1]}\",\"containers\":[{\"name\":\"c\",\"image\":\"x\",\"ports\":${4:-[]}}]},
       \"status\":{\"phase\":\"Running\",\"podIP\":\"${IP[$1]}\"}}"
}
policy() {  # NAME NAMESPACE SPEC-JSON
  obj "{\"kind\":\"NetworkPolicy\",\"apiVersion\":\"networking.k8s.io/v1\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"$2\"},\"spec\":$3}"
}
namespace default '{"kubernetes.io/metadata.name":"default"}'
namespace prod '{"kubernetes.io/metadata.name":"prod","team":"prod"}'
pod a1 default '{"app":"client"}'
pod a2 default '{"app":"web"}' '[{"name":"http","containerPort":8080}]'
pod b1 prod '{"app":"web"}' '[{"name":"http","containerPort":9090}]'
pod b2 prod '{"app":"client"}'

for h in a b; do
  e2e_bg "$h" "npc-$h.log" env $(e2e_kube_env) HOSTNAME="$h" "$NPC" --metrics-addr=127.0.0.1:6781
  eval "NPC_PID_$h=$E2E_LAST_PID"
done
synced() { grep -q 'synced:' "$E2E_TMP/npc-$1.log"; }
for h in a b; do e2e_wait_for 30 synced "$h" || e2e_fail "npc on $h did not sync: $(tail -5 "$E2E_TMP/npc-$h.log")"; done

# --- assertions --------------------------------------------------------------------------------------
can() { in_pod "$1" nc -z -w 1 "${IP[$2]}" "$3"; }
cannot() { ! can "$@"; }
STEP=""
step() { STEP=$1; e2e_log "case: $1"; }
allowed() {  # FROM TO PORT
  e2e_wait_for 15 can "$@" || e2e_fail "[$STEP] $1 -> $2:$3 should connect"
}
denied() {  # FROM TO PORT
  e2e_wait_for 15 cannot "$@" || e2e_fail "[$STEP] $1 -> $2:$3 should be dropped"
  # Stays dropped (not a transient failure).
  cannot "$@" || e2e_fail "[$STEP] $1 -> $2:$3 connected after all"
}

step "default allow: all pods reach each other (no policies)"
allowed a1 a2 8080   # one host
allowed a1 b1 9090   # between hosts
allowed b2 a2 80
in_pod a1 ping -c 2 -W 2 "${IP[b1]}" >/dev/null || e2e_fail "[$STEP] ping a1 -> b1"

step "should support a 'default-deny-ingress' policy"
policy deny-all default '{"podSelector":{},"policyTypes":["Ingress"]}'
denied a1 a2 8080    # one host
denied b2 a2 8080    # between hosts
in_pod b2 ping -c 1 -W 2 "${IP[a2]}" >/dev/null 2>&1 && e2e_fail "[$STEP] ping b2 -> a2 passed"
allowed a2 b1 9090   # egress is not isolated and prod has no policy
grep -q "connection from ${IP[b2]}:[0-9]* to ${IP[a2]}:8080 blocked by Weave NPC. (from prod/b2 to default/a2)" \
  "$E2E_TMP/npc-a.log" || e2e_fail "[$STEP] no blocked-connection log on a: $(grep -c blocked "$E2E_TMP/npc-a.log")"
e2e_run a curl -s http://127.0.0.1:6781/metrics | grep -q 'weavenpc_blocked_connections_total{dport="8080",protocol="tcp"}' ||
  e2e_fail "[$STEP] no blocked-connection metric"

step "should enforce policy to allow traffic from pods within server namespace based on PodSelector"
policy allow-client default '{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],
  "ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"client"}}}],"ports":[{"protocol":"TCP","port":8080}]}]}'
allowed a1 a2 8080
denied b2 a2 8080    # a client, but in another namespace

step "should enforce policy based on Ports"
denied a1 a2 80

step "should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector"
policy allow-prod default '{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],
  "ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"team":"prod"}}}]}]}'
allowed b2 a2 80     # between hosts, any port
allowed b1 a2 8080
denied a1 a2 80      # default is not team=prod

step "should allow ingress access on one named port"
policy named prod '{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],
  "ingress":[{"ports":[{"port":"http"}]}]}'
allowed a1 b1 9090   # b1 names 9090 "http"
denied a1 b1 8080
allowed b2 b1 9090   # one host

step "should deny egress from pods based on PodSelector, with DNS allowed"
policy egress-dns default '{"podSelector":{"matchLabels":{"app":"client"}},"policyTypes":["Egress"],
  "egress":[{"ports":[{"protocol":"UDP","port":53},{"protocol":"TCP","port":53}]}]}'
allowed a1 b2 53     # DNS port, between hosts
denied a1 b2 80      # between hosts
denied a1 a2 8080    # one host: egress drops before the ingress rule that allows it
allowed b2 a2 80     # prod is not egress-isolated

step "should enforce except clause while egress access to server in CIDR block"
policy egress-cidr default '{"podSelector":{"matchLabels":{"app":"client"}},"policyTypes":["Egress"],
  "egress":[{"to":[{"ipBlock":{"cidr":"10.2.1.0/24","except":["10.2.1.4/32"]}}]}]}'
allowed a1 a2 8080   # in the block
allowed a1 b1 9090   # in the block, between hosts
denied a1 b2 80      # excepted
allowed a1 b2 53     # still allowed by the DNS policy

step "should stop enforcing policies after they are deleted"
del networkpolicies/default/egress-cidr
del networkpolicies/default/egress-dns
allowed a1 b2 80
del networkpolicies/default/allow-prod
denied b2 a2 80

step "should deny ingress access to updated pod (pod relabelled)"
policy locked prod '{"podSelector":{"matchLabels":{"app":"locked"}},"policyTypes":["Ingress"]}'
allowed a1 b2 80
pod b2 prod '{"app":"locked"}'
denied a1 b2 80
pod b2 prod '{"app":"client"}'
allowed a1 b2 80

step "resync after 410 Gone: a change the watch never delivered is picked up by the relist"
e2e_kube_ctl DELETE "objects/networkpolicies/default/deny-all?silent=true" >/dev/null
e2e_kube_ctl DELETE "objects/networkpolicies/default/allow-client?silent=true" >/dev/null
e2e_kube_ctl POST expire >/dev/null
allowed b2 a2 80
allowed a1 a2 80

step "tables flushed behind weave-npc's back are repaired (kube spec §7 item 9: Weave's npc never noticed)"
allowed a1 b1 9090   # through prod's named-port rule in WEAVE-NPC-INGRESS on b
e2e_run b iptables -F WEAVE-NPC-INGRESS
e2e_wait_for 30 grep -q "changed behind weave-npc's back" "$E2E_TMP/npc-b.log" || e2e_fail "[$STEP] npc on b did not notice"
allowed a1 b1 9090

step "weave-npc leaves nothing behind on stop"
for h in a b; do
  pid_var=NPC_PID_$h
  e2e_kill_pid "${!pid_var}"
  [[ -z $(e2e_run "$h" ipset list -name | grep '^weave-') ]] || e2e_fail "[$STEP] weave- ipsets left on $h"
  rules=$(e2e_run "$h" iptables -S | grep -c -- '^-A WEAVE-NPC' || true)
  ((rules == 0)) || e2e_fail "[$STEP] $rules WEAVE-NPC rules left on $h"
  e2e_run "$h" iptables -S WEAVE-NPC-INGRESS >/dev/null 2>&1 && e2e_fail "[$STEP] WEAVE-NPC-INGRESS left on $h"
done
e2e_pass
