/* testutil.h - helpers shared by the leveldb backend's tests. */
#ifndef KVKIT_TESTS_LEVELDB_UTIL_H
#define KVKIT_TESTS_LEVELDB_UTIL_H

#include <kvkit/kvkit.h>

/* A fresh directory under $TMPDIR (or /tmp); malloc'd path. */
char *tu_tmpdir(void);

/* Remove a directory tree; ignores errors. */
void tu_rmtree(const char *dir);

/* "leveldb:DIR/db" plus "?opts" when opts is not NULL; malloc'd. */
char *tu_uri(const char *dir, const char *opts);

/* Open a store, failing the test with the error text otherwise. */
kvkit_store_t *tu_open(const char *uri);

/* An index set from alternating field / JSON text pairs, NULL-terminated. */
kvkit_index_set_t *tu_index(const char *field, ...);

/* Save `doc` with tu_index(...) entries; fails the test on error. */
void tu_save(kvkit_store_t *s, const char *bucket, const char *key, const char *doc,
             kvkit_index_set_t *set);

/* The keys of an index query (JSON text bounds; hi may be NULL), joined
 * with ','; malloc'd. */
char *tu_query(kvkit_store_t *s, const char *bucket, const char *field, const char *lo,
               const char *hi);

/* The leveldb plugin's own symbol (plain name without the LTX prefix), for
 * functions libkvkit does not reach yet. */
void *tu_plugin_symbol(const char *name);

#endif
