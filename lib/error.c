/* error.c - status texts and error reports. */
#include "kvkit_private.h"

#include <string.h>

const char *kvkit_strerror(int code)
{
    switch ((kvkit_status_t)code) {
#define KVKIT_STATUS_TEXT_(name, value, text)                                  \
    case KVKIT_##name:                                                         \
        return text;
        KVKIT_STATUS_LIST(KVKIT_STATUS_TEXT_)
#undef KVKIT_STATUS_TEXT_
    }
    return "unknown status code";
}

const char *kvkit_status_name(int code)
{
    switch ((kvkit_status_t)code) {
#define KVKIT_STATUS_NAME_(name, value, text)                                  \
    case KVKIT_##name:                                                         \
        return #name;
        KVKIT_STATUS_LIST(KVKIT_STATUS_NAME_)
#undef KVKIT_STATUS_NAME_
    }
    return "UNKNOWN";
}

void kvkit_error_clear(kvkit_error_t *err)
{
    if (err == NULL)
        return;
    err->code = KVKIT_OK;
    err->subject[0] = '\0';
    err->text[0] = '\0';
}

const char *kvkit_version(void)
{
    return PACKAGE_VERSION;
}

int kvkit__error_copy(kvkit_error_t *err, const kvkit_error_t *from, int code)
{
    if (from->text[0] == '\0') /* the lower call failed without saying why */
        return kvkit__error(err, code, from->subject, "%s", kvkit_strerror(code));
    return kvkit__error(err, code, from->subject, "%s", from->text);
}

int kvkit__error_from_backend(kvkit_error_t *err, const kvkit_error_t *berr,
                              int code, const char *backend, const char *op,
                              const char *subject)
{
    if (berr->code != KVKIT_OK && berr->code != code)
        code = berr->code;
    if (code == KVKIT_OK) /* a plugin that failed without saying why */
        code = KVKIT_BACKEND;
    if (berr->text[0] != '\0') {
        /* plugins may or may not name themselves ("NAME: ..." or
         * "NAME /path: ..."); say it exactly once (backend.h) */
        size_t n = strlen(backend);
        bool named = strncmp(berr->text, backend, n) == 0 &&
                     (berr->text[n] == ':' || berr->text[n] == ' ');
        return kvkit__error(err, code, berr->subject[0] ? berr->subject : subject, "%s%s%s",
                            named ? "" : backend, named ? "" : ": ", berr->text);
    }
    return kvkit__error(err, code, subject, "%s: %s \"%s\": %s", backend, op,
                        subject ? subject : "", kvkit_strerror(code));
}
