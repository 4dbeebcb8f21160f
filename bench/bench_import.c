/*
 * bench_import.c - `kvkit import` of the benchmark documents (docs.h) into
 * a new LevelDB store with 2 indexed fields (email, city) at the default
 * batch: peak RSS of the kvkit process and documents per second (wall, the
 * whole process), at 10k, 100k and 1M documents (BENCH_SCALE=1: 10k only).
 * Goals (issue 13), at 1M documents: <= 32 MB peak RSS, >= 60k documents/s.
 * Absolute figures of one process: no baseline, no instruction counts.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Run kvkit import with stdin from `lines`; its peak RSS (KiB), wall time. */
static void run_import(const char *lines, const char *store, long *rss_kb, double *secs,
                       rss_split_t *split)
{
    double t0 = bu_now();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(lines, O_RDONLY);
        if (fd < 0 || dup2(fd, 0) < 0)
            _exit(127);
        execl(KVKIT_TOOL, KVKIT_TOOL, "-s", store, "import", "--index", "email,city", "users",
              (char *)NULL);
        _exit(127);
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
        bu_die("kvkit import", "failed");
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

int main(void)
{
    bu_init("bench_import");
    size_t scales[BU_MAX_SCALES], n_scales = bu_scales(scales);
    char dir[] = "/tmp/kvkit-bench-import-XXXXXX";
    if (mkdtemp(dir) == NULL)
        bu_die("mkdtemp", dir);
    printf("bench_import: kvkit import, 2 indexed fields, default batch, LevelDB\n");
    long rss_kb = 0;
    double secs = 0;
    rss_split_t split;
    for (size_t k = 0; k < n_scales; k++) {
        char lines[128], store[128];
        snprintf(lines, sizeof lines, "%s/docs-%zu.jsonl", dir, scales[k]);
        snprintf(store, sizeof store, "leveldb:%s/store-%zu", dir, scales[k]);
        write_lines(lines, scales[k]);
        run_import(lines, store, &rss_kb, &secs, &split);
        printf("  %8zu documents: %6.1f s, %8.0f documents/s, peak RSS %.1f MB"
               " (sampled peak %.1f MB: %.1f anonymous, %.1f mapped files)\n",
               scales[k], secs, scales[k] / secs, rss_kb / 1024.0, split.total / 1024.0,
               split.anon / 1024.0, split.file / 1024.0);
        unlink(lines);
    }
    verdicts(scales[n_scales - 1], rss_kb, secs);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_import: could not remove %s\n", dir);
    return 0;
}
