/* codec.c - see client.h: base64 and the gateway's lenient JSON. */
#include "client.h"

#include <stdlib.h>
#include <string.h>

/*** base64 (standard alphabet, padded) and lenient JSON ***/

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

json_t *ec_b64(const void *vp, size_t n)
{
    const unsigned char *p = vp;
    size_t out_len = 4 * ((n + 2) / 3);
    char *s = malloc(out_len + 1);
    if (s == NULL)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        s[o++] = b64chars[v >> 18];
        s[o++] = b64chars[(v >> 12) & 63];
        s[o++] = b64chars[(v >> 6) & 63];
        s[o++] = b64chars[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        s[o++] = b64chars[v >> 18];
        s[o++] = b64chars[(v >> 12) & 63];
        s[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        s[o++] = '=';
    }
    json_t *j = json_stringn_nocheck(s, o);
    free(s);
    return j;
}

static int b64val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

bool ec_get_bytes(const json_t *obj, const char *name, unsigned char **out, size_t *out_len)
{
    const json_t *v = json_object_get(obj, name);
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    if (v != NULL && !json_is_string(v) && !json_is_null(v))
        return false;
    unsigned char *p = malloc(n / 4 * 3 + 4);
    if (p == NULL)
        return false;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=')
            break;
        int d = b64val((unsigned char)s[i]);
        if (d < 0) {
            free(p);
            return false;
        }
        acc = acc << 6 | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            p[o++] = (unsigned char)(acc >> bits);
        }
    }
    p[o] = '\0';
    *out = p;
    *out_len = o;
    return true;
}

int64_t ec_get_int(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_string(v))
        return (int64_t)strtoll(json_string_value(v), NULL, 10);
    return 0;
}

bool ec_get_bool(const json_t *obj, const char *name)
{
    return json_is_true(json_object_get(obj, name));
}
