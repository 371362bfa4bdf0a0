#!/usr/bin/env bash
# The Docker API proxy end to end, with a real dockerd on host a (issue 7):
#   `weave launch` (process mode) starts the proxy; `eval $(weave env)` points the docker CLI at it;
#   `docker run busybox ping -c3 <container on b>` succeeds on the first try (attached before
#   ping ran); `docker run -d --name web` is resolvable as web.weave.local on host b and serves
#   HTTP to a container on b (curl); `docker restart` keeps it attached; `run -i` pipes stdin
#   through the hijacked stream with both the current and an API 1.41 client; `docker exec` and
#   `docker logs -f` work; WEAVE_CIDR=none is left alone; removing the container releases its
#   address and DNS name; `weave env --restore` gives back the original DOCKER_HOST.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init docker_proxy_2
for t in dig; do command -v $t >/dev/null || e2e_skip "needs $t"; done

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
e2e_dockerd a 172.30.7.1/24

e2e_weave a --local launch -H "unix://$E2E_TMP/a/weave.sock" >/dev/null || e2e_fail "launch a"
e2e_weave b launch "$(e2e_ip a)" >/dev/null || e2e_fail "launch b"
[[ -S $E2E_TMP/a/weave.sock ]] || e2e_fail "proxy socket missing"

# weave env / config.
env_out=$(e2e_weave a env) || e2e_fail "weave env"
[[ $env_out == "export DOCKER_HOST=unix://$E2E_TMP/a/weave.sock ORIG_DOCKER_HOST=${E2E_DOCKER_HOST[a]}" ]] ||
  e2e_fail "weave env printed: $env_out"
