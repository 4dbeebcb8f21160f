/*
 * doc_password.c - password properties: salted hashes made and checked with
 * libcrypt, the property's prefix (hash method), and the document calls
 * that set and check a password.
 */
#include "doc_private.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

/*** hashing (libcrypt) ***/

int kvkit_prop_password_hash(const char *prefix, const char *plain, char **hash, kvkit_error_t *err)
{
    if (hash)
        *hash = NULL;
    if (plain == NULL || hash == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_prop_password_hash: NULL argument");
    if (prefix == NULL)
        prefix = KVKIT_PASSWORD_PREFIX_DEFAULT;
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    /* NULL random bytes: libxcrypt reads the system's randomness itself */
    if (crypt_gensalt_rn(prefix, 0, NULL, 0, setting, sizeof setting) == NULL)
        return kvkit__error(err, KVKIT_INVALID, prefix,
                            "password prefix \"%s\" is not supported by libcrypt", prefix);
    struct crypt_data *cd = kvkit__calloc(1, sizeof *cd);
    if (cd == NULL)
        return kvkit__error(err, KVKIT_NOMEM, "", "out of memory hashing a password");
    const char *h = crypt_r(plain, setting, cd);
    int rc = KVKIT_OK;
    if (h == NULL || h[0] == '*')
        rc =
            kvkit__error(err, KVKIT_INVALID, prefix, "libcrypt could not hash with \"%s\"", prefix);
    else if ((*hash = strdup(h)) == NULL)
        rc = kvkit__error(err, KVKIT_NOMEM, "", "out of memory hashing a password");
    explicit_bzero(cd, sizeof *cd);
    kvkit__free(cd);
    return rc;
}

int kvkit_prop_password_check(const char *hash, const char *plain, int *match, kvkit_error_t *err)
{
    if (match)
        *match = 0;
    if (hash == NULL || plain == NULL || match == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_prop_password_check: NULL argument");
    if (hash[0] != '$')
        return kvkit__error(err, KVKIT_INVALID, "", "not a crypt(3) password hash");
    struct crypt_data *cd = kvkit__calloc(1, sizeof *cd);
    if (cd == NULL)
        return kvkit__error(err, KVKIT_NOMEM, "", "out of memory checking a password");
    const char *h = crypt_r(plain, hash, cd);
    int rc = KVKIT_OK;
    if (h == NULL || h[0] == '*') {
        rc = kvkit__error(err, KVKIT_INVALID, "", "malformed password hash");
    } else {
        size_t n = strlen(hash);
        unsigned char diff = strlen(h) != n;
        for (size_t i = 0; i < n && h[i]; i++) /* constant time in the hash length */
            diff |= (unsigned char)(h[i] ^ hash[i]);
        *match = diff == 0;
    }
    explicit_bzero(cd, sizeof *cd);
    kvkit__free(cd);
    return rc;
}

int kvkit_prop_set_password_prefix(kvkit_prop_t *p, const char *prefix, kvkit_error_t *err)
{
    CHECK_PROP(p, err);
    if (p->kind != KVKIT_PROP_PASSWORD)
        return kvkit__error(err, KVKIT_INVALID, p->name,
                            "property \"%s\": only password properties take a prefix", p->name);
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    if (prefix == NULL || crypt_gensalt_rn(prefix, 0, NULL, 0, setting, sizeof setting) == NULL)
        return kvkit__error(err, KVKIT_INVALID, p->name,
                            "property \"%s\": password prefix \"%s\" is not supported by "
                            "libcrypt",
                            p->name, prefix ? prefix : "(null)");
    char *copy = kvkit__strdup(prefix);
    if (copy == NULL)
        return kvkit__error(err, KVKIT_NOMEM, p->name, "out of memory");
    kvkit__free(p->prefix);
    p->prefix = copy;
    return KVKIT_OK;
}

/*** password properties of documents ***/

int kvkit__password_value(const kvkit_prop_t *p, const char *plain, json_t **out,
                          kvkit_error_t *err)
{
    char *hash;
    int rc = kvkit_prop_password_hash(p->prefix, plain, &hash, err);
    if (rc != KVKIT_OK)
        return rc;
    *out = json_string(hash);
    explicit_bzero(hash, strlen(hash));
    free(hash);
    if (*out == NULL)
        return kvkit__error(err, KVKIT_NOMEM, p->name, "out of memory");
    return KVKIT_OK;
}

static int password_prop(const kvkit_doc_t *d, const char *name, const kvkit_prop_t **p,
                         kvkit_error_t *err)
{
    int rc = kvkit__doc_check_name(d, name, err);
    if (rc != KVKIT_OK)
        return rc;
    *p = kvkit__schema_find(d->schema, name);
    if (*p == NULL || (*p)->kind != KVKIT_PROP_PASSWORD)
        return kvkit__error(err, KVKIT_INVALID, name, "%s: \"%s\" is not a password property",
                            d->schema->name, name);
    return KVKIT_OK;
}

int kvkit_doc_password_set(kvkit_doc_t *d, const char *name, const char *plain, kvkit_error_t *err)
{
    const kvkit_prop_t *p;
    int rc = password_prop(d, name, &p, err);
    if (rc != KVKIT_OK)
        return rc;
    if (plain == NULL)
        return kvkit__error(err, KVKIT_INVALID, name, "\"%s\": password is NULL", name);
    json_t *hashed;
    if ((rc = kvkit__password_value(p, plain, &hashed, err)) != KVKIT_OK)
        return rc;
    return kvkit__doc_put(d, name, hashed, err);
}

int kvkit_doc_password_check(const kvkit_doc_t *d, const char *name, const char *plain, int *match,
                             kvkit_error_t *err)
{
    if (match)
        *match = 0;
    const kvkit_prop_t *p;
    int rc = password_prop(d, name, &p, err);
    if (rc != KVKIT_OK)
        return rc;
    if (plain == NULL || match == NULL)
        return kvkit__error(err, KVKIT_INVALID, name, "kvkit_doc_password_check: NULL argument");
    json_t *h = json_object_get(d->data, name);
    if (!json_is_string(h))
        return KVKIT_OK; /* unset never matches */
    return kvkit_prop_password_check(json_string_value(h), plain, match, err);
}
