#!/usr/bin/env bash
# Kill the router on B (SIGKILL) and start it again: container traffic resumes within 15 s of the
# relaunch with no other user action (the bridge and the containers' interfaces survive).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init sleeve_restart_2

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
in_c() { local c=$1; shift; nsenter --net="/run/netns/${E2E_PREFIX}c$c" -- "$@"; }
e2e_weave a launch >/dev/null || e2e_fail "launch a"
e2e_weave b launch "$(e2e_ip a)" >/dev/null || e2e_fail "launch b"
for h in a b; do
  ip netns add "${E2E_PREFIX}c$h"
  E2E_NETNS+=("${E2E_PREFIX}c$h")
done
e2e_weave a attach 10.2.1.1/24 "netns:${E2E_PREFIX}ca" >/dev/null || e2e_fail "attach a"
e2e_weave b attach 10.2.1.2/24 "netns:${E2E_PREFIX}cb" >/dev/null || e2e_fail "attach b"
e2e_wait_for 20 in_c a ping -c 1 -W 1 10.2.1.2 || e2e_fail "no initial ping"

read -r pid <"$(e2e_state_dir b)/weaver.pid"
kill -KILL "$pid"
port_free() { [[ $(e2e_run b ss -Htln 'sport = :6783') == "" ]]; }
e2e_wait_for 10 port_free || e2e_fail "port 6783 still held after weaver b was killed"
if in_c a ping -c 2 -W 1 10.2.1.2 >/dev/null 2>&1; then e2e_fail "traffic flows without b's router"; fi
e2e_weave b launch "$(e2e_ip a)" >/dev/null || e2e_fail "relaunch b"
start=$SECONDS
e2e_wait_for 15 in_c a ping -c 1 -W 1 10.2.1.2 || e2e_fail "traffic did not resume within 15 s"
e2e_log "traffic resumed $((SECONDS - start)) s after the relaunch"
e2e_pass
