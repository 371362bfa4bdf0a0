#!/usr/bin/env bash
# IPAM on 3 hosts: concurrent automatic allocations are distinct and reachable across hosts,
# `weave status ipam` shows the ring, a restart (kill -9) keeps every address, and a corrupt
# state file is reported clearly and left alone.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init ipam_3

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
e2e_host c 192.168.77.3/24
e2e_weave a launch >/dev/null || e2e_fail "launch a"
e2e_weave b launch "$(e2e_ip a)" >/dev/null || e2e_fail "launch b"
e2e_weave c launch "$(e2e_ip a)" "$(e2e_ip b)" >/dev/null || e2e_fail "launch c"
in_c() { local c=$1; shift; nsenter --net="/run/netns/${E2E_PREFIX}c$c" -- "$@"; }

# Two containers per host, all attached at once with no address: IPAM picks.
pids=()
for h in a b c; do
  for i in 1 2; do
    ip netns add "${E2E_PREFIX}c$h$i"
    E2E_NETNS+=("${E2E_PREFIX}c$h$i")
    (e2e_weave $h attach "netns:${E2E_PREFIX}c$h$i" >"$E2E_TMP/ip-$h$i" 2>&1) &
    pids+=($!)
  done
done
for p in "${pids[@]}"; do wait "$p" || e2e_fail "an attach failed: $(cat "$E2E_TMP"/ip-*)"; done
declare -A ip_of
for h in a b c; do
  for i in 1 2; do
    ip_of[$h$i]=$(cat "$E2E_TMP/ip-$h$i")
    [[ ${ip_of[$h$i]} =~ ^10\.(3[2-9]|4[0-7])\.[0-9]+\.[0-9]+$ ]] || e2e_fail "$h$i got '${ip_of[$h$i]}'"
  done
done
dups=$(printf '%s\n' "${ip_of[@]}" | sort | uniq -d)
[[ -z $dups ]] || e2e_fail "duplicate addresses: $dups"
[[ $(in_c a1 ip -o -4 addr show dev ethwe) == *"${ip_of[a1]}/12"* ]] || e2e_fail "a1's interface lacks its address"

for target in b1 c2 a2; do
  e2e_wait_for 20 in_c a1 ping -c 1 -W 1 "${ip_of[$target]}" || e2e_fail "a1 cannot reach $target (${ip_of[$target]})"
done
in_c c1 ping -c 2 -W 2 "${ip_of[b2]}" >/dev/null || e2e_fail "c1 cannot reach b2"

st=$(e2e_weave a status)
[[ $st == *"Service: ipam"* && $st == *"Status: ready"* && $st == *"Range: 10.32.0.0/12"* ]] || e2e_fail "status: $st"
ipam=$(e2e_weave a status ipam)
[[ $(grep -c 'IPs (' <<<"$ipam") -ge 2 ]] || e2e_fail "status ipam: $ipam"
[[ $(e2e_weave a report | jq '.IPAM.Entries | length') -ge 2 ]] || e2e_fail "report has no IPAM entries"

# Restart b with kill -9: its allocations survive (state file written before answering).
read -r pid <"$(e2e_state_dir b)/weaver.pid"
kill -KILL "$pid"
# The port is free once every thread of the dead process is gone (a zombie leader is not enough).
port_free() { [[ $(e2e_run b ss -Htln 'sport = :6783') == "" ]]; }
e2e_wait_for 10 port_free || e2e_fail "port 6783 still held after weaver b was killed"
e2e_weave b launch "$(e2e_ip a)" >/dev/null || e2e_fail "relaunch b"
for i in 1 2; do
  got=$(e2e_run b curl -s "http://127.0.0.1:6784/ip/${E2E_PREFIX}cb$i")
  [[ $got == "${ip_of[b$i]}/12" ]] || e2e_fail "after restart b$i is '$got', was ${ip_of[b$i]}"
done
# Re-attaching is idempotent: the same address again.
[[ $(e2e_weave b attach "netns:${E2E_PREFIX}cb1") == "${ip_of[b1]}" ]] || e2e_fail "re-attach changed the address"
e2e_wait_for 20 in_c a1 ping -c 1 -W 1 "${ip_of[b1]}" || e2e_fail "b1 unreachable after b's restart"

# A new container on b after the restart gets an address nobody has.
ip netns add "${E2E_PREFIX}cb3"
E2E_NETNS+=("${E2E_PREFIX}cb3")
new=$(e2e_weave b attach "netns:${E2E_PREFIX}cb3") || e2e_fail "attach after restart"
[[ " ${ip_of[*]} " != *" $new "* ]] || e2e_fail "address $new handed out twice"

# Corrupt state: launch refuses with a message naming the file; the file is left as it was.
e2e_weave c stop >/dev/null
db=$(e2e_state_dir c)/weavedata.db
printf 'not a state file' >"$db"
out=$(e2e_weave c launch "$(e2e_ip a)" 2>&1) && e2e_fail "launch with a corrupt state file succeeded"
[[ $out == *"$db"* && $out == *corrupt* ]] || e2e_fail "unclear corruption message: $out"
[[ $(cat "$db") == "not a state file" ]] || e2e_fail "corrupt file was modified"
e2e_pass
