/*
 * plugin_file.h - may this path be handed to the dynamic linker?  Used by
 * loader.c only; the rule is stated in kvkit-backend(7), "Plugin path".
 */
#ifndef KVKIT_PLUGIN_FILE_H
#define KVKIT_PLUGIN_FILE_H

#include <stddef.h>
#include <sys/stat.h>

/* Outcomes of kvkit__path_check. */
enum {
    KVKIT__PATH_OK = 0,
    KVKIT__PATH_MISSING, /* a component does not exist: nothing to load there */
    KVKIT__PATH_UNSAFE,  /* `why` says which path breaks the rule, and how */
    KVKIT__PATH_BAD      /* not what was wanted (a FIFO, not ELF, truncated...) */
};

/* Resolve absolute `path` one component at a time, following symbolic
 * links, and check every directory passed through (including each one a
 * link is met in) and the final object: each must be owned by root or the
 * effective user and not writable by group or others, except that a
 * directory with the sticky bit may be writable by others.  The final
 * object must be a directory when `want_dir`, else a regular file.
 * On KVKIT__PATH_OK, `real` (cap bytes) receives the resolved path and *st
 * the final object's lstat; otherwise `why` (why_cap bytes) receives a
 * lowercase reason naming the path ("directory /x is writable by others
 * (mode 0777) without the sticky bit, so anyone could replace the plugin").
 * Never opens anything. */
int kvkit__path_check(const char *path, int want_dir, char *real, size_t cap, struct stat *st,
                      char *why, size_t why_cap);

/* Open plugin file `path` for loading: kvkit__path_check, then open the
 * resolved path (O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), check
 * that the descriptor is the file that was checked (same device and inode,
 * same owner and mode rule), and that it is an ELF shared object of this
 * process's class, byte order and machine whose headers and segments lie
 * inside the file.  On KVKIT__PATH_OK, *fd is the descriptor (the caller
 * closes it) and `real` the resolved path; otherwise `why` says why
 * (KVKIT__PATH_MISSING does not occur: the file was found first). */
int kvkit__plugin_file_open(const char *path, int *fd, char *real, size_t cap, char *why,
                            size_t why_cap);

/* Is the descriptor still the file at `real` (same device and inode)? */
int kvkit__plugin_file_same(int fd, const char *real);

#endif
