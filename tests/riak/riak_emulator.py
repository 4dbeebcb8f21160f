#!/usr/bin/env python3
"""riak_emulator.py - a single-node Riak KV HTTP API for kvkit's tests.

Follows the emulator checklist of shared/reference/riak-http.md (section 14):
routes of /buckets and /types/T/buckets (plus /ping, /stats, /), segment
decoding (%XX and '+' -> space, after splitting on '/'), objects with
siblings and vector clocks, allow_mult per bucket through /buckets/B/props,
2i (exact, inclusive range, $key, $bucket, max_results/continuation paging,
return_terms, stream=true), keys=true|stream, the status codes and error
texts of Riak 2.x.  Deletes follow Riak <= 3.0.15: 204 when the key
existed, 404 "not found\\n" when it did not (or is a tombstone).

Tombstones (Riak's delete_mode, --delete-mode): a number of ms (3000, Riak's
default), "immediate" or "keep".  Until it is reaped, a deleted key stays in
key listings and in $bucket / $key 2i answers (not in user indexes); a GET
answers 404 with X-Riak-Vclock and X-Riak-Deleted: true; a PUT without that
vclock on an allow_mult bucket keeps the tombstone as a sibling (300, the
multipart part marked X-Riak-Deleted: true).  A PUT replaces it otherwise.

Security (Riak's "riak-admin security", HTTPS only):
  --tls-cert F --tls-key F   serve HTTPS (Python's ssl module)
  --tls-client-ca F          also require a client certificate signed by F
                             (and at most TLS 1.2, so a missing one fails
                             the handshake, before any request is sent)
  --user NAME:PASSWORD       basic auth is required on every Riak route
                             (repeatable; /ping and /_emu stay open); wrong
                             or missing credentials answer 401
  --deny NAME                NAME authenticates but has no riak_kv
                             permission: 403 (repeatable)
  Users given without --tls-cert: every Riak request answers 426, as Riak
  refuses credentials over plain HTTP.

Only Python's standard library.  Usage:

    riak_emulator.py [--host 127.0.0.1] [--port 0] [--port-file F] [--no-2i]
                     [--delete-mode MS|immediate|keep] [security flags above]

It prints "PORT <n>" on stdout once it listens (port 0 picks a free one).

Test control (not part of Riak) under /_emu:
  POST   /_emu/faults    {"kind": K, "method": "GET"|"*", "path": PREFIX,
                          "times": N (-1: always), "ms": D, "status": S, "body": B}
         (or a list of those).  K is one of
           "status"    answer S (default 503) with B (default "request timed out\\n")
           "delay"     sleep D ms, then answer normally
           "drop"      send the headers and half the body, then close the
                       connection; a write is NOT applied (a DELETE, whose
                       204 has no body, is closed unanswered)
           "malformed" a JSON answer (2i, key list, props, stats) is cut short
           "close"     close the connection without answering; nothing applied
  DELETE /_emu/faults    remove every fault
  POST   /_emu/load      bulk-load objects (see control())
  PUT    /_emu/config    {"no_2i": true|false, "delete_mode": MS|"immediate"|"keep"}
  POST   /_emu/reap      reap every tombstone now
  POST   /_emu/reset     drop all data, faults, counters and config
  GET    /_emu/counters  {"requests": n, "connections": accepted connections,
                          "by_method": {...}, "by_kind": {...}}
  POST   /_emu/counters/reset
PATH is matched as a prefix of the raw (still percent-encoded) request path.
"""

import argparse
import base64
import hmac
import ssl
import bisect
import email.utils
import json
import re
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_PROPS = {
    "allow_mult": False, "basic_quorum": False, "big_vclock": 50,
    "chash_keyfun": {"mod": "riak_core_util", "fun": "chash_std_keyfun"},
    "dw": "quorum", "last_write_wins": False,
    "linkfun": {"mod": "riak_kv_wm_link_walker", "fun": "mapreduce_linkfun"},
    "n_val": 3, "notfound_ok": True, "old_vclock": 86400, "postcommit": [],
    "pr": 0, "precommit": [], "pw": 0, "r": "quorum", "rw": "quorum",
    "small_vclock": 50, "w": "quorum", "young_vclock": 20,
}

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

NO_2I_BODY = (
    "<html><head><title>500 Internal Server Error</title></head><body>"
    "<h1>Internal Server Error</h1>The server encountered an error while processing "
    "this request:<br><pre>{error,{error,{indexes_not_supported,"
    "riak_kv_bitcask_backend}}}</pre><P><HR><ADDRESS>mochiweb+webmachine web server"
    "</ADDRESS></body></html>")


def b2s(b):
    """Bytes of a key/term to str for JSON (surrogateescape keeps odd bytes)."""
    return b.decode("utf-8", "surrogateescape")


def s2b(s):
    return s.encode("utf-8", "surrogateescape")


def decode_segment(seg):
    """mochiweb_util:unquote: '+' -> space, %XX decoded; result is bytes."""
    return urllib.parse.unquote_to_bytes(seg.replace("+", " "))


