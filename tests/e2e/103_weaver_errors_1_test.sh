#!/usr/bin/env bash
# weaver's startup errors are one line on stderr with a non-zero exit, and change nothing: bad
# flags, a port already in use, an unreadable password file, a bad peer name; SIGTERM is a clean
# shutdown; the generated peer name survives a restart (state file), and a corrupt state file is
# reported naming the file.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init weaver_errors
e2e_host h 192.168.77.1/24
W=$E2E_WEAVER
db=$E2E_TMP/db/weave

one_line_error() {  # expected-exit expected-substring cmd...
  local want_rc=$1 want=$2 out rc=0
  shift 2
  out=$(e2e_run h "$@" 2>&1 >/dev/null) || rc=$?
  [[ $rc == "$want_rc" ]] || e2e_fail "exit $rc (want $want_rc) for $*: $out"
  [[ $out == *"$want"* ]] || e2e_fail "message for $*: $out"
  [[ $(grep -c '^weaver:' <<<"$out") == 1 ]] || e2e_fail "not a one-line error: $out"
}
one_line_error 2 "flag provided but not defined: -bogus" "$W" --bogus
one_line_error 2 'invalid value "x" for flag -port' "$W" --port x
one_line_error 1 "invalid peer name" "$W" --name nonsense --db-prefix "$db" --datapath-backend none
one_line_error 1 "cannot read password file" env WEAVE_PASSWORD_FILE=/nonexistent/pw "$W" --db-prefix "$db" --datapath-backend none

# Every flag is checked before anything is created (issue 16): a refused flag leaves no bridge,
# no veth, no state file, and logs nothing before its one-line error (so no listener was opened).
refused_db=$E2E_TMP/refused/weave
while read -r want bad; do
  # shellcheck disable=SC2086
  out=$(e2e_run h timeout 10 "$W" --db-prefix "$refused_db" $bad 2>&1 >/dev/null) && e2e_fail "weaver accepted $bad"
  want=${want//_/ }
  [[ $out == *"$want"* ]] || e2e_fail "message for $bad: $out"
  [[ $(wc -l <<<"$out") == 1 && $out == weaver:* ]] || e2e_fail "more than the error for $bad: $out"
  links=$(ip -n "$(e2e_ns h)" -o link show)
  [[ $links != *weave* && $links != *vethwe* ]] || e2e_fail "$bad left links behind: $links"
  [[ ! -e ${refused_db}data.db ]] || e2e_fail "$bad wrote the state file"
done <<'EOF_FLAGS'
invalid_--ipalloc-range --ipalloc-range 10.0.0.0/33
must_be_within_allocation_range --ipalloc-range 10.32.0.0/12 --ipalloc-default-subnet 10.64.0.0/16
invalid_--ipalloc-init --ipalloc-range 10.32.0.0/12 --ipalloc-init bogus
invalid_--dns-ttl --dns-ttl -1
invalid_--host --host nonsense
invalid_MTU --mtu 100
unknown_--datapath-backend --datapath-backend bogus
--proxy_needs_--http-addr --proxy
--http-addr --http-addr 127.0.0.1
invalid_log_level --log-level loud
invalid_peer_name --name nonsense
invalid_peer_address 10.0.0.1:99999
invalid_port --port 0
invalid_--conn-limit --conn-limit -1
contradict_each_other --datapath-backend kernel --no-fastdp
EOF_FLAGS

# Port in use: a first weaver holds 6783.
e2e_bg h first.log "$W" --db-prefix "$db" --datapath-backend none --http-addr 127.0.0.1:6784
first=$E2E_LAST_PID
e2e_wait_for 10 e2e_run h curl -sf http://127.0.0.1:6784/status || e2e_fail "first weaver not up"
one_line_error 1 "address already in use" "$W" --db-prefix "$E2E_TMP/db2/weave" --datapath-backend none
name1=$(e2e_run h curl -sfg 'http://127.0.0.1:6784/report?format={{.Router.Name}}')

# SIGTERM: clean exit, status 0.
kill -TERM "$first"
rc=0
wait "$first" || rc=$?
[[ $rc == 0 ]] || e2e_fail "SIGTERM exit status $rc"
grep -q "shutting down" "$E2E_TMP/first.log" || e2e_fail "no shutdown log line"

# The generated name is kept across restarts.
e2e_bg h second.log "$W" --db-prefix "$db" --datapath-backend none --http-addr 127.0.0.1:6784
second=$E2E_LAST_PID
e2e_wait_for 10 e2e_run h curl -sf http://127.0.0.1:6784/status || e2e_fail "second weaver not up"
[[ $(e2e_run h curl -sfg 'http://127.0.0.1:6784/report?format={{.Router.Name}}') == "$name1" ]] || e2e_fail "peer name changed"
e2e_kill_pid "$second"

# A corrupt state file is reported with its name, and left alone.
printf 'garbage' >"${db}data.db"
one_line_error 1 "${db}data.db is corrupt" "$W" --db-prefix "$db" --datapath-backend none
[[ $(cat "${db}data.db") == garbage ]] || e2e_fail "corrupt state file was modified"
e2e_pass
