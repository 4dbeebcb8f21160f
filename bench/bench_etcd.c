/* bench_etcd.c - kvkit saves on etcd against a raw txn writing the same keys.
 *
 * Starts its own etcd (one member, on free loopback ports, temporary data
 * dir, stopped by PID at the end) and compares, over one connection each,
 * at 10k, 100k and 1M documents stored per side (BENCH_SCALE=1: 10k only):
 *  - a new document with 5 index entries: kvkit_store_save against the txn
 *    a hand-written client sends for it - compare the manifest's
 *    mod_revision with 0, put the document, the manifest and the 5 index
 *    keys (kvkit's key layout, plugins/etcd/etcd.c, under prefix "raw/");
 *  - a re-save changing one indexed value: the same txn comparing the
 *    cached mod_revision, putting document, manifest and the new entry,
 *    deleting the old one (the raw client keeps the index keys it wrote
 *    last per document, as kvkit's handle keeps the manifests);
 *  - the same re-save (changing "age" again) through a second kvkit handle,
 *    which has not cached the manifests, against a client that reads the
 *    manifest, then sends the txn (printed, no goal);
 *  - a get: kvkit_store_get against a range request + base64 + json_loadb.
 * Sides alternate in rounds; figures are medians [min-max], instructions
 * (this client's only) under `make bench-callgrind`.  The stores are filled
 * untimed with big txns (kvkit: kvkit_store_write batches).  A size whose
 * fill would take longer than BENCH_ETCD_FILL_S seconds (default 600) at
 * the fill rate measured so far is not measured, and the output says so
 * with the rate: etcd's JSON gateway costs ~1-2 ms of CPU per document
 * here, so 1M documents per side take most of an hour to fill. */
#include <kvkit/kvkit.h>

#include "bench_util.h"
#include "docs.h"
#include "kvkit_side.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/*** etcd processes ***/

static pid_t members[3];
static int n_members;
static char datadir[256];

/*** etcd processes ***/

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("free port");
        exit(1);
    }
    close(fd);
    return ntohs(a.sin_port);
}

static void stop_members(void)
{
    for (int i = 0; i < n_members; i++) {
        if (members[i] > 0) {
            kill(members[i], SIGKILL);
            waitpid(members[i], NULL, 0);
        }
    }
    n_members = 0;
    if (datadir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", datadir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", datadir);
    }
}

static void on_signal(int sig)
{
    stop_members();
    _exit(128 + sig);
}

static int healthy(const char *ep)
{
    char url[128], body[64] = "";
    snprintf(url, sizeof url, "%s/health", ep);
    FILE *f = fmemopen(body, sizeof body - 1, "w");
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
    CURLcode cc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    fclose(f);
    return cc == CURLE_OK && strcmp(body, "{\"health\":\"true\"}") == 0;
}