def base62(n):
    s = ""
    while True:
        n, r = divmod(n, 62)
        s = BASE62[r] + s
        if n == 0:
            return s


def httpdate(t):
    return email.utils.formatdate(t, usegmt=True)


class Sibling:
    __slots__ = ("value", "ctype", "charset", "meta", "indexes", "links", "vtag",
                 "lastmod", "deleted")

    def __init__(self):
        self.value = b""
        self.ctype = "application/octet-stream"
        self.charset = None
        self.meta = []      # [(Name as sent, value)]
        self.indexes = {}   # field -> set of bytes values (as sent)
        self.links = ""
        self.vtag = ""
        self.lastmod = 0.0
        self.deleted = False


class Obj:
    __slots__ = ("siblings", "vclock", "reap_at")

    def __init__(self):
        self.siblings = []
        self.vclock = ""
        self.reap_at = None     # a tombstone's reap time (time.monotonic())

    def tombstone(self):
        return bool(self.siblings) and all(s.deleted for s in self.siblings)


class Bucket:
    def __init__(self, props):
        self.props = dict(props)
        self.objects = {}       # key bytes -> Obj
        self.keys = []          # sorted key bytes
        self.index = {}         # field -> sorted [(sortterm, termbytes, key)]


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.types = {b"default": {}}       # type -> {bucket bytes: Bucket}
        self.type_props = {b"default": {"allow_mult": False}}
        self.faults = []
        self.no_2i = False
        self.delete_mode = "immediate"
        self.tombstones = []    # [(reap_at, btype, bucket, key)] in delete order
        self.counter = 0
        self.requests = 0
        self.connections = 0
        self.by_method = {}
        self.by_kind = {}


STATE = State()
ARGS = None


def index_sortterm(field, term):
    """Sort key of a term (bytes): numeric for _int, bytewise otherwise."""
    if field.endswith("_int"):
        return int(term)
    return term


def valid_int(s):
    return re.fullmatch(r"[+-]?[0-9]+", s) is not None


def parse_delete_mode(v):
    """Riak's delete_mode: "immediate", "keep" or a number of ms."""
    v = str(v)
    if v in ("immediate", "keep"):
        return v
    if re.fullmatch(r"[0-9]+", v):
        return int(v)
    raise ValueError("delete_mode must be a number of ms, immediate or keep, not %r" % v)


def forget_key(b, key):
    """Call with STATE.lock held: the key leaves the bucket (index entries
    must already be gone)."""
    del b.objects[key]
    i = bisect.bisect_left(b.keys, key)
    if i < len(b.keys) and b.keys[i] == key:
        del b.keys[i]


def reap(now):
    """Call with STATE.lock held: drop the tombstones whose time has come
    (unless the key was written again since)."""
    keep = []
    for item in STATE.tombstones:
        at, btype, bucket, key = item
        if at > now:
            keep.append(item)
            continue
        b = STATE.types.get(btype, {}).get(bucket)
        obj = b.objects.get(key) if b else None
        if obj is not None and obj.reap_at == at and obj.tombstone():
            forget_key(b, key)
    STATE.tombstones = keep


class Reply(Exception):
    def __init__(self, status, body, ctype="text/plain", headers=None):
        super().__init__(status)
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode()
        self.ctype = ctype
        self.headers = headers or []


class Dropped(Exception):
    pass


