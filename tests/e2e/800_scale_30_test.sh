#!/usr/bin/env bash
# Scale (issue 19): N routers (default 30; E2E_SCALE_ROUTERS) in network namespaces, each told
# only the first peer, with IPAM. Asserts that the mesh converges (every router knows every peer
# and has only established connections), that no router spins in steady state (CPU per router
# below E2E_SCALE_MAX_CPU percent of one core, averaged over a window), and that one allocation
# per router succeeds with distinct addresses. Prints one "SCALE ..." line with the convergence
# time, the allocation round time, CPU and RSS per router, for scripts/bench.
#
# The kernel's neighbour table is shared by every namespace (gc_thresh3 = 1024 by default), so
# each host gets permanent neighbour entries for all the others: no ARP, no table overflow.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init scale_30
command -v jq >/dev/null || e2e_skip "needs jq"

N=${E2E_SCALE_ROUTERS:-30}
MAX_CPU=${E2E_SCALE_MAX_CPU:-10}        # percent of one core, per router, steady state
WINDOW=${E2E_SCALE_CPU_WINDOW:-20}      # seconds
CONVERGE_LIMIT=${E2E_SCALE_CONVERGE_LIMIT:-300}
((N >= 2 && N <= 250)) || e2e_fail "E2E_SCALE_ROUTERS must be 2..250"

hosts=()
for ((i = 1; i <= N; i++)); do
  e2e_host "h$i" "192.168.77.$i/24"
  hosts+=("h$i")
done
# Permanent neighbour entries, written in one batch per namespace.
declare -A mac
for h in "${hosts[@]}"; do
  # NB: not /sys/class/net (nsenter --net keeps the root namespace's sysfs mounted).
  mac[$h]=$(ip -n "$(e2e_ns "$h")" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
  [[ ${mac[$h]} =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}$ ]] || e2e_fail "no MAC for $h's eth0"
done
for h in "${hosts[@]}"; do
  batch=$E2E_TMP/neigh-$h
  : >"$batch"
  for o in "${hosts[@]}"; do
    [[ $o == "$h" ]] || echo "neigh replace $(e2e_ip "$o") lladdr ${mac[$o]} dev eth0 nud permanent" >>"$batch"
  done
  ip -n "$(e2e_ns "$h")" -batch "$batch" || e2e_fail "neighbour entries for $h"
done

pid_of() { local p; read -r p <"$(e2e_state_dir "$1")/weaver.pid" && echo "$p"; }
api() { local h=$1; shift; e2e_run "$h" curl -s --max-time 10 "$@"; }

# Launch: the first router, then the rest in parallel batches of 10, each told only h1.
t0=$SECONDS
e2e_weave h1 launch >/dev/null || e2e_fail "launch h1"
for ((i = 2; i <= N; i += 10)); do
  pids=()
  for ((j = i; j < i + 10 && j <= N; j++)); do
    (e2e_weave "h$j" launch "$(e2e_ip h1)" >"$E2E_TMP/launch-h$j" 2>&1) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || e2e_fail "a launch failed: $(cat "$E2E_TMP"/launch-h* | tail -5)"; done
done
t_launched=$((SECONDS - t0))
e2e_log "$N routers launched in ${t_launched}s"

# Converged: every router knows N peers, and every connection it has is established.
converged() {
  local h r
  for h in "${hosts[@]}"; do
    r=$(api "$h" -H 'Accept: application/json' http://127.0.0.1:6784/report) || return 1
    jq -e --argjson n "$N" '(.Router.Peers | length) == $n and
      ([.Router.Connections[]? | select(.State != "established")] | length) == 0' <<<"$r" >/dev/null || return 1
  done
}
e2e_wait_for "$CONVERGE_LIMIT" converged || {
  for h in "${hosts[@]}"; do e2e_log "$h: $(e2e_weave "$h" status | grep -E 'Peers|Connections')"; done
  e2e_fail "no convergence in ${CONVERGE_LIMIT}s"
}
t_converged=$((SECONDS - t0))
e2e_log "converged ${t_converged}s after the first launch"

# Steady state: CPU per router over a window (a spinning timer shows up as ~100%).
declare -A cpu0
tick=$(getconf CLK_TCK)
sleep 5
for h in "${hosts[@]}"; do
  p=$(pid_of "$h")
  cpu0[$h]=$(awk '{print $14 + $15}' "/proc/$p/stat")
done
sleep "$WINDOW"
max_cpu=0 sum_cpu=0 max_rss=0 sum_rss=0 worst=""
for h in "${hosts[@]}"; do
  p=$(pid_of "$h")
  c=$(awk '{print $14 + $15}' "/proc/$p/stat")
  pct=$(((c - cpu0[$h]) * 100 * 100 / (tick * WINDOW)))  # hundredths of a percent
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status")
  sum_cpu=$((sum_cpu + pct))
  sum_rss=$((sum_rss + rss))
  ((pct <= max_cpu)) || { max_cpu=$pct; worst=$h; }
  ((rss <= max_rss)) || max_rss=$rss
done
fmt_pct() { printf '%d.%02d' $(($1 / 100)) $(($1 % 100)); }
e2e_log "steady-state CPU per router: max $(fmt_pct $max_cpu)% ($worst), mean $(fmt_pct $((sum_cpu / N)))%"
((max_cpu <= MAX_CPU * 100)) || e2e_fail "$worst used $(fmt_pct $max_cpu)% of a core in steady state (bound ${MAX_CPU}%)"

# One allocation per router, all at once.
t1=$(date +%s.%N)
pids=()
for h in "${hosts[@]}"; do
  (api "$h" -X POST "http://127.0.0.1:6784/ip/scale-$h" >"$E2E_TMP/ip-$h" 2>&1) &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
t_alloc=$(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
for h in "${hosts[@]}"; do
  [[ $(cat "$E2E_TMP/ip-$h") =~ ^10\.(3[2-9]|4[0-7])\.[0-9]+\.[0-9]+/12$ ]] || e2e_fail "$h's allocation: '$(cat "$E2E_TMP/ip-$h")'"
done
dups=$(cat "$E2E_TMP"/ip-h* | sort | uniq -d)
[[ -z $dups ]] || e2e_fail "duplicate addresses: $dups"
e2e_log "allocation round of $N took ${t_alloc}s"

echo "SCALE routers=$N launched_s=$t_launched converged_s=$t_converged alloc_round_s=$t_alloc" \
  "cpu_max_pct=$(fmt_pct $max_cpu) cpu_mean_pct=$(fmt_pct $((sum_cpu / N)))" \
  "rss_max_mb=$((max_rss / 1024)) rss_mean_mb=$((sum_rss / N / 1024)) weaver=${WEAVER_BIN:-$E2E_WEAVE_BIN_DEFAULT}"
e2e_pass
