/*
 * schema.c - --schema FILE: the document layer's schema, seen by the tool
 * as "validate a document, give me its index entries, tell me the kind of
 * a field".
 *
 * The document layer (include/kvkit/document.h) is not there yet; until it
 * is, --schema reports that it is unavailable.
 */
#include <config.h>

#include "cli.h"

struct cli_schema {
    int unused;
};

int cli_schema_load(const char *path, struct cli_schema **out, kvkit_error_t *err)
{
    *out = NULL;
    return kvkit_backend_error(err, KVKIT_NOT_SUPPORTED, path,
                               "--schema \"%s\": this libkvkit has no document layer", path);
}

void cli_schema_free(struct cli_schema *s)
{
    (void)s;
}

const char *cli_schema_bucket(const struct cli_schema *s)
{
    return NULL;
}

int cli_schema_entries(struct cli_schema *s, const json_t *doc, kvkit_index_set_t *set,
                       kvkit_error_t *err)
{
    return kvkit_backend_error(err, KVKIT_NOT_SUPPORTED, "", "no document layer");
}

int cli_schema_query_value(struct cli_schema *s, const char *field, const char *text,
                           int force_string, json_t **out, kvkit_error_t *err)
{
    return kvkit_backend_error(err, KVKIT_NOT_SUPPORTED, field, "no document layer");
}

json_t *cli_schema_values(struct cli_schema *s, const json_t *doc, kvkit_error_t *err)
{
    kvkit_backend_error(err, KVKIT_NOT_SUPPORTED, "", "no document layer");
    return NULL;
}

size_t cli_schema_fields(const struct cli_schema *s, const char *const **fields)
{
    *fields = NULL;
    return 0;
}
