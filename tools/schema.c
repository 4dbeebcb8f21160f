/*
 * schema.c - --schema FILE: a schema description (kvkit_schema_list_load_file)
 * seen by the tool as "validate this document, give me its stored bytes and
 * index entries, tell me how to query a field".
 *
 * Which schema of the file applies to a bucket: the one whose bucket it is;
 * else, when the file has a single schema, that one.
 *
 * Forms: put takes the JSON form (as a program would set attributes);
 * import, copy and check take the stored form (what export writes), which
 * is converted back with kvkit_schema_from_db before validation.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct cli_schema {
    kvkit_schema_list_t *list;
    kvkit_schema_t *cur; /* bound by cli_schema_bind */
    char *path;
    const char **fields; /* indexed property names of cur */
    size_t n_fields;
};

int cli_schema_load(const char *path, struct cli_schema **out, kvkit_error_t *err)
{
    *out = NULL;
    struct cli_schema *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        return kvkit_backend_error(err, KVKIT_NOMEM, "", "out of memory");
    }
    kvkit_error_t e = {0};
    int rc = kvkit_schema_list_load_file(path, NULL, &s->list, &e);
    /* loaded with no store, so KVKIT_INVALID is the description's fault:
     * a bad --schema argument */
    if (rc == KVKIT_INVALID)
        rc = kvkit_backend_error(err, CLI_USAGE_ERROR, e.subject, "%s", e.text);
    else if (rc != KVKIT_OK)
        *err = e;
    if (rc == KVKIT_OK && kvkit_schema_list_count(s->list) == 0)
        rc = kvkit_backend_error(err, CLI_USAGE_ERROR, path, "--schema \"%s\": no schema in it",
                                 path);
    if (rc != KVKIT_OK) {
        cli_schema_free(s);
        return rc;
    }
    *out = s;
    return KVKIT_OK;
}

void cli_schema_free(struct cli_schema *s)
{
    if (s == NULL)
        return;
    kvkit_schema_list_destroy(s->list);
    free(s->fields);
    free(s->path);
    free(s);
}

int cli_schema_bind(struct cli_schema *s, const char *bucket, kvkit_error_t *err)
{
    size_t n = kvkit_schema_list_count(s->list);
    kvkit_schema_t *found = NULL;
    for (size_t i = 0; i < n && found == NULL; i++) {
        kvkit_schema_t *sc = kvkit_schema_list_at(s->list, i);
        if (strcmp(kvkit_schema_bucket(sc), bucket) == 0)
            found = sc;
    }
    if (found == NULL && n == 1)
        found = kvkit_schema_list_at(s->list, 0);
    if (found == NULL)
        return kvkit_backend_error(err, CLI_USAGE_ERROR, bucket,
                                   "--schema \"%s\": no schema for bucket \"%s\"", s->path, bucket);
    s->cur = found;
    s->n_fields = 0;
    size_t np = kvkit_schema_prop_count(found);
    const char **fields = realloc(s->fields, (np ? np : 1) * sizeof *fields);
    if (fields == NULL)
        return kvkit_backend_error(err, KVKIT_NOMEM, "", "out of memory");
    s->fields = fields;
    for (size_t i = 0; i < np; i++) {
        const kvkit_prop_t *p = kvkit_schema_prop_at(found, i);
        if (kvkit_prop_flags(p) & KVKIT_PROP_INDEX)
            s->fields[s->n_fields++] = kvkit_prop_name(p);
    }
    return KVKIT_OK;
}

size_t cli_schema_buckets(const struct cli_schema *s, const char **buckets, size_t max)
{
    size_t n = kvkit_schema_list_count(s->list), k = 0;
    for (size_t i = 0; i < n && k < max; i++)
        buckets[k++] = kvkit_schema_bucket(kvkit_schema_list_at(s->list, i));
    return k;
}

