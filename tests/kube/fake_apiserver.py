#!/usr/bin/env python3
"""A small Kubernetes API server for weft's tests (kube spec §6), over TLS.

It serves the paths weave-kube and weave-npc use, with the shapes a real API server sends
(`kind`/`apiVersion` on every object, list and watch event; `Status` objects for errors):

  GET  /version
  GET  /api/v1/nodes[/NAME]                       list / watch (?watch=true) / get
  PATCH /api/v1/nodes/NAME/status                 strategic-merge of status.conditions (by type)
  GET  /api/v1/namespaces[/NAME]                  list / watch / get
  GET  /api/v1/pods, /api/v1/namespaces/NS/pods[/NAME]
  GET  /apis/networking.k8s.io/v1/networkpolicies, .../namespaces/NS/networkpolicies[/NAME]
  GET/POST/PUT /api/v1/namespaces/NS/configmaps[/NAME]
       PUT with a stale metadata.resourceVersion -> 409 Conflict; POST of an existing name ->
       409 AlreadyExists; missing -> 404 NotFound.

Lists honour ?limit= and ?continue= (pages), ?labelSelector= (equality only) and return
metadata.resourceVersion. Watches stream one JSON event per line (chunked) from ?resourceVersion=
(events after it), end after ?timeoutSeconds=, and answer an ERROR event with a 410 Status when
the version is older than the last compaction (POST /_test/compact, or /_test/expire, which also
ends every open watch that way).

Authentication: `Authorization: Bearer <token>` must match the token file, else 401.

Control interface (plain JSON over the same TLS port, no token needed), for tests that change
the cluster while watches are open:
  POST   /_test/objects            body: an object (kind, apiVersion, metadata.name[, namespace])
                                   -> created or replaced (ADDED/MODIFIED to watchers); returns it
  DELETE /_test/objects/RES/NS/NAME  (NS "_" for cluster-scoped) -> DELETED to watchers
  GET    /_test/objects/RES/NS/NAME
                                   ?silent=true on POST/DELETE: change the store without an
                                   event (as if it was compacted away: only a relist sees it)
  POST   /_test/fail               body: {"method":"PUT","path":"/api/v1/...","status":409,
                                   "count":1}: the next COUNT matching requests (path prefix;
                                   method "*" for any; count -1 forever) get that status
  POST   /_test/compact            forget history: older resourceVersions now get 410
  POST   /_test/expire             compact and end every open watch with a 410 ERROR event
  POST   /_test/token              body: {"token":"..."}: the accepted token from now on
  GET    /_test/requests           every API request so far: [{"method","path","query","body"}]
  GET    /_test/watches            the number of open watches per resource

Usage: fake_apiserver.py --dir DIR [--listen 127.0.0.1:0]
Creates DIR/ca.crt, DIR/token (a service-account dir), DIR/server.{crt,key}, and writes
DIR/port once it listens. Stops on SIGTERM.
"""
import argparse
import copy
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

# resource -> (group path prefix, kind, apiVersion, namespaced)
RESOURCES = {
    "nodes": ("/api/v1", "Node", "v1", False),
    "namespaces": ("/api/v1", "Namespace", "v1", False),
    "pods": ("/api/v1", "Pod", "v1", True),
    "configmaps": ("/api/v1", "ConfigMap", "v1", True),
    "networkpolicies": ("/apis/networking.k8s.io/v1", "NetworkPolicy", "networking.k8s.io/v1", True),
}
KIND_TO_RESOURCE = {v[1]: k for k, v in RESOURCES.items()}


def now_rfc3339():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_body(code, reason, message, details=None):
    b = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason, "code": code}
    if details:
        b["details"] = details
    return b


REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           409: "Conflict", 410: "Expired", 422: "Invalid", 500: "InternalError",
           503: "ServiceUnavailable"}


def _resources(group_version, rows):
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": [{"name": n, "singularName": "", "namespaced": ns, "kind": k,
                           "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
                          for n, ns, k in rows]}


def _group(name, version="v1"):
    gv = {"groupVersion": f"{name}/{version}", "version": version}
    return {"name": name, "versions": [gv], "preferredVersion": gv}


