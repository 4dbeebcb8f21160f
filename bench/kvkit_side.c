/* kvkit_side.c - see kvkit_side.h. */
#include "kvkit_side.h"

#include "bench_util.h"

#include <stdlib.h>
#include <string.h>

void ks_save(kvkit_store_t *store, kvkit_batch_t *batch, kvkit_index_set_t *set, const char *key,
             const json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    kvkit_error_t err = {0};
    kvkit_index_set_clear(set);
    for (int f = 0; f < BD_FIELDS; f++)
        if (kvkit_index_set_add(set, bd_fields[f], json_object_get(doc, bd_fields[f]), &err))
            bu_die("index set", err.text);
    int rc = batch ? kvkit_batch_save(batch, "user", key, text, strlen(text), set, &err)
                   : kvkit_store_save(store, "user", key, text, strlen(text), set, &err);
    if (rc != KVKIT_OK)
        bu_die("kvkit save", err.text);
    free(text);
}

size_t ks_get_random(kvkit_store_t *store, size_t n, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        char key[16], *v = NULL;
        size_t len;
        kvkit_error_t err = {0};
        bd_key(key, bd_pick(i, n));
        if (kvkit_store_get(store, "user", key, &v, &len, &err) != KVKIT_OK)
            bu_die("kvkit get", err.text);
        json_t *doc = json_loadb(v, len, 0, NULL);
        if (doc == NULL)
            bu_die("kvkit parse", key);
        json_decref(doc);
        free(v);
    }
    return to - from;
}
