/*
 * doc_scratch.c - per-thread scratch space for saves: an index set and a
 * serialization buffer that keep their capacity from one save to the next,
 * so a save does not grow fresh ones (json_dumps alone reallocates its
 * buffer several times and then copies it).  No user code runs while a
 * save uses them, so uses cannot nest.
 */
#include "doc_private.h"

#include <string.h>

/* A buffer that grew past this is given back after the save. */
#define SCRATCH_KEEP (1u << 20)

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static bool scratch_key_ok;

static void scratch_free(void *p)
{
    kvkit__scratch_t *sc = p;
    kvkit_index_set_destroy(sc->iset);
    kvkit__free(sc->buf);
    kvkit__free(sc);
}

static void scratch_key_create(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

kvkit__scratch_t *kvkit__scratch(void)
{
    pthread_once(&scratch_once, scratch_key_create);
    if (!scratch_key_ok)
        return NULL;
    kvkit__scratch_t *sc = pthread_getspecific(scratch_key);
    if (sc != NULL)
        return sc;
    if ((sc = kvkit__calloc(1, sizeof *sc)) == NULL)
        return NULL;
    if ((sc->iset = kvkit_index_set_create()) == NULL ||
        pthread_setspecific(scratch_key, sc) != 0) {
        scratch_free(sc);
        return NULL;
    }
    return sc;
}

static int append(const char *buf, size_t size, void *data)
{
    kvkit__scratch_t *sc = data;
    if (sc->len + size > sc->cap) {
        size_t cap = sc->cap ? sc->cap : 1024;
        while (cap < sc->len + size)
            cap *= 2;
        char *grown = kvkit__realloc(sc->buf, cap);
        if (grown == NULL)
            return -1;
        sc->buf = grown;
        sc->cap = cap;
    }
    memcpy(sc->buf + sc->len, buf, size);
    sc->len += size;
    return 0;
}

int kvkit__scratch_dump(kvkit__scratch_t *sc, const json_t *value)
{
    sc->len = 0;
    return json_dump_callback(value, append, sc, JSON_COMPACT) == 0 ? 0 : -1;
}

void kvkit__scratch_trim(kvkit__scratch_t *sc)
{
    if (sc->cap > SCRATCH_KEEP) {
        kvkit__free(sc->buf);
        sc->buf = NULL;
        sc->cap = sc->len = 0;
    }
}
