/*
 * doc_attr.c - document attributes: json_t get/set/unset with jansson's
 * ownership naming, typed helpers.  A string set on a password property is
 * hashed (doc_password.c) before it is stored.
 */
#include "doc_private.h"

#include <math.h>
#include <string.h>

/*** get ***/

int kvkit_doc_attr_get(const kvkit_doc_t *d, const char *name, json_t **value, kvkit_error_t *err)
{
    if (value)
        *value = NULL;
    int rc = kvkit__doc_check_name(d, name, err);
    if (rc != KVKIT_OK)
        return rc;
    if (value == NULL)
        return kvkit__error(err, KVKIT_INVALID, name, "kvkit_doc_attr_get: value is NULL");
    json_t *v = json_object_get(d->data, name);
    if (v == NULL) {
        if (kvkit__schema_find(d->schema, name) == NULL)
            return kvkit__error(err, KVKIT_INVALID, name,
                                "%s has no attribute \"%s\": neither declared nor set",
                                d->schema->name, name);
        v = json_null();
    }
    *value = v;
    return KVKIT_OK;
}

int kvkit_doc_attr_has(const kvkit_doc_t *d, const char *name)
{
    return d != NULL && name != NULL && json_object_get(d->data, name) != NULL;
}

/*** set / unset ***/

int kvkit_doc_attr_set_new(kvkit_doc_t *d, const char *name, json_t *value, kvkit_error_t *err)
{
    int rc = kvkit__doc_check_name(d, name, err);
    if (rc != KVKIT_OK) {
        json_decref(value);
        return rc;
    }
    const kvkit_prop_t *p = kvkit__schema_find(d->schema, name);
    if (p != NULL && p->kind == KVKIT_PROP_PASSWORD && json_is_string(value)) {
        json_t *hashed;
        rc = kvkit__password_value(p, json_string_value(value), &hashed, err);
        json_decref(value);
        if (rc != KVKIT_OK)
            return rc;
        value = hashed;
    }
    return kvkit__doc_put(d, name, value, err);
}

int kvkit_doc_attr_set(kvkit_doc_t *d, const char *name, json_t *value, kvkit_error_t *err)
{
    return kvkit_doc_attr_set_new(d, name, value ? json_incref(value) : NULL, err);
}

int kvkit_doc_attr_unset(kvkit_doc_t *d, const char *name, kvkit_error_t *err)
{
    int rc = kvkit__doc_check_name(d, name, err);
    if (rc != KVKIT_OK)
        return rc;
    const kvkit_prop_t *p = kvkit__schema_find(d->schema, name);
    if (p != NULL && p->kind == KVKIT_PROP_REFERENCE)
        kvkit__doc_drop_refs(d, p);
    json_object_del(d->data, name);
    return KVKIT_OK;
}

/*** typed setters: the value is built here, then stolen ***/

static int set_built(kvkit_doc_t *d, const char *name, json_t *v, kvkit_error_t *err)
{
    if (v == NULL) {
        int rc = kvkit__doc_check_name(d, name, err);
        return rc != KVKIT_OK ? rc
                              : kvkit__error(err, KVKIT_NOMEM, name,
                                             "out of memory setting "
                                             "\"%s\"",
                                             name);
    }
    return kvkit_doc_attr_set_new(d, name, v, err);
}

int kvkit_doc_attr_set_string(kvkit_doc_t *d, const char *name, const char *value,
                              kvkit_error_t *err)
{
    if (value == NULL)
        return set_built(d, name, json_null(), err);
    json_t *v = json_string(value);
    if (v == NULL && kvkit__doc_check_name(d, name, NULL) == KVKIT_OK) {
        /* out of memory, or not UTF-8: the unchecked copy tells which */
        json_t *raw = json_string_nocheck(value);
        json_decref(raw);
        if (raw != NULL)
            return kvkit__error(err, KVKIT_INVALID, name, "\"%s\": value is not valid UTF-8", name);
    }
    return set_built(d, name, v, err);
}

int kvkit_doc_attr_set_integer(kvkit_doc_t *d, const char *name, int64_t value, kvkit_error_t *err)
{
    return set_built(d, name, json_integer((json_int_t)value), err);
}

