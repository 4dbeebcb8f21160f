/*
 * oddplugin.c - one tiny backend compiled many ways, each a real .so that
 * is wrong (or right) in one particular respect, for the loader tests.
 *
 *   ODD_NAME          the backend name (file and symbol prefix)
 *   ODD_DECLARED      the name the descriptor declares (default ODD_NAME)
 *   ODD_ABI_MAJOR     / ODD_ABI_MINOR   override the ABI version
 *   ODD_NO_DESCRIPTOR omit the descriptor symbol
 *   ODD_NO_GET        omit the required get operation
 *   ODD_OPEN_FAILS    open fails with KVKIT_IO and a message
 *   ODD_SELF_NAMED    ... and that message starts with the backend's name
 *   ODD_UNRESOLVED    call a function that exists nowhere
 *   ODD_PLAIN         export plain symbol names (no NAME_LTX_ prefix)
 *   ODD_RESIDENT      ask to stay loaded
 *   ODD_VERSION       version string (default "1")
 *
 * The store itself is a fixed-size table: enough to save and get a few
 * keys; it has no index_lookup or list_keys (optional ops left out).
 */
#ifndef ODD_PLAIN
#define KVKIT_BACKEND_NAME ODD_NAME
#endif
#include <kvkit/backend.h>

#include <stdlib.h>
#include <string.h>

#define STR2(x) #x
#define STR(x) STR2(x)
#ifndef ODD_DECLARED
#define ODD_DECLARED STR(ODD_NAME)
#endif
#ifndef ODD_ABI_MAJOR
#define ODD_ABI_MAJOR KVKIT_BACKEND_ABI_MAJOR
#endif
#ifndef ODD_ABI_MINOR
#define ODD_ABI_MINOR KVKIT_BACKEND_ABI_MINOR
#endif
#ifndef ODD_VERSION
#define ODD_VERSION "1"
#endif
#ifdef ODD_RESIDENT
#define ODD_FLAGS KVKIT_BACKEND_RESIDENT
#else
#define ODD_FLAGS 0
#endif

#ifndef ODD_NO_DESCRIPTOR
const kvkit_backend_descriptor_t KVKIT_BACKEND_SYMBOL(kvkit_backend_descriptor) = {
    .abi_major = ODD_ABI_MAJOR,
    .abi_minor = ODD_ABI_MINOR,
    .struct_size = sizeof(kvkit_backend_descriptor_t),
    .flags = ODD_FLAGS,
    .name = ODD_DECLARED,
    .version = ODD_VERSION,
    .description = "test plugin " STR(ODD_NAME),
};
#endif

#define SLOTS 16
typedef struct odd {
    char *keys[SLOTS];
    char *values[SLOTS];
    size_t lens[SLOTS];
} odd_t;

#ifdef ODD_UNRESOLVED
void kvkit_test_function_that_exists_nowhere(void);
#endif

KVKIT_BACKEND_DECLARE(open);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_open)(const char *location,
                                             const kvkit_backend_option_t *options,
                                             size_t n_options, void **handle,
                                             kvkit_error_t *err)
{
#ifdef ODD_UNRESOLVED
    kvkit_test_function_that_exists_nowhere();
#endif
#if defined(ODD_OPEN_FAILS) && defined(ODD_SELF_NAMED)
    return kvkit_backend_error(err, KVKIT_IO, location, STR(ODD_NAME) " %s: disk on fire",
                               location);
#elif defined(ODD_OPEN_FAILS)
    return kvkit_backend_error(err, KVKIT_IO, location, "open \"%s\": disk on fire", location);
#else
    if (n_options > 0)
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, options[0].key,
                                   "unknown option \"%s\"", options[0].key);
    *handle = calloc(1, sizeof(odd_t));
    return *handle ? KVKIT_OK : KVKIT_NOMEM;
#endif
}

KVKIT_BACKEND_DECLARE(close);
void KVKIT_BACKEND_SYMBOL(kvkit_backend_close)(void *handle)
{
    odd_t *o = handle;
    for (int i = 0; o && i < SLOTS; i++) {
        free(o->keys[i]);
        free(o->values[i]);
    }
    free(o);
}

/* buckets are ignored: enough for the loader tests */
static int slot(odd_t *o, const char *key)
{
    for (int i = 0; i < SLOTS; i++)
        if (o->keys[i] && strcmp(o->keys[i], key) == 0)
            return i;
    return -1;
}

#ifndef ODD_NO_GET
KVKIT_BACKEND_DECLARE(get);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_get)(void *h, const char *bucket, const char *key,
                                            char **value, size_t *value_len,
                                            kvkit_error_t *err)
{
    odd_t *o = h;
    int i = slot(o, key);
    if (i < 0)
        return KVKIT_NOTFOUND;
    *value = malloc(o->lens[i] + 1);
    if (*value == NULL)
        return KVKIT_NOMEM;
    memcpy(*value, o->values[i], o->lens[i]);
    *value_len = o->lens[i];
    return KVKIT_OK;
}
#endif

KVKIT_BACKEND_DECLARE(save);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_save)(void *h, const char *bucket, const char *key,
                                             const char *value, size_t value_len,
                                             const kvkit_index_entry_t *entries,
                                             size_t n_entries, kvkit_error_t *err)
{
    odd_t *o = h;
    int i = slot(o, key);
    for (int j = 0; i < 0 && j < SLOTS; j++)
        if (o->keys[j] == NULL)
            i = j;
    if (i < 0)
        return kvkit_backend_error(err, KVKIT_TOO_LARGE, key, "full: %d keys at most", SLOTS);
    char *k = o->keys[i] ? o->keys[i] : strdup(key);
    char *v = malloc(value_len + 1);
    if (k == NULL || v == NULL) {
        if (k != o->keys[i])
            free(k);
        free(v);
        return KVKIT_NOMEM;
    }
    memcpy(v, value, value_len);
    free(o->values[i]);
    o->keys[i] = k;
    o->values[i] = v;
    o->lens[i] = value_len;
    return KVKIT_OK;
}

KVKIT_BACKEND_DECLARE(delete);
int KVKIT_BACKEND_SYMBOL(kvkit_backend_delete)(void *h, const char *bucket, const char *key,
                                               kvkit_error_t *err)
{
    odd_t *o = h;
    int i = slot(o, key);
    if (i >= 0) {
        free(o->keys[i]);
        free(o->values[i]);
        o->keys[i] = o->values[i] = NULL;
    }
    return KVKIT_OK;
}
