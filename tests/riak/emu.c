/*
 * emu.c - the Riak emulator as seen from a test (see emu.h).
 */
#include "emu.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef EMULATOR
#error "EMULATOR must name riak_emulator.py"
#endif

static void die(const char *what)
{
    fprintf(stderr, "riak emulator: %s\n", what);
    exit(99); /* a hard error for the test driver */
}

#ifndef CERTS_SH /* a program that makes no certificates (bench_riak) */
#define CERTS_SH "/nonexistent/certs.sh"
#endif

const char *emu_certs(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh '%s' '%s'", CERTS_SH, dir);
    if (system(cmd) != 0)
        die("tests/certs.sh failed (is openssl installed?)");
    return dir;
}

void emu_start(emu_t *e, const char *extra)
{
    const char *args[] = {extra, NULL};
    emu_start_args(e, args, 0);
}

void emu_start_args(emu_t *e, const char *const *args, int https)
{
    if (!https)
        e->cacert[0] = e->cert[0] = e->key[0] = '\0';
    int fd[2];
    if (pipe(fd) != 0)
        die("pipe failed");
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        die("fork failed");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        const char *py = getenv("PYTHON") ? getenv("PYTHON") : "python3";
        const char *argv[24] = {py, EMULATOR, "--host", "127.0.0.1", "--port", "0"};
        for (size_t i = 0; args && args[i] && i < 16; i++)
            argv[6 + i] = args[i];
        execvp(py, (char *const *)argv);
        _exit(127);
    }
    close(fd[1]);
    char line[64] = {0};
    size_t n = 0;
    struct pollfd p = {fd[0], POLLIN, 0};
    while (n + 1 < sizeof line && strchr(line, '\n') == NULL) {
        if (poll(&p, 1, 10000) <= 0)
            break;
        ssize_t got = read(fd[0], line + n, sizeof line - 1 - n);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    close(fd[0]);
    if (sscanf(line, "PORT %d", &e->port) != 1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        die("did not start (is python3 installed?)");
    }
    e->pid = pid;
    snprintf(e->base, sizeof e->base, "%s://127.0.0.1:%d", https ? "https" : "http", e->port);
}

void emu_stop(emu_t *e)
{
    if (e->pid <= 0)
        return;
    kill(e->pid, SIGTERM);
    while (waitpid(e->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    e->pid = 0;
}

typedef struct sink {
    char *data;
    size_t len;
} sink_t;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    sink_t *s = ud;
    char *d = realloc(s->data, s->len + size * n + 1);
    if (d == NULL)
        return 0;
    memcpy(d + s->len, p, size * n);
    s->len += size * n;
    d[s->len] = '\0';
    s->data = d;
    return size * n;
}

long emu_http(const emu_t *e, const char *method, const char *path, const char *body,
              const char *const *headers, char **out)
{
    CURL *c = curl_easy_init();
    char url[4096];
    snprintf(url, sizeof url, "%s%s", e->base, path);
    sink_t s = {NULL, 0};
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    if (e->cacert[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, e->cacert);
    if (e->cert[0]) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, e->key);
    }
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (out)
        *out = s.data ? s.data : strdup("");
    else
        free(s.data);
    return status;
}

static void expect(long got, long want, const char *what)
{
    if (got != want) {
        fprintf(stderr, "riak emulator: %s: HTTP %ld, expected %ld\n", what, got, want);
        abort();
    }
}

void emu_fault(const emu_t *e, const char *json)
{
    expect(emu_http(e, "POST", "/_emu/faults", json, NULL, NULL), 204, "POST /_emu/faults");
}

void emu_reset(const emu_t *e)
{
    expect(emu_http(e, "POST", "/_emu/reset", "", NULL, NULL), 204, "POST /_emu/reset");
}

void emu_allow_mult(const emu_t *e, const char *bucket)
{
    char path[512];
    snprintf(path, sizeof path, "/buckets/%s/props", bucket);
    const char *h[] = {"Content-Type: application/json", NULL};
    expect(emu_http(e, "PUT", path, "{\"props\":{\"allow_mult\":true}}", h, NULL), 204,
           "PUT props");
}

long emu_counter(const emu_t *e, const char *name)
{
    char *body = NULL;
    expect(emu_http(e, "GET", "/_emu/counters", NULL, NULL, &body), 200, "GET /_emu/counters");
    char needle[64];
    snprintf(needle, sizeof needle, "\"%s\":", name);
    long n = -1;
    const char *p = strstr(body, needle);
    if (p)
        n = strtol(p + strlen(needle), NULL, 10);
    free(body);
    return n;
}

long emu_requests(const emu_t *e)
{
    return emu_counter(e, "requests");
}

void emu_counters_reset(const emu_t *e)
{
    expect(emu_http(e, "POST", "/_emu/counters/reset", "", NULL, NULL), 204,
           "POST /_emu/counters/reset");
}

void emu_store_uri(const emu_t *e, const char *extra, char *out, size_t size)
{
    snprintf(out, size, "riak:%s%s", e->base, extra ? extra : "");
}
