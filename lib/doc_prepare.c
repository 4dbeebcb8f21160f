/*
 * doc_prepare.c - what a save writes: the one prepare path (validate,
 * convert to stored form, extract index entries) shared by kvkit_doc_save
 * and kvkit_schema_prepare, and the index entries of an object.
 */
#include "doc_private.h"

#include <stdio.h>

/*** index entries ***/

/* values: NULL, or the object's value of each property (NULL: absent). */
static int entries(const kvkit_schema_t *s, const json_t *object, const json_t *const *values,
                   bool db, kvkit_index_set_t *set, kvkit_error_t *err)
{
    for (size_t i = 0; i < s->n_props; i++) {
        const kvkit_prop_t *p = s->props[i];
        if (!(p->flags & KVKIT_PROP_INDEX))
            continue;
        const json_t *value = values ? values[i] : json_object_get(object, p->name);
        if (value == NULL || json_is_null(value))
            continue;
        int rc;
        if (p->kind == KVKIT_PROP_ENUM && !db) {
            long k = kvkit__enum_index(p, value);
            if (k < 0)
                return kvkit__error(err, KVKIT_INVALID, p->name,
                                    "\"%s\": not one of the enum values", p->name);
            json_t *ix = json_integer(k);
            if (ix == NULL)
                return kvkit__error(err, KVKIT_NOMEM, p->name, "out of memory");
            rc = kvkit_index_set_add(set, p->name, ix, err);
            json_decref(ix);
        } else {
            rc = kvkit_index_set_add(set, p->name, value, err);
        }
        if (rc != KVKIT_OK)
            return rc;
    }
    return KVKIT_OK;
}

int kvkit__index_entries(const kvkit_schema_t *s, const json_t *object, bool db,
                         kvkit_index_set_t *set, kvkit_error_t *err)
{
    return entries(s, object, NULL, db, set, err);
}

int kvkit_schema_index_set(const kvkit_schema_t *s, const json_t *object, kvkit_index_set_t *set,
                           kvkit_error_t *err)
{
    if (s == NULL || !json_is_object(object) || set == NULL)
        return kvkit__error(err, KVKIT_INVALID, "",
                            "kvkit_schema_index_set: needs a schema, "
                            "an object and a set");
    return kvkit__index_entries(s, object, false, set, err);
}

/*** prepare ***/

/* Schemas with up to this many properties keep the values validation found
 * (on the stack) for the index entries. */
#define PREPARE_VALUES 64

int kvkit__prepare(const kvkit_schema_t *s, const json_t *object, const char *kind,
                   const char *name, json_t **db_out, kvkit_index_set_t *set, kvkit_error_t *err)
{
    const json_t *values[PREPARE_VALUES];
    kvkit__vctx_t v;
    kvkit__vctx_init(&v, false, NULL);
    if (s->n_props <= PREPARE_VALUES)
        v.values = values;
    kvkit__validate(s, object, &v);
    int rc;
    if (v.n_fail > 0 || v.nomem) { /* the subject is formatted for a report only */
        char what[KVKIT_ERROR_SUBJECT_LENGTH];
        snprintf(what, sizeof what, "%s \"%s\"", kind, name);
        return kvkit__vctx_report(&v, what, err);
    }
    json_t *db;
    if ((rc = kvkit__to_db(s, (json_t *)object, &db, err)) != KVKIT_OK)
        return rc;
    kvkit_index_set_clear(set);
    /* nothing converted: the stored form is the object validation read */
    bool same = db == object && v.values != NULL;
    if ((rc = entries(s, db, same ? values : NULL, true, set, err)) != KVKIT_OK) {
        json_decref(db);
        return rc;
    }
    *db_out = db;
    return KVKIT_OK;
}

int kvkit_schema_prepare(const kvkit_schema_t *s, const json_t *object, json_t **db_out,
                         kvkit_index_set_t *set, kvkit_error_t *err)
{
    if (db_out)
        *db_out = NULL;
    if (s == NULL || object == NULL || db_out == NULL || set == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_schema_prepare: NULL argument");
    return kvkit__prepare(s, object, "schema", s->name, db_out, set, err);
}
