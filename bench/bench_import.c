/*
 * bench_import.c - `kvkit import` of the benchmark documents (docs.h) into
 * a new LevelDB store with 2 indexed fields (email, city) at the default
 * batch: peak RSS of the kvkit process and documents per second (wall, the
 * whole process), at 10k, 100k and 1M documents (BENCH_SCALE=1: 10k only).
 * Goals (issue 13), at 1M documents: <= 32 MB peak RSS, >= 60k documents/s.
 * Absolute figures of one process, no instruction counts.  Next to it, the
 * floor: LevelDB alone (a forked child of this program, no kvkit, no JSON
 * parsing) writing the same keys (document, manifest, one index entry per
 * field, shaped as kvlayout.h's) in batches of the same size.
 *
 * Peak RSS counts the pages of files the process maps as well as its own
 * memory, and LevelDB reads its table files through mmap (compaction reads
 * every input table whole), so the run also samples /proc/PID/status and
 * prints the split at the highest sample: anonymous memory (the tool's,
 * the memtables', the block cache's) and mapped table files.
 */
#include "bench_util.h"
#include "docs.h"

#include <fcntl.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define IMPORT_BATCH 1000 /* kvkit import's default --batch */

/* Write documents [0, n) as import lines to path. */
static void write_lines(const char *path, size_t n)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        bu_die("create", path);
    for (size_t i = 0; i < n; i++) {
        char key[16];
        bd_key(key, i);
        json_t *line = json_pack("{s:s,s:o}", "key", key, "value", bd_make(i, NULL));
        if (json_dumpf(line, f, JSON_COMPACT) != 0 || fputc('\n', f) == EOF)
            bu_die("write", path);
        json_decref(line);
    }
    if (fclose(f) != 0)
        bu_die("write", path);
}

typedef struct rss_split {
    long total, anon, file; /* KiB at the highest sample */
} rss_split_t;

/* One sample of the child's RSS; keeps the highest. */
static void sample_rss(pid_t pid, rss_split_t *peak)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    rss_split_t now = {0, 0, 0};
    while (fgets(line, sizeof line, f) != NULL) {
        sscanf(line, "VmRSS: %ld", &now.total);
        sscanf(line, "RssAnon: %ld", &now.anon);
        sscanf(line, "RssFile: %ld", &now.file);
    }
    fclose(f);
    if (now.total > peak->total)
        *peak = now;
}

/* The child's side: stdin is the lines file, store a new store's path
 * ("leveldb:DIR" for kvkit); exits the process. */
typedef void child_fn(const char *store);

static void kvkit_child(const char *store)
{
    execl(KVKIT_TOOL, KVKIT_TOOL, "-s", store, "import", "--index", "email,city", "users",
          (char *)NULL);
    _exit(127);
}

/* The value of member `name` (a string) in a bench line, or NULL. */
static const char *member(const char *line, const char *name, size_t *len)
{
    const char *p = strstr(line, name);
    if (p == NULL)
        return NULL;
    p += strlen(name);
    *len = strcspn(p, "\"");
    return p;
}

/* 'k' lp(bucket) [lp(field)] part [0 suffix]: the shape of kvkit's keys. */
static size_t raw_key(char *out, char type, const char *field, const char *part, size_t len,
                      const char *suffix, size_t slen)
{
    size_t n = (size_t)sprintf(out, "%c%cusers", type, 5);
    if (field != NULL)
        n += (size_t)sprintf(out + n, "%c%s", (int)strlen(field), field);
    memcpy(out + n, part, len);
    n += len;
    if (suffix != NULL) { /* a sortable string ends with 0, then the key */
        out[n++] = '\0';
        memcpy(out + n, suffix, slen);
        n += slen;
    }
    return n;
}

/* One line's writes as kvkit makes them: document, manifest (revision and
 * entries), one index entry per field. */
static void raw_line(leveldb_writebatch_t *wb, const char *line, size_t len)
{
    size_t klen = 0, elen = 0, clen = 0;
    const char *key = member(line, "\"key\":\"", &klen);
    const char *email = member(line, "\"email\":\"", &elen);
    const char *city = member(line, "\"city\":\"", &clen);
    const char *doc = strstr(line, "\"value\":");
    if (key == NULL || email == NULL || city == NULL || doc == NULL)
        bu_die("raw import", "not a bench line");
    doc += 8;
    char k[512], manifest[256];
    size_t n = raw_key(k, 'd', NULL, key, klen, NULL, 0);
    leveldb_writebatch_put(wb, k, n, doc, (size_t)(line + len - 2 - doc));
    size_t m = 8 + (size_t)sprintf(manifest + 8, "%c%.*s%c%.*s", 4, 4, "city", 's', (int)clen,
                                   city);
    m += (size_t)sprintf(manifest + m, "%c%.*s%c%.*s", 5, 5, "email", 's', (int)elen, email);
    memset(manifest, 0, 8);
    n = raw_key(k, 'm', NULL, key, klen, NULL, 0);
    leveldb_writebatch_put(wb, k, n, manifest, m);
    n = raw_key(k, 'i', "email", email, elen, key, klen);
    leveldb_writebatch_put(wb, k, n, "", 1);
    n = raw_key(k, 'i', "city", city, clen, key, klen);
    leveldb_writebatch_put(wb, k, n, "", 1);
}

