#!/usr/bin/env bash
# weavewait (/w/w): a command wrapped by it does not start until the container's ethwe is up and
# the multicast route exists (weave attach adds it last); --no-multicast-route waits for ethwe
# only; --noop waits for nothing; the command's exit status comes through; no command is an error.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init weavewait
WW=$WEFT_BUILD_DIR/bin/weavewait
[[ -x $WW ]] || e2e_fail "no weavewait at $WW"
e2e_host h 192.168.77.1/24
e2e_run h "$E2E_WEAVER" util create-bridge weave || e2e_fail "create-bridge"
for c in 1 2; do
  ip netns add "${E2E_PREFIX}c$c"
  E2E_NETNS+=("${E2E_PREFIX}c$c")
done
in_c() { local c=$1; shift; nsenter --net="/run/netns/${E2E_PREFIX}c$c" -- "$@"; }

out=$("$WW" 2>&1) && e2e_fail "no command accepted"
[[ $out == "No command specified" ]] || e2e_fail "no-command message: $out"
rc=0
"$WW" --noop sh -c 'exit 7' || rc=$?
[[ $rc == 7 ]] || e2e_fail "exit status not passed through: $rc"

# Full wait: nothing runs before the attach, the command runs right after it.
in_c 1 "$WW" sh -c "ip -o link show ethwe > $E2E_TMP/started1" &
E2E_PIDS+=("$!")
in_c 2 "$WW" --no-multicast-route touch "$E2E_TMP/started2" &
E2E_PIDS+=("$!")
sleep 1
[[ ! -e $E2E_TMP/started1 && ! -e $E2E_TMP/started2 ]] || e2e_fail "a command started before its interface existed"
e2e_weave h attach 10.2.1.1/24 "netns:${E2E_PREFIX}c1" >/dev/null || e2e_fail "attach c1"
e2e_wait_for 5 test -s "$E2E_TMP/started1" || e2e_fail "command did not start after attach"
[[ $(cat "$E2E_TMP/started1") == *"ethwe"*"UP"* ]] || e2e_fail "ethwe was not up when the command ran: $(cat "$E2E_TMP/started1")"
[[ ! -e $E2E_TMP/started2 ]] || e2e_fail "c2's command started without an interface"
e2e_weave h attach --no-multicast-route 10.2.1.2/24 "netns:${E2E_PREFIX}c2" >/dev/null || e2e_fail "attach c2"
e2e_wait_for 5 test -e "$E2E_TMP/started2" || e2e_fail "--no-multicast-route command did not start"
[[ $(in_c 2 ip route show 224.0.0.0/4) == "" ]] || e2e_fail "c2 has a multicast route"
e2e_pass
