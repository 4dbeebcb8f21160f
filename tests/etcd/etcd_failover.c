/* etcd_failover.c - the writer and the checker of failover.sh.
 *
 *   etcd_failover write  EPS LOG          save 500 documents ROUNDS times with
 *                                          changing indexed values; one log line
 *                                          per save: "key round OK|UNKNOWN|FAIL"
 *   etcd_failover verify EPS LOG KILLED_AT  check the store against the log
 *
 * verify checks: every save acknowledged OK is readable (or superseded by a
 * later save of the same document) with exactly its index entries; no
 * index entry is stale; a save whose outcome was unknown is fully there or
 * fully absent; a plainly failed save never shows; and saves went on
 * succeeding after the leader was killed (log line KILLED_AT). */
#include <kvkit/kvkit.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "raw.h"

#define DOCS 500
#define ROUNDS 3
#define PREFIX "failover/"

enum { NONE, OK, UNKNOWN, FAIL };

static kvkit_store_t *open_store(const char *eps)
{
    char uri[1024];
    snprintf(uri, sizeof uri,
             "etcd:%s?prefix=" PREFIX "&timeout_ms=1500&connect_timeout_ms=300&retries=6", eps);
    kvkit_error_t err = {0};
    kvkit_store_t *s = kvkit_store_open(uri, &err);
    if (s == NULL) {
        fprintf(stderr, "open %s: %s\n", uri, err.text);
        exit(2);
    }
    return s;
}

static kvkit_index_set_t *entries_for(int round, int i)
{
    kvkit_index_set_t *set = kvkit_index_set_create();
    char tag[16];
    snprintf(tag, sizeof tag, "r%d", round);
    json_t *v = json_integer(round * 1000 + i), *t = json_pack("[s,s]", tag, "all");
    kvkit_index_set_add(set, "v", v, NULL);
    kvkit_index_set_add(set, "tag", t, NULL);
    json_decref(v);
    json_decref(t);
    return set;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int do_write(const char *eps, const char *log_path)
{
    kvkit_store_t *s = open_store(eps);
    FILE *log = fopen(log_path, "w");
    if (log == NULL)
        return 2;
    int counts[4] = {0};
    double slowest[4] = {0}; /* per outcome, ms: printed, not asserted */
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < DOCS; i++) {
            char key[16], doc[64];
            snprintf(key, sizeof key, "d%03d", i);
            snprintf(doc, sizeof doc, "{\"r\":%d,\"i\":%d}", round, i);
            kvkit_index_set_t *set = entries_for(round, i);
            kvkit_error_t err = {0};
            double t0 = now_ms();
            int rc = kvkit_store_save(s, "b", key, doc, strlen(doc), set, &err);
            double took = now_ms() - t0;
            kvkit_index_set_destroy(set);
            int o = rc == KVKIT_OK ? OK : rc == KVKIT_OUTCOME_UNKNOWN ? UNKNOWN : FAIL;
            counts[o]++;
            if (took > slowest[o])
                slowest[o] = took;
            fprintf(log, "%s %d %s\n", key, round,
                    o == OK        ? "OK"
                    : o == UNKNOWN ? "UNKNOWN"
                                   : "FAIL");
            fflush(log);
            if (o != OK)
                fprintf(stderr, "save %s round %d (%.0f ms): %s: %s\n", key, round, took,
                        kvkit_status_name(rc), err.text);
            /* an application pauses after a failure: with the circuit
             * breaker open, failures come at once, and the writer would
             * otherwise run through its saves before the member is back */
            if (o == FAIL)
                usleep(100000);
        }
    }
    fclose(log);
    kvkit_store_close(s);
    printf("writer: %d ok, %d outcome-unknown, %d failed\n", counts[OK], counts[UNKNOWN],
           counts[FAIL]);
    printf("writer: slowest save %.0f ms when ok, %.0f ms outcome-unknown, %.0f ms failed "
           "(deadline_ms 5000)\n",
           slowest[OK], slowest[UNKNOWN], slowest[FAIL]);
    return 0;
}

static int count_keys(void *ctx, const char *key, size_t len)
{
    (*(int *)ctx)++;
    return 0;
}

static int has_key_ctx_hit;
static const char *has_key_ctx_want;
static int has_key(void *ctx, const char *key, size_t len)
{
    if (strcmp(key, has_key_ctx_want) == 0)
        has_key_ctx_hit = 1;
    (*(int *)ctx)++;
    return 0;
}