/* LevelDB alone writing the same keys in batches of the same size, with
 * the options the plugin uses for import (bloom filter of 10 bits, snappy,
 * and bulk_load's 74 open files, 1 MiB tables, 1 MiB block cache). */
static void raw_child(const char *dir)
{
    leveldb_options_t *o = leveldb_options_create();
    leveldb_filterpolicy_t *bloom = leveldb_filterpolicy_create_bloom(10);
    leveldb_options_set_create_if_missing(o, 1);
    leveldb_options_set_filter_policy(o, bloom);
    leveldb_options_set_max_open_files(o, 74);
    leveldb_options_set_max_file_size(o, 1 << 20);
    leveldb_options_set_cache(o, leveldb_cache_create_lru(1 << 20));
    char *msg = NULL;
    leveldb_t *db = leveldb_open(o, dir, &msg);
    if (msg != NULL)
        _exit(2);
    leveldb_writeoptions_t *w = leveldb_writeoptions_create();
    leveldb_writebatch_t *wb = leveldb_writebatch_create();
    char *line = NULL;
    size_t cap = 0, in_batch = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        raw_line(wb, line, (size_t)len);
        if (++in_batch == IMPORT_BATCH) {
            leveldb_write(db, w, wb, &msg);
            leveldb_writebatch_clear(wb);
            in_batch = 0;
            if (msg != NULL)
                _exit(3);
        }
    }
    leveldb_write(db, w, wb, &msg);
    leveldb_close(db);
    _exit(msg != NULL ? 3 : 0);
}

/* Run `child` with stdin from `lines`; its peak RSS (KiB), wall time and
 * the sampled split. */
static void run_side(child_fn *child, const char *lines, const char *store, long *rss_kb,
                     double *secs, rss_split_t *split)
{
    double t0 = bu_now();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(lines, O_RDONLY);
        if (fd < 0 || dup2(fd, 0) < 0)
            _exit(127);
        child(store);
    }
    int status;
    struct rusage ru;
    pid_t got = 0;
    memset(split, 0, sizeof *split);
    while (pid > 0 && (got = wait4(pid, &status, WNOHANG, &ru)) == 0) {
        sample_rss(pid, split);
        usleep(20000);
    }
    if (pid < 0 || got != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        bu_die(child == kvkit_child ? "kvkit import" : "raw LevelDB import", "failed");
    *secs = bu_now() - t0;
    *rss_kb = ru.ru_maxrss;
}

static void verdicts(size_t n, long rss_kb, double secs)
{
    char goal[96];
    if (n < 1000000) {
        snprintf(goal, sizeof goal, "kvkit import of 1M documents (%zuk run here)", n / 1000);
        bu_verdict_none(goal, "the goal is at 1M documents: run without BENCH_SCALE");
        return;
    }
    printf("GOAL kvkit import of 1M documents, peak RSS <= 32 MB: %.1f MB %s\n", rss_kb / 1024.0,
           rss_kb <= 32 * 1024 ? "met" : "NOT met");
    printf("GOAL kvkit import of 1M documents >= 60000 documents/s: %.0f/s %s\n", n / secs,
           n / secs >= 60000 ? "met" : "NOT met");
}

static void report(const char *side, size_t n, long rss_kb, double secs, const rss_split_t *split)
{
    printf("  %-6s %8zu documents: %6.1f s, %8.0f documents/s, peak RSS %.1f MB"
           " (sampled peak %.1f MB: %.1f anonymous, %.1f mapped files)\n",
           side, n, secs, n / secs, rss_kb / 1024.0, split->total / 1024.0, split->anon / 1024.0,
           split->file / 1024.0);
}

int main(void)
{
    bu_init("bench_import");
    size_t scales[BU_MAX_SCALES], n_scales = bu_scales(scales);
    char dir[] = "/tmp/kvkit-bench-import-XXXXXX";
    if (mkdtemp(dir) == NULL)
        bu_die("mkdtemp", dir);
    printf("bench_import: kvkit import, 2 indexed fields, default batch, LevelDB;\n"
           "  raw: LevelDB alone writing the same keys, same batches (the floor)\n");
    long rss_kb = 0, raw_kb;
    double secs = 0, raw_secs;
    rss_split_t split;
    for (size_t k = 0; k < n_scales; k++) {
        char lines[128], store[128];
        snprintf(lines, sizeof lines, "%s/docs-%zu.jsonl", dir, scales[k]);
        write_lines(lines, scales[k]);
        snprintf(store, sizeof store, "%s/raw-%zu", dir, scales[k]);
        run_side(raw_child, lines, store, &raw_kb, &raw_secs, &split);
        report("raw", scales[k], raw_kb, raw_secs, &split);
        snprintf(store, sizeof store, "leveldb:%s/store-%zu", dir, scales[k]);
        run_side(kvkit_child, lines, store, &rss_kb, &secs, &split);
        report("kvkit", scales[k], rss_kb, secs, &split);
        unlink(lines);
    }
    verdicts(scales[n_scales - 1], rss_kb, secs);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_import: could not remove %s\n", dir);
    return 0;
}