QUORUM_WORDS = ("one", "quorum", "all", "default")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MochiWeb/1.1 WebMachine/1.10.9 (cafe not found)"
    sys_version = ""

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            # the handshake runs here, in the connection's thread, so a
            # client that stalls or fails it never blocks accept()
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()
        with STATE.lock:
            STATE.connections += 1
        # headers and body go out in separate writes: without NODELAY, Nagle
        # and the client's delayed ACK add 40 ms to every answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):  # quiet
        if ARGS and ARGS.verbose:
            sys.stderr.write("emu: " + (fmt % args) + "\n")

    # ---- plumbing ----

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_OPTIONS(self):
        self.dispatch("OPTIONS")

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, body=b"", ctype="text/plain", headers=(), fault=None):
        if isinstance(body, str):
            body = body.encode()
        if fault == "malformed" and ctype.startswith("application/json") and body:
            body = body[:max(1, len(body) // 2)]
        self.send_response(status)
        self.send_header("Vary", "Accept-Encoding")
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault == "drop":
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_hard()
            raise Dropped()
        self.wfile.write(body)

    def close_hard(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def take_fault(self, method, rawpath):
        with STATE.lock:
            for f in STATE.faults:
                if f.get("times", 1) == 0:
                    continue
                if f.get("method", "*") not in ("*", method):
                    continue
                if not rawpath.startswith(f.get("path", "")):
                    continue
                if f.get("times", 1) > 0:
                    f["times"] = f.get("times", 1) - 1
                return dict(f)
        return None

    def dispatch(self, method):
        raw = self.path
        rawpath, _, query = raw.partition("?")
        body = self.read_body()
        if rawpath.startswith("/_emu"):
            try:
                self.control(method, rawpath, body)
            except Reply as r:
                self.send(r.status, r.body, r.ctype, r.headers)
            return
        with STATE.lock:
            STATE.requests += 1
            STATE.by_method[method] = STATE.by_method.get(method, 0) + 1
            reap(time.monotonic())
        if rawpath != "/ping" and not self.authorized(method):
            return
        fault = self.take_fault(method, rawpath)
        kind = fault["kind"] if fault else None
        if kind == "delay":
            time.sleep(fault.get("ms", 1000) / 1000.0)
        elif kind == "close":
            self.close_hard()
            return
        elif kind == "status":
            self.send(fault.get("status", 503), fault.get("body", "request timed out\n"))
            return
        self.params = urllib.parse.parse_qs(query, keep_blank_values=True)
        self.kind = kind
        try:
            self.route(method, rawpath, body)
        except Reply as r:
            try:
                self.send(r.status, r.body, r.ctype, r.headers, fault=kind)
            except Dropped:
                pass
        except Dropped:
            pass

    def authorized(self, method):
        """Riak security: True when the request may go on; else the 426,
        401 or 403 has been sent."""
        if not ARGS.user:
            return True
        if not ARGS.tls_cert:
            self.send(426, "Security is enabled and Riak does not accept credentials over "
                           "HTTP. Try HTTPS instead.")
            return False
        name, password = None, None
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            try:
                name, _, password = base64.b64decode(auth[6:], validate=True).decode(
                    "utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                pass
        users = dict(u.split(":", 1) for u in ARGS.user)
        if name not in users or not hmac.compare_digest(users[name].encode(),
                                                        (password or "").encode()):
            self.send(401, "Unauthorized", "text/plain",
                      [("WWW-Authenticate", 'Basic realm="Riak"')])
            return False
        if name in ARGS.deny:
            perm = "riak_kv.get" if method in ("GET", "HEAD") else (
                "riak_kv.delete" if method == "DELETE" else "riak_kv.put")
            self.send(403, "Permission denied: User '%s' does not have '%s' on any" % (name, perm))
            return False
        return True

    def param(self, name, default=None):
        v = self.params.get(name)
        return v[-1] if v else default

    def count_kind(self, k):
        with STATE.lock:
            STATE.by_kind[k] = STATE.by_kind.get(k, 0) + 1

    # ---- control ----

    def control(self, method, path, body):
        if path == "/_emu/faults" and method == "POST":
            rules = json.loads(body or b"[]")
            if isinstance(rules, dict):
                rules = [rules]
            with STATE.lock:
                STATE.faults.extend(rules)
            raise Reply(204, b"")
        if path == "/_emu/faults" and method == "DELETE":
            with STATE.lock:
                STATE.faults = []
            raise Reply(204, b"")
        if path == "/_emu/config" and method == "PUT":
            cfg = json.loads(body or b"{}")
            with STATE.lock:
                if "no_2i" in cfg:
                    STATE.no_2i = bool(cfg["no_2i"])
                if "delete_mode" in cfg:
                    try:
                        STATE.delete_mode = parse_delete_mode(cfg["delete_mode"])
                    except ValueError as e:
                        raise Reply(400, str(e) + "\n")
                for t in cfg.get("bucket_types", []):
                    STATE.types.setdefault(t.encode(), {})
                    STATE.type_props.setdefault(t.encode(), {"allow_mult": True})
            raise Reply(204, b"")
        if path == "/_emu/reset" and method == "POST":
            with STATE.lock:
                STATE.reset()
                STATE.no_2i = ARGS.no_2i
                STATE.delete_mode = ARGS.delete_mode
            raise Reply(204, b"")
        if path == "/_emu/reap" and method == "POST":
            with STATE.lock:
                reap(float("inf"))
            raise Reply(204, b"")
        if path == "/_emu/load" and method == "POST":
            # bulk load for big tests: {"bucket": B, "objects": [[key, value,
            # {"field_int": [..], ...}], ...]} stored as application/json
            doc = json.loads(body)
            with STATE.lock:
                b = self.bucket(b"default", s2b(doc["bucket"]))
                for key, value, idx in doc["objects"]:
                    key = s2b(key)
                    STATE.counter += 1
                    s = Sibling()
                    s.value = value.encode()
                    s.ctype = "application/json"
                    s.indexes = {f: set(str(v).encode() for v in vals)
                                 for f, vals in idx.items()}
                    s.vtag = base62(STATE.counter)
                    s.lastmod = time.time()
                    obj = b.objects.get(key)
                    if obj is None:
                        obj = Obj()
                        b.objects[key] = obj
                        bisect.insort(b.keys, key)
                    else:
                        self.unindex(b, key, obj)
                    obj.siblings = [s]
                    obj.reap_at = None
                    obj.vclock = base64.b64encode(b"vclock:%d" % STATE.counter).decode()
                    self.reindex(b, key, obj)
            raise Reply(204, b"")
        if path == "/_emu/counters" and method == "GET":
            with STATE.lock:
                out = {"requests": STATE.requests, "connections": STATE.connections,
                       "by_method": STATE.by_method,
                       "by_kind": STATE.by_kind}
            raise Reply(200, json.dumps(out), "application/json")
        if path == "/_emu/counters/reset" and method == "POST":
            with STATE.lock:
                STATE.requests = 0
                STATE.connections = 0
                STATE.by_method = {}
                STATE.by_kind = {}
            raise Reply(204, b"")
        raise Reply(404, "not found\n")

    # ---- routing ----

    def route(self, method, rawpath, body):
        if rawpath in ("/", ""):
            return self.resources(method)
        segs = rawpath.split("/")[1:]
        if segs and segs[-1] == "" and len(segs) > 1:
            segs = segs[:-1]
        if segs == ["ping"]:
            self.only(method, ("GET", "HEAD"))
            return self.send(200, "OK", "text/html")
        if segs == ["stats"]:
            self.only(method, ("GET", "HEAD"))
            return self.stats()
        btype = b"default"
        if segs and segs[0] == "types":
            if len(segs) < 3 or segs[2] != "buckets":
                raise Reply(404, "not found\n")
            btype = decode_segment(segs[1])
            with STATE.lock:
                known = btype in STATE.types
            if not known:
                raise Reply(404, "Unknown bucket type: %s" % b2s(btype))
            segs = segs[2:]
        if not segs or segs[0] != "buckets":
            raise Reply(404, "not found\n")
        if len(segs) == 1:
            self.only(method, ("GET", "HEAD"))
            return self.list_buckets(btype)
        bucket = decode_segment(segs[1])
        if len(segs) == 3 and segs[2] == "props":
            return self.props(method, btype, bucket, body)
        if len(segs) >= 3 and segs[2] == "keys":
            if len(segs) == 3:
                if method == "POST":
                    return self.put(btype, bucket, None, body)
                self.only(method, ("GET", "HEAD"))
                return self.list_keys(btype, bucket)
            key = decode_segment(segs[3])
            if len(segs) > 4:
                # the link walker: a raw '/' in a key lands here
                raise Reply(404, "not found\n")
            if method in ("GET", "HEAD"):
                return self.get(btype, bucket, key)
            if method in ("PUT", "POST"):
                return self.put(btype, bucket, key, body)
            if method == "DELETE":
                return self.delete(btype, bucket, key)
            raise Reply(405, b"", "", [("Allow", "HEAD, GET, POST, PUT, DELETE")])
        if len(segs) in (5, 6) and segs[2] == "index":
            self.only(method, ("GET", "HEAD"))
            return self.index(btype, bucket, [decode_segment(s) for s in segs[3:]])
        raise Reply(404, "not found\n")

    def only(self, method, allowed):
        if method not in allowed:
            raise Reply(405, b"", "", [("Allow", ", ".join(allowed))])

    def resources(self, method):
        self.only(method, ("GET", "HEAD"))
        res = {"riak_kv_wm_buckets": "/buckets", "riak_kv_wm_index": "/buckets",
               "riak_kv_wm_keylist": "/buckets", "riak_kv_wm_link_walker": "/riak",
               "riak_kv_wm_object": "/buckets", "riak_kv_wm_ping": "/ping",
               "riak_kv_wm_props": "/buckets", "riak_kv_wm_stats": "/stats"}
        if "json" in (self.headers.get("Accept") or ""):
            return self.send(200, json.dumps(res), "application/json", fault=self.kind)
        html = "<html><body><ul>" + "".join(
            '<li><a href="%s">%s</a></li>' % (v, k) for k, v in sorted(res.items())
        ) + "</ul></body></html>"
        return self.send(200, html, "text/html")

    def stats(self):
        with STATE.lock:
            n = sum(len(b.objects) for t in STATE.types.values() for b in t.values())
        st = {"riak_kv_version": "2.2.3", "riak_core_version": "2.2.8",
              "storage_backend": "riak_kv_bitcask_backend" if STATE.no_2i
              else "riak_kv_eleveldb_backend",
              "ring_members": ["riak@127.0.0.1"], "nodename": "riak@127.0.0.1",
              "connected_nodes": [], "vnode_gets": 0, "objects": n}
        return self.send(200, json.dumps(st), "application/json", fault=self.kind)

    # ---- buckets and props ----

    def bucket(self, btype, name, create=True):
        """Call with STATE.lock held."""
        t = STATE.types[btype]
        b = t.get(name)
        if b is None:
            props = dict(DEFAULT_PROPS)
            props.update(STATE.type_props.get(btype, {}))
            b = Bucket(props)
            if create:
                t[name] = b
        return b

    def list_buckets(self, btype):
        if self.param("buckets") not in ("true", "stream"):
            return self.send(200, "{}", "application/json")
        with STATE.lock:
            names = [b2s(n) for n, b in STATE.types[btype].items() if b.objects]
        return self.send(200, json.dumps({"buckets": names}), "application/json",
                         fault=self.kind)

    def props(self, method, btype, bucket, body):
        if method in ("GET", "HEAD"):
            with STATE.lock:
                p = dict(self.bucket(btype, bucket, create=False).props)
            p["name"] = b2s(bucket)
            return self.send(200, json.dumps({"props": p}), "application/json",
                             fault=self.kind)
        if method == "PUT":
            ct = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if ct != "application/json":
                raise Reply(415, b"")
            try:
                doc = json.loads(body)
                newp = doc["props"]
                if not isinstance(newp, dict):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                raise Reply(400, 'bucket PUT must be a JSON object of the form:\n'
                                 '{"props":{...bucket properties...}}')
            for k in ("allow_mult", "last_write_wins"):
                if k in newp and not isinstance(newp[k], bool):
                    raise Reply(400, json.dumps({k: "Not a boolean"}), "application/json")
            if "n_val" in newp and not (isinstance(newp["n_val"], int) and newp["n_val"] > 0):
                raise Reply(400, json.dumps({"n_val": "Not a positive integer"}),
                            "application/json")
            with STATE.lock:
                self.bucket(btype, bucket).props.update(newp)
            return self.send(204, b"", None)
        if method == "DELETE":
            with STATE.lock:
                b = self.bucket(btype, bucket)
                b.props = dict(DEFAULT_PROPS)
                b.props.update(STATE.type_props.get(btype, {}))
            return self.send(204, b"", None)
        raise Reply(405, b"", "", [("Allow", "HEAD, GET, PUT, DELETE")])

    # ---- parameters ----

    def check_quorum(self, names, n_val):
        for p in names:
            v = self.param(p)
            if v is None:
                continue
            if v in QUORUM_WORDS:
                continue
            if not re.fullmatch(r"[0-9]+", v):
                raise Reply(400, "%s query parameter must be an integer or one of the "
                                 "following words: 'one', 'quorum' or 'all'\n" % p)
            if int(v) > n_val:
                if p in ("r", "pr"):
                    raise Reply(400, "Specified r/pr values invalid for bucket n value "
                                     "of %d\n" % n_val)
                raise Reply(400, "Specified w/dw/pw/node_confirms values invalid for bucket "
                                 "n value of %d\n" % n_val)
        for p in ("basic_quorum", "notfound_ok"):
            v = self.param(p)
            if v is not None and v.lower() not in ("true", "false", "default"):
                raise Reply(400, "%s query parameter must be true or false\n" % p)
        t = self.param("timeout")
        if t is not None and not re.fullmatch(r"[0-9]+", t):
            raise Reply(400, 'Bad timeout value "%s"\n' % t)

    # ---- objects ----

    def object_headers(self, bucket, sib):
        ct = sib.ctype + ("; charset=" + sib.charset if sib.charset else "")
        hs = [("ETag", '"%s"' % sib.vtag), ("Last-Modified", httpdate(sib.lastmod)),
              ("Link", '</buckets/%s>; rel="up"' % urllib.parse.quote(b2s(bucket), safe="")
               + (", " + sib.links if sib.links else ""))]
        merged = {}
        for name, val in sib.meta:
            merged.setdefault(name, []).append(val)
        for name, vals in merged.items():
            hs.append((name, ", ".join(vals)))
        for field in sorted(sib.indexes):
            vals = sorted(sib.indexes[field], key=lambda v: index_sortterm(field, v))
            hs.append(("x-riak-index-" + field,
                       ", ".join(v.decode("latin-1") for v in vals)))
        return ct, hs

    def accept_choice(self, offered):
        accept = self.headers.get("Accept")
        if not accept:
            return offered[0]
        ranges = []
        for i, item in enumerate(accept.split(",")):
            parts = [p.strip() for p in item.split(";")]
            mt = parts[0].lower()
            q = 1.0
            for p in parts[1:]:
                if p.startswith("q="):
                    try:
                        q = float(p[2:])
                    except ValueError:
                        q = 0.0
            ranges.append((mt, q, i))
        best = None
        for off in offered:
            base = off.split(";")[0].strip().lower()
            otype, _, osub = base.partition("/")
            for mt, q, i in ranges:
                t, _, s = mt.partition("/")
                spec = 2 if (t == otype and s == osub) else 1 if (t == otype and s == "*") \
                    else 0 if mt == "*/*" else -1
                if spec < 0 or q <= 0:
                    continue
                cand = (q, spec, -offered.index(off))
                if best is None or cand > best[0]:
                    best = (cand, off)
        if best is None:
            raise Reply(406, b"")
        return best[1]

    def multipart(self, bucket, sibs):
        boundary = base62(int(time.time() * 1e6) ^ id(sibs))
        out = []
        for s in sibs:
            ct, hs = self.object_headers(bucket, s)
            part = "\r\n--%s\r\nContent-Type: %s\r\n" % (boundary, ct)
            for k, v in hs:
                if k == "ETag":
                    part += "Etag: %s\r\n" % v.strip('"')
                elif k == "Last-Modified":
                    part += "Last-Modified: %s\r\n" % v
                    if s.deleted:
                        part += "X-Riak-Deleted: true\r\n"
                elif k.startswith("x-riak-index-"):
                    for one in v.split(", "):
                        part += "%s: %s\r\n" % (k, one)
                else:
                    part += "%s: %s\r\n" % (k, v)
            out.append(part.encode("latin-1") + b"\r\n" + s.value)
        body = b"".join(out) + ("\r\n--%s--\r\n" % boundary).encode()
        return "multipart/mixed; boundary=%s" % boundary, body

    def answer_object(self, status, bucket, obj, vtag=None):
        sibs = obj.siblings
        if vtag is not None:
            sibs = [s for s in sibs if s.vtag == vtag]
            if not sibs:
                raise Reply(404, "not found\n")
        if len(sibs) == 1:
            s = sibs[0]
            ct, hs = self.object_headers(bucket, s)
            self.accept_choice([ct])
            hs.append(("X-Riak-Vclock", obj.vclock))
            if s.deleted:
                hs.append(("X-Riak-Deleted", "true"))
            return self.send(status, s.value, ct, hs, fault=self.kind)
        choice = self.accept_choice(["text/plain", "multipart/mixed"])
        hs = [("X-Riak-Vclock", obj.vclock),
              ("Last-Modified", httpdate(max(s.lastmod for s in sibs)))]
        if choice == "text/plain":
            body = "Siblings:\n" + "".join(s.vtag + "\n" for s in sibs)
            return self.send(300, body, "text/plain", hs, fault=self.kind)
        ct, body = self.multipart(bucket, sibs)
        return self.send(300, body, ct, hs, fault=self.kind)

    def get(self, btype, bucket, key):
        self.count_kind("get")
        with STATE.lock:
            b = self.bucket(btype, bucket, create=False)
            self.check_quorum(("r", "pr"), b.props["n_val"])
            obj = b.objects.get(key)
            if obj is None:
                raise Reply(404, "not found\n")
            vtag = self.param("vtag")
            if obj.tombstone() and vtag is None:
                # riak_kv_wm_object: {deleted, VClock} -> 404 with the clock
                raise Reply(404, "not found\n", "text/plain",
                            [("X-Riak-Vclock", obj.vclock), ("X-Riak-Deleted", "true")])
            return self.answer_object(200, bucket, obj, vtag)

    def parse_indexes(self):
        fields = {}
        merged = {}
        for name, val in self.headers.items():
            ln = name.lower()
            if ln.startswith("x-riak-index-"):
                f = ln[len("x-riak-index-"):]
                merged[f] = merged[f] + ", " + val if f in merged else val
        for f, val in merged.items():
            raw = val.encode("latin-1")
            vals = re.split(rb",\s", raw)
            if f.endswith("_int"):
                for v in vals:
                    if not valid_int(v.decode("latin-1")):
                        raise Reply(400, "Could not parse field '%s', value '%s'.\n"
                                    % (f, v.decode("latin-1")))
                vals = [str(int(v)).encode() for v in vals]
            elif not f.endswith("_bin"):
                raise Reply(400, "Unknown field type for field: '%s'.\n" % f)
            fields[f] = set(vals)
        return fields

    def unindex(self, b, key, obj):
        for s in obj.siblings:
            for f, vals in s.indexes.items():
                lst = b.index.get(f, [])
                for v in vals:
                    item = (index_sortterm(f, v), v, key)
                    i = bisect.bisect_left(lst, item)
                    if i < len(lst) and lst[i] == item:
                        del lst[i]

    def reindex(self, b, key, obj):
        for s in obj.siblings:
            for f, vals in s.indexes.items():
                lst = b.index.setdefault(f, [])
                for v in vals:
                    item = (index_sortterm(f, v), v, key)
                    i = bisect.bisect_left(lst, item)
                    if i >= len(lst) or lst[i] != item:
                        lst.insert(i, item)

    def put(self, btype, bucket, key, body):
        self.count_kind("put")
        ctype = self.headers.get("Content-Type")
        if not ctype:
            raise Reply(400, "Missing Content-Type request header")
        parts = [p.strip() for p in ctype.split(";")]
        if "/" not in parts[0] or parts[0].startswith("/") or parts[0].endswith("/"):
            raise Reply(415, b"")
        charset = None
        for p in parts[1:]:
            if p.lower().startswith("charset="):
                charset = p[8:].strip('"')
        indexes = self.parse_indexes()
        meta = [(n, v) for n, v in self.headers.items() if n.lower().startswith("x-riak-meta-")]
        links = self.headers.get("Link") or ""
        vclock = self.headers.get("X-Riak-Vclock")
        created = key is None
        with STATE.lock:
            b = self.bucket(btype, bucket)
            self.check_quorum(("w", "dw", "pw"), b.props["n_val"])
            if created:
                STATE.counter += 1
                key = base62(int(time.time() * 1000) * 1000 + STATE.counter).encode()
            obj = b.objects.get(key)
            inm = self.headers.get("If-None-Match")
            if inm is not None and inm.strip() == "*" and obj is not None \
                    and not obj.tombstone():
                raise Reply(412, b"")
            if self.kind == "drop":
                # cut the (returnbody) answer short before anything is applied:
                # nothing is half-written
                return self.send(201 if created else 200, body or b"{}", "application/json",
                                 fault="drop")
            STATE.counter += 1
            s = Sibling()
            s.value = body
            s.ctype = parts[0]
            s.charset = charset
            s.meta = meta
            s.indexes = indexes
            s.links = links
            s.vtag = base62(STATE.counter * 7919 + int(time.time()))
            s.lastmod = time.time()
            if obj is None:
                obj = Obj()
                b.objects[key] = obj
                bisect.insort(b.keys, key)
            else:
                self.unindex(b, key, obj)
            # a tombstone written over without its clock stays as a sibling
            if (b.props.get("allow_mult") and not b.props.get("last_write_wins")
                    and obj.siblings and vclock != obj.vclock):
                obj.siblings.append(s)
            else:
                obj.siblings = [s]
            obj.reap_at = None
            obj.vclock = base64.b64encode(("vclock:%d" % STATE.counter).encode()).decode()
            self.reindex(b, key, obj)
            hs = []
            loc = None
            if created:
                prefix = "" if btype == b"default" else "/types/%s" % urllib.parse.quote(
                    b2s(btype), safe="")
                loc = "%s/buckets/%s/keys/%s" % (prefix, urllib.parse.quote(b2s(bucket), safe=""),
                                                 b2s(key))
                hs.append(("Location", loc))
            if self.param("returnbody") == "true":
                if len(obj.siblings) == 1:
                    return self.answer_object(201 if created else 200, bucket, obj)
                return self.answer_object(300, bucket, obj)
            return self.send(201 if created else 204, b"", None, hs)

    def delete(self, btype, bucket, key):
        self.count_kind("delete")
        with STATE.lock:
            b = self.bucket(btype, bucket, create=False)
            self.check_quorum(("rw", "r", "w", "pr", "pw", "dw"), b.props["n_val"])
            obj = b.objects.get(key)
            if obj is None or obj.tombstone():
                raise Reply(404, "not found\n")
            if self.kind == "drop":
                # a 204 has no body to cut: drop the connection unanswered
                self.close_hard()
                raise Dropped()
            self.unindex(b, key, obj)
            if STATE.delete_mode == "immediate":
                forget_key(b, key)
                return self.send(204, b"", None)
            self.bury(btype, bucket, key, obj)
            return self.send(204, b"", None)

    def bury(self, btype, bucket, key, obj):
        """Call with STATE.lock held: obj becomes a tombstone, reaped after
        delete_mode ms (never with "keep")."""
        STATE.counter += 1
        s = Sibling()
        s.deleted = True
        s.vtag = base62(STATE.counter * 7919 + int(time.time()))
        s.lastmod = time.time()
        obj.siblings = [s]
        obj.vclock = base64.b64encode(("vclock:%d" % STATE.counter).encode()).decode()
        obj.reap_at = None
        if STATE.delete_mode != "keep":
            obj.reap_at = time.monotonic() + STATE.delete_mode / 1000.0
            STATE.tombstones.append((obj.reap_at, btype, bucket, key))

    # ---- key listing ----

    def list_keys(self, btype, bucket):
        self.count_kind("keys")
        mode = self.param("keys")
        with STATE.lock:
            b = self.bucket(btype, bucket, create=False)
            keys = [b2s(k) for k in reversed(b.keys)]   # order is unspecified
        if mode == "true":
            return self.send(200, json.dumps({"keys": keys}, ensure_ascii=False).encode(),
                             "application/json", fault=self.kind)
        if mode != "stream":
            p = dict(b.props)
            p["name"] = b2s(bucket)
            return self.send(200, json.dumps({"props": p}), "application/json")
        chunks = [json.dumps({"keys": keys[i:i + 100]}, ensure_ascii=False).encode()
                  for i in range(0, len(keys), 100)]
        chunks.append(b'{"keys":[]}')
        if self.kind == "malformed":
            chunks = [chunks[0][:max(1, len(chunks[0]) // 2)]]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, c in enumerate(chunks):
            if self.kind == "drop" and i == len(chunks) // 2:
                self.close_hard()
                raise Dropped()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
        self.wfile.write(b"0\r\n\r\n")

    # ---- secondary indexes ----

    def index(self, btype, bucket, args):
        self.count_kind("index")
        if STATE.no_2i:
            raise Reply(500, NO_2I_BODY, "text/html")
        field = b2s(args[0]).lower()
        start = args[1]
        end = args[2] if len(args) > 2 else None
        is_range = end is not None
        rt = self.param("return_terms")
        if rt is not None and rt not in ("true", "false"):
            raise Reply(400, 'Invalid "return_terms". "%s" is not a boolean' % rt)
        mr = self.param("max_results")
        if mr is not None:
            if not re.fullmatch(r"[0-9]+", mr) or int(mr) <= 0:
                raise Reply(400, 'Invalid "max_results". "%s" is not a positive integer' % mr)
            mr = int(mr)
        cont = self.param("continuation")
        after = None
        if cont is not None:
            try:
                after = json.loads(base64.b64decode(cont, validate=True))
                if not isinstance(after, list) or len(after) != 2:
                    raise ValueError
            except (ValueError, TypeError):
                raise Reply(400, "Invalid query: {error,bad_continuation}")
        if field not in ("$bucket", "$key") and not (field.endswith("_bin") or
                                                     field.endswith("_int")):
            raise Reply(400, "Invalid query: {field_parsing_failed,{<<\"%s\">>,<<\"%s\">>}}"
                        % (field, b2s(start)))
        if field.endswith("_int"):
            for v in ([start, end] if is_range else [start]):
                if not valid_int(b2s(v)):
                    raise Reply(400, "Invalid query: {field_parsing_failed,{<<\"%s\">>,"
                                     "<<\"%s\">>}}" % (field, b2s(v)))
        user_range = is_range and field not in ("$bucket", "$key")
        return_terms = rt == "true" and user_range
        sort = mr is not None or self.param("pagination_sort") == "true"
        with STATE.lock:
            b = self.bucket(btype, bucket, create=False)
            if field == "$bucket":
                items = [(k, k, k) for k in b.keys]
            elif field == "$key":
                hi = end if is_range else start
                lo_i = bisect.bisect_left(b.keys, start)
                hi_i = bisect.bisect_right(b.keys, hi)
                items = [(k, k, k) for k in b.keys[lo_i:hi_i]]
            else:
                lst = b.index.get(field, [])
                lo = index_sortterm(field, start)
                hi = index_sortterm(field, end if is_range else start)
                i = bisect.bisect_left(lst, (lo,))
                items = []
                while i < len(lst) and lst[i][0] <= hi:
                    items.append(lst[i])
                    i += 1
                if not is_range:
                    items.sort(key=lambda it: it[2])
        if after is not None:
            a_key = s2b(after[1])
            if user_range:
                a_pos = (index_sortterm(field, s2b(after[0])), a_key)
                items = [it for it in items if (it[0], it[2]) > a_pos]
            else:
                items = [it for it in items if it[2] > a_key]
        if not sort:
            items = list(reversed(items))
        page = items[:mr] if mr is not None else items
        cont_out = None
        if mr is not None and len(page) == mr:
            last = page[-1]
            cont_out = base64.b64encode(json.dumps(
                [b2s(last[1]) if user_range else "", b2s(last[2])]).encode()).decode()
        if return_terms:
            res = {"results": [{b2s(t): b2s(k)} for _, t, k in page]}
        else:
            res = {"keys": [b2s(k) for _, _, k in page]}
        if self.param("stream") == "true":
            return self.stream_index(res, cont_out)
        if cont_out is not None:
            res["continuation"] = cont_out
        return self.send(200, json.dumps(res, ensure_ascii=False).encode(), "application/json",
                         fault=self.kind)

    def stream_index(self, res, cont):
        boundary = base62(int(time.time() * 1e6))
        parts = []
        key = "results" if "results" in res else "keys"
        vals = res[key]
        for i in range(0, max(len(vals), 1), 100):
            parts.append(json.dumps({key: vals[i:i + 100]}, ensure_ascii=False))
        if cont is not None:
            parts.append(json.dumps({"continuation": cont}))
        self.send_response(200)
        self.send_header("Content-Type", "multipart/mixed;boundary=%s" % boundary)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for p in parts:
            c = ("\r\n--%s\r\nContent-Type: application/json\r\n\r\n%s" % (boundary, p)).encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
        c = ("\r\n--%s--\r\n" % boundary).encode()
        self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(c), c))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ssl.SSLError, OSError)):
            if ARGS.verbose:
                sys.stderr.write("emu: %s: %s\n" % (client_address, sys.exc_info()[1]))
            return    # a refused handshake or a dropped client: the test's business
        super().handle_error(request, client_address)


def main():
    global ARGS
    ap = argparse.ArgumentParser(description="Riak KV HTTP API emulator for tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--no-2i", action="store_true", help="answer 2i like Bitcask (HTML 500)")
    ap.add_argument("--delete-mode", default="3000", type=parse_delete_mode,
                    help="ms a tombstone lives (Riak's default 3000), immediate or keep")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key", help="the certificate's private key (PEM)")
    ap.add_argument("--tls-client-ca", help="require a client certificate signed by this CA")
    ap.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD",
                    help="require HTTP basic auth (Riak security)")
    ap.add_argument("--deny", action="append", default=[], metavar="NAME",
                    help="NAME authenticates but has no permission (403)")
    ap.add_argument("--verbose", action="store_true")
    ARGS = ap.parse_args()
    STATE.no_2i = ARGS.no_2i
    STATE.delete_mode = ARGS.delete_mode
    srv = Server((ARGS.host, ARGS.port), Handler)
    if ARGS.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        if ARGS.tls_client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(ARGS.tls_client_ca)
            # TLS 1.3 refuses a missing client certificate only after the
            # client has sent its request, racing the client's own reads;
            # 1.2 refuses it in the handshake, so tests see one answer
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
    port = srv.server_address[1]
    if ARGS.port_file:
        with open(ARGS.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        import os
        os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    sys.stdout.write("PORT %d\n" % port)
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
