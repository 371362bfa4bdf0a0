#!/usr/bin/env bash
# Issue 18: what an unfriendly host can send weaver. Host a is attacked; b is a real peer; r is
# the attacker on the same network (bin/weft_hostile). Each part failed before the fix:
#   1. GET /report?format={{.<60,000 chars>}} overflowed the stack (status and control port);
#   5. a cross-origin POST /connect (a web page) was obeyed; `weave connect` must still work;
#   3. idle and oversized pre-handshake connections: a real peer still gets in, and no
#      connection may make weaver buffer a megabyte before authentication;
#   2. a rogue peer announcing 3,000 fake peers made a (and b, which learns them) dial them
#      all until descriptors ran out; weaver must keep few descriptors, and keep answering
#      HTTP and DNS.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init hardening_3
command -v dig >/dev/null || e2e_skip "needs dig"
HOSTILE=$WEFT_BUILD_DIR/bin/weft_hostile
[[ -x $HOSTILE ]] || e2e_fail "missing $HOSTILE (build the weft_hostile target)"
e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
e2e_host r 192.168.77.66/24

e2e_weave a launch --datapath-backend none >/dev/null || e2e_fail "launch a"
e2e_weave b launch --datapath-backend none "$(e2e_ip a)" >/dev/null || e2e_fail "launch b"
pid_a=$(cat "$(e2e_state_dir a)/weaver.pid")
pid_b=$(cat "$(e2e_state_dir b)/weaver.pid")
# $1's connection with $2 is established.
connected() { e2e_weave "$1" status connections | grep -F "$(e2e_ip "$2")" | grep -q established; }
e2e_wait_for 30 connected a b || e2e_fail "a and b never connected"
alive() { kill -0 "$pid_a" 2>/dev/null || e2e_fail "weaver on a died: $(tail -20 "$(e2e_state_dir a)/weaver.log")"; }

# ---- 1: the template crash, on the status and the control port
long="{{.$(head -c 60000 /dev/zero | tr '\0' 'A')}}"
for port in 6782 6784; do
  code=$(e2e_run a curl -s -o /dev/null -w '%{http_code}' -G --data-urlencode "format=$long" "http://127.0.0.1:$port/report") || true
  alive
  [[ $code == 400 ]] || e2e_fail "huge template on port $port: HTTP $code (want 400)"
done
[[ $(e2e_weave a report -f '{{.Router.NickName}}') != "" ]] || e2e_fail "weave report -f stopped working"

# ---- 5: the control API refuses web pages and keeps serving the CLI
code=$(e2e_run a curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.example' -H 'Origin: http://evil.example' \
  --data 'peer=192.168.77.99' http://127.0.0.1:6784/connect) || true
[[ $code == 403 ]] || e2e_fail "DNS-rebound POST /connect: HTTP $code (want 403)"
code=$(e2e_run a curl -s -o /dev/null -w '%{http_code}' -H 'Origin: http://evil.example' \
  --data 'peer=192.168.77.98' http://127.0.0.1:6784/connect) || true
[[ $code == 403 ]] || e2e_fail "cross-origin POST /connect: HTTP $code (want 403)"
[[ $(e2e_weave a status targets) != *192.168.77.9[89]* ]] || e2e_fail "a refused request still added a target"
e2e_weave a connect 192.168.77.97 || e2e_fail "weave connect was refused"
[[ $(e2e_weave a status targets) == *192.168.77.97* ]] || e2e_fail "weave connect did not add the target"
e2e_weave a forget 192.168.77.97 || e2e_fail "weave forget"
code=$(e2e_run a curl -s -o /dev/null -w '%{http_code}' -X PUT 'http://127.0.0.1:6784/name/c%001/10.32.0.9?fqdn=x.weave.local') || true
[[ $code == 400 ]] || e2e_fail "container ID with NUL: HTTP $code (want 400)"

# ---- 3: pre-handshake exhaustion
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
rss_before=$(rss_kb "$pid_a")
out=$(e2e_run r "$HOSTILE" features "$(e2e_ip a)" 6783 30)
alive
cut=$(awk '{print $4}' <<<"$out")
[[ $cut == 30 ]] || e2e_fail "oversized features messages were buffered: $out (want all 30 cut)"
rss_after=$(rss_kb "$pid_a")
((rss_after - rss_before < 100 * 1024)) || e2e_fail "RSS grew by $(((rss_after - rss_before) / 1024)) MB for 30 features messages"
# An idle flood from r (40 new connections a second) while b reconnects from scratch.
e2e_bg r idle.log "$HOSTILE" idle "$(e2e_ip a)" 6783 40 25
idle_pid=$E2E_LAST_PID
sleep 3
e2e_weave b stop >/dev/null
e2e_weave b launch --datapath-backend none "$(e2e_ip a)" >/dev/null || e2e_fail "relaunch b"
pid_b=$(cat "$(e2e_state_dir b)/weaver.pid")
e2e_wait_for 20 connected b a || e2e_fail "b could not connect during an idle-connection flood"
wait "$idle_pid" || true
grep -q refused "$E2E_TMP/idle.log" || e2e_fail "idle flood tool: $(cat "$E2E_TMP/idle.log")"
alive

# ---- 2: a rogue peer gossips 3,000 fake peers
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
e2e_bg r gossip.log "$HOSTILE" gossip "$(e2e_ip a)" 6783 3000 40
gossip_pid=$E2E_LAST_PID
e2e_wait_for 15 grep -q announced "$E2E_TMP/gossip.log" || e2e_fail "rogue peer: $(cat "$E2E_TMP/gossip.log")"
max_a=0 max_b=0
for ((i = 0; i < 20; i++)); do
  alive
  kill -0 "$pid_b" 2>/dev/null || e2e_fail "weaver on b died: $(tail -20 "$(e2e_state_dir b)/weaver.log")"
  start=$(date +%s%N)
  e2e_run a curl -sf -m 3 http://127.0.0.1:6784/status >/dev/null || e2e_fail "a's /status did not answer within 3 s"
  e2e_run a dig @127.0.0.1 +time=2 +tries=1 nothere.weave.local | grep -q NXDOMAIN || e2e_fail "a's DNS did not answer"
  ms=$((($(date +%s%N) - start) / 1000000))
  ((ms < 3000)) || e2e_fail "status + DNS took $ms ms"
  f=$(fds "$pid_a")
  ((f > max_a)) && max_a=$f
  f=$(fds "$pid_b")
  ((f > max_b)) && max_b=$f
  sleep 1
done
e2e_log "descriptors under the gossip flood: a max $max_a, b max $max_b"
((max_a < 400)) || e2e_fail "a held $max_a descriptors (dialling fake peers without bound)"
((max_b < 400)) || e2e_fail "b held $max_b descriptors (dialling fake peers without bound)"
targets=$(e2e_weave a status connections | grep -c -E 'connecting|retrying|failed|waiting' || true)
((targets <= 300)) || e2e_fail "a lists $targets dial targets (want at most 256 learned from gossip)"
connected a b || e2e_fail "b's connection was lost during the flood"
e2e_kill_pid "$gossip_pid"
e2e_pass
