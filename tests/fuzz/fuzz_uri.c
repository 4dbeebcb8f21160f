/* fuzz_uri - the store-string parser: kvkit__uri_parse directly (checking
 * what it promises about its result) and kvkit_store_open through a
 * backend registered in-process, so the whole open path runs without files. */
#include "kvkit_private.h"

#include "fuzz_common.h"

static int fz_open(const char *location, const kvkit_backend_option_t *options,
                   size_t n_options, void **handle, kvkit_error_t *err)
{
    (void)location;
    for (size_t i = 0; i < n_options; i++)
        if (strcmp(options[i].key, "fail") == 0)
            return kvkit_backend_error(err, KVKIT_BAD_OPTION, options[i].key,
                                       "unknown option \"%s\"", options[i].key);
    *handle = malloc(1);
    return *handle ? KVKIT_OK : KVKIT_NOMEM;
}
static void fz_close(void *h) { free(h); }
static int fz_get(void *h, const char *b, const char *k, char **v, size_t *vl,
                  kvkit_error_t *e)
{
    (void)h, (void)b, (void)k, (void)v, (void)vl, (void)e;
    return KVKIT_NOTFOUND;
}
static int fz_save(void *h, const char *b, const char *k, const char *v, size_t vl,
                   const kvkit_index_entry_t *en, size_t n, kvkit_error_t *e)
{
    (void)h, (void)b, (void)k, (void)v, (void)vl, (void)en, (void)n, (void)e;
    return KVKIT_OK;
}
static int fz_del(void *h, const char *b, const char *k, kvkit_error_t *e)
{
    (void)h, (void)b, (void)k, (void)e;
    return KVKIT_OK;
}
static const kvkit_backend_descriptor_t fz_desc = {
    KVKIT_BACKEND_ABI_MAJOR, KVKIT_BACKEND_ABI_MINOR, sizeof(kvkit_backend_descriptor_t),
    KVKIT_BACKEND_THREAD_SAFE, "fz", "1", "fuzz backend", {0}};
static const kvkit_backend_ops_t fz_ops = {
    .descriptor = &fz_desc, .open = fz_open, .close = fz_close, .get = fz_get,
    .save = fz_save, .del = fz_del};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    unsetenv("KVKIT_PLUGIN_PATH");
    if (kvkit_backend_register(&fz_ops, NULL) != KVKIT_OK)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    kvkit__uri_t u;
    kvkit_error_t err = {0};
    int rc = kvkit__uri_parse(s, &u, &err);
    if (rc == KVKIT_OK) {
        FUZZ_CHECK(err.code == KVKIT_OK, "error filled on success");
        FUZZ_CHECK(kvkit__name_check(u.name, strlen(u.name), NULL) == KVKIT_OK,
                   "accepted bad name \"%s\"", u.name);
        FUZZ_CHECK(strncmp(s, u.name, strlen(u.name)) == 0 && s[strlen(u.name)] == ':',
                   "name is not the prefix");
        FUZZ_CHECK(strchr(u.location, '?') == NULL, "location holds '?'");
        for (size_t i = 0; i < u.n_options; i++) {
            FUZZ_CHECK(u.options[i].key && u.options[i].value, "NULL option");
            FUZZ_CHECK(u.options[i].key[0] != '\0', "empty option key");
            for (size_t j = 0; j < i; j++)
                FUZZ_CHECK(strcmp(u.options[i].key, u.options[j].key) != 0,
                           "duplicate key \"%s\"", u.options[i].key);
        }
        kvkit__uri_free(&u);
    } else {
        FUZZ_CHECK(err.code == rc, "status %d but report %d", rc, err.code);
        FUZZ_CHECK(err.text[0] != '\0', "no message for status %d", rc);
        FUZZ_CHECK(u.name == NULL && u.options == NULL, "result left allocated");
    }

    /* the same string through kvkit_store_open, aimed at the built-in
     * backend (the fuzzer's own name part goes to the loader otherwise,
     * which only ever stats /nonexistent/NAME.so) */
    kvkit_error_t oerr = {0};
    kvkit_store_t *st = kvkit_store_open(s, &oerr);
    FUZZ_CHECK((st != NULL) == (oerr.code == KVKIT_OK), "open result and report disagree");
    kvkit_store_close(st);
    const char *colon = strchr(s, ':');
    size_t rest = colon ? strlen(colon) : 0;
    char *fz = malloc(3 + rest + 1);
    memcpy(fz, "fz", 2);
    memcpy(fz + 2, colon ? colon : ":", colon ? rest + 1 : 2);
    kvkit_error_t ferr = {0};
    st = kvkit_store_open(fz, &ferr);
    FUZZ_CHECK((st != NULL) == (ferr.code == KVKIT_OK), "open result and report disagree");
    kvkit_store_close(st);
    free(fz);
    free(s);
    return 0;
}
