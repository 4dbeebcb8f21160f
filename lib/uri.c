/* uri.c - "NAME:LOCATION[?key=value&...]" store strings. */
#include "kvkit_private.h"

#include <string.h>

int kvkit__name_check(const char *name, size_t len, kvkit_error_t *err)
{
    if (len == 0)
        return kvkit__error(err, KVKIT_BAD_NAME, "",
                            "invalid backend name \"\": a name is 1 to %d characters of a-z, 0-9 and _",
                            KVKIT_NAME_MAX);
    if (len > KVKIT_NAME_MAX)
        return kvkit__error(err, KVKIT_BAD_NAME, "",
                            "invalid backend name \"%.*s...\": longer than %d characters",
                            16, name, KVKIT_NAME_MAX);
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
            continue;
        kvkit__error(err, KVKIT_BAD_NAME, "",
                     "invalid backend name \"%.*s\": character '%c' is not allowed (only a-z, 0-9 and _)",
                     (int)len, name, c >= 0x20 && c < 0x7f ? c : '?');
        if (err)
            snprintf(err->subject, sizeof err->subject, "%.*s", (int)len, name);
        return KVKIT_BAD_NAME;
    }
    return KVKIT_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n) into a new string; NULL with err set on a bad escape
 * or an encoded NUL. */
static char *pct_decode(const char *s, size_t n, const char *what, kvkit_error_t *err)
{
    char *out = kvkit__malloc(n + 1), *o = out;
    if (out == NULL) {
        kvkit__error(err, KVKIT_NOMEM, what, "out of memory parsing store options");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            *o++ = s[i];
            continue;
        }
        int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
        int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            kvkit__error(err, KVKIT_BAD_OPTION, what,
                         "malformed store option \"%.*s\": bad percent-escape", (int)n, s);
            kvkit__free(out);
            return NULL;
        }
        *o++ = (char)(hi * 16 + lo);
        i += 2;
    }
    *o = '\0';
    return out;
}

void kvkit__uri_free(kvkit__uri_t *uri)
{
    if (uri == NULL)
        return;
    for (size_t i = 0; i < uri->n_options; i++) {
        kvkit__free((char *)uri->options[i].key);
        kvkit__free((char *)uri->options[i].value);
    }
    kvkit__free(uri->options);
    kvkit__free(uri->name);
    kvkit__free(uri->location);
    memset(uri, 0, sizeof *uri);
}

static int parse_options(const char *s, kvkit__uri_t *out, kvkit_error_t *err)
{
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == '&';
    out->options = kvkit__calloc(cap, sizeof *out->options);
    if (out->options == NULL)
        return kvkit__error(err, KVKIT_NOMEM, "", "out of memory parsing store options");
    while (*s) {
        size_t len = strcspn(s, "&");
        const char *eq = memchr(s, '=', len);
        if (len == 0) { /* "a=1&&b=2" or a trailing '&' */
            s++;
            continue;
        }
        if (eq == NULL || eq == s) {
            kvkit__error(err, KVKIT_BAD_OPTION, "",
                         "malformed store option \"%.*s\": expected key=value", (int)len, s);
            if (err)
                snprintf(err->subject, sizeof err->subject, "%.*s", (int)len, s);
            return KVKIT_BAD_OPTION;
        }
        kvkit_backend_option_t *opt = &out->options[out->n_options];
        opt->key = pct_decode(s, (size_t)(eq - s), "", err);
        if (opt->key == NULL)
            return err ? err->code : KVKIT_BAD_OPTION;
        opt->value = pct_decode(eq + 1, len - (size_t)(eq - s) - 1, opt->key, err);
        if (opt->value == NULL) {
            kvkit__free((char *)opt->key);
            opt->key = NULL;
            return err ? err->code : KVKIT_BAD_OPTION;
        }
        out->n_options++;
        for (size_t i = 0; i + 1 < out->n_options; i++)
            if (strcmp(out->options[i].key, opt->key) == 0)
                return kvkit__error(err, KVKIT_BAD_OPTION, opt->key,
                                    "store option \"%s\" is given twice", opt->key);
        s += len;
        if (*s == '&')
            s++;
    }
    return KVKIT_OK;
}

int kvkit__uri_parse(const char *uri, kvkit__uri_t *out, kvkit_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (uri == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "store string is NULL");
    const char *colon = strchr(uri, ':');
    if (colon == NULL)
        return kvkit__error(err, KVKIT_INVALID, uri,
                            "store \"%s\": expected NAME:LOCATION, for example \"memory:\" or \"leveldb:/path/to/db\"",
                            uri);
    int rc = kvkit__name_check(uri, (size_t)(colon - uri), err);
    if (rc != KVKIT_OK)
        return rc;
    const char *loc = colon + 1;
    const char *q = strchr(loc, '?');
    size_t loc_len = q ? (size_t)(q - loc) : strlen(loc);
    out->name = kvkit__strndup(uri, (size_t)(colon - uri));
    out->location = kvkit__strndup(loc, loc_len);
    if (out->name == NULL || out->location == NULL) {
        kvkit__uri_free(out);
        return kvkit__error(err, KVKIT_NOMEM, "", "out of memory parsing store string");
    }
    if (q != NULL && (rc = parse_options(q + 1, out, err)) != KVKIT_OK) {
        kvkit__uri_free(out);
        return rc;
    }
    return KVKIT_OK;
}
