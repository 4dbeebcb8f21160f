/* bench_util.c - see bench_util.h. */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

static const char *prog = "bench";

void bu_init(const char *name)
{
    prog = name;
    setvbuf(stdout, NULL, _IOLBF, 0);
}

void bu_die(const char *what, const char *msg)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, msg ? msg : "failed");
    exit(1);
}

size_t bu_scales(size_t out[BU_MAX_SCALES])
{
    static const size_t all[BU_MAX_SCALES] = {10000, 100000, 1000000};
    const char *one = getenv("BENCH_SIZE");
    if (one && *one) { /* one size, as given */
        out[0] = (size_t)strtoul(one, NULL, 10);
        if (out[0] == 0)
            bu_die("BENCH_SIZE", "expected a number of documents");
        return 1;
    }
    const char *s = getenv("BENCH_SCALE");
    size_t n = s && *s ? (size_t)strtoul(s, NULL, 10) : BU_MAX_SCALES;
    if (n < 1 || n > BU_MAX_SCALES)
        n = BU_MAX_SCALES;
    memcpy(out, all, n * sizeof *out);
    return n;
}

double bu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*** instruction counts ***/

static int dumps; /* client-request dumps written so far */

int bu_counting(void)
{
    return RUNNING_ON_VALGRIND && getenv("BENCH_CALLGRIND_OUT") != NULL;
}

static void ir_start(void)
{
    if (!bu_counting())
        return;
    CALLGRIND_ZERO_STATS;
    CALLGRIND_TOGGLE_COLLECT;
}

/* Instructions of this thread since ir_start, read back from the dump. */
static double ir_stop(void)
{
    if (!bu_counting())
        return 0;
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_DUMP_STATS_AT("bench chunk");
    char path[512], line[256];
    snprintf(path, sizeof path, "%s.%d.%d", getenv("BENCH_CALLGRIND_OUT"), (int)getpid(), ++dumps);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        bu_die("callgrind dump", path);
    double total = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "totals:", 7) == 0)
            total = strtod(line + 7, NULL);
    fclose(f);
    /* BENCH_KEEP_DUMPS=1 keeps the dumps for callgrind_annotate */
    const char *keep = getenv("BENCH_KEEP_DUMPS");
    if (keep == NULL || strcmp(keep, "1") != 0)
        unlink(path);
    if (total < 0)
        bu_die("callgrind dump without totals", path);
    return total;
}

/*** statistics ***/

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bu_median(double *v, size_t n, double *min, double *max)
{
    qsort(v, n, sizeof *v, dcmp);
    if (min)
        *min = v[0];
    if (max)
        *max = v[n - 1];
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*** the runner ***/

void bu_compare(const bu_side_t *sides, size_t n_sides, size_t first, size_t chunk, size_t rounds,
                bu_result_t *out)
{
    double ir[BU_MAX_SIDES] = {0};
    memset(out, 0, sizeof *out);
    out->n_sides = n_sides;
    out->rounds = rounds;
    for (size_t r = 0; r < rounds; r++) {
        size_t from = first + r * chunk;
        for (size_t k = 0; k < n_sides; k++) {
            size_t s = (r + k) % n_sides;
            ir_start();
            double t0 = bu_now();
            size_t ops = sides[s].run(sides[s].ctx, from, from + chunk);
            double t = bu_now() - t0;
            ir[s] += ir_stop();
            out->t[s][r] = ops ? t / (double)ops : 0;
            out->ops[s] += ops;
        }
    }
    for (size_t s = 0; s < n_sides; s++)
        out->ir[s] = out->ops[s] ? ir[s] / (double)out->ops[s] : 0;
}

void bu_fill(const bu_side_t *sides, size_t n_sides, size_t from, size_t to, size_t chunk)
{
    for (size_t lo = from; lo < to; lo += chunk)
        for (size_t s = 0; s < n_sides; s++)
            sides[s].run(sides[s].ctx, lo, lo + chunk < to ? lo + chunk : to);
}

bu_ratio_t bu_ratio(const bu_result_t *r, size_t a, size_t b)
{
    double v[BU_MAX_ROUNDS];
    for (size_t i = 0; i < r->rounds; i++)
        v[i] = r->t[b][i] > 0 ? r->t[a][i] / r->t[b][i] : 0;
    bu_ratio_t q = {0};
    q.wall = bu_median(v, r->rounds, &q.wall_min, &q.wall_max);
    q.ir = r->ir[b] > 0 ? r->ir[a] / r->ir[b] : 0;
    return q;
}

/*** printing ***/

void bu_print_ratio(const char *a, const char *b, bu_ratio_t q)
{
    printf("    %s / %s: wall %.2fx [%.2f-%.2f]", a, b, q.wall, q.wall_min, q.wall_max);
    if (q.ir > 0)
        printf("  Ir %.3fx", q.ir);
    printf("\n");
}

void bu_print(const char *what, const char *unit, const bu_side_t *sides, const bu_result_t *r)
{
    printf("  %s (per %s, %zu rounds):\n", what, unit, r->rounds);
    for (size_t s = 0; s < r->n_sides; s++) {
        double v[BU_MAX_ROUNDS], lo, hi;
        memcpy(v, r->t[s], r->rounds * sizeof *v);
        double med = bu_median(v, r->rounds, &lo, &hi);
        printf("    %-14s %9.2f us [%.2f-%.2f]", sides[s].name, med * 1e6, lo * 1e6, hi * 1e6);
        if (r->ir[s] > 0)
            printf("  %10.0f Ir", r->ir[s]);
        printf("\n");
    }
}

static void verdict(const char *goal, const char *op, double limit, bu_ratio_t q, int below)
{
    printf("GOAL %s %s %.2fx:", goal, op, limit);
    if (q.ir > 0)
        printf(" by Ir %.3fx %s;", q.ir,
               (below ? q.ir <= limit : q.ir >= limit) ? "met" : "NOT met");
    else if (q.ir < 0)
        printf(" by Ir not applicable;");
    else
        printf(" by Ir n/a (make bench-callgrind);");
    if (bu_counting())
        printf(" by wall n/a (under callgrind)\n");
    else if (q.wall < 0)
        printf(" by wall not judged (no reference)\n");
    else
        printf(" by wall %.2fx [%.2f-%.2f] %s\n", q.wall, q.wall_min, q.wall_max,
               (below ? q.wall <= limit : q.wall >= limit) ? "met" : "NOT met");
}

void bu_verdict(const char *goal, double limit, bu_ratio_t q)
{
    verdict(goal, "<=", limit, q, 1);
}

void bu_verdict_min(const char *goal, double limit, bu_ratio_t q)
{
    verdict(goal, ">=", limit, q, 0);
}

void bu_goal(const char *op, size_t scale, const bu_side_t *sides, const bu_result_t *r, size_t a,
             size_t b, double limit)
{
    char goal[160];
    snprintf(goal, sizeof goal, "%s %s/%s at %zuk documents", op, sides[a].name, sides[b].name,
             scale / 1000);
    bu_verdict(goal, limit, bu_ratio(r, a, b));
}

void bu_verdict_none(const char *goal, const char *why)
{
    printf("GOAL %s: not judged (%s)\n", goal, why);
}
