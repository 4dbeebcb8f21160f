/*
 * doc_jsonutil.c - JSON helpers of the document layer: nesting depth (the
 * depth limit), parsing that tells bad JSON from a failed allocation, and a
 * shallow copy that never comes back with members missing.
 */
#include "doc_private.h"

#include <string.h>

/*** nesting depth ***/

/* Fold a member's depth into *max; true once *max reaches limit (the
 * caller stops looking). */
static bool member_depth(const json_t *m, size_t limit, size_t *max)
{
    if (!json_is_object(m) && !json_is_array(m))
        return false;
    size_t d = kvkit__json_depth(m, limit - 1);
    if (d > *max)
        *max = d;
    return *max >= limit;
}

size_t kvkit__json_depth(const json_t *v, size_t limit)
{
    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    if (limit == 0)
        return 1;
    size_t max = 0;
    json_t *m;
    if (json_is_object(v)) {
        const char *k;
        json_object_foreach((json_t *)v, k, m)
        {
            if (member_depth(m, limit, &max))
                break;
        }
    } else {
        size_t i;
        json_array_foreach(v, i, m)
        {
            if (member_depth(m, limit, &max))
                break;
        }
    }
    return max + 1;
}

/*** parsing ***/

static bool parse_nomem(const json_error_t *jerr)
{
    /* the text first: the code byte is unset when the lexer never started */
    return jerr->text[0] == '\0' || json_error_code(jerr) == json_error_out_of_memory;
}

json_t *kvkit__json_parse(const char *text, size_t len, json_error_t *jerr, bool *nomem)
{
    *nomem = false;
    jerr->text[0] = '\0';
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, jerr);
    if (v != NULL)
        return v;
    if (parse_nomem(jerr)) {
        *nomem = true;
        return NULL;
    }
    json_error_t again;
    again.text[0] = '\0';
    v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &again);
    if (v == NULL)
        *nomem = parse_nomem(&again) || again.position != jerr->position ||
                 strcmp(again.text, jerr->text) != 0;
    return v;
}

/*** copying ***/

/* A shallow copy of an object or array, or NULL when out of memory.
 * jansson's json_copy is not used: when an allocation fails it returns the
 * container with members missing. */
json_t *kvkit__json_copy(json_t *v)
{
    json_t *copy;
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        if ((copy = json_object()) == NULL)
            return NULL;
        json_object_foreach(v, k, m)
        {
            if (json_object_set_nocheck(copy, k, m) != 0) {
                json_decref(copy);
                return NULL;
            }
        }
        return copy;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *m;
        if ((copy = json_array()) == NULL)
            return NULL;
        json_array_foreach(v, i, m)
        {
            if (json_array_append(copy, m) != 0) {
                json_decref(copy);
                return NULL;
            }
        }
        return copy;
    }
    return json_copy(v); /* scalars: NULL on failure, never partial */
}