# Legacy discovery, enough for `kubectl apply --dry-run=client` of weave-net's manifest.
DISCOVERY = {
    "/api": {"kind": "APIVersions", "versions": ["v1"],
             "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1",
              "groups": [_group("apps"), _group("rbac.authorization.k8s.io"), _group("networking.k8s.io")]},
    "/api/v1": _resources("v1", [("nodes", False, "Node"), ("nodes/status", False, "Node"),
                                 ("namespaces", False, "Namespace"), ("pods", True, "Pod"),
                                 ("configmaps", True, "ConfigMap"), ("serviceaccounts", True, "ServiceAccount")]),
    "/apis/apps/v1": _resources("apps/v1", [("daemonsets", True, "DaemonSet")]),
    "/apis/rbac.authorization.k8s.io/v1": _resources("rbac.authorization.k8s.io/v1", [
        ("clusterroles", False, "ClusterRole"), ("clusterrolebindings", False, "ClusterRoleBinding"),
        ("roles", True, "Role"), ("rolebindings", True, "RoleBinding")]),
    "/apis/networking.k8s.io/v1": _resources("networking.k8s.io/v1", [("networkpolicies", True, "NetworkPolicy")]),
}


class Store:
    def __init__(self):
        self.lock = threading.Condition()
        self.rv = 100
        self.objects = {r: {} for r in RESOURCES}  # resource -> {(ns, name): obj}
        self.history = []  # (rv, resource, type, obj)
        self.compacted = 0  # watches from rv < compacted get 410
        self.expire_gen = 0
        self.failures = []
        self.requests = []
        self.token = ""
        self.open_watches = {r: 0 for r in RESOURCES}

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def put(self, resource, obj, event=None):
        """Stores OBJ (caller holds the lock); returns the stored copy."""
        _, kind, api_version, namespaced = RESOURCES[resource]
        obj = copy.deepcopy(obj)
        obj["kind"] = kind
        obj["apiVersion"] = api_version
        md = obj.setdefault("metadata", {})
        ns = md.get("namespace", "") if namespaced else ""
        if namespaced and not ns:
            ns = md["namespace"] = "default"
        key = (ns, md["name"])
        old = self.objects[resource].get(key)
        if old is None:
            md.setdefault("uid", str(uuid.uuid4()))
            md.setdefault("creationTimestamp", now_rfc3339())
        else:
            md["uid"] = old["metadata"]["uid"]
            md["creationTimestamp"] = old["metadata"]["creationTimestamp"]
        md["resourceVersion"] = self.next_rv()
        self.objects[resource][key] = obj
        self.history.append((int(md["resourceVersion"]), resource,
                             event or ("ADDED" if old is None else "MODIFIED"), copy.deepcopy(obj)))
        self.lock.notify_all()
        return obj

    def delete(self, resource, ns, name):
        obj = self.objects[resource].pop((ns, name), None)
        if obj is None:
            return None
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = self.next_rv()
        self.history.append((int(obj["metadata"]["resourceVersion"]), resource, "DELETED", obj))
        self.lock.notify_all()
        return obj


STORE = Store()


