/* fuzz_document - arbitrary JSON into documents of a schema that uses every
 * property kind (string, number, integer, boolean, dict, list, embedded,
 * embedded list, reference eager/lenient and on-demand/strict, enum,
 * datetime, password, generic; indexes on every indexable kind; a strict
 * schema and a lenient child of it).
 *
 * Input: one byte (bit 0: child schema, bit 1: the bytes are the stored
 * form read by kvkit_doc_get rather than the JSON form given to
 * kvkit_doc_deserialize), then JSON text.  Checked: statuses stay in the
 * documented set and carry messages; is_valid agrees with invalids; a valid
 * document saves, reads back and serializes to what was saved; to_db /
 * from_db / index_set never crash on arbitrary objects. */
#include <kvkit/kvkit.h>

#include "fuzz_backend.h"
#include "fuzz_common.h"

static const char schema_json[] =
    "{\"Other\": {\"bucket\": \"other\", \"properties\": {\"name\": {\"type\": \"string\"}}},"
    " \"Addr\": {\"properties\": {\"zip\": {\"type\": \"string\", \"required\": true},"
    "                            \"n\": {\"type\": \"integer\", \"default\": 1}}},"
    " \"Doc\": {\"bucket\": \"docs\", \"strict\": true, \"properties\": {"
    "   \"s\": {\"type\": \"string\", \"index\": true, \"required\": true},"
    "   \"num\": {\"type\": \"number\", \"index\": true},"
    "   \"int\": {\"type\": \"integer\", \"index\": true, \"default\": 3},"
    "   \"b\": {\"type\": \"boolean\"},"
    "   \"d\": {\"type\": \"dict\"},"
    "   \"l\": {\"type\": \"list\", \"index\": true},"
    "   \"e\": {\"type\": \"embedded\", \"schema\": \"Addr\"},"
    "   \"el\": {\"type\": \"embedded_list\", \"schema\": {\"properties\":"
    "            {\"q\": {\"type\": \"integer\", \"required\": true},"
    "             \"sub\": {\"type\": \"embedded\", \"schema\": \"Addr\"}}}},"
    "   \"r\": {\"type\": \"reference\", \"schema\": \"Other\", \"index\": true, \"strict\": false},"
    "   \"rl\": {\"type\": \"reference\", \"schema\": \"Other\", \"load_on_demand\": true},"
    "   \"en\": {\"type\": \"enum\", \"values\": [\"a\", \"b\", 3, 2.5], \"index\": true},"
    "   \"dt\": {\"type\": \"datetime\", \"index\": true},"
    "   \"pw\": {\"type\": \"password\"},"
    "   \"g\": {\"type\": \"generic\"}}},"
    " \"Loose\": {\"parent\": \"Doc\", \"strict\": false, \"bucket\": \"loose\","
    "   \"properties\": {\"extra\": {\"type\": \"list\"}}}}";

static kvkit_store_t *store;
static kvkit_schema_list_t *schemas;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    unsetenv("KVKIT_PLUGIN_PATH");
    kvkit_error_t err = {0};
    if (kvkit_backend_register(&fzm_ops, &err) != KVKIT_OK ||
        (store = kvkit_store_open("fzmem:", &err)) == NULL ||
        kvkit_schema_list_load_string(schema_json, store, &schemas, &err) != KVKIT_OK) {
        fprintf(stderr, "fuzz_document setup: %s\n", err.text);
        abort();
    }
    return 0;
}

static int rc_ok(int rc)
{
    return rc == KVKIT_OK || rc == KVKIT_INVALID || rc == KVKIT_VALIDATION ||
           rc == KVKIT_CORRUPT || rc == KVKIT_NOTFOUND;
}

