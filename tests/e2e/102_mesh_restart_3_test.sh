#!/usr/bin/env bash
# Kill B (SIGKILL) in a line A-B-C and start it again: the mesh re-forms by itself; B keeps its
# peer name across the restart (persisted in its state file).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init mesh_restart_3

e2e_host a 192.168.77.1/24
e2e_host b 192.168.77.2/24
e2e_host c 192.168.77.3/24
e2e_block a c

e2e_weave b launch >/dev/null || e2e_fail "launch b"
e2e_weave a launch "$(e2e_ip b)" >/dev/null || e2e_fail "launch a"
e2e_weave c launch "$(e2e_ip b)" >/dev/null || e2e_fail "launch c"
peers_seen() { [[ $(e2e_weave "$1" status peers | grep -c '^[0-9a-f:]\{17\}(') -eq 3 ]]; }
for h in a c; do e2e_wait_for 30 peers_seen $h || e2e_fail "$h does not list 3 peers"; done
nb=$(e2e_weave b report -f '{{.Router.Name}}')

read -r pid <"$(e2e_state_dir b)/weaver.pid"
kill -KILL "$pid"
gone() { ! peers_seen a; }
e2e_wait_for 90 gone || e2e_fail "a still lists 3 peers after b died"

e2e_weave b launch >/dev/null || e2e_fail "relaunch b"
[[ $(e2e_weave b report -f '{{.Router.Name}}') == "$nb" ]] || e2e_fail "b's peer name changed"
for h in a b c; do e2e_wait_for 60 peers_seen $h || e2e_fail "$h did not re-form: $(e2e_weave $h status peers)"; done
e2e_pass