int kvkit_doc_attr_set_real(kvkit_doc_t *d, const char *name, double value, kvkit_error_t *err)
{
    if (!isfinite(value))
        return kvkit__error(err, KVKIT_INVALID, name ? name : "",
                            "\"%s\": JSON has no NaN or infinity", name ? name : "");
    return set_built(d, name, json_real(value), err);
}

int kvkit_doc_attr_set_bool(kvkit_doc_t *d, const char *name, int value, kvkit_error_t *err)
{
    return set_built(d, name, json_boolean(value), err);
}

int kvkit_doc_attr_set_datetime(kvkit_doc_t *d, const char *name, double epoch, kvkit_error_t *err)
{
    if (!isfinite(epoch))
        return kvkit__error(err, KVKIT_INVALID, name ? name : "", "\"%s\": not a finite time",
                            name ? name : "");
    if (epoch == trunc(epoch) && fabs(epoch) < 9e15)
        return set_built(d, name, json_integer((json_int_t)epoch), err);
    return set_built(d, name, json_real(epoch), err);
}

/*** typed getters ***/

/* The attribute's value; KVKIT_NOTFOUND (no message) for null/unset. */
static int get_value(const kvkit_doc_t *d, const char *name, const void *out, json_t **v,
                     kvkit_error_t *err)
{
    int rc = kvkit_doc_attr_get(d, name, v, err);
    if (rc != KVKIT_OK)
        return rc;
    if (out == NULL)
        return kvkit__error(err, KVKIT_INVALID, name, "\"%s\": output pointer is NULL", name);
    return json_is_null(*v) ? KVKIT_NOTFOUND : KVKIT_OK;
}

static int wrong_type(const char *name, const char *want, kvkit_error_t *err)
{
    return kvkit__error(err, KVKIT_INVALID, name, "attribute \"%s\" is not %s", name, want);
}

int kvkit_doc_attr_get_string(const kvkit_doc_t *d, const char *name, const char **value,
                              kvkit_error_t *err)
{
    json_t *v;
    int rc = get_value(d, name, value, &v, err);
    if (rc != KVKIT_OK)
        return rc;
    if (!json_is_string(v))
        return wrong_type(name, "a string", err);
    *value = json_string_value(v);
    return KVKIT_OK;
}

int kvkit_doc_attr_get_integer(const kvkit_doc_t *d, const char *name, int64_t *value,
                               kvkit_error_t *err)
{
    json_t *v;
    int rc = get_value(d, name, value, &v, err);
    if (rc != KVKIT_OK)
        return rc;
    if (json_is_integer(v)) {
        *value = json_integer_value(v);
        return KVKIT_OK;
    }
    double r = json_real_value(v);
    if (!json_is_real(v) || r != trunc(r) || fabs(r) >= 9.2e18)
        return wrong_type(name, "an integer", err);
    *value = (int64_t)r;
    return KVKIT_OK;
}

int kvkit_doc_attr_get_real(const kvkit_doc_t *d, const char *name, double *value,
                            kvkit_error_t *err)
{
    json_t *v;
    int rc = get_value(d, name, value, &v, err);
    if (rc != KVKIT_OK)
        return rc;
    if (!json_is_number(v))
        return wrong_type(name, "a number", err);
    *value = json_number_value(v);
    return KVKIT_OK;
}

int kvkit_doc_attr_get_bool(const kvkit_doc_t *d, const char *name, int *value, kvkit_error_t *err)
{
    json_t *v;
    int rc = get_value(d, name, value, &v, err);
    if (rc != KVKIT_OK)
        return rc;
    if (!json_is_boolean(v))
        return wrong_type(name, "a boolean", err);
    *value = json_is_true(v);
    return KVKIT_OK;
}

int kvkit_doc_attr_get_datetime(const kvkit_doc_t *d, const char *name, double *epoch,
                                kvkit_error_t *err)
{
    json_t *v;
    int rc = get_value(d, name, epoch, &v, err);
    if (rc != KVKIT_OK)
        return rc;
    if (!json_is_number(v))
        return wrong_type(name, "a datetime (epoch seconds)", err);
    *epoch = json_number_value(v);
    return KVKIT_OK;
}
