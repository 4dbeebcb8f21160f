/*
 * indexer.c - where the tool gets a document's index entries from:
 *
 *  --schema FILE   the document layer's schema (validation, stored
 *                  form, indexed properties, inheritance: schema.c);
 *  --index FIELDS  top-level fields taken as they are (scalars, or arrays
 *                  of scalars: one entry per element; null/absent: none).
 *
 * put/import/copy/check all go through here, so they index alike.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct cli_indexer {
    const char **fields; /* --index, borrowed from argv */
    size_t n_fields;
    struct cli_schema *schema; /* --schema (schema.c) */
};

cli_indexer_t *cli_indexer_create(const char *schema_file, const char **fields, size_t n_fields,
                                  int *status)
{
    if (schema_file != NULL && n_fields > 0) {
        *status = cli_error(EXIT_USAGE, "--schema and --index exclude each other");
        return NULL;
    }
    cli_indexer_t *ix = calloc(1, sizeof *ix);
    if (ix == NULL) {
        *status = cli_error(EXIT_BACKEND, "out of memory");
        return NULL;
    }
    ix->fields = fields;
    ix->n_fields = n_fields;
    for (size_t i = 0; i < n_fields; i++) {
        size_t len = strlen(fields[i]);
        if (len == 0 || len > KVKIT_FIELD_MAX || fields[i][0] == '$') {
            *status = cli_error(EXIT_USAGE, "--index: invalid field name \"%s\"", fields[i]);
            free(ix);
            return NULL;
        }
    }
    if (schema_file != NULL) {
        kvkit_error_t err = {0};
        if (cli_schema_load(schema_file, &ix->schema, &err) != KVKIT_OK) {
            *status = cli_fail(&err);
            free(ix);
            return NULL;
        }
    }
    return ix;
}

void cli_indexer_destroy(cli_indexer_t *ix)
{
    if (ix == NULL)
        return;
    cli_schema_free(ix->schema);
    free(ix);
}

int cli_indexer_active(const cli_indexer_t *ix)
{
    return ix->schema != NULL || ix->n_fields > 0;
}

int cli_indexer_bind(cli_indexer_t *ix, const char *bucket, kvkit_error_t *err)
{
    return ix->schema != NULL ? cli_schema_bind(ix->schema, bucket, err) : KVKIT_OK;
}

size_t cli_indexer_buckets(const cli_indexer_t *ix, const char **buckets, size_t max)
{
    return ix->schema != NULL ? cli_schema_buckets(ix->schema, buckets, max) : 0;
}

struct cli_schema *cli_indexer_schema(const cli_indexer_t *ix)
{
    return ix->schema;
}

static int fields_entries(cli_indexer_t *ix, const json_t *doc, kvkit_index_set_t *set,
                          kvkit_error_t *err)
{
    if (ix->n_fields == 0)
        return KVKIT_OK;
    if (!json_is_object(doc))
        return kvkit_backend_error(err, KVKIT_VALIDATION, "",
                                   "document is not a JSON object, cannot index it");
    for (size_t i = 0; i < ix->n_fields; i++) {
        const json_t *v = json_object_get(doc, ix->fields[i]);
        if (v == NULL || json_is_null(v))
            continue;
        kvkit_error_t e = {0};
        int rc = kvkit_index_set_add(set, ix->fields[i], v, &e);
        if (rc == KVKIT_INVALID)
            return kvkit_backend_error(err, KVKIT_VALIDATION, ix->fields[i],
                                       "field \"%s\" cannot be indexed: %s", ix->fields[i], e.text);
        if (rc != KVKIT_OK) {
            *err = e;
            return rc;
        }
    }
    return KVKIT_OK;
}

int cli_indexer_prepare(cli_indexer_t *ix, const json_t *doc, int stored, char **value,
                        kvkit_index_set_t *set, kvkit_error_t *err)
{
    kvkit_index_set_clear(set);
    if (ix->schema != NULL)
        return cli_schema_prepare(ix->schema, doc, stored, value, set, err);
    int rc = fields_entries(ix, doc, set, err);
    if (rc == KVKIT_OK && value != NULL &&
        (*value = json_dumps(doc, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
        rc = kvkit_backend_error(err, KVKIT_NOMEM, "", "out of memory");
    return rc;
}

/*** the fast path (jsonline.c) ***/

/* A member's JSON text as a value to index: strings without escapes and
 * integers directly, anything else through jansson. */
static json_t *line_value(const char *text, size_t len)
{
    if (len >= 2 && text[0] == '"' && memchr(text, '\\', len) == NULL)
        return json_stringn_nocheck(text + 1, len - 2); /* UTF-8 checked by the scan */
    size_t sign = len > 0 && text[0] == '-', digits = sign;
    while (digits < len && text[digits] >= '0' && text[digits] <= '9')
        digits++;
    if (digits == len && len > sign && len - sign <= 18) {
        /* an integer as the scan accepts them: at most 18 digits, no overflow */
        json_int_t v = 0;
        for (size_t i = sign; i < len; i++)
            v = v * 10 + (text[i] - '0');
        return json_integer(sign ? -v : v);
    }
    return json_loadb(text, len, JSON_DECODE_ANY, NULL);
}

int cli_indexer_prepare_line(cli_indexer_t *ix, const cli_jsonline_t *line, kvkit_index_set_t *set)
{
    if (ix->schema != NULL)
        return 0;
    kvkit_index_set_clear(set);
    for (size_t i = 0; i < ix->n_fields; i++) {
        const cli_jsonline_member_t *m = NULL;
        size_t flen = strlen(ix->fields[i]);
        for (size_t j = 0; j < line->n_members && m == NULL; j++)
            if (line->members[j].name_len == flen &&
                memcmp(line->members[j].name, ix->fields[i], flen) == 0)
                m = &line->members[j];
        if (m == NULL || (m->value_len == 4 && memcmp(m->value, "null", 4) == 0))
            continue;
        json_t *v = line_value(m->value, m->value_len);
        /* errors are reported by the jansson path, with its messages */
        int rc = v != NULL ? kvkit_index_set_add(set, ix->fields[i], v, NULL) : KVKIT_NOMEM;
        json_decref(v);
        if (rc != KVKIT_OK)
            return 0;
    }
    return 1;
}

int cli_indexer_query_value(cli_indexer_t *ix, const char *field, const char *text,
                            int force_string, json_t **out, kvkit_error_t *err)
{
    if (ix->schema != NULL && field[0] != '$')
        return cli_schema_query_value(ix->schema, field, text, force_string, out, err);
    *out = strcmp(field, "$key") == 0 ? json_string(text) : cli_query_value(text, force_string);
    if (*out == NULL)
        return kvkit_backend_error(err, KVKIT_VALIDATION, field,
                                   "query value for \"%s\" is not valid UTF-8", field);
    return KVKIT_OK;
}

json_t *cli_indexer_values(cli_indexer_t *ix, const json_t *doc, kvkit_error_t *err)
{
    if (ix->schema != NULL)
        return cli_schema_values(ix->schema, doc, err);
    json_t *out = cli_field_values(doc, (const char *const *)ix->fields, ix->n_fields);
    if (out == NULL)
        kvkit_backend_error(err, KVKIT_NOMEM, "", "out of memory");
    return out;
}

size_t cli_indexer_fields(const cli_indexer_t *ix, const char *const **fields)
{
    if (ix->schema != NULL)
        return cli_schema_fields(ix->schema, fields);
    *fields = ix->fields;
    return ix->n_fields;
}
