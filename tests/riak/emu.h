/*
 * emu.h - start/stop the Riak emulator (riak_emulator.py) for a test and
 * talk to it directly (raw Riak HTTP and its /_emu control routes).
 */
#ifndef KVKIT_TEST_RIAK_EMU_H
#define KVKIT_TEST_RIAK_EMU_H

#include <stddef.h>
#include <sys/types.h>

typedef struct emu {
    pid_t pid;
    int port;
    char base[64];     /* http://127.0.0.1:PORT, or https:// */
    char cacert[512];  /* set before emu_start_args for https: the CA that */
    char cert[512];    /* signed its certificate, and a client certificate */
    char key[512];     /* and key emu_http presents ("": none) */
} emu_t;

/* Start the emulator on a free loopback port (extra: one more argument or
 * NULL).  Aborts the process when it cannot start.  The emulator dies with
 * the test process (PR_SET_PDEATHSIG) even if emu_stop is never reached. */
void emu_start(emu_t *e, const char *extra);

/* The same with any number of arguments (NULL-terminated list, at most 16);
 * https: the emulator serves TLS (--tls-cert among args), so base is
 * https:// and emu_http uses e->cacert, e->cert and e->key. */
void emu_start_args(emu_t *e, const char *const *args, int https);

/* Make throw-away certificates in dir with tests/certs.sh (aborts on
 * failure); returns dir. */
const char *emu_certs(const char *dir);

/* Stop it by PID (SIGTERM, then wait). */
void emu_stop(emu_t *e);

/* One raw request; returns the HTTP status (0 on a transport failure).
 * *body (may be NULL) receives a malloc'd NUL-terminated body.  headers is a
 * NULL-terminated list or NULL. */
long emu_http(const emu_t *e, const char *method, const char *path, const char *body,
              const char *const *headers, char **out);

/* Control helpers (assert success). */
void emu_fault(const emu_t *e, const char *json);
void emu_reset(const emu_t *e);
void emu_allow_mult(const emu_t *e, const char *bucket);
/* Total requests Riak routes have seen since the last counter reset. */
long emu_requests(const emu_t *e);
/* Any counter of /_emu/counters ("requests", "connections"). */
long emu_counter(const emu_t *e, const char *name);
void emu_counters_reset(const emu_t *e);

/* "riak:http://127.0.0.1:PORT" + extra ("?timeout_ms=..." or "") */
void emu_store_uri(const emu_t *e, const char *extra, char *out, size_t size);

#endif
