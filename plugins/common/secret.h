/*
 * secret.h - reading a network backend's password without it ever having to
 * appear in a store string, a process list or an error message.  Shared by
 * the etcd and riak plugins; internal, not part of libkvkit.
 *
 * Where the password comes from, first found wins:
 *   1. the option password_file=PATH: a regular file that neither group nor
 *      others may read or write (chmod 600); one trailing newline ("\n" or
 *      "\r\n") is not part of the password;
 *   2. the environment variable env_name (KVKIT_ETCD_PASSWORD,
 *      KVKIT_RIAK_PASSWORD), read with secure_getenv, so a set-uid program
 *      ignores it; an empty variable counts as unset;
 *   3. nowhere: KVKIT_BAD_OPTION, saying the user needs one of the two.
 * No message ever contains the password or any byte of the file.
 */
#ifndef KVKIT_PLUGIN_SECRET_H
#define KVKIT_PLUGIN_SECRET_H

#include <kvkit/backend.h>

#include <stddef.h>

/* Read the password of `user` (borrowed, named in messages) for `backend`
 * ("etcd", "riak": the messages' prefix) into out[0..cap): at most cap - 1
 * bytes, NUL-terminated.  password_file may be NULL or "" (not given).  On
 * failure out is wiped and err says why: KVKIT_BAD_OPTION (no password,
 * unsafe or unreadable file, too long, empty, a NUL byte), KVKIT_INVALID
 * (NULL argument, cap < 2), KVKIT_NOMEM.  The caller wipes out with
 * kvsecret_wipe once it is done with it. */
int kvsecret_password(const char *backend, const char *user, const char *password_file,
                      const char *env_name, char *out, size_t cap, kvkit_error_t *err);

/* Overwrite p[0..n) with zeros in a way the compiler may not optimize away
 * (explicit_bzero).  NULL or n == 0: nothing. */
void kvsecret_wipe(void *p, size_t n);

#endif /* KVKIT_PLUGIN_SECRET_H */
