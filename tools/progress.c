/*
 * progress.c - a progress bar with rate and ETA on stderr, drawn only when
 * stderr is a terminal, and the closing summary line.
 *
 * The bar is redrawn at most ten times a second with "\r" and erased at the
 * end, so a terminal ends up showing only the summary; a pipe or file gets
 * the summary and nothing else.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "cli.h"

#define BAR_WIDTH 24

void cli_progress_start(cli_progress_t *p, const cli_t *cli, const char *verb, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->on = cli->progress;
    p->quiet = cli->quiet;
    p->verb = verb;
    p->unit = "documents";
    p->total = total;
    p->start = p->last_draw = cli_now();
}

static void format_duration(char *buf, size_t n, double s)
{
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%lu:%02lu", t / 60, t % 60);
}

void cli_progress_update(cli_progress_t *p, uint64_t done, uint64_t pos)
{
    p->done = done;
    if (!p->on)
        return;
    double now = cli_now();
    if (p->drawn && now - p->last_draw < 0.1)
        return;
    p->last_draw = now;
    p->drawn = 1;
    double elapsed = now - p->start;
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    char line[160];
    int len;
    if (p->total > 0) {
        /* pos counts in the total's unit (documents, or bytes for import) */
        double frac = pos >= p->total ? 1.0 : (double)pos / (double)p->total;
        char bar[BAR_WIDTH + 1];
        int fill = (int)(frac * BAR_WIDTH);
        for (int i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        char eta[32] = "--:--";
        if (frac > 0 && elapsed > 0)
            format_duration(eta, sizeof eta, elapsed / frac - elapsed);
        len = snprintf(line, sizeof line, "[%s] %3d%%  %llu %s  %.0f/s  ETA %s", bar,
                       (int)(frac * 100), (unsigned long long)done, p->unit, rate, eta);
    } else {
        char el[32];
        format_duration(el, sizeof el, elapsed);
        len = snprintf(line, sizeof line, "%llu %s  %.0f/s  %s elapsed", (unsigned long long)done,
                       p->unit, rate, el);
    }
    /* pad to erase a longer previous line */
    fprintf(stderr, "\r%-*s", len < 72 ? 72 : len, line);
    fflush(stderr);
}

void cli_progress_end(cli_progress_t *p, uint64_t done, const char *what)
{
    if (p->drawn) {
        fprintf(stderr, "\r%72s\r", "");
        p->drawn = 0;
    }
    if (p->quiet)
        return;
    double elapsed = cli_now() - p->start;
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    int one = done == 1; /* "1 document": the unit is a plural ending in 's' */
    fprintf(stderr, "kvkit: %s %llu %.*s%s%s in %.2f s (%.0f/s)\n", p->verb,
            (unsigned long long)done, (int)strlen(p->unit) - one, p->unit, what && *what ? " " : "",
            what ? what : "", elapsed, rate);
}