/* Start n members; eps receives their client URLs, comma-separated. */
static void start_members(int n, char *eps, size_t eps_len)
{
    snprintf(datadir, sizeof datadir, "%s/kvkit-bench-etcd.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(datadir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    int cport[3], pport[3];
    char ic[512] = "";
    eps[0] = '\0';
    for (int i = 0; i < n; i++) {
        cport[i] = free_port();
        pport[i] = free_port();
        size_t l = strlen(ic);
        snprintf(ic + l, sizeof ic - l, "%sm%d=http://127.0.0.1:%d", i ? "," : "", i, pport[i]);
        l = strlen(eps);
        snprintf(eps + l, eps_len - l, "%shttp://127.0.0.1:%d", i ? "," : "", cport[i]);
    }
    for (int i = 0; i < n; i++) {
        char name[16], dir[300], curl_[64], purl[64], log[300];
        snprintf(name, sizeof name, "m%d", i);
        snprintf(dir, sizeof dir, "%s/m%d", datadir, i);
        snprintf(curl_, sizeof curl_, "http://127.0.0.1:%d", cport[i]);
        snprintf(purl, sizeof purl, "http://127.0.0.1:%d", pport[i]);
        snprintf(log, sizeof log, "%s/m%d.log", datadir, i);
        fflush(NULL); /* the child must not flush our buffered output again */
        pid_t pid = fork();
        if (pid == 0) {
            if (freopen(log, "w", stdout) == NULL || freopen(log, "w", stderr) == NULL)
                _exit(127);
            execlp("etcd", "etcd", "--name", name, "--data-dir", dir, "--listen-client-urls", curl_,
                   "--advertise-client-urls", curl_, "--listen-peer-urls", purl,
                   "--initial-advertise-peer-urls", purl, "--initial-cluster", ic,
                   "--initial-cluster-state", "new", "--heartbeat-interval", "10",
                   "--election-timeout", "100", "--logger", "zap", "--log-level", "error",
                   "--quota-backend-bytes", "8589934592", "--max-txn-ops", "1024", (char *)NULL);
            _exit(127);
        }
        members[n_members++] = pid;
    }
    for (int i = 0; i < n; i++) {
        char ep[64];
        snprintf(ep, sizeof ep, "http://127.0.0.1:%d", cport[i]);
        int tries = 0;
        while (!healthy(ep)) {
            if (++tries > 300) {
                fprintf(stderr, "etcd member %d did not become healthy (logs in %s)\n", i, datadir);
                datadir[0] = '\0';
                stop_members();
                exit(1);
            }
            usleep(50000);
        }
    }
}

/*** the hand-written client: the v3 JSON gateway through libcurl + jansson ***/

#define RAW_PREFIX "raw/"
#define RAW_FILL_DOCS 140 /* per fill txn: 7 operations each, etcd started with 1024 */

static struct {
    CURL *h;
    char ep[256]; /* as long as main's */
    char *resp;   /* the last answer */
    size_t len;
    long long *rev; /* manifest mod_revision per document id */
    size_t n_rev;
    unsigned long long writes; /* write ids */
} R;

static size_t on_data(char *d, size_t size, size_t n, void *ctx)
{
    (void)ctx;
    char *p = realloc(R.resp, R.len + size * n + 1);
    if (p == NULL)
        return 0;
    memcpy(p + R.len, d, size * n);
    R.resp = p;
    R.len += size * n;
    p[R.len] = '\0';
    return size * n;
}

static void raw_connect(const char *ep)
{
    snprintf(R.ep, sizeof R.ep, "%s", ep);
    R.h = curl_easy_init();
    curl_easy_setopt(R.h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(R.h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(R.h, CURLOPT_TCP_NODELAY, 1L);
}

/* POST body (stolen) to /v3/kv/<what>; the answer (new reference). */
static json_t *raw_post(const char *what, json_t *body)
{
    char url[sizeof R.ep + 64];
    snprintf(url, sizeof url, "%s/v3/kv/%s", R.ep, what);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    R.len = 0;
    curl_easy_setopt(R.h, CURLOPT_URL, url);
    curl_easy_setopt(R.h, CURLOPT_POSTFIELDS, text);
    long status = 0;
    if (curl_easy_perform(R.h) != CURLE_OK ||
        curl_easy_getinfo(R.h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200)
        bu_die("raw request failed", R.len ? R.resp : what);
    free(text);
    json_t *answer = json_loadb(R.resp, R.len, 0, NULL);
    if (answer == NULL)
        bu_die("raw answer", R.resp);
    return answer;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of n bytes as a new JSON string. */
static json_t *b64(const void *p, size_t n)
{
    const unsigned char *u = p;
    char out[1024];
    size_t o = 0;
    for (size_t x = 0; x < n; x += 3) {
        unsigned v = (unsigned)u[x] << 16 | (x + 1 < n ? (unsigned)u[x + 1] << 8 : 0) |
                     (x + 2 < n ? u[x + 2] : 0);
        out[o++] = B64[v >> 18];
        out[o++] = B64[v >> 12 & 63];
        out[o++] = x + 1 < n ? B64[v >> 6 & 63] : '=';
        out[o++] = x + 2 < n ? B64[v & 63] : '=';
    }
    return json_stringn(out, o);
}

/* Decode base64 text into out (large enough); returns the length. */
static size_t unb64(const char *in, char *out)
{
    size_t o = 0;
    unsigned v = 0, bits = 0;
    for (; *in && *in != '='; in++) {
        v = v << 6 | (unsigned)(strchr(B64, *in) - B64);
        if ((bits += 6) >= 8) {
            bits -= 8;
            out[o++] = (char)(v >> bits);
        }
    }
    return o;
}

/*** kvkit's key layout, written by hand ***/

typedef struct bytes {
    unsigned char b[512];
    size_t n;
} bytes_t;

static void add(bytes_t *b, const void *p, size_t n)
{
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void add_lp(bytes_t *b, const char *s)
{
    unsigned char n = (unsigned char)strlen(s);
    add(b, &n, 1);
    add(b, s, n);
}

/* P type lp("user") key */
static void doc_like(bytes_t *b, char type, const char *key)
{
    b->n = 0;
    add(b, RAW_PREFIX, strlen(RAW_PREFIX));
    add(b, &type, 1);
    add_lp(b, "user");
    add(b, key, strlen(key));
}

/* The index keys (in field order, as the manifest lists them) and the
 * manifest of document doc under key. */
typedef struct entries {
    bytes_t key[BD_FIELDS], manifest;
} entries_t;

static const char *const SORTED_FIELDS[BD_FIELDS] = {"age", "city", "email", "group", "kind"};

static void entries_of(const json_t *doc, const char *key, entries_t *e)
{
    static const unsigned char head[2] = {'M', 1};
    e->manifest.n = 0;
    add(&e->manifest, head, 2);
    add(&e->manifest, &R.writes, sizeof R.writes); /* the 16-byte write id */
    add(&e->manifest, &R.writes, sizeof R.writes);
    R.writes++;
    for (int f = 0; f < BD_FIELDS; f++) {
        unsigned char *s;
        size_t sn;
        kvkit_error_t err = {0};
        if (kvkit_index_encode(json_object_get(doc, SORTED_FIELDS[f]), &s, &sn, &err))
            bu_die("encode", err.text);
        bytes_t *k = &e->key[f];
        k->n = 0;
        add(k, RAW_PREFIX "i", strlen(RAW_PREFIX) + 1);
        add_lp(k, "user");
        add_lp(k, SORTED_FIELDS[f]);
        add(k, s, sn);
        add(k, key, strlen(key));
        add_lp(&e->manifest, SORTED_FIELDS[f]);
        add(&e->manifest, s, sn);
        free(s);
    }
}

/*** the raw txns ***/

static json_t *op_put(const void *k, size_t kn, const void *v, size_t vn)
{
    return json_pack("{s:{s:o,s:o}}", "request_put", "key", b64(k, kn), "value", b64(v, vn));
}

static json_t *op_delete(const bytes_t *k)
{
    return json_pack("{s:{s:o}}", "request_delete_range", "key", b64(k->b, k->n));
}

/* Document i; its re-save number `resave` has "age" 1000 * resave higher. */
static json_t *doc_of(size_t i, int resave)
{
    json_t *doc = bd_make(i, NULL);
    json_int_t age = json_integer_value(json_object_get(doc, "age"));
    if (resave)
        json_object_set_new(doc, "age", json_integer(age + 1000 * resave));
    return doc;
}

/* The index keys the raw client wrote last, per document (direct-mapped
 * by id; a miss recomputes them from the previous document). */
#define RAW_CACHE 1024
static struct {
    size_t id; /* id + 1; 0: empty */
    entries_t e;
} raw_cache[RAW_CACHE];

static const entries_t *raw_old_entries(size_t i, int resave, entries_t *tmp)
{
    if (raw_cache[i % RAW_CACHE].id == i + 1)
        return &raw_cache[i % RAW_CACHE].e;
    char key[16];
    bd_key(key, i);
    json_t *o = doc_of(i, resave - 1);
    entries_of(o, key, tmp);
    json_decref(o);
    return tmp;
}

/* Append the operations saving document i: put the document and its
 * manifest, put the index keys it gains (all when new) with predecessor
 * 0x00, delete those it loses (the old ones from the client's cache). */
static void add_save_ops(json_t *ops, size_t i, int resave)
{
    char key[16];
    bd_key(key, i);
    json_t *doc = doc_of(i, resave);
    char *text = json_dumps(doc, JSON_COMPACT);
    entries_t e, tmp;
    entries_of(doc, key, &e);
    const entries_t *old = resave ? raw_old_entries(i, resave, &tmp) : NULL;
    bytes_t k;
    doc_like(&k, 'd', key);
    json_array_append_new(ops, op_put(k.b, k.n, text, strlen(text)));
    doc_like(&k, 'm', key);
    json_array_append_new(ops, op_put(k.b, k.n, e.manifest.b, e.manifest.n));
    for (int f = 0; f < BD_FIELDS; f++) {
        const bytes_t *n = &e.key[f], *o = resave ? &old->key[f] : NULL;
        if (resave && o->n == n->n && memcmp(o->b, n->b, n->n) == 0)
            continue;
        if (resave)
            json_array_append_new(ops, op_delete(o));
        json_array_append_new(ops, op_put(n->b, n->n, "", 1));
    }
    raw_cache[i % RAW_CACHE].id = i + 1;
    raw_cache[i % RAW_CACHE].e = e;
    free(text);
    json_decref(doc);
}

/* Remember the revision of a txn that wrote documents [from, to). */
static void note_revision(const json_t *answer, size_t from, size_t to)
{
    const char *rev =
        json_string_value(json_object_get(json_object_get(answer, "header"), "revision"));
    if (rev == NULL)
        bu_die("raw txn", "no revision in the answer");
    if (to > R.n_rev) {
        size_t n = to * 2;
        if ((R.rev = realloc(R.rev, n * sizeof *R.rev)) == NULL)
            bu_die("raw", "out of memory");
        R.n_rev = n;
    }
    for (size_t i = from; i < to; i++)
        R.rev[i] = atoll(rev);
}

/* One txn: compare the manifest's mod_revision (0 when new), then save. */
static void raw_save(size_t i, int resave)
{
    char key[16], rev[24];
    bytes_t mk;
    bd_key(key, i);
    doc_like(&mk, 'm', key);
    json_t *ops = json_array();
    add_save_ops(ops, i, resave);
    snprintf(rev, sizeof rev, "%lld", resave ? R.rev[i] : 0);
    json_t *txn =
        json_pack("{s:[{s:o,s:s,s:s,s:s}],s:o,s:[{s:{s:o}}]}", "compare", "key", b64(mk.b, mk.n),
                  "target", "MOD", "result", "EQUAL", "mod_revision", rev, "success", ops,
                  "failure", "request_range", "key", b64(mk.b, mk.n));
    json_t *answer = raw_post("txn", txn);
    if (!json_is_true(json_object_get(answer, "succeeded")))
        bu_die("raw txn", "failed its compare");
    note_revision(answer, i, i + 1);
    json_decref(answer);
}

/*** the sides ***/

static struct {
    kvkit_store_t *kv;
    kvkit_store_t *kv2; /* a second handle: caches nothing the first wrote */
    kvkit_index_set_t *set;
    size_t n;      /* documents on each side: ids [0, n) */
    size_t rounds; /* per measurement */
    size_t chunk;  /* operations per round */
} E;

static size_t raw_new(void *ctx, size_t from, size_t to)
{
    (void)ctx;
    for (size_t i = from; i < to; i++)
        raw_save(i, 0);
    return to - from;
}

static size_t raw_resave(void *ctx, size_t from, size_t to)
{
    (void)ctx;
    for (size_t i = from; i < to; i++)
        raw_save(i, 1);
    return to - from;
}

/* A client that has not cached the manifest reads it first (its
 * mod_revision; the old index keys would come from parsing it, here they
 * come from the cache instead), then sends the same txn. */
static size_t raw_cold(void *ctx, size_t from, size_t to)
{
    (void)ctx;
    for (size_t i = from; i < to; i++) {
        char key[16];
        bytes_t mk;
        bd_key(key, i);
        doc_like(&mk, 'm', key);
        json_t *answer = raw_post("range", json_pack("{s:o}", "key", b64(mk.b, mk.n)));
        json_t *kv = json_array_get(json_object_get(answer, "kvs"), 0);
        const char *rev = json_string_value(json_object_get(kv, "mod_revision"));
        if (rev == NULL)
            bu_die("raw manifest read", key);
        R.rev[i] = atoll(rev);
        json_decref(answer);
        raw_save(i, 2);
    }
    return to - from;
}

/* Untimed: documents [from, to) in txns of RAW_FILL_DOCS, no compare. */
static size_t raw_fill(void *ctx, size_t from, size_t to)
{
    (void)ctx;
    for (size_t lo = from; lo < to; lo += RAW_FILL_DOCS) {
        size_t hi = lo + RAW_FILL_DOCS < to ? lo + RAW_FILL_DOCS : to;
        json_t *ops = json_array();
        for (size_t i = lo; i < hi; i++)
            add_save_ops(ops, i, 0);
        json_t *answer = raw_post("txn", json_pack("{s:o}", "success", ops));
        note_revision(answer, lo, hi);
        json_decref(answer);
    }
    return to - from;
}

static size_t raw_get(void *ctx, size_t from, size_t to)
{
    (void)ctx;
    for (size_t i = from; i < to; i++) {
        char key[16], text[1024];
        bytes_t dk;
        bd_key(key, bd_pick(i, E.n));
        doc_like(&dk, 'd', key);
        json_t *answer = raw_post("range", json_pack("{s:o}", "key", b64(dk.b, dk.n)));
        json_t *kv = json_array_get(json_object_get(answer, "kvs"), 0);
        const char *value = json_string_value(json_object_get(kv, "value"));
        if (value == NULL || strlen(value) > 4 * sizeof text / 3)
            bu_die("raw get", key);
        json_t *doc = json_loadb(text, unb64(value, text), 0, NULL);
        if (doc == NULL)
            bu_die("raw parse", key);
        json_decref(doc);
        json_decref(answer);
    }
    return to - from;
}

/* Save (batch NULL) or queue document i through kvkit. */
static void kv_save(kvkit_store_t *s, kvkit_batch_t *b, size_t i, int resave)
{
    char key[16];
    bd_key(key, i);
    json_t *doc = doc_of(i, resave);
    ks_save(s, b, E.set, key, doc);
    json_decref(doc);
}

static size_t kv_new(void *ctx, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        kv_save(ctx, NULL, i, 0);
    return to - from;
}

static size_t kv_resave(void *ctx, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        kv_save(ctx, NULL, i, 1);
    return to - from;
}

static size_t kv_cold(void *ctx, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        kv_save(ctx, NULL, i, 2);
    return to - from;
}

/* Untimed: documents [from, to) in one kvkit batch (split by the plugin). */
static size_t kv_fill(void *ctx, size_t from, size_t to)
{
    kvkit_batch_t *b = kvkit_batch_create();
    for (size_t i = from; i < to; i++)
        kv_save(ctx, b, i, 0);
    kvkit_error_t err = {0};
    if (kvkit_store_write(ctx, b, &err) != KVKIT_OK)
        bu_die("kvkit batch", err.text);
    kvkit_batch_destroy(b);
    return to - from;
}

static size_t kv_get(void *ctx, size_t from, size_t to)
{
    return ks_get_random(ctx, E.n, from, to);
}

/*** driver ***/

/* Goal: kvkit's throughput >= 0.95 of the raw txn's (raw time / kvkit time). */
static void throughput_goal(const char *op, size_t scale, const bu_result_t *r)
{
    char goal[128];
    snprintf(goal, sizeof goal, "etcd %s: kvkit/raw txn throughput at %zuk documents", op,
             scale / 1000);
    bu_verdict_min(goal, 0.95, bu_ratio(r, 0, 1));
}

/* Fill both sides up to `scale` documents, unless that would take longer
 * than the budget at the rate measured so far (then say so and return 0). */
static int fill_to(size_t scale)
{
    static double rate; /* documents per second and side, filling */
    const char *b = getenv("BENCH_ETCD_FILL_S");
    double budget = b && *b ? atof(b) : 600;
    size_t todo = E.n < scale ? scale - E.n : 0;
    if (rate > 0 && (double)todo / rate > budget) {
        char why[512];
        snprintf(why, sizeof why,
                 "filling %zu more documents per side would take ~%.0f min at the measured "
                 "%.0f documents/s per side; BENCH_ETCD_FILL_S=%.0f allows %.0f min",
                 todo, (double)todo / rate / 60, rate, budget, budget / 60);
        printf("-- %zuk documents: not measured (%s)\n", scale / 1000, why);
        char goal[160];
        snprintf(goal, sizeof goal, "etcd new indexed document and re-save at %zuk documents",
                 scale / 1000);
        bu_verdict_none(goal, why);
        return 0;
    }
    double t0 = bu_now();
    bu_side_t fill[2] = {{"raw txn", raw_fill, NULL}, {"kvkit", kv_fill, E.kv}};
    if (todo > 0)
        bu_fill(fill, 2, E.n, scale, RAW_FILL_DOCS);
    double t = bu_now() - t0;
    if (todo > 0 && t > 0)
        rate = (double)todo / t;
    E.n = E.n > scale ? E.n : scale;
    printf("-- %zu documents on each side (filled in %.0f s, %.0f documents/s per side)\n", E.n, t,
           rate);
    return 1;
}

static void measure(size_t scale)
{
    if (!fill_to(scale))
        return;
    bu_side_t save[2] = {{"raw txn", raw_new, NULL}, {"kvkit", kv_new, E.kv}};
    bu_side_t resave[2] = {{"raw txn", raw_resave, NULL}, {"kvkit", kv_resave, E.kv}};
    bu_side_t get[2] = {{"raw range", raw_get, NULL}, {"kvkit", kv_get, E.kv}};
    bu_result_t r;
    size_t first = E.n;
    bu_compare(save, 2, first, E.chunk, E.rounds, &r);
    E.n += E.chunk * E.rounds;
    bu_print("new document, 5 index entries (one txn: doc, manifest, 5 entries)", "document", save,
             &r);
    throughput_goal("new indexed document", scale, &r);
    bu_compare(resave, 2, first, E.chunk, E.rounds, &r);
    bu_print("re-save changing one indexed value (manifest cached)", "document", resave, &r);
    throughput_goal("re-save", scale, &r);
    bu_side_t cold[2] = {{"raw range+txn", raw_cold, NULL}, {"kvkit", kv_cold, E.kv2}};
    bu_compare(cold, 2, first, E.chunk, E.rounds, &r);
    bu_print("re-save through a second handle (manifest not cached)", "document", cold, &r);
    bu_print_ratio("kvkit", "raw range+txn", bu_ratio(&r, 1, 0));
    bu_compare(get, 2, 0, E.chunk, E.rounds, &r);
    bu_print("get + json_loadb, random keys", "document", get, &r);
    bu_print_ratio("kvkit", "raw range", bu_ratio(&r, 1, 0));
}

static kvkit_store_t *open_store(const char *ep)
{
    char uri[256 + 64]; /* ep is at most main's 256 bytes */
    snprintf(uri, sizeof uri, "etcd:%s?prefix=bench/", ep);
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    if (s == NULL) {
        stop_members();
        bu_die(uri, err.text);
    }
    return s;
}

int main(void)
{
    bu_init("bench_etcd");
    if (system("command -v etcd >/dev/null 2>&1") != 0) {
        printf("bench_etcd: skipped (etcd not installed; Debian package etcd-server)\n");
        bu_verdict_none("etcd new indexed document and re-save >= 0.95x raw txn",
                        "etcd not installed");
        return 0;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    size_t scales[BU_MAX_SCALES], n_scales = bu_scales(scales);
    E.rounds = bu_counting() ? 5 : 11;
    E.chunk = bu_counting() ? 20 : 50;
    char ep[256];
    start_members(1, ep, sizeof ep);
    E.kv = open_store(ep);
    E.kv2 = open_store(ep);
    E.set = kvkit_index_set_create();
    raw_connect(ep);
    printf("bench_etcd: one member, one connection per side, %zu operations per round%s;\n"
           "  raw txn = the txn a hand-written client sends for the same keys\n",
           E.chunk, bu_counting() ? " (instructions of this client: callgrind)" : "");
    for (size_t k = 0; k < n_scales; k++)
        measure(scales[k]);
    kvkit_index_set_destroy(E.set);
    kvkit_store_close(E.kv);
    kvkit_store_close(E.kv2);
    curl_easy_cleanup(R.h);
    free(R.resp);
    free(R.rev);
    stop_members();
    curl_global_cleanup();
    return 0;
}
