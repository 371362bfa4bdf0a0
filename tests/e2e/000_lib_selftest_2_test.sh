#!/usr/bin/env bash
# Self-test of tests/e2e/lib.sh: two hosts on the underlay ping each other, e2e_block/e2e_unblock
# partition and heal them, background processes run inside the right netns, nothing appears in the
# root namespace, and a nested run cleans up its namespaces and processes when it exits.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init lib_selftest

root_links_before=$(ip -o link show | awk -F': ' '{print $2}' | sort)

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24

[[ $(e2e_ns a) == "${E2E_PREFIX}a" ]] || e2e_fail "netns name $(e2e_ns a)"
[[ $(e2e_ip b) == 192.168.77.2 ]] || e2e_fail "ip of b is $(e2e_ip b)"
[[ -e /run/netns/${E2E_PREFIX}ul ]] || e2e_fail "no underlay netns"

# Hosts see only lo and eth0; the bridge and the veths live in the underlay netns.
[[ $(e2e_run a ip -o link show | wc -l) -eq 2 ]] || e2e_fail "unexpected links in a: $(e2e_run a ip -o link)"
# NB: capture, then match: `cmd | grep -q` can fail under pipefail when grep exits early.
[[ $(e2e_run a ip -o addr show dev eth0) == *"inet 192.168.77.1/24"* ]] || e2e_fail "a has no address"
[[ $(ip -n "${E2E_PREFIX}ul" -o link show master "${E2E_PREFIX}br") == *"${E2E_PREFIX}v1@"* ]] ||
  e2e_fail "b's veth is not on the underlay bridge"

e2e_run a ping -c 1 -W 2 "$(e2e_ip b)" >/dev/null || e2e_fail "a cannot ping b"
e2e_run b ping -c 1 -W 2 "$(e2e_ip a)" >/dev/null || e2e_fail "b cannot ping a"
e2e_run a ping -c 1 -W 2 127.0.0.1 >/dev/null || e2e_fail "loopback is down in a"

# Background processes run in the host's netns and are recorded for cleanup.
e2e_bg b sleep.log sleep 600
bg=$E2E_LAST_PID
[[ $(stat -L -c %i "/proc/$bg/ns/net") == $(stat -L -c %i "/run/netns/$(e2e_ns b)") ]] ||
  e2e_fail "background process is not in b's netns"
[[ " ${E2E_PIDS[*]} " == *" $bg "* ]] || e2e_fail "background pid not recorded"

# Partition and heal.
e2e_block a b
if e2e_run a ping -c 1 -W 1 "$(e2e_ip b)" >/dev/null 2>&1; then e2e_fail "a still reaches b after e2e_block"; fi
if e2e_run b ping -c 1 -W 1 "$(e2e_ip a)" >/dev/null 2>&1; then e2e_fail "b still reaches a after e2e_block"; fi
e2e_unblock a b
e2e_wait_for 10 e2e_run a ping -c 1 -W 1 "$(e2e_ip b)" || e2e_fail "a cannot reach b after e2e_unblock"

# e2e_wait_for gives up.
if e2e_wait_for 1 false 2>/dev/null; then e2e_fail "e2e_wait_for false succeeded"; fi

# The weave CLI runs per host with its own state dir (no weaver needed for this).
e2e_weave a status >/dev/null 2>&1 && e2e_fail "weave status succeeded without a weaver"
[[ $(e2e_weave a stop) == "Weave is not running." ]] || e2e_fail "weave stop in a host"

# A nested run must remove its namespaces and kill its processes when it exits.
marker=$E2E_TMP/nested.out
bash -c '
  . "$1"
  e2e_init lib_selftest_nested
  e2e_host x 10.99.0.1/24
  e2e_bg x sleep.log sleep 600
  echo "$E2E_PREFIX $E2E_LAST_PID $E2E_TMP" >"$2"
  e2e_pass' nested "$E2E_LIB_DIR/lib.sh" "$marker" >/dev/null 2>&1 || e2e_fail "nested run failed"
read -r nested_prefix nested_pid nested_tmp <"$marker"
[[ $nested_prefix != "$E2E_PREFIX" ]] || e2e_fail "nested run reused our prefix"
if [[ -e /run/netns/${nested_prefix}ul || -e /run/netns/${nested_prefix}x ]]; then
  e2e_fail "nested run left namespaces behind"
fi
if kill -0 "$nested_pid" 2>/dev/null; then e2e_fail "nested run left pid $nested_pid running"; fi
[[ ! -d $nested_tmp ]] || e2e_fail "nested run left $nested_tmp"

root_links_after=$(ip -o link show | awk -F': ' '{print $2}' | sort)
[[ $root_links_before == "$root_links_after" ]] || e2e_fail "root namespace links changed"

e2e_pass