static void check_doc(kvkit_doc_t *doc)
{
    json_t *inv = NULL;
    kvkit_error_t e = {0};
    int rc = kvkit_doc_invalids(doc, &inv, &e);
    FUZZ_CHECK(inv != NULL && json_is_array(inv), "invalids gave no array");
    FUZZ_CHECK((rc == KVKIT_OK) == (json_array_size(inv) == 0),
               "invalids: status %d with %zu fields", rc, json_array_size(inv));
    FUZZ_CHECK((rc == KVKIT_OK) == (kvkit_doc_is_valid(doc) != 0), "is_valid disagrees");
    if (rc != KVKIT_OK)
        FUZZ_CHECK(rc == KVKIT_VALIDATION && e.text[0], "invalids: %d without message", rc);
    json_decref(inv);

    json_t *before = NULL;
    e = (kvkit_error_t){0};
    rc = kvkit_doc_serialize(doc, NULL, 0, &before, &e);
    FUZZ_CHECK(rc == KVKIT_OK, "serialize: %d %s", rc, e.text);

    /* arbitrary object through the plain-JSON schema operations */
    const kvkit_schema_t *s = kvkit_doc_schema(doc);
    json_t *db = NULL, *back = NULL;
    kvkit_index_set_t *set = kvkit_index_set_create();
    e = (kvkit_error_t){0};
    rc = kvkit_schema_to_db(s, before, &db, &e);
    FUZZ_CHECK(rc_ok(rc), "to_db: %d", rc);
    if (rc == KVKIT_OK) {
        e = (kvkit_error_t){0};
        rc = kvkit_schema_from_db(s, db, &back, &e);
        FUZZ_CHECK(rc_ok(rc), "from_db: %d", rc);
    }
    e = (kvkit_error_t){0};
    rc = kvkit_schema_index_set(s, before, set, &e);
    FUZZ_CHECK(rc_ok(rc), "index_set: %d", rc);
    json_decref(db);
    json_decref(back);
    kvkit_index_set_destroy(set);

    /* a valid document saves and reads back as it was */
    e = (kvkit_error_t){0};
    rc = kvkit_doc_save(doc, &e);
    if (kvkit_doc_is_valid(doc))
        FUZZ_CHECK(rc == KVKIT_OK || rc == KVKIT_INVALID, "save of a valid doc: %d %s", rc, e.text);
    else
        FUZZ_CHECK(rc == KVKIT_VALIDATION, "save of an invalid doc: %d", rc);
    if (rc == KVKIT_OK) {
        kvkit_doc_t *again = NULL;
        e = (kvkit_error_t){0};
        rc = kvkit_doc_get(s, kvkit_doc_key(doc), &again, &e);
        FUZZ_CHECK(rc == KVKIT_OK, "get after save: %d %s", rc, e.text);
        json_t *after = NULL;
        FUZZ_CHECK(kvkit_doc_serialize(again, NULL, 0, &after, NULL) == KVKIT_OK, "serialize");
        /* every attribute comes back as it was; an unset declared one may
         * come back with its default (defaults apply on read) */
        const char *name;
        json_t *val;
        int same = 1;
        json_object_foreach(before, name, val)
            same &= json_equal(val, json_object_get(after, name));
        json_object_foreach(after, name, val)
            same &= json_object_get(before, name) != NULL || kvkit_schema_prop(s, name) != NULL;
        if (!same) {
            char *x = json_dumps(before, JSON_SORT_KEYS), *y = json_dumps(after, JSON_SORT_KEYS);
            FUZZ_CHECK(0, "save/get changed the document:\n  %s\n  %s", x, y);
        }
        json_decref(after);
        kvkit_doc_destroy(again);
    }
    json_decref(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    kvkit_schema_t *s = kvkit_schema_list_find(schemas, data[0] & 1 ? "Loose" : "Doc");
    fzmem_put("other", "t1", "{\"name\": \"target\"}", 18);
    kvkit_doc_t *doc = NULL;
    kvkit_error_t e = {0};
    int rc;
    if (data[0] & 2) {
        fzmem_put(kvkit_schema_bucket(s), "raw", (const char *)data + 1, size - 1);
        rc = kvkit_doc_get(s, "raw", &doc, &e);
        FUZZ_CHECK(rc_ok(rc), "doc_get: %d %s", rc, e.text);
        FUZZ_CHECK((rc == KVKIT_OK) == (doc != NULL), "doc_get result and status disagree");
        if (rc != KVKIT_OK && rc != KVKIT_NOTFOUND)
            FUZZ_CHECK(e.code == rc && e.text[0], "doc_get %d without message", rc);
    } else {
        json_t *obj = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
        rc = kvkit_doc_new(s, "k", &doc, &e);
        FUZZ_CHECK(rc == KVKIT_OK, "doc_new: %d %s", rc, e.text);
        e = (kvkit_error_t){0};
        rc = kvkit_doc_deserialize(doc, obj, &e);
        FUZZ_CHECK(rc_ok(rc), "deserialize: %d %s", rc, e.text);
        if (json_is_object(obj)) { /* merge the same members on top */
            e = (kvkit_error_t){0};
            FUZZ_CHECK(rc_ok(kvkit_doc_merge(doc, obj, KVKIT_MERGE_NULLS, &e)), "merge");
        }
        json_decref(obj);
    }
    if (doc != NULL)
        check_doc(doc);
    kvkit_doc_destroy(doc);
    fzmem_reset();
    return 0;
}
