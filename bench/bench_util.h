/*
 * bench_util.h - what every benchmark shares: store sizes (BENCH_SCALE),
 * wall clocks and statistics, instruction counts under callgrind, and the
 * side-by-side runner whose figures the verdict lines judge.
 *
 * Sides alternate in chunks (round r runs each side's chunk r, in an order
 * rotated by r), so a slow patch of the shared machine hits every side
 * alike.  Wall figures are medians with min-max over rounds; the wall ratio
 * of two sides is the median (min-max) of the per-round ratios.
 *
 * Instructions: `make bench-callgrind` runs each benchmark under
 * valgrind --tool=callgrind --collect-atstart=no with BENCH_CALLGRIND_OUT
 * set to the --callgrind-out-file prefix.  Each side's chunk is then
 * counted alone (collection toggled on for the calling thread only, so
 * LevelDB's background compaction is not charged to a chunk), dumped with
 * a client request and read back from the dump file.
 */
#ifndef KVKIT_BENCH_UTIL_H
#define KVKIT_BENCH_UTIL_H

#include <stddef.h>

#define BU_MAX_SIDES 4
#define BU_MAX_ROUNDS 16
#define BU_MAX_SCALES 3

/* Name the program for messages (call first in main). */
void bu_init(const char *prog);
/* Print "PROG: what: msg" to stderr and exit 1. */
void bu_die(const char *what, const char *msg);

/* Store sizes to measure at: 10k, 100k and 1M documents, or only 10k with
 * BENCH_SCALE=1 (2: 10k and 100k), or the one size BENCH_SIZE=N.  Returns
 * how many, sizes in `out`. */
size_t bu_scales(size_t out[BU_MAX_SCALES]);

double bu_now(void); /* monotonic seconds */

/* 1 when instructions are counted (under callgrind, BENCH_CALLGRIND_OUT set). */
int bu_counting(void);

/* One side of a comparison: run(ctx, from, to) performs the operations
 * numbered [from, to) and returns how many it did (an index query may
 * count the keys it returned). */
typedef struct bu_side {
    const char *name;
    size_t (*run)(void *ctx, size_t from, size_t to);
    void *ctx;
} bu_side_t;

typedef struct bu_result {
    size_t n_sides, rounds;
    double t[BU_MAX_SIDES][BU_MAX_ROUNDS]; /* seconds per operation, per round */
    double ir[BU_MAX_SIDES];               /* instructions per operation; 0: not counted */
    size_t ops[BU_MAX_SIDES];
} bu_result_t;

/* Run `rounds` rounds; round r gives every side the operations
 * [first + r*chunk, first + (r+1)*chunk). */
void bu_compare(const bu_side_t *sides, size_t n_sides, size_t first, size_t chunk, size_t rounds,
                bu_result_t *out);

/* Run every side over [from, to) in chunks, untimed (filling stores). */
void bu_fill(const bu_side_t *sides, size_t n_sides, size_t from, size_t to, size_t chunk);

/* Print one line per side: median [min-max] us and instructions per unit. */
void bu_print(const char *what, const char *unit, const bu_side_t *sides, const bu_result_t *r);

/* Ratio of side a to side b: wall (median and min-max of per-round
 * ratios) and instructions (0 when not counted). */
typedef struct bu_ratio {
    double wall, wall_min, wall_max, ir;
} bu_ratio_t;
bu_ratio_t bu_ratio(const bu_result_t *r, size_t a, size_t b);
/* Print "a / b: wall ... Ir ..." (a figure no goal judges). */
void bu_print_ratio(const char *a, const char *b, bu_ratio_t q);

/* The verdict line of one goal: "GOAL <goal> <= limit: by Ir ... by wall ...". */
void bu_verdict(const char *goal, double limit, bu_ratio_t ratio);
/* A goal with a lower limit (speedups, throughputs): ratio >= limit.
 * In both, ratio.ir < 0 means instructions do not apply (waits, fsync),
 * ratio.wall < 0 that there is no wall figure to judge. */
void bu_verdict_min(const char *goal, double limit, bu_ratio_t ratio);
/* bu_verdict of "OP A/B at SCALE documents": side a against side b of r. */
void bu_goal(const char *op, size_t scale, const bu_side_t *sides, const bu_result_t *r, size_t a,
             size_t b, double limit);
/* A goal this run could not judge, and why. */
void bu_verdict_none(const char *goal, const char *why);

/* Median and min-max of n values (v is sorted in place). */
double bu_median(double *v, size_t n, double *min, double *max);

#endif