def label_match(obj, selector):
    if not selector:
        return True
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in selector.split(","):
        term = term.strip()
        if not term:
            continue
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in term:
            k, v = term.split("=", 1)
            k = k.strip().rstrip("=")
            if labels.get(k) != v.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def parse_api_path(path):
    """-> (resource, namespace or None, name or None, subresource or None) or None."""
    for prefix in ("/apis/networking.k8s.io/v1", "/api/v1"):
        if path == prefix or path.startswith(prefix + "/"):
            rest = [unquote(p) for p in path[len(prefix):].strip("/").split("/") if p]
            break
    else:
        return None
    group = prefix
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        ns = rest[1]
        rest = rest[2:]
    elif len(rest) in (1, 2) and rest[0] == "namespaces":
        return ("namespaces", None, rest[1] if len(rest) == 2 else None, None)
    if not rest:
        return None
    res = rest[0]
    if res not in RESOURCES or RESOURCES[res][0] != group:
        return None
    if RESOURCES[res][3] is False and ns is not None:
        return None
    name = rest[1] if len(rest) >= 2 else None
    sub = rest[2] if len(rest) >= 3 else None
    if len(rest) > 3:
        return None
    return (res, ns, name, sub)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "weft-fake-apiserver"

    def log_message(self, fmt, *args):
        if os.environ.get("FAKE_APISERVER_VERBOSE"):
            sys.stderr.write("fake-apiserver: " + (fmt % args) + "\n")

    # --- plumbing -------------------------------------------------------------------------
    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        self._raw_body = raw
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return ValueError

    def send_json(self, code, obj, extra_headers=()):
        data = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_status(self, code, message, reason=None, details=None):
        self.send_json(code, status_body(code, reason or REASONS.get(code, "Unknown"), message, details))

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        u = urlsplit(self.path)
        path, query = u.path, parse_qs(u.query, keep_blank_values=True)
        q = {k: v[-1] for k, v in query.items()}
        body = self.body_json()
        if path.startswith("/_test/"):
            return self.control(method, path, body, q.get("silent") in ("true", "1"))
        with STORE.lock:
            STORE.requests.append({"method": method, "path": path, "query": u.query,
                                   "body": body if body is not ValueError else None,
                                   "content_type": self.headers.get("Content-Type", "")})
            token = STORE.token
            injected = None
            for f in STORE.failures:
                if f["count"] != 0 and f["method"] in ("*", method) and path.startswith(f["path"]):
                    if f["count"] > 0:
                        f["count"] -= 1
                    injected = f["status"]
                    break
        auth = self.headers.get("Authorization", "")
        if auth != "Bearer " + token:
            return self.send_status(401, "Unauthorized")
        if injected is not None:
            if injected == 403:
                return self.send_status(403, f'{path} is forbidden: User "system:serviceaccount:kube-system:weave-net" cannot {method.lower()} this resource')
            if injected == 409:
                return self.send_status(409, "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again")
            if injected == 410:
                return self.send_status(410, "too old resource version", "Expired")
            return self.send_status(injected, f"injected failure {injected}")
        if body is ValueError:
            return self.send_status(400, "the request body is not JSON")
        if path == "/version":
            return self.send_json(200, {"major": "1", "minor": "18", "gitVersion": "v1.18.6",
                                        "gitCommit": "dff82dc0de47299ab66c83c626e08b245ab19037",
                                        "platform": "linux/amd64"})
        if method == "GET" and path.rstrip("/") in DISCOVERY:
            return self.send_json(200, DISCOVERY[path.rstrip("/")])
        p = parse_api_path(path)
        if p is None:
            return self.send_status(404, "the server could not find the requested resource")
        res, ns, name, sub = p
        if method == "GET" and name is None:
            if q.get("watch") in ("true", "1"):
                return self.watch(res, ns, q)
            return self.list(res, ns, q)
        if method == "GET" and sub is None:
            return self.get_one(res, ns or "", name)
        if method == "POST" and name is None and ns is not None:
            return self.create(res, ns, body)
        if method == "PUT" and name is not None and sub is None:
            return self.update(res, ns or "", name, body)
        if method == "PATCH" and res == "nodes" and sub == "status":
            return self.patch_node_status(name, body)
        return self.send_status(405, f"{method} is not supported on {path}", "MethodNotAllowed")

    # --- API ------------------------------------------------------------------------------
    def get_one(self, res, ns, name):
        with STORE.lock:
            obj = STORE.objects[res].get((ns, name))
            obj = copy.deepcopy(obj)
        if obj is None:
            return self.send_status(404, f'{res} "{name}" not found', details={"name": name, "kind": res})
        return self.send_json(200, obj)

    def list(self, res, ns, q):
        _, kind, api_version, _ = RESOURCES[res]
        with STORE.lock:
            items = [copy.deepcopy(o) for (ons, _), o in sorted(STORE.objects[res].items())
                     if (ns is None or ons == ns) and label_match(o, q.get("labelSelector", ""))]
            rv = str(STORE.rv)
        start = 0
        if q.get("continue"):
            try:
                start_s, rv = q["continue"].split(":", 1)
                start = int(start_s)
            except ValueError:
                return self.send_status(400, "invalid continue token")
        limit = int(q.get("limit") or 0)
        md = {"resourceVersion": rv}
        if limit > 0 and start + limit < len(items):
            page = items[start:start + limit]
            md["continue"] = f"{start + limit}:{rv}"
        else:
            page = items[start:]
        for o in page:
            o.pop("kind", None)
            o.pop("apiVersion", None)
        return self.send_json(200, {"kind": kind + "List", "apiVersion": api_version,
                                    "metadata": md, "items": page})

    def create(self, res, ns, body):
        if not isinstance(body, dict) or not body.get("metadata", {}).get("name"):
            return self.send_status(422, "metadata.name: Required value", "Invalid")
        name = body["metadata"]["name"]
        body["metadata"]["namespace"] = ns
        with STORE.lock:
            if (ns, name) in STORE.objects[res]:
                exists = True
            else:
                exists = False
                body["metadata"].pop("resourceVersion", None)
                obj = STORE.put(res, body)
        if exists:
            return self.send_status(409, f'{res} "{name}" already exists', "AlreadyExists",
                                    {"name": name, "kind": res})
        return self.send_json(201, obj)

    def update(self, res, ns, name, body):
        if not isinstance(body, dict) or body.get("metadata", {}).get("name") != name:
            return self.send_status(400, "the name of the object does not match the name on the URL")
        with STORE.lock:
            cur = STORE.objects[res].get((ns, name))
            if cur is None:
                result = 404
            elif body["metadata"].get("resourceVersion") not in (None, "", cur["metadata"]["resourceVersion"]):
                result = 409
            else:
                result = 200
                if ns:
                    body["metadata"]["namespace"] = ns
                obj = STORE.put(res, body)
        if result == 404:
            return self.send_status(404, f'{res} "{name}" not found', details={"name": name, "kind": res})
        if result == 409:
            return self.send_status(
                409, f'Operation cannot be fulfilled on {res} "{name}": the object has been modified; '
                     'please apply your changes to the latest version and try again',
                details={"name": name, "kind": res})
        return self.send_json(200, obj)

    def patch_node_status(self, name, body):
        if self.headers.get("Content-Type", "") != "application/strategic-merge-patch+json":
            return self.send_status(415, "unsupported patch type", "UnsupportedMediaType")
        with STORE.lock:
            cur = STORE.objects["nodes"].get(("", name))
            if cur is not None:
                node = copy.deepcopy(cur)
                conds = node.setdefault("status", {}).setdefault("conditions", [])
                for c in (body or {}).get("status", {}).get("conditions", []):
                    for i, old in enumerate(conds):
                        if old.get("type") == c.get("type"):
                            conds[i] = {**old, **c}
                            break
                    else:
                        conds.append(c)
                node = STORE.put("nodes", node)
        if cur is None:
            return self.send_status(404, f'nodes "{name}" not found', details={"name": name, "kind": "nodes"})
        return self.send_json(200, node)

    def watch(self, res, ns, q):
        try:
            since = int(q.get("resourceVersion") or 0)
        except ValueError:
            return self.send_status(400, "invalid resourceVersion")
        timeout = float(q.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        selector = q.get("labelSelector", "")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(obj):
            data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        with STORE.lock:
            STORE.open_watches[res] += 1
            gen = STORE.expire_gen
        try:
            with STORE.lock:
                too_old = since != 0 and since < STORE.compacted
                if since == 0:
                    since = STORE.rv
            if too_old:
                chunk({"type": "ERROR", "object": status_body(
                    410, "Expired", f"too old resource version: {since} ({STORE.compacted})")})
            else:
                while True:
                    with STORE.lock:
                        pending = [(rv, t, o) for rv, r, t, o in STORE.history
                                   if r == res and rv > since]
                        expired = STORE.expire_gen != gen
                        if not pending and not expired:
                            left = deadline - time.monotonic()
                            if left <= 0:
                                break
                            STORE.lock.wait(min(left, 0.5))
                            continue
                    for rv, t, o in pending:
                        since = rv
                        if ns is not None and o["metadata"].get("namespace") != ns:
                            continue
                        if not label_match(o, selector):
                            continue
                        chunk({"type": t, "object": o})
                    if expired:
                        chunk({"type": "ERROR", "object": status_body(
                            410, "Expired", "The resourceVersion for the provided watch is too old.")})
                        break
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        finally:
            with STORE.lock:
                STORE.open_watches[res] -= 1
            self.close_connection = True

    # --- control --------------------------------------------------------------------------
    def control(self, method, path, body, silent=False):
        parts = [unquote(p) for p in path.split("/") if p][1:]
        if body is ValueError:
            return self.send_json(400, {"error": "not JSON"})
        if parts == ["objects"] and method == "POST":
            kind = (body or {}).get("kind")
            if kind not in KIND_TO_RESOURCE or not body.get("metadata", {}).get("name"):
                return self.send_json(400, {"error": "need kind (one of %s) and metadata.name" % sorted(KIND_TO_RESOURCE)})
            with STORE.lock:
                obj = STORE.put(KIND_TO_RESOURCE[kind], body)
                if silent:
                    STORE.history.pop()
            return self.send_json(200, obj)
        if len(parts) == 4 and parts[0] == "objects" and parts[1] in RESOURCES:
            res, ns, name = parts[1], "" if parts[2] == "_" else parts[2], parts[3]
            with STORE.lock:
                if method == "DELETE":
                    obj = STORE.delete(res, ns, name)
                    if silent and obj is not None:
                        STORE.history.pop()
                elif method == "GET":
                    obj = copy.deepcopy(STORE.objects[res].get((ns, name)))
                else:
                    return self.send_json(405, {"error": "GET or DELETE"})
            if obj is None:
                return self.send_json(404, {"error": "not found"})
            return self.send_json(200, obj)
        if parts == ["fail"] and method == "POST":
            f = {"method": body.get("method", "*"), "path": body["path"],
                 "status": int(body["status"]), "count": int(body.get("count", 1))}
            with STORE.lock:
                STORE.failures.append(f)
            return self.send_json(200, f)
        if parts == ["compact"] and method == "POST":
            with STORE.lock:
                STORE.compacted = STORE.rv
                STORE.history = []
            return self.send_json(200, {"compacted": STORE.compacted})
        if parts == ["expire"] and method == "POST":
            with STORE.lock:
                STORE.compacted = STORE.rv
                STORE.history = []
                STORE.expire_gen += 1
                STORE.lock.notify_all()
            return self.send_json(200, {"compacted": STORE.compacted})
        if parts == ["token"] and method == "POST":
            with STORE.lock:
                STORE.token = body["token"]
            return self.send_json(200, {})
        if parts == ["requests"] and method == "GET":
            with STORE.lock:
                return self.send_json(200, list(STORE.requests))
        if parts == ["watches"] and method == "GET":
            with STORE.lock:
                return self.send_json(200, dict(STORE.open_watches))
        return self.send_json(404, {"error": "unknown control path"})


def make_certs(d, host):
    """A CA and a server certificate for HOST (IP SAN and DNS SAN localhost)."""
    def run(*args):
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ca_key, ca_crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    key, csr, crt = (os.path.join(d, n) for n in ("server.key", "server.csr", "server.crt"))
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca_key, "-out", ca_crt,
        "-days", "2", "-subj", "/CN=weft-test-ca")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=kube-apiserver")
    ext = os.path.join(d, "san.ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=IP:{host},IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
        "-out", crt, "-days", "2", "-extfile", ext)
    return crt, key


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--fixtures", help="a JSON file: a list of objects to start with")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    host, port = a.listen.rsplit(":", 1)
    crt, key = make_certs(a.dir, host)
    STORE.token = "weft-test-token-" + uuid.uuid4().hex
    with open(os.path.join(a.dir, "token"), "w") as f:
        f.write(STORE.token)
    if a.fixtures:
        with open(a.fixtures) as f:
            for o in json.load(f):
                STORE.put(KIND_TO_RESOURCE[o["kind"]], o)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    srv = Server((host, int(port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(os.path.join(a.dir, "port.tmp"), "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(os.path.join(a.dir, "port.tmp"), os.path.join(a.dir, "port"))

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    srv.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
