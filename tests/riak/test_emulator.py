#!/usr/bin/env python3
"""test_emulator.py - the emulator answers like Riak (riak-http.md, section 14).

Starts riak_emulator.py on a free loopback port, checks routes, status codes
and error texts with raw HTTP, and stops it by PID.  Standard library only.
"""

import base64
import http.client
import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
EMU = os.path.join(HERE, "riak_emulator.py")
PROC = None
PORT = None


def setUpModule():
    global PROC, PORT
    PROC = subprocess.Popen([sys.executable, EMU, "--port", "0"], stdout=subprocess.PIPE)
    line = PROC.stdout.readline().decode()
    assert line.startswith("PORT "), line
    PORT = int(line.split()[1])


def tearDownModule():
    PROC.terminate()
    PROC.wait()
    PROC.stdout.close()


def req(method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
    finally:
        c.close()
    return r.status, r, data


def put(path, body=b"{}", ctype="application/json", headers=None):
    h = {"Content-Type": ctype} if ctype else {}
    h.update(headers or {})
    return req("PUT", path, body, h)


class Emulator(unittest.TestCase):
    def setUp(self):
        self.assertEqual(req("POST", "/_emu/reset", b"")[0], 204)

    # -- ping, stats, resources --

    def test_ping(self):
        st, r, body = req("GET", "/ping")
        self.assertEqual((st, body), (200, b"OK"))
        self.assertEqual(r.getheader("Content-Type"), "text/html")

    def test_stats_and_resources(self):
        st, _, body = req("GET", "/stats")
        self.assertEqual(st, 200)
        self.assertIn("riak_kv_version", json.loads(body))
        st, _, body = req("GET", "/", headers={"Accept": "application/json"})
        self.assertEqual(json.loads(body)["riak_kv_wm_index"], "/buckets")

    # -- objects --

    def test_put_requires_content_type(self):
        st, _, body = put("/buckets/b/keys/k", ctype=None)
        self.assertEqual((st, body), (400, b"Missing Content-Type request header"))
        self.assertEqual(put("/buckets/b/keys/k", ctype="nonsense")[0], 415)

    def test_get_200_headers(self):
        put("/buckets/b/keys/k", b'{"a":1}', headers={
            "X-Riak-Index-Age_int": "7, 5", "X-Riak-Index-tag_bin": "b, a,c",
            "X-Riak-Meta-Color": "blue"})
        st, r, body = req("GET", "/buckets/b/keys/k")
        self.assertEqual((st, body), (200, b'{"a":1}'))
        self.assertTrue(r.getheader("ETag").startswith('"'))
        self.assertTrue(r.getheader("Last-Modified").endswith("GMT"))
        self.assertEqual(r.getheader("Link"), '</buckets/b>; rel="up"')
        self.assertEqual(r.getheader("x-riak-index-age_int"), "5, 7")
        self.assertEqual(r.getheader("x-riak-index-tag_bin"), "a,c, b")
        self.assertEqual(r.getheader("X-Riak-Meta-Color"), "blue")
        self.assertTrue(base64.b64decode(r.getheader("X-Riak-Vclock")))

    def test_get_404_406_405(self):
        self.assertEqual(req("GET", "/buckets/b/keys/none")[0:3:2], (404, b"not found\n"))
        put("/buckets/b/keys/k")
        self.assertEqual(req("GET", "/buckets/b/keys/k", headers={"Accept": "text/html"})[0], 406)
        self.assertEqual(req("PATCH", "/buckets/b/keys/k")[0], 405)

    def test_index_header_errors(self):
        st, _, body = put("/buckets/b/keys/k", headers={"X-Riak-Index-f_foo": "x"})
        self.assertEqual((st, body), (400, b"Unknown field type for field: 'f_foo'.\n"))
        st, _, body = put("/buckets/b/keys/k", headers={"X-Riak-Index-f_int": "4.5"})
        self.assertEqual((st, body), (400, b"Could not parse field 'f_int', value '4.5'.\n"))

    def test_quorum_parameter_errors(self):
        st, _, body = req("GET", "/buckets/b/keys/k?r=most")
        self.assertEqual(st, 400)
        self.assertEqual(body, b"r query parameter must be an integer or one of the following "
                               b"words: 'one', 'quorum' or 'all'\n")
        st, _, body = req("GET", "/buckets/b/keys/k?basic_quorum=maybe")
        self.assertEqual((st, body), (400, b"basic_quorum query parameter must be true or false\n"))
        st, _, body = req("GET", "/buckets/b/keys/k?timeout=soon")
        self.assertEqual((st, body), (400, b'Bad timeout value "soon"\n'))

    def test_post_creates_key(self):
        st, r, _ = req("POST", "/buckets/b/keys", b"{}", {"Content-Type": "application/json"})
        self.assertEqual(st, 201)
        self.assertTrue(r.getheader("Location").startswith("/buckets/b/keys/"))

    def test_if_none_match(self):
        put("/buckets/b/keys/k")
        self.assertEqual(put("/buckets/b/keys/k", headers={"If-None-Match": "*"})[0], 412)

    def test_decoding_plus_and_percent(self):
        put("/buckets/b/keys/a+b%2Fc%2B")
        st, _, body = req("GET", "/buckets/b/keys?keys=true")
        self.assertEqual(json.loads(body)["keys"], ["a b/c+"])

    def test_delete(self):
        put("/buckets/b/keys/k")
        self.assertEqual(req("DELETE", "/buckets/b/keys/k")[0], 204)
        self.assertEqual(req("DELETE", "/buckets/b/keys/k")[0:3:2], (404, b"not found\n"))

    # -- tombstones (delete_mode) --

    def keys(self, bucket):
        return sorted(json.loads(req("GET", "/buckets/%s/keys?keys=true" % bucket)[2])["keys"])

    def test_tombstone_until_reaped(self):
        put("/buckets/t/keys/k", headers={"X-Riak-Index-n_int": "1"})
        put("/buckets/t/keys/j")
        self.assertEqual(req("DELETE", "/buckets/t/keys/k")[0], 204)
        st, r, body = req("GET", "/buckets/t/keys/k")
        self.assertEqual((st, body), (404, b"not found\n"))
        self.assertEqual(r.getheader("X-Riak-Deleted"), "true")
        self.assertTrue(r.getheader("X-Riak-Vclock"))
        # listings and $bucket / $key still show it; the user index does not
        self.assertEqual(self.keys("t"), ["j", "k"])
        self.assertEqual(sorted(json.loads(req("GET", "/buckets/t/index/$bucket/_")[2])["keys"]),
                         ["j", "k"])
        self.assertEqual(json.loads(req("GET", "/buckets/t/index/$key/k/k")[2])["keys"], ["k"])
        self.assertEqual(json.loads(req("GET", "/buckets/t/index/n_int/1")[2])["keys"], [])
        self.assertEqual(req("DELETE", "/buckets/t/keys/k")[0], 404)
        self.assertEqual(req("POST", "/_emu/reap", b"")[0], 204)
        self.assertEqual(self.keys("t"), ["j"])

    def test_tombstone_reaped_after_delete_mode(self):
        self.assertEqual(req("PUT", "/_emu/config", b'{"delete_mode": 100}')[0], 204)
        put("/buckets/t/keys/k")
        req("DELETE", "/buckets/t/keys/k")
        time.sleep(0.2)
        self.assertEqual(self.keys("t"), [])
        self.assertEqual(req("PUT", "/_emu/config", b'{"delete_mode": "immediate"}')[0], 204)
        put("/buckets/t/keys/k")
        req("DELETE", "/buckets/t/keys/k")
        self.assertEqual(self.keys("t"), [])
        self.assertEqual(req("PUT", "/_emu/config", b'{"delete_mode": "soon"}')[0], 400)

    def test_tombstone_sibling_after_recreate(self):
        req("PUT", "/buckets/m/props", b'{"props":{"allow_mult":true}}',
            {"Content-Type": "application/json"})
        put("/buckets/m/keys/k", b"old")
        req("DELETE", "/buckets/m/keys/k")
        mp = {"Accept": "multipart/mixed"}
        st, r, body = put("/buckets/m/keys/k?returnbody=true", b"new", headers=mp)
        self.assertEqual(st, 300)
        self.assertEqual(body.count(b"X-Riak-Deleted: true\r\n"), 1)
        self.assertIn(b"\r\n\r\nnew", body)
        self.assertEqual(req("GET", "/buckets/m/keys/k", headers=mp)[0], 300)
        # the tombstone's clock (from the 404) replaces it instead
        req("DELETE", "/buckets/m/keys/k", headers={"X-Riak-Vclock": r.getheader("X-Riak-Vclock")})
        vclock = req("GET", "/buckets/m/keys/k")[1].getheader("X-Riak-Vclock")
        st, _, body = put("/buckets/m/keys/k?returnbody=true", b"again",
                          headers={"X-Riak-Vclock": vclock})
        self.assertEqual((st, body), (200, b"again"))

    # -- siblings --

    def test_siblings(self):
        st, _, _ = req("PUT", "/buckets/s/props", b'{"props":{"allow_mult":true}}',
                       {"Content-Type": "application/json"})
        self.assertEqual(st, 204)
        self.assertTrue(json.loads(req("GET", "/buckets/s/props")[2])["props"]["allow_mult"])
        put("/buckets/s/keys/k", b"one")
        put("/buckets/s/keys/k", b"two")
        st, r, body = req("GET", "/buckets/s/keys/k")  # no Accept: text/plain
        self.assertEqual(st, 300)
        self.assertTrue(body.startswith(b"Siblings:\n"))
        vtag = body.split(b"\n")[1].decode()
        self.assertEqual(req("GET", "/buckets/s/keys/k?vtag=" + vtag)[0], 200)
        st, r, body = req("GET", "/buckets/s/keys/k", headers={"Accept": "multipart/mixed"})
        self.assertEqual(st, 300)
        self.assertIn("boundary=", r.getheader("Content-Type"))
        self.assertIn(b"\r\n\r\none", body)
        self.assertIn(b"\r\n\r\ntwo", body)
        # a write with the siblings' vclock replaces them
        put("/buckets/s/keys/k", b"merged", headers={"X-Riak-Vclock": r.getheader("X-Riak-Vclock")})
        self.assertEqual(req("GET", "/buckets/s/keys/k")[0:3:2], (200, b"merged"))
        st, _, body = req("PUT", "/buckets/s/props", b"[]", {"Content-Type": "application/json"})
        self.assertEqual(st, 400)
        self.assertTrue(body.startswith(b"bucket PUT must be a JSON object of the form:"))

    # -- 2i --

    def test_index_paging_and_terms(self):
        for i in range(5):
            put("/buckets/i/keys/k%d" % i, headers={"X-Riak-Index-n_int": "%d, %d" % (i, i + 10)})
        st, _, body = req("GET", "/buckets/i/index/n_int/0/20?return_terms=true&max_results=3")
        page = json.loads(body)
        self.assertEqual(page["results"], [{"0": "k0"}, {"1": "k1"}, {"2": "k2"}])
        seen = len(page["results"])
        while "continuation" in page:
            st, _, body = req("GET", "/buckets/i/index/n_int/0/20?return_terms=true&max_results=3"
                                     "&continuation=" + page["continuation"])
            page = json.loads(body)
            seen += len(page["results"])
        self.assertEqual(seen, 10)  # duplicates: each key once per matching term
        st, _, body = req("GET", "/buckets/i/index/n_int/12")
        self.assertEqual(json.loads(body), {"keys": ["k2"]})
        st, _, body = req("GET", "/buckets/i/index/$key/k1/k3?max_results=10")
        self.assertEqual(json.loads(body)["keys"], ["k1", "k2", "k3"])
        st, _, body = req("GET", "/buckets/i/index/$bucket/_?max_results=10")
        self.assertEqual(len(json.loads(body)["keys"]), 5)
        st, r, body = req("GET", "/buckets/i/index/n_int/0/20?stream=true")
        self.assertTrue(r.getheader("Content-Type").startswith("multipart/mixed;boundary="))

    def test_index_errors(self):
        st, _, body = req("GET", "/buckets/i/index/n_int/0/9?max_results=x")
        self.assertEqual((st, body), (400, b'Invalid "max_results". "x" is not a positive integer'))
        st, _, body = req("GET", "/buckets/i/index/n_int/0/9?return_terms=x")
        self.assertEqual((st, body), (400, b'Invalid "return_terms". "x" is not a boolean'))
        st, _, body = req("GET", "/buckets/i/index/n_foo/0")
        self.assertEqual(st, 400)
        self.assertTrue(body.startswith(b"Invalid query: "))

    def test_keys_stream(self):
        for i in range(150):
            put("/buckets/l/keys/k%03d" % i)
        st, r, body = req("GET", "/buckets/l/keys?keys=stream")
        self.assertEqual(st, 200)
        dec = json.JSONDecoder()
        pos, keys, objs = 0, [], []
        while pos < len(body):
            o, pos = dec.raw_decode(body.decode(), pos)
            objs.append(o)
            keys += o["keys"]
        self.assertEqual(sorted(keys), ["k%03d" % i for i in range(150)])
        self.assertEqual(objs[-1], {"keys": []})

    # -- fault switches --

    def test_fault_status_and_no_2i(self):
        req("POST", "/_emu/faults", json.dumps({"kind": "status", "path": "/ping"}).encode())
        self.assertEqual(req("GET", "/ping")[0:3:2], (503, b"request timed out\n"))
        self.assertEqual(req("GET", "/ping")[0], 200)  # times defaults to 1
        req("PUT", "/_emu/config", b'{"no_2i": true}')
        st, _, body = req("GET", "/buckets/i/index/n_int/1")
        self.assertEqual(st, 500)
        self.assertIn(b"indexes_not_supported", body)

    def test_fault_drop_applies_nothing(self):
        req("POST", "/_emu/faults", json.dumps({"kind": "drop", "method": "PUT"}).encode())
        with self.assertRaises((http.client.IncompleteRead, ConnectionError,
                                http.client.RemoteDisconnected)):
            put("/buckets/d/keys/k", headers={"X-Riak-Index-t_bin": "x"})
        self.assertEqual(req("GET", "/buckets/d/keys/k")[0], 404)
        self.assertEqual(json.loads(req("GET", "/buckets/d/index/t_bin/x")[2]), {"keys": []})


def start(*args):
    p = subprocess.Popen([sys.executable, EMU, "--port", "0"] + list(args), stdout=subprocess.PIPE)
    line = p.stdout.readline().decode()
    assert line.startswith("PORT "), line
    return p, int(line.split()[1])


def stop(p):
    p.terminate()
    p.wait()
    p.stdout.close()


class Security(unittest.TestCase):
    """--tls-cert and --user: Riak security (HTTPS, basic auth, 401/403/426)."""

    def test_users_need_tls(self):
        p, port = start("--user", "u:pw")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/buckets/b/keys/k")
            r = c.getresponse()
            self.assertEqual(r.status, 426)
            self.assertIn(b"Try HTTPS instead", r.read())
            c.close()
        finally:
            stop(p)

    def test_tls_basic_auth(self):
        import ssl
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            subprocess.check_call(["sh", os.path.join(HERE, "..", "certs.sh"), d])
            p, port = start("--tls-cert", d + "/server.pem", "--tls-key", d + "/server.key",
                            "--user", "app:pw", "--user", "ro:ro", "--deny", "ro")
            try:
                ctx = ssl.create_default_context(cafile=d + "/ca.pem")

                def get(user):
                    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
                    h = {"Authorization": "Basic " + base64.b64encode(user.encode()).decode()}
                    c.request("GET", "/buckets/b/keys/k", headers=h if user else {})
                    r = c.getresponse()
                    body = r.read()
                    c.close()
                    return r.status, body

                self.assertEqual(get("app:pw"), (404, b"not found\n"))
                self.assertEqual(get("app:wrong")[0], 401)
                self.assertEqual(get("")[0], 401)
                st, body = get("ro:ro")
                self.assertEqual(st, 403)
                self.assertTrue(body.startswith(b"Permission denied: User 'ro'"))
            finally:
                stop(p)


if __name__ == "__main__":
    unittest.main(verbosity=1)
