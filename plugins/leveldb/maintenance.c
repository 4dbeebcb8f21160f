/*
 * maintenance.c - the leveldb backend's maintenance functions (ABI 1.1
 * optional ops).
 *
 * compact: the whole database of an open store - drops deleted and
 * overwritten entries and rewrites it into fewer, sorted files; safe while
 * other threads read and write.  repair: the database at a location no
 * process has open, with LevelDB's repairer, which salvages every readable
 * record into a new manifest (records in damaged blocks are lost).
 */
#include "leveldb_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

KVKIT_BACKEND_DECLARE(compact);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_compact)(void *vh, kvkit_error_t *err)
{
    ldb_t *h = vh;
    leveldb_compact_range(h->db, NULL, 0, NULL, 0);
    /* the C API returns no status: a background error (say, a full disk
     * during compaction) is what the next write sees, so make one */
    char *msg = NULL;
    leveldb_writebatch_t *empty = leveldb_writebatch_create();
    leveldb_write(h->db, h->write, empty, &msg);
    leveldb_writebatch_destroy(empty);
    return msg ? ldb_engine_error(err, "compact", "", msg) : KVKIT_OK;
}

/* Whether dir holds files a LevelDB database is made of (tables, logs,
 * manifests), as opposed to being absent or empty. */
static bool has_database_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        const char *n = e->d_name, *dot = strrchr(n, '.');
        found = strncmp(n, "MANIFEST-", 9) == 0 ||
                (dot && (strcmp(dot, ".ldb") == 0 || strcmp(dot, ".sst") == 0 ||
                         strcmp(dot, ".log") == 0));
    }
    closedir(d);
    return found;
}

/* Make sure nobody has the database open and keep everyone out while the
 * repair runs: LevelDB's repairer takes no lock of its own (RepairDB never
 * calls LockFile).  This process is kept out by a claim on the store,
 * other processes by the fcntl lock on LOCK that LevelDB's open takes.
 * The claim comes first: the lock cannot see this process's own opens, and
 * closing *fd drops every lock this process has on the file. */
static int lock_for_repair(ldb_t *h, const char *location, int *fd, kvkit_error_t *err)
{
    struct stat st;
    if (stat(location, &st) != 0)
        return kvkit_backend_error(err, KVKIT_NOTFOUND, location,
                                   "repair \"%s\": no database there: %s", location,
                                   strerror(errno));
    int rc = ldb_claim(h, "repair", location, &st, "being repaired", err);
    if (rc != KVKIT_OK)
        return rc;
    /* LevelDB's repairer "repairs" a directory that holds no database by
     * creating an empty one: refuse instead of reporting success.  (A
     * database that lost its CURRENT file still has table and log files:
     * that is what repair is for.) */
    if (!has_database_files(location))
        return kvkit_backend_error(err, KVKIT_NOTFOUND, location,
                                   "repair \"%s\": no database there (no table, log or "
                                   "manifest file)",
                                   location);
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/LOCK", location) >= sizeof path)
        return kvkit_backend_error(err, KVKIT_INVALID, location, "repair \"%s\": path too long",
                                   location);
    /* created if missing, as LevelDB's open does, so that an open starting
     * now meets the lock */
    if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
        return kvkit_backend_error(err, KVKIT_IO, location, "repair \"%s\": lock %s: %s", location,
                                   path, strerror(errno));
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(*fd, F_SETLK, &lk) == 0)
        return KVKIT_OK;
    int e = errno;
    close(*fd);
    *fd = -1;
    return kvkit_backend_error(err, KVKIT_LOCKED, location,
                               "repair \"%s\": locked by another process: lock %s: %s", location,
                               path, strerror(e));
}

/* The repaired database may keep a manifest and lose the revision ceiling
 * written with it, which is what tells a stored manifest filter is stale
 * (kvlfilter.h): delete the filter so the next write rebuilds it.
 * Runs under the repair's lock: LevelDB's open takes the same fcntl lock,
 * which a process never conflicts with itself on. */
static void forget_filter(ldb_t *h, const char *location, char **msg)
{
    leveldb_t *db = leveldb_open(h->options, location, msg);
    if (db == NULL)
        return;
    leveldb_writebatch_t *b = leveldb_writebatch_create();
    leveldb_readoptions_t *r = leveldb_readoptions_create();
    leveldb_iterator_t *it = leveldb_create_iterator(db, r);
    const char prefix[1] = {KVL_FILTER};
    for (leveldb_iter_seek(it, prefix, 1); leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t klen;
        const char *k = leveldb_iter_key(it, &klen);
        if (k[0] != KVL_FILTER)
            break;
        leveldb_writebatch_delete(b, k, klen);
    }
    leveldb_iter_get_error(it, msg);
    leveldb_iter_destroy(it);
    leveldb_readoptions_destroy(r);
    leveldb_writeoptions_t *w = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(w, 1);
    if (*msg == NULL)
        leveldb_write(db, w, b, msg);
    leveldb_writeoptions_destroy(w);
    leveldb_writebatch_destroy(b);
    leveldb_close(db);
}

KVKIT_BACKEND_DECLARE(repair);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_repair)(const char *location,
                                               const kvkit_backend_option_t *options,
                                               size_t n_options, kvkit_error_t *err)
{
    settings_t s;
    ldb_t *h;
    int rc = ldb_handle_new(location, options, n_options, &s, &h, err);
    if (rc != KVKIT_OK)
        return rc;
    int lock_fd = -1;
    rc = lock_for_repair(h, location, &lock_fd, err);
    /* the repairer keeps only blocks whose checksums match, so that it
     * salvages records rather than garbage */
    leveldb_options_set_paranoid_checks(h->options, 1);
    char *msg = NULL;
    if (rc == KVKIT_OK)
        leveldb_repair_db(h->options, location, &msg);
    if (rc == KVKIT_OK && msg == NULL)
        forget_filter(h, location, &msg);
    if (lock_fd >= 0)
        close(lock_fd);
    ldb_free(h);
    if (rc != KVKIT_OK)
        return rc;
    return msg ? ldb_engine_error(err, "repair", location, msg) : KVKIT_OK;
}
