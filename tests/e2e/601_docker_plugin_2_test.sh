#!/usr/bin/env bash
# The weavemesh network plugin with a real dockerd on host a (issue 7): `weave launch` creates the
# Docker network `weave`; `docker network create -d weavemesh --ipam-driver weavemesh n`, then
# `docker run --net=n` gets an IPAM address, reaches a container on host b, and is registered in
# weaveDNS; removing the container leaves no vethwl*/vethwg* link behind; `weave stop` removes
# the `weave` network.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init docker_plugin_2
for t in dig; do command -v $t >/dev/null || e2e_skip "needs $t"; done

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
e2e_dockerd a 172.30.8.1/24

e2e_weave a --local launch -H "unix://$E2E_TMP/a/weave.sock" >/dev/null || e2e_fail "launch a"
e2e_weave b launch "$(e2e_ip a)" >/dev/null || e2e_fail "launch b"
[[ -S /run/docker/plugins/weavemesh.sock ]] || e2e_fail "no weavemesh plugin socket"
driver=$(e2e_docker a network inspect -f '{{.Driver}}/{{.IPAM.Driver}}' weave) || e2e_fail "launch made no network weave"
[[ $driver == weavemesh/weavemesh ]] || e2e_fail "network weave has drivers $driver"

ip netns add "${E2E_PREFIX}cb"
E2E_NETNS+=("${E2E_PREFIX}cb")
IP_B=$(e2e_weave b attach "netns:${E2E_PREFIX}cb") || e2e_fail "attach on b"

e2e_docker a network create -d weavemesh --ipam-driver weavemesh n >/dev/null || e2e_fail "network create"
veths() { e2e_run a ip -o link show | grep -c -E 'vethw[lg]' || true; }
[[ $(veths) == 0 ]] || e2e_fail "veths before any container"

# A container on n: address from IPAM (10.32.0.0/12), ping to b's container, no docker_gwbridge.
out=$(e2e_docker a run --rm --net=n busybox sh -c "ip -4 -o addr; ping -c3 -W2 $IP_B") ||
  e2e_fail "docker run --net=n ping failed: $out"
[[ $out == *ethwe0*10.3* || $out == *ethwe0*10.4* ]] || e2e_fail "no weave address on ethwe0: $out"
[[ $out == *"3 packets received"* ]] || e2e_fail "ping: $out"
e2e_docker a network inspect docker_gwbridge >/dev/null 2>&1 && e2e_fail "docker_gwbridge was created"
[[ $(veths) == 0 ]] || e2e_fail "veths left behind after --rm: $(e2e_run a ip -o link show | grep vethw)"

# A long-running one: weaveDNS name from the plugin's watcher, visible on host b.
e2e_docker a run -d --name pdb --net=n busybox sleep 600 >/dev/null || e2e_fail "run pdb"
ip_pdb=$(e2e_docker a inspect -f '{{(index .NetworkSettings.Networks "n").IPAddress}}' pdb)
[[ -n $ip_pdb ]] || e2e_fail "pdb has no address on n"
resolves() { [[ $(e2e_run b dig @127.0.0.1 +short +time=2 +tries=1 pdb.weave.local) == "$ip_pdb" ]]; }
e2e_wait_for 20 resolves || e2e_fail "pdb.weave.local does not resolve on b: $(e2e_run b dig @127.0.0.1 +short pdb.weave.local)"
nsenter --net="/run/netns/${E2E_PREFIX}cb" ping -c2 -W2 "$ip_pdb" >/dev/null || e2e_fail "b cannot ping pdb"
[[ $(veths) == 1 ]] || e2e_fail "want one host veth for pdb, have $(veths)"
e2e_docker a rm -f pdb >/dev/null || e2e_fail "rm pdb"
[[ $(veths) == 0 ]] || e2e_fail "veth left behind after rm: $(e2e_run a ip -o link show | grep vethw)"

# Bad input on the plugin socket: clear errors, the plugin keeps serving.
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket /run/docker/plugins/weavemesh.sock -X POST \
  -d '{"PoolID":' http://x/IpamDriver.RequestAddress)
[[ $code == 400 ]] || e2e_fail "malformed RequestAddress answered $code"
act=$(curl -s --unix-socket /run/docker/plugins/weavemesh.sock -X POST -d '{}' http://x/Plugin.Activate)
[[ $act == '{"Implements":["NetworkDriver","IpamDriver"]}' ]] || e2e_fail "Activate: $act"

e2e_docker a network rm n >/dev/null || e2e_fail "network rm n"
e2e_weave a stop >/dev/null || e2e_fail "stop a"
e2e_docker a network inspect weave >/dev/null 2>&1 && e2e_fail "weave stop left the network weave"
[[ ! -e /run/docker/plugins/weavemesh.sock ]] || e2e_fail "plugin socket left behind"
e2e_pass
