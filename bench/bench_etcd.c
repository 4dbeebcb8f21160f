/* bench_etcd.c - kvkit saves/gets on etcd against raw v3 puts.
 *
 * Starts its own etcd (one member, then three) on free loopback ports with
 * a temporary data dir, and measures, over one connection and with 4
 * threads: kvkit saves of new documents (one index entry each: a range +
 * a txn), re-saves with a changed index value (a txn), kvkit gets,
 * and the same number of raw /v3/kv/put requests through libcurl with a
 * keep-alive handle - the floor any client pays per write.  Prints ops/s
 * and ratios to the raw puts.  Members are stopped by PID at the end. */
#include <kvkit/kvkit.h>

#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OPS 2000 /* per measurement, split between the threads */
#define THREADS 4

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

static size_t sink(char *d, size_t s, size_t n, void *ctx)
{
    return s * n;
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
                   (char *)NULL);
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

/*** workloads ***/

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct job {
    enum { SAVE, RESAVE, GET, RAW } kind;
    kvkit_store_t *store;
    const char *ep;
    int first, count;
    int errors;
} job_t;

static void *run_job(void *v)
{
    job_t *j = v;
    CURL *h = NULL;
    char url[128];
    if (j->kind == RAW) {
        h = curl_easy_init();
        snprintf(url, sizeof url, "%s/v3/kv/put", j->ep);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    }
    kvkit_index_set_t *set = kvkit_index_set_create();
    for (int i = j->first; i < j->first + j->count; i++) {
        char key[32], doc[64];
        snprintf(key, sizeof key, "doc%06d", i);
        snprintf(doc, sizeof doc, "{\"n\":%d,\"name\":\"document %d\"}", i, i);
        kvkit_error_t err = {0};
        int rc = KVKIT_OK;
        if (j->kind == SAVE || j->kind == RESAVE) {
            json_t *n = json_integer(j->kind == SAVE ? i : i + OPS);
            kvkit_index_set_clear(set);
            kvkit_index_set_add(set, "n", n, &err);
            json_decref(n);
            rc = kvkit_store_save(j->store, "bench", key, doc, strlen(doc), set, &err);
        } else if (j->kind == GET) {
            char *value;
            size_t len;
            rc = kvkit_store_get(j->store, "bench", key, &value, &len, &err);
            if (rc == KVKIT_OK)
                free(value);
        } else {
            /* key "raw/docNNNNNN" and the same document, base64 done by hand once */
            char body[256], kb[64], vb[128];
            static const char t[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            char raw[64];
            snprintf(raw, sizeof raw, "raw/%s", key);
            const char *src[2] = {raw, doc};
            char *dst[2] = {kb, vb};
            for (int s = 0; s < 2; s++) {
                const unsigned char *u = (const unsigned char *)src[s];
                size_t n = strlen(src[s]), o = 0, x = 0;
                for (; x + 2 < n; x += 3) {
                    dst[s][o++] = t[u[x] >> 2];
                    dst[s][o++] = t[(u[x] & 3) << 4 | u[x + 1] >> 4];
                    dst[s][o++] = t[(u[x + 1] & 15) << 2 | u[x + 2] >> 6];
                    dst[s][o++] = t[u[x + 2] & 63];
                }
                if (x < n) {
                    dst[s][o++] = t[u[x] >> 2];
                    dst[s][o++] = t[(u[x] & 3) << 4 | (x + 1 < n ? u[x + 1] >> 4 : 0)];
                    dst[s][o++] = x + 1 < n ? t[(u[x + 1] & 15) << 2] : '=';
                    dst[s][o++] = '=';
                }
                dst[s][o] = '\0';
            }
            snprintf(body, sizeof body, "{\"key\":\"%s\",\"value\":\"%s\"}", kb, vb);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
            long status = 0;
            if (curl_easy_perform(h) != CURLE_OK ||
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200)
                rc = KVKIT_IO;
        }
        if (rc != KVKIT_OK && j->errors++ == 0)
            fprintf(stderr, "op on %s failed: %s\n", key, err.text);
    }
    kvkit_index_set_destroy(set);
    if (h)
        curl_easy_cleanup(h);
    return NULL;
}

/* ops/s of `kind` over OPS operations split between `threads` threads. */
static double measure(int kind, kvkit_store_t *s, const char *ep, int threads)
{
    pthread_t t[THREADS];
    job_t jobs[THREADS];
    double t0 = now();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job_t){kind, s, ep, i * (OPS / threads), OPS / threads, 0};
        pthread_create(&t[i], NULL, run_job, &jobs[i]);
    }
    int errors = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        errors += jobs[i].errors;
    }
    double dt = now() - t0;
    if (errors)
        fprintf(stderr, "%d operations failed\n", errors);
    return OPS / dt;
}

static void run(int n)
{
    char eps[256], uri[512];
    start_members(n, eps, sizeof eps);
    snprintf(uri, sizeof uri, "etcd:%s?prefix=bench/", eps);
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    if (s == NULL) {
        fprintf(stderr, "open %s: %s\n", uri, err.text);
        stop_members();
        exit(1);
    }
    char first[64];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(eps, ","), eps);
    for (int threads = 1; threads <= THREADS; threads += THREADS - 1) {
        double raw = measure(RAW, NULL, first, threads);
        double save = measure(SAVE, s, NULL, threads);
        double resave = measure(RESAVE, s, NULL, threads);
        double get = measure(GET, s, NULL, threads);
        printf("%d node%s, %d thread%s: raw v3 put %6.0f/s | kvkit save (new) %6.0f/s %.2fx | "
               "re-save %6.0f/s %.2fx | get %6.0f/s %.2fx\n",
               n, n > 1 ? "s" : " ", threads, threads > 1 ? "s" : " ", raw, save, save / raw,
               resave, resave / raw, get, get / raw);
    }
    kvkit_store_close(s);
    stop_members();
}

int main(void)
{
    if (system("command -v etcd >/dev/null 2>&1") != 0) {
        printf("bench_etcd: skipped (etcd not installed; Debian package etcd-server)\n");
        return 0;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    printf("bench_etcd: %d operations per measurement, ratios to raw v3 puts through libcurl;\n"
           "  save (new) = manifest range + txn, re-save = txn only (manifest cached), "
           "1 index entry each\n",
           OPS);
    run(1);
    run(3);
    curl_global_cleanup();
    return 0;
}