[[ $(e2e_weave a config) == "-H=unix://$E2E_TMP/a/weave.sock" ]] || e2e_fail "weave config: $(e2e_weave a config)"
eval "$env_out"
[[ $DOCKER_HOST == unix://$E2E_TMP/a/weave.sock ]] || e2e_fail "eval did not set DOCKER_HOST"
restore=$(ORIG_DOCKER_HOST=$ORIG_DOCKER_HOST e2e_weave a env --restore)
[[ $restore == "DOCKER_HOST=${E2E_DOCKER_HOST[a]}" ]] || e2e_fail "env --restore printed: $restore"
PROXY=$DOCKER_HOST
unset DOCKER_HOST ORIG_DOCKER_HOST
dk() { DOCKER_HOST_OVERRIDE=$PROXY e2e_docker a "$@"; }

# A container on host b (a netns attached with weave attach), with an IPAM address.
ip netns add "${E2E_PREFIX}cb"
E2E_NETNS+=("${E2E_PREFIX}cb")
IP_B=$(e2e_weave b attach "netns:${E2E_PREFIX}cb") || e2e_fail "attach on b"
[[ $IP_B == 10.3[2-9].* || $IP_B == 10.4[0-7].* ]] || e2e_fail "b's container got $IP_B"

# 1. ping across hosts on the first try: attached before ping ran.
out=$(dk run --rm busybox ping -c3 -W2 "$IP_B" 2>&1) || e2e_fail "docker run ping $IP_B failed: $out"
[[ $out == *"3 packets received"* ]] || e2e_fail "ping output: $out"

# 2. A named container: weaveDNS name on host b, HTTP served to b's container.
dk run -d --name web busybox httpd -f -p 8080 -h /www >/dev/null || e2e_fail "docker run -d web"
IP_WEB=$(dk exec web ip -4 -o addr show ethwe | awk '{print $4}') || e2e_fail "exec in web"
IP_WEB=${IP_WEB%/*}
[[ -n $IP_WEB ]] || e2e_fail "web has no ethwe address"
[[ $(dk inspect -f '{{.Config.Hostname}}.{{.Config.Domainname}}' web) == web.weave.local ]] ||
  e2e_fail "hostname not set by the proxy: $(dk inspect -f '{{.Config.Hostname}}.{{.Config.Domainname}}' web)"
resolves_on_b() { [[ $(e2e_run b dig @127.0.0.1 +short +time=2 +tries=1 web.weave.local) == "$1" ]]; }
e2e_wait_for 20 resolves_on_b "$IP_WEB" || e2e_fail "web.weave.local does not resolve on b to $IP_WEB: $(e2e_run b dig @127.0.0.1 +short web.weave.local)"
page=$(nsenter --net="/run/netns/${E2E_PREFIX}cb" curl -s --max-time 5 "http://$IP_WEB:8080/index.html") ||
  e2e_fail "curl from b's container to web failed"
[[ $page == "hello from weft" ]] || e2e_fail "curl got: $page"
# The container's own resolver is weaveDNS (the proxy set Dns and DnsSearch).
# NB: no `| grep -q` under pipefail (SIGPIPE); match the captured output instead.
out=$(dk exec web nslookup web.weave.local 2>&1) || true
[[ $out == *"$IP_WEB"* ]] || e2e_fail "web cannot resolve itself: $out"
out=$(dk exec web cat /etc/hosts)
[[ $'\n'$out == *$'\n'"$IP_WEB"*"web.weave.local web"* ]] || e2e_fail "/etc/hosts: $out"

# 3. restart keeps it attached (same address, reachable again from b).
dk restart -t 1 web >/dev/null || e2e_fail "docker restart"
ip_after=$(dk exec web ip -4 -o addr show ethwe | awk '{print $4}')
[[ ${ip_after%/*} == "$IP_WEB" ]] || e2e_fail "after restart web has '$ip_after', want $IP_WEB"
e2e_wait_for 10 nsenter --net="/run/netns/${E2E_PREFIX}cb" curl -s --max-time 2 "http://$IP_WEB:8080/" ||
  e2e_fail "web not reachable from b after restart"

# 4. stdin through the hijacked attach stream, with this machine's clients (current and API 1.41).
for cli in docker /usr/bin/docker; do
  command -v "$cli" >/dev/null || continue
  got=$(echo hi | DOCKER_CLI=$cli dk run -i --rm busybox cat) || e2e_fail "$cli run -i failed"
  [[ $got == hi ]] || e2e_fail "$cli run -i printed '$got'"
  got=$(DOCKER_CLI=$cli dk exec web echo exec-ok) || e2e_fail "$cli exec failed"
  [[ $got == exec-ok ]] || e2e_fail "$cli exec printed '$got'"
done
got=$(echo piped | dk exec -i web cat) || e2e_fail "exec -i failed"
[[ $got == piped ]] || e2e_fail "exec -i printed '$got'"

# 5. logs -f streams (chunked pass-through): a ticking container, followed for a while.
dk run -d --name ticker busybox sh -c 'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done' >/dev/null ||
  e2e_fail "run ticker"
lines=$(timeout 3 bash -c "DOCKER_HOST=$PROXY docker logs -f ticker" | grep -c tick || true)
((lines >= 5)) || e2e_fail "logs -f gave $lines lines"

# 6. WEAVE_CIDR=none: not attached.
out=$(dk run --rm -e WEAVE_CIDR=none busybox ip -o link) || e2e_fail "run WEAVE_CIDR=none"
[[ $out != *ethwe* ]] || e2e_fail "WEAVE_CIDR=none container got ethwe: $out"
# An explicit address.
out=$(dk run --rm -e WEAVE_CIDR=10.32.200.7/12 busybox ip -4 -o addr show ethwe) || e2e_fail "run WEAVE_CIDR=ip"
[[ $out == *10.32.200.7/12* ]] || e2e_fail "WEAVE_CIDR address not applied: $out"

# 7. Bad requests get clear errors and change nothing.
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$E2E_TMP/a/weave.sock" -X POST \
  -H 'Content-Type: application/json' -d '{"Image": ' http://x/v1.41/containers/create)
[[ $code == 500 ]] || e2e_fail "malformed create answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$E2E_TMP/a/weave.sock" -X POST http://x/v1.41/containers/nosuch/start)
[[ $code == 404 ]] || e2e_fail "start of a missing container answered $code"
dk ps >/dev/null || e2e_fail "proxy unusable after bad requests"

# 8. Removing web releases its DNS name (gossiped to b) and its address.
web_id=$(dk inspect -f '{{.Id}}' web)
dk rm -f web >/dev/null || e2e_fail "rm web"
gone_on_b() { [[ -z $(e2e_run b dig @127.0.0.1 +short +time=2 +tries=1 web.weave.local) ]]; }
e2e_wait_for 20 gone_on_b || e2e_fail "web.weave.local still resolves on b after rm"
released() { [[ $(e2e_run a curl -s "http://127.0.0.1:6784/ip/$web_id") != *10.* ]]; }
e2e_wait_for 10 released || e2e_fail "address of web not released"
e2e_pass
