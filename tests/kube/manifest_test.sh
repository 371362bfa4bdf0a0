#!/usr/bin/env bash
# container/kube/weave-daemonset-k8s.yaml: kubectl parses it and applies it in client-side dry
# run against the test API server (loopback, TLS; no real API server can run here), and it has
# what Weave's manifest has (kube spec §5) with the image container/build-image makes.
#
# What works offline with kubectl 1.32: `kubectl apply --dry-run=client` needs API discovery from
# a server (so it runs against tests/kube/fake_apiserver.py) and `--validate=false` (the test
# server serves no OpenAPI schema); `kubectl annotate --local -f ... -o json` parses with no server.
set -euo pipefail
SRC=${WEFT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
MANIFEST=$SRC/container/kube/weave-daemonset-k8s.yaml
command -v kubectl >/dev/null || { echo "FAIL: needs kubectl (scripts/install-deps)"; exit 1; }
command -v jq >/dev/null || { echo "FAIL: needs jq"; exit 1; }
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/weft-manifest.XXXXXX)
SERVER=""
cleanup() {
  [[ -z $SERVER ]] || kill "$SERVER" 2>/dev/null || true
  [[ -z $SERVER ]] || wait "$SERVER" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. Offline parse.
kubectl annotate --local -f "$MANIFEST" weft/parsed=true --dry-run=client -o json >"$TMP/objects.json" ||
  fail "kubectl cannot parse the manifest"
jq -s . "$TMP/objects.json" >"$TMP/all.json"
kinds=$(jq -r '[.[].kind] | join(",")' "$TMP/all.json")
[[ $kinds == ServiceAccount,ClusterRole,ClusterRoleBinding,Role,RoleBinding,DaemonSet ]] || fail "objects: $kinds"

# 2. apply --dry-run=client against the test API server.
"$PY" "$SRC/tests/kube/fake_apiserver.py" --dir "$TMP/api" --listen 127.0.0.1:0 >"$TMP/api.log" 2>&1 &
SERVER=$!
for _ in $(seq 600); do [[ -s $TMP/api/port ]] && break; sleep 0.1; done
[[ -s $TMP/api/port ]] || fail "test API server did not start: $(cat "$TMP/api.log")"
cat >"$TMP/kubeconfig" <<EOF2
apiVersion: v1
kind: Config
clusters: [{name: t, cluster: {server: "https://127.0.0.1:$(cat "$TMP/api/port")", certificate-authority: "$TMP/api/ca.crt"}}]
users: [{name: t, user: {token: "$(cat "$TMP/api/token")"}}]
contexts: [{name: t, context: {cluster: t, user: t}}]
current-context: t
EOF2
out=$(KUBECONFIG=$TMP/kubeconfig kubectl apply --dry-run=client --validate=false -f "$MANIFEST") ||
  fail "kubectl apply --dry-run=client failed: $out"
for o in serviceaccount/weave-net clusterrole.rbac.authorization.k8s.io/weave-net \
  clusterrolebinding.rbac.authorization.k8s.io/weave-net role.rbac.authorization.k8s.io/weave-net \
  rolebinding.rbac.authorization.k8s.io/weave-net daemonset.apps/weave-net; do
  grep -qx "$o created (dry run)" <<<"$out" || fail "apply did not create $o: $out"
done
# A broken manifest is refused (the test is not a rubber stamp).
sed 's/kind: DaemonSet/kind: DaemonSett/' "$MANIFEST" >"$TMP/broken.yaml"
KUBECONFIG=$TMP/kubeconfig kubectl apply --dry-run=client --validate=false -f "$TMP/broken.yaml" >/dev/null 2>&1 &&
  fail "kubectl accepted kind DaemonSett"

# 3. Weave's manifest (kube spec §5), with weft's image.
version=$(sed -n 's/^VERSION=\${WEFT_VERSION:-\(.*\)}$/\1/p' "$SRC/container/build-image")
tag=$(sed -n 's/^TAG=weft\/weave:\$VERSION$/weft\/weave/p' "$SRC/container/build-image")
[[ -n $version && $tag == weft/weave ]] || fail "cannot read build-image's default tag"
ds='.[] | select(.kind == "DaemonSet")'
check() { jq -e "$1" "$TMP/all.json" >/dev/null || fail "manifest: $2"; }
check "[$ds | .spec.template.spec.initContainers[0], .spec.template.spec.containers[0] | .image] == [\"weft/weave:$version\", \"weft/weave:$version\"]" \
  "images are not weft/weave:$version (container/build-image)"
check "$ds | .metadata.namespace == \"kube-system\" and .spec.selector.matchLabels.name == \"weave-net\" and .spec.minReadySeconds == 5 and .spec.updateStrategy.type == \"RollingUpdate\"" "DaemonSet spec"
check "$ds | .spec.template.spec | .hostNetwork and (.hostPID | not) and .dnsPolicy == \"ClusterFirstWithHostNet\" and .serviceAccountName == \"weave-net\" and .priorityClassName == \"system-node-critical\"" "pod spec"
check "$ds | .spec.template.spec.tolerations == [{\"effect\":\"NoSchedule\",\"operator\":\"Exists\"},{\"effect\":\"NoExecute\",\"operator\":\"Exists\"}]" "tolerations"
check "$ds | .spec.template.spec.containers[0] | .command == [\"/usr/bin/weaver\",\"kube-launch\"] and .readinessProbe.httpGet == {\"host\":\"127.0.0.1\",\"path\":\"/status\",\"port\":6784} and .securityContext.privileged and (.env[] | select(.name == \"HOSTNAME\") | .valueFrom.fieldRef.fieldPath == \"spec.nodeName\")" "weave container"
check "$ds | .spec.template.spec.initContainers[0].command == [\"/usr/bin/weaver\",\"kube-init\"]" "weave-init container"
check "$ds | [.spec.template.spec.volumes[] | \"\(.name)=\(.hostPath.path)\"] | sort == [\"cni-bin2=/home\",\"cni-bin=/opt\",\"cni-conf=/etc\",\"cni-machine-id=/etc/machine-id\",\"dbus=/var/lib/dbus\",\"lib-modules=/lib/modules\",\"weavedb=/var/lib/weave\",\"xtables-lock=/run/xtables.lock\"]" "volumes"
check '.[] | select(.kind == "Role") | .rules == [{"apiGroups":[""],"resources":["configmaps"],"resourceNames":["weave-net"],"verbs":["get","update"]},{"apiGroups":[""],"resources":["configmaps"],"verbs":["create"]}]' "Role"
check '.[] | select(.kind == "ClusterRole") | [.rules[] | select(.resources == ["nodes/status"]) | .verbs] == [["patch","update"]]' "ClusterRole nodes/status"
check 'all(.[]; .metadata.labels.name == "weave-net")' "labels"
echo "PASS: kube_manifest"
