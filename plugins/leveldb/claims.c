/* claims.c - one claim per store in this process (leveldb_private.h). */
#include "leveldb_private.h"

#include <stdlib.h>
#include <string.h>

/* LevelDB keeps other processes out of a database with an fcntl() lock on
 * its LOCK file, but that lock cannot tell two opens in one process apart:
 * fcntl locks never conflict with their own process, closing any
 * descriptor of the file drops them, and LevelDB's table of the locks it
 * holds is keyed by the path as spelled.  "/d/db/." (or a symlink, or a
 * relative path) opened beside "/d/db" would succeed, and its close would
 * drop the lock under the other handle and let another process in.
 *
 * So a store is known by its directory's device and inode: this process
 * claims it before LevelDB opens or repairs it, and gives the claim back
 * after LevelDB has closed it.  A second claim is KVKIT_LOCKED. */

typedef struct claim {
    struct claim *next;
    dev_t dev;
    ino_t ino;
    const char *state; /* "already open", "being repaired": for messages */
    char location[];   /* as its claimant spelled it */
} claim_t;

static pthread_mutex_t claims_lock = PTHREAD_MUTEX_INITIALIZER;
static claim_t *claims;
static pthread_once_t claims_once = PTHREAD_ONCE_INIT;

/* A forked child holds none of its parent's stores (fcntl locks are not
 * inherited), so it starts with no claims, and with the mutex free: fork()
 * waits for it.  (These handlers stay mapped: the plugin is resident.) */
static void claims_prepare(void)
{
    pthread_mutex_lock(&claims_lock);
}

static void claims_parent(void)
{
    pthread_mutex_unlock(&claims_lock);
}

static void claims_child(void)
{
    claims = NULL; /* not freed: the parent's handles, copied here, point at them */
    pthread_mutex_unlock(&claims_lock);
}

/* Should registering fail (ENOMEM), a child just inherits the list: its
 * opens of its parent's stores are refused, as the parent's lock would. */
static void claims_init(void)
{
    (void)pthread_atfork(claims_prepare, claims_parent, claims_child);
}

int ldb_claim(ldb_t *h, const char *what, const char *location, const struct stat *st,
              const char *state, kvkit_error_t *err)
{
    pthread_once(&claims_once, claims_init);
    size_t n = strlen(location) + 1;
    claim_t *c = malloc(sizeof *c + n);
    if (c == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, location, "out of memory");
    *c = (claim_t){.dev = st->st_dev, .ino = st->st_ino, .state = state};
    memcpy(c->location, location, n);
    int rc = KVKIT_OK;
    pthread_mutex_lock(&claims_lock);
    const claim_t *held = claims;
    while (held != NULL && (held->dev != c->dev || held->ino != c->ino))
        held = held->next;
    if (held == NULL) {
        c->next = claims;
        claims = h->claim = c;
    } else
        rc = kvkit_backend_error(err, KVKIT_LOCKED, location,
                                 "%s \"%s\": this store is %s in this process (as \"%s\")", what,
                                 location, held->state, held->location);
    pthread_mutex_unlock(&claims_lock);
    if (rc != KVKIT_OK)
        free(c);
    return rc;
}

void ldb_unclaim(ldb_t *h)
{
    if (h->claim == NULL)
        return;
    pthread_mutex_lock(&claims_lock);
    claim_t **p = &claims;
    while (*p != NULL && *p != h->claim)
        p = &(*p)->next;
    if (*p != NULL) { /* else a parent's claim, in a forked child */
        *p = h->claim->next;
        free(h->claim);
    }
    pthread_mutex_unlock(&claims_lock);
    h->claim = NULL;
}
