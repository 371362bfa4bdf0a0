#!/usr/bin/env bash
# The router image (issue 7): container/build-image makes it from this build with docker import;
# `weave launch` on a host whose Docker answers runs the router as the container `weave` (host
# network and pid, privileged), which forms a mesh with a process-mode router on host b; its
# proxy (on a -H unix path of the host's choosing, bound into the container; weavewait volumes
# taken from the container's own /w volumes) attaches a `docker run` container that pings a
# container on b; `weave stop` removes the container.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init router_image_2

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
e2e_dockerd a 172.30.9.1/24

export WEAVE_IMAGE=weft/weave:e2e-$$
SECONDS=0
out=$(DOCKER_HOST=${E2E_DOCKER_HOST[a]} "$WEFT_SOURCE_DIR/container/build-image" --build-dir "$WEFT_BUILD_DIR" \
  --tag "$WEAVE_IMAGE" 2>&1) || e2e_fail "build-image: $out"
e2e_docker a image inspect "$WEAVE_IMAGE" >/dev/null || e2e_fail "no image after build-image"
e2e_log "build-image took ${SECONDS}s"
# The image runs on its own.
v=$(e2e_docker a run --rm --net=none "$WEAVE_IMAGE" --version 2>&1) || e2e_fail "image does not run: $v"
[[ $v == *weft* ]] || e2e_fail "weaver --version in the image printed: $v"

SECONDS=0
cid=$(e2e_weave a launch -H "unix://$E2E_TMP/a/run/weave.sock") || e2e_fail "launch a (container mode): $cid"
e2e_log "container-mode launch took ${SECONDS}s"
# Privileged, or (where this sandbox's own bounding set lacks a capability, so runc refuses
# --privileged) every capability with seccomp/apparmor unconfined.
state=$(e2e_docker a inspect -f '{{.State.Running}} {{.HostConfig.NetworkMode}} {{.HostConfig.PidMode}} {{.HostConfig.Privileged}} {{.HostConfig.CapAdd}}' weave)
[[ $state == "true host host true"* || $state == "true host host false [ALL]" ]] || e2e_fail "weave container: $state"
[[ ! -e $(e2e_state_dir a)/weaver.pid ]] || e2e_fail "container mode wrote a weaver.pid"
e2e_weave b launch "$(e2e_ip a)" >/dev/null || e2e_fail "launch b"
established() { [[ $(e2e_weave "$1" status connections) == *established* ]]; }
e2e_wait_for 30 established a || e2e_fail "a: $(e2e_weave a status connections)"
e2e_wait_for 30 established b || e2e_fail "b: $(e2e_weave b status connections)"
[[ $(e2e_weave a status peers) == *"$(e2e_ip b)"* || $(e2e_weave a status peers | wc -l) -ge 2 ]] ||
  e2e_fail "peers on a: $(e2e_weave a status peers)"

ip netns add "${E2E_PREFIX}cb"
E2E_NETNS+=("${E2E_PREFIX}cb")
IP_B=$(e2e_weave b attach "netns:${E2E_PREFIX}cb") || e2e_fail "attach on b"
# Container mode without a weaver binary on the host: `weave attach`/`detach` run `weaver util
# attach|detach` in the weave container (docker exec), IPAM over the router's API included.
ip netns add "${E2E_PREFIX}ca"
E2E_NETNS+=("${E2E_PREFIX}ca")
ip netns exec "${E2E_PREFIX}ca" sleep 300 &
ca_pid=$!
E2E_PIDS+=("$ca_pid")
ca=$(WEAVER_BIN=/nonexistent/weaver e2e_weave a attach "pid:$ca_pid" 2>&1) || e2e_fail "container-mode attach: $ca"
[[ $ca =~ ^10\.(3[2-9]|4[0-7])\.[0-9]+\.[0-9]+$ ]] || e2e_fail "container-mode attach printed '$ca'"
[[ $(ip -n "${E2E_PREFIX}ca" -o -4 addr show dev ethwe) == *"$ca/12"* ]] ||
  e2e_fail "container-mode attach: ethwe has $(ip -n "${E2E_PREFIX}ca" -o -4 addr show dev ethwe)"
out=$(WEAVER_BIN=/nonexistent/weaver e2e_weave a detach "pid:$ca_pid" 2>&1) || e2e_fail "container-mode detach: $out"
[[ $out == "$ca" ]] || e2e_fail "container-mode detach printed '$out'"
[[ $(ip -n "${E2E_PREFIX}ca" -o link show) != *ethwe* ]] || e2e_fail "container-mode detach left ethwe"
e2e_kill_pid "$ca_pid"
# -H with a unix path: the proxy inside the container listens where the host asked for it.
env_out=$(e2e_weave a env) || e2e_fail "weave env"
[[ $env_out == "export DOCKER_HOST=unix://$E2E_TMP/a/run/weave.sock "* ]] || e2e_fail "weave env: $env_out"
[[ -S $E2E_TMP/a/run/weave.sock ]] || e2e_fail "proxy socket not on the host"
out=$(DOCKER_HOST_OVERRIDE=unix://$E2E_TMP/a/run/weave.sock e2e_docker a run --rm busybox ping -c2 -W2 "$IP_B" 2>&1) ||
  e2e_fail "docker run through the containerised proxy: $out"

e2e_weave a stop >/dev/null || e2e_fail "stop a"
e2e_docker a inspect weave >/dev/null 2>&1 && e2e_fail "weave stop left the container"
e2e_docker a rmi "$WEAVE_IMAGE" >/dev/null 2>&1 || true
e2e_pass
