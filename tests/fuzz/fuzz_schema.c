/* fuzz_schema - schema lists from arbitrary JSON descriptions
 * (kvkit_schema_list_load_string): no crash, no leak, a failure carries a
 * message; every schema of a list that loads can create a document with its
 * defaults, serialize it, validate it and prepare it for saving. */
#include <kvkit/kvkit.h>

#include "fuzz_backend.h"
#include "fuzz_common.h"

static kvkit_store_t *store;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    unsetenv("KVKIT_PLUGIN_PATH");
    if (kvkit_backend_register(&fzm_ops, NULL) != KVKIT_OK ||
        (store = kvkit_store_open("fzmem:", NULL)) == NULL)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    kvkit_schema_list_t *list = NULL;
    kvkit_error_t err = {0};
    int rc = kvkit_schema_list_load_string(text, store, &list, &err);
    if (rc != KVKIT_OK) {
        FUZZ_CHECK(list == NULL, "list returned with status %d", rc);
        FUZZ_CHECK(err.code == rc && err.text[0], "status %d without a message", rc);
        free(text);
        return 0;
    }
    size_t n = kvkit_schema_list_count(list);
    for (size_t i = 0; i < n; i++) {
        kvkit_schema_t *s = kvkit_schema_list_at(list, i);
        FUZZ_CHECK(s != NULL && kvkit_schema_list_find(list, kvkit_schema_name(s)) == s,
                   "schema %zu not found by name", i);
        for (size_t j = 0; j < kvkit_schema_prop_count(s); j++)
            FUZZ_CHECK(kvkit_prop_kind_name(kvkit_prop_kind(kvkit_schema_prop_at(s, j))),
                       "property of unknown kind");
        kvkit_doc_t *doc = NULL;
        kvkit_error_t e = {0};
        rc = kvkit_doc_new(s, "k", &doc, &e);
        FUZZ_CHECK(rc == KVKIT_OK || rc == KVKIT_INVALID || rc == KVKIT_VALIDATION,
                   "doc_new: %d %s", rc, e.text);
        if (rc != KVKIT_OK)
            continue;
        json_t *js = NULL, *db = NULL;
        e = (kvkit_error_t){0};
        if (kvkit_doc_serialize(doc, NULL, KVKIT_SERIALIZE_KEY, &js, &e) == KVKIT_OK) {
            kvkit_index_set_t *set = kvkit_index_set_create();
            e = (kvkit_error_t){0};
            rc = kvkit_schema_prepare(s, js, &db, set, &e);
            FUZZ_CHECK(rc != KVKIT_OK || db != NULL, "prepare OK without a result");
            if (rc != KVKIT_OK)
                FUZZ_CHECK(e.code == rc && e.text[0], "prepare %d without a message", rc);
            json_decref(db);
            kvkit_index_set_destroy(set);
            json_decref(js);
        }
        json_t *inv = NULL;
        e = (kvkit_error_t){0};
        rc = kvkit_doc_invalids(doc, &inv, &e);
        FUZZ_CHECK(inv != NULL, "invalids gave no array (rc %d)", rc);
        FUZZ_CHECK((rc == KVKIT_OK) == (json_array_size(inv) == 0),
                   "invalids: status %d with %zu fields", rc, json_array_size(inv));
        FUZZ_CHECK((rc == KVKIT_OK) == (kvkit_doc_is_valid(doc) != 0),
                   "is_valid disagrees with invalids");
        json_decref(inv);
        kvkit_doc_destroy(doc);
    }
    kvkit_schema_list_destroy(list);
    fzmem_reset();
    free(text);
    return 0;
}