static int do_verify(const char *eps, const char *log_path, long killed_at)
{
    static int outcome[DOCS][ROUNDS];
    FILE *log = fopen(log_path, "r");
    if (log == NULL)
        return 2;
    char key[32], what[32];
    int round;
    long line = 0, ok_after_kill = 0;
    while (fscanf(log, "%31s %d %31s", key, &round, what) == 3) {
        line++;
        int i = atoi(key + 1);
        if (i < 0 || i >= DOCS || round < 0 || round >= ROUNDS)
            return 2;
        outcome[i][round] = strcmp(what, "OK") == 0        ? OK
                            : strcmp(what, "UNKNOWN") == 0 ? UNKNOWN
                                                           : FAIL;
        if (line > killed_at && outcome[i][round] == OK)
            ok_after_kill++;
    }
    fclose(log);
    int bad = 0;
    if (line != DOCS * ROUNDS) {
        fprintf(stderr, "log has %ld lines, expected %d\n", line, DOCS * ROUNDS);
        bad++;
    }
    if (ok_after_kill < 100) {
        fprintf(stderr, "only %ld saves succeeded after the leader was killed\n", ok_after_kill);
        bad++;
    }
    kvkit_store_t *s = open_store(eps);
    int present = 0, per_round[ROUNDS] = {0}, unknown_present = 0, unknown_absent = 0;
    for (int i = 0; i < DOCS; i++) {
        snprintf(key, sizeof key, "d%03d", i);
        int last_ok = -1;
        for (int r = 0; r < ROUNDS; r++)
            if (outcome[i][r] == OK)
                last_ok = r;
        char *v = NULL;
        size_t n;
        kvkit_error_t err = {0};
        int rc = kvkit_store_get(s, "b", key, &v, &n, &err);
        int stored = -1;
        if (rc == KVKIT_OK) {
            json_t *j = json_loads(v, 0, NULL);
            stored = (int)json_integer_value(json_object_get(j, "r"));
            json_decref(j);
            free(v);
        } else if (rc != KVKIT_NOTFOUND) {
            fprintf(stderr, "get %s: %s\n", key, err.text);
            bad++;
            continue;
        }
        if (stored < last_ok) {
            fprintf(stderr, "%s: acknowledged round %d lost (stored %d)\n", key, last_ok, stored);
            bad++;
        }
        for (int r = last_ok + 1; r < ROUNDS; r++)
            if (outcome[i][r] == UNKNOWN)
                *(r == stored ? &unknown_present : &unknown_absent) += 1;
        if (stored > last_ok && outcome[i][stored] != UNKNOWN) {
            fprintf(stderr, "%s: round %d is stored but its save was reported %s\n", key, stored,
                    outcome[i][stored] == FAIL ? "failed" : "not made");
            bad++;
        }
        if (stored < 0)
            continue;
        present++;
        per_round[stored]++;
        /* its exact value entry is there */
        json_t *val = json_integer(stored * 1000 + i);
        int count = 0;
        has_key_ctx_want = key;
        has_key_ctx_hit = 0;
        rc = kvkit_store_index_keys(s, "b", "v", val, NULL, has_key, &count, &err);
        json_decref(val);
        if (rc != KVKIT_OK || !has_key_ctx_hit || count != 1) {
            fprintf(stderr, "%s: index entry v=%d missing or shared (%d keys)\n", key,
                    stored * 1000 + i, count);
            bad++;
        }
    }
    /* no stale entries: each round's tag finds exactly the documents stored at
     * that round, and the store holds exactly 5 keys per document */
    for (int r = 0; r < ROUNDS; r++) {
        char tag[16];
        snprintf(tag, sizeof tag, "r%d", r);
        json_t *t = json_string(tag);
        int count = 0;
        kvkit_error_t err = {0};
        kvkit_store_index_keys(s, "b", "tag", t, NULL, count_keys, &count, &err);
        json_decref(t);
        if (count != per_round[r]) {
            fprintf(stderr, "tag %s finds %d documents, %d are stored at that round\n", tag, count,
                    per_round[r]);
            bad++;
        }
    }
    long raw = raw_count(raw_first(eps), PREFIX);
    if (raw != 5L * present) {
        fprintf(stderr, "%ld keys under the prefix, expected %d (5 per document)\n", raw,
                5 * present);
        bad++;
    }
    kvkit_store_close(s);
    printf("verify: %d documents, %ld ok saves after the kill, outcome-unknown saves: %d present, "
           "%d absent; %s\n",
           present, ok_after_kill, unknown_present, unknown_absent,
           bad ? "FAILED" : "all consistent");
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "write") == 0)
        return do_write(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "verify") == 0)
        return do_verify(argv[2], argv[3], atol(argv[4]));
    fprintf(stderr, "usage: %s write EPS LOG | verify EPS LOG KILLED_AT\n", argv[0]);
    return 2;
}
