/* secret.c - see secret.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* secure_getenv, explicit_bzero */
#endif
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void kvsecret_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        explicit_bzero(p, n);
}

/* Read at most `max` bytes of fd into buf; -1 on a read error. */
static ssize_t read_upto(int fd, char *buf, size_t max)
{
    size_t len = 0;
    while (len < max) {
        ssize_t r = read(fd, buf + len, max - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        len += (size_t)r;
    }
    return (ssize_t)len;
}

/* The file is ours alone: a regular file with no group or other access. */
static int check_file(const char *backend, const char *path, int fd, kvkit_error_t *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, path, "%s: password_file \"%s\": %s",
                                   backend, path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, path,
                                   "%s: password_file \"%s\" is not a regular file", backend, path);
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, path,
                                   "%s: password_file \"%s\" is accessible by group or others "
                                   "(mode %04o); make it private with chmod 600",
                                   backend, path, (unsigned)(st.st_mode & 07777));
    return KVKIT_OK;
}

/* The file's bytes, less one trailing newline, into out (cap >= 2). */
static int from_file(const char *backend, const char *path, char *out, size_t cap,
                     kvkit_error_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, path, "%s: password_file \"%s\": %s",
                                   backend, path, strerror(errno));
    int rc = check_file(backend, path, fd, err);
    /* room for cap - 1 password bytes, "\r\n", and one byte to see more */
    size_t max = cap + 2;
    char *buf = rc == KVKIT_OK ? malloc(max) : NULL;
    if (rc == KVKIT_OK && buf == NULL)
        rc = kvkit_backend_error(err, KVKIT_NOMEM, path, "%s: out of memory", backend);
    ssize_t n = buf ? read_upto(fd, buf, max) : 0;
    if (rc == KVKIT_OK && n < 0)
        rc = kvkit_backend_error(err, KVKIT_BAD_OPTION, path, "%s: password_file \"%s\": %s",
                                 backend, path, strerror(errno));
    close(fd);
    size_t len = n > 0 ? (size_t)n : 0;
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r' && (size_t)n > len)
        len--;
    if (rc == KVKIT_OK && len == 0)
        rc = kvkit_backend_error(err, KVKIT_BAD_OPTION, path, "%s: password_file \"%s\" is empty",
                                 backend, path);
    else if (rc == KVKIT_OK && len > cap - 1)
        rc = kvkit_backend_error(err, KVKIT_BAD_OPTION, path,
                                 "%s: password_file \"%s\": the password is longer than %zu bytes",
                                 backend, path, cap - 1);
    else if (rc == KVKIT_OK && memchr(buf, '\0', len) != NULL)
        rc = kvkit_backend_error(err, KVKIT_BAD_OPTION, path,
                                 "%s: password_file \"%s\" contains a NUL byte", backend, path);
    if (rc == KVKIT_OK) {
        memcpy(out, buf, len);
        out[len] = '\0';
    }
    kvsecret_wipe(buf, max);
    free(buf);
    return rc;
}

static int from_env(const char *backend, const char *user, const char *env_name, char *out,
                    size_t cap, kvkit_error_t *err)
{
    const char *v = env_name ? secure_getenv(env_name) : NULL;
    if (v == NULL || *v == '\0')
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, user,
                                   "%s: user \"%s\" needs a password: give password_file=PATH "
                                   "(a file only its owner can read) or set %s",
                                   backend, user, env_name ? env_name : "(no variable)");
    size_t len = strlen(v);
    if (len > cap - 1)
        return kvkit_backend_error(err, KVKIT_BAD_OPTION, env_name,
                                   "%s: the password in %s is longer than %zu bytes", backend,
                                   env_name, cap - 1);
    memcpy(out, v, len + 1);
    return KVKIT_OK;
}

int kvsecret_password(const char *backend, const char *user, const char *password_file,
                      const char *env_name, char *out, size_t cap, kvkit_error_t *err)
{
    if (backend == NULL)
        backend = "kvkit";
    if (user == NULL || out == NULL || cap < 2)
        return kvkit_backend_error(err, KVKIT_INVALID, "",
                                   "%s: kvsecret_password: NULL argument or cap < 2", backend);
    int rc = password_file && *password_file ? from_file(backend, password_file, out, cap, err)
                                             : from_env(backend, user, env_name, out, cap, err);
    if (rc != KVKIT_OK)
        kvsecret_wipe(out, cap);
    return rc;
}