int cli_schema_prepare(struct cli_schema *s, const json_t *doc, int stored, char **value,
                       kvkit_index_set_t *set, kvkit_error_t *err)
{
    json_t *json_form = NULL, *db = NULL;
    int rc = KVKIT_OK;
    if (stored)
        rc = kvkit_schema_from_db(s->cur, doc, &json_form, err);
    if (rc == KVKIT_OK)
        rc = kvkit_schema_prepare(s->cur, stored ? json_form : doc, &db, set, err);
    if (rc == KVKIT_OK && value != NULL &&
        (*value = json_dumps(db, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
        rc = kvkit_backend_error(err, KVKIT_NOMEM, "", "out of memory");
    json_decref(json_form);
    json_decref(db);
    return rc;
}

int cli_schema_json_form(struct cli_schema *s, const json_t *stored, json_t **out,
                         kvkit_error_t *err)
{
    return kvkit_schema_from_db(s->cur, stored, out, err);
}

json_t *cli_schema_values(struct cli_schema *s, const json_t *doc, kvkit_error_t *err)
{
    /* the stored form's values are what the index holds (enums: their index) */
    json_t *out = cli_field_values(doc, (const char *const *)s->fields, s->n_fields);
    if (out == NULL)
        kvkit_backend_error(err, KVKIT_NOMEM, "", "out of memory");
    return out;
}

size_t cli_schema_fields(const struct cli_schema *s, const char *const **fields)
{
    *fields = s->fields;
    return s->n_fields;
}

int cli_schema_query_value(struct cli_schema *s, const char *field, const char *text,
                           int force_string, json_t **out, kvkit_error_t *err)
{
    const kvkit_prop_t *p = kvkit_schema_prop(s->cur, field);
    *out = NULL;
    if (p == NULL || !(kvkit_prop_flags(p) & KVKIT_PROP_INDEX))
        return kvkit_backend_error(err, KVKIT_NOT_INDEXED, field,
                                   "field \"%s\" is not indexed in schema \"%s\"", field,
                                   kvkit_schema_name(s->cur));
    switch (kvkit_prop_kind(p)) {
    case KVKIT_PROP_NUMBER:
    case KVKIT_PROP_INTEGER:
    case KVKIT_PROP_DATETIME:
        *out = force_string ? NULL : cli_query_value(text, 0); /* json_is_*: macros */
        if (!json_is_number(*out)) {
            json_decref(*out);
            *out = NULL;
            return kvkit_backend_error(err, KVKIT_VALIDATION, field,
                                       "field \"%s\" (%s) is queried with numbers: "
                                       "\"%s\" is not a number",
                                       field, kvkit_prop_kind_name(kvkit_prop_kind(p)), text);
        }
        return KVKIT_OK;
    case KVKIT_PROP_STRING:
    case KVKIT_PROP_REFERENCE:
        *out = json_string(text);
        break;
    default: /* enum, list: the command-line rule */
        *out = cli_query_value(text, force_string);
        break;
    }
    if (*out == NULL)
        return kvkit_backend_error(err, KVKIT_VALIDATION, field,
                                   "query value for \"%s\" is not valid UTF-8", field);
    return KVKIT_OK;
}

int cli_schema_run_query(struct cli_schema *s, kvkit_store_t *store, const char *bucket,
                         const char *field, const json_t *lo, const json_t *hi, int docs, int json)
{
    kvkit_error_t err = {0};
    kvkit_query_t *q = NULL;
    /* every named schema, not only this one: documents with references
     * load their targets through the target schema's store */
    for (size_t i = 0, n = kvkit_schema_list_count(s->list); i < n; i++)
        kvkit_schema_set_store(kvkit_schema_list_at(s->list, i), store);
    unsigned flags = docs ? 0 : KVKIT_QUERY_KEYS;
    int rc = kvkit_schema_set_bucket(s->cur, bucket, &err);
    if (rc == KVKIT_OK && strcmp(field, "$bucket") == 0)
        rc = kvkit_query_all(s->cur, NULL, NULL, flags, &q, &err);
    else if (rc == KVKIT_OK)
        rc = kvkit_query_index(s->cur, field, lo, hi, flags, &q, &err);
    if (rc != KVKIT_OK)
        return cli_fail(&err);
    int status = EXIT_OK;
    for (; kvkit_query_valid(q); kvkit_query_next(q)) {
        const char *key = kvkit_query_key(q);
        if (!docs) {
            if (cli_print_key(stdout, key, strlen(key), json) != 0)
                status = cli_error(EXIT_BACKEND, "write error on standard output");
        } else {
            /* documents in their JSON form, as the schema presents them */
            json_t *obj = NULL;
            kvkit_doc_t *doc = kvkit_query_doc(q);
            if (doc == NULL || kvkit_doc_serialize(doc, NULL, 0, &obj, &err) != KVKIT_OK)
                break;
            char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
            json_decref(obj);
            if (text == NULL || cli_print_doc(stdout, key, strlen(key), text, strlen(text)))
                status = cli_error(EXIT_BACKEND, "write error on standard output");
            free(text);
        }
        if (status != EXIT_OK)
            break;
    }
    if (status == EXIT_OK && err.code == KVKIT_OK)
        kvkit_query_status(q, &err);
    if (status == EXIT_OK && err.code != KVKIT_OK)
        status = cli_fail(&err);
    kvkit_query_destroy(q);
    return status;
}
