/*
 * leveldb_private.h - what the leveldb backend's files share.
 *
 *   leveldb.c      options, errors, the kvlayout engine over LevelDB,
 *                  open/close, the operations and views
 *   claims.c       one claim per store (directory) in this process
 *   maintenance.c  kvkit_backend_compact and kvkit_backend_repair
 *
 * Functions shared between these files are ldb_<verb> or ldb_<noun>_<verb>
 * (see the naming rule at the top of leveldb.c).
 */
#ifndef KVKIT_LEVELDB_PRIVATE_H
#define KVKIT_LEVELDB_PRIVATE_H

/* every file of the plugin spells its exported symbols leveldb_LTX_... */
#define KVKIT_BACKEND_NAME leveldb
#include <kvkit/backend.h>

#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>

#include <leveldb/c.h>

#include "../common/kvlbackend.h"

#define DEFAULT_BLOOM_BITS 10

typedef struct ldb {
    leveldb_t *db;
    leveldb_options_t *options;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter;
    leveldb_readoptions_t *read;
    leveldb_writeoptions_t *write;
    bool paranoid;
    pthread_mutex_t write_lock; /* guards layout.revision and the batch below */
    struct batch {
        struct ldb *h;
        leveldb_writebatch_t *wb;
        size_t bytes; /* put so far: a big batch is not kept */
    } batch;          /* reused by every write (under write_lock) */
    bool batch_busy;
    kvl_t layout;
    struct claim *claim; /* this process's claim on the store (claims.c) */
} ldb_t;

/* The options of a store string, parsed. */
typedef struct settings {
    int create_if_missing, error_if_exists, sync, paranoid, bulk_load;
    uint64_t cache_mb, bloom_bits, write_buffer_mb;
    uint64_t max_open_files, block_size_kb, max_file_size_mb; /* 0: LevelDB's default */
    int compression;
} settings_t;

/*** leveldb.c ***/

/* KVKIT_NOMEM "out of memory" about subject. */
int ldb_nomem(kvkit_error_t *err, const char *subject);
/* Report a LevelDB error (msg is freed): `what "subject": <LevelDB text>`,
 * with a hint to repair when LevelDB found corruption.  Returns the code. */
int ldb_engine_error(kvkit_error_t *err, const char *what, const char *subject, char *msg);
/* What open and repair share: parse and check the options and location,
 * and a handle with its LevelDB options built from them (*s receives the
 * settings).  Free *out with ldb_free. */
int ldb_handle_new(const char *location, const kvkit_backend_option_t *options, size_t n_options,
                   settings_t *s, ldb_t **out, kvkit_error_t *err);
/* Close the database (if open), free everything h holds, give back its
 * claim. */
void ldb_free(ldb_t *h);

/*** claims.c ***/

/* Claim the store whose directory is `st` for h (h->claim), or answer
 * KVKIT_LOCKED naming the spelling it is held under.  `what` is the
 * operation, and `state` what it makes of the store ("already open"), for
 * the message a second claim gets. */
int ldb_claim(ldb_t *h, const char *what, const char *location, const struct stat *st,
              const char *state, kvkit_error_t *err);
/* Give back h's claim, if it has one. */
void ldb_unclaim(ldb_t *h);

#endif /* KVKIT_LEVELDB_PRIVATE_H */
