/*
 * loader.c - finding, loading, binding and unloading backend plugins.
 *
 * Rules (see DESIGN.md section 3 and shared/reference/plugins.md):
 *  - backend NAME is exactly the file NAME.so in each plugin directory; no
 *    directory is scanned to open a store;
 *  - directories: those added through the API, then each absolute entry of
 *    KVKIT_PLUGIN_PATH (secure_getenv: ignored in set-uid programs), then the
 *    compiled-in one; the first existing file wins, and if it is broken that
 *    is the error (no silent fall-through to a later directory);
 *  - every libltdl call happens under one mutex and its error text is copied
 *    at once (lt_dlerror is process-global);
 *  - local symbol scope, immediate binding;
 *  - the plugin-path rule (plugin_file.c, kvkit-backend(7)): a plugin file,
 *    every directory above it and every link on the way must be owned by
 *    root or the effective user and not writable by group or others (a
 *    sticky directory excepted); otherwise KVKIT_PLUGIN_LOAD names the path
 *    and why.  Nothing that is not a checked regular ELF file of this
 *    machine is handed to the dynamic linker;
 *  - entries that are not searched (empty, relative, the whole variable in
 *    a set-uid program) and unsafe directories are reported, in the
 *    no-backend error and through kvkit_plugin_dirs_ignored, never dropped
 *    silently.
 */
#include "kvkit_private.h"

#include "plugin_file.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <ltdl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef KVKIT_PLUGINDIR
#define KVKIT_PLUGINDIR "/usr/local/lib/kvkit"
#endif

/* Guards everything below and every lt_* call. */
static pthread_mutex_t loader_lock = PTHREAD_MUTEX_INITIALIZER;
static int ltdl_ready;          /* lt_dlinit succeeded */
static char **api_dirs;         /* kvkit_plugin_dir_add, in order */
static size_t n_api_dirs;
static kvkit__backend_t *backends; /* loaded plugins and registered backends */

/*** the operation table, generated from KVKIT_BACKEND_OPS ***/

typedef enum { NEED_REQUIRED, NEED_OPTIONAL, NEED_SNAPSHOT, NEED_VIEW } op_need_t;

typedef struct op_slot {
    const char *symbol; /* "kvkit_backend_" OP */
    size_t offset;      /* of the member in kvkit_backend_ops_t */
    op_need_t need;
} op_slot_t;

#define OP_PREFIX "kvkit_backend_"
#define OP_NEED_required NEED_REQUIRED
#define OP_NEED_optional NEED_OPTIONAL
#define OP_NEED_snapshot NEED_SNAPSHOT
#define OP_NEED_view NEED_VIEW
#define OP_SLOT(op, field, need, abi_minor)                                    \
    {OP_PREFIX #op, offsetof(kvkit_backend_ops_t, field), OP_NEED_##need},
static const op_slot_t op_slots[] = {KVKIT_BACKEND_OPS(OP_SLOT)};
#define N_OP_SLOTS (sizeof op_slots / sizeof op_slots[0])

/* An operation appears in an ABI minor version this libkvkit speaks. */
#define OP_MINOR_CHECK(op, field, need, abi_minor)                             \
    _Static_assert(abi_minor <= KVKIT_BACKEND_ABI_MINOR, "operation " #op " is newer than the ABI");
KVKIT_BACKEND_OPS(OP_MINOR_CHECK)
/* The public table keeps its layout: operations take reserved slots. */
_Static_assert(sizeof(kvkit_backend_ops_t) == 26 * sizeof(void *),
               "kvkit_backend_ops_t changed size: new operations take reserved slots");
_Static_assert(offsetof(kvkit_backend_ops_t, view_index_docs) == 20 * sizeof(void *),
               "kvkit_backend_ops_t members moved: operations are only appended");

static void **op_ptr(kvkit_backend_ops_t *ops, const op_slot_t *slot)
{
    return (void **)((char *)ops + slot->offset);
}

static void *op_get(const kvkit_backend_ops_t *ops, const op_slot_t *slot)
{
    return *(void *const *)((const char *)ops + slot->offset);
}

static const char *op_name(const op_slot_t *slot)
{
    return slot->symbol + strlen(OP_PREFIX);
}

static const op_slot_t *op_find(const char *name)
{
    for (size_t i = 0; i < N_OP_SLOTS; i++)
        if (strcmp(op_name(&op_slots[i]), name) == 0)
            return &op_slots[i];
    return NULL;
}

/* With KVKIT_BACKEND_SNAPSHOT: is this view operation missing?  The
 * `snapshot` ones are always needed, view_OP when OP is bound. */
static bool view_op_missing(const kvkit_backend_ops_t *ops, const op_slot_t *slot)
{
    if (op_get(ops, slot) != NULL)
        return false;
    if (slot->need == NEED_SNAPSHOT)
        return true;
    const op_slot_t *base = op_find(op_name(slot) + strlen("view_"));
    return base != NULL && op_get(ops, base) != NULL;
}

/* A backend that declares KVKIT_BACKEND_SNAPSHOT must be able to serve
 * every read of an iteration from a view: view_open, view_close, view_get,
 * and the view form of each scan it exports.  A backend without the flag
 * has its view operations ignored. */
static int check_views(kvkit_backend_ops_t *ops, const char *name, const char *where,
                       kvkit_error_t *err)
{
    bool snapshot = ops->descriptor->flags & KVKIT_BACKEND_SNAPSHOT;
    for (size_t i = 0; i < N_OP_SLOTS; i++) {
        const op_slot_t *slot = &op_slots[i];
        if (slot->need != NEED_SNAPSHOT && slot->need != NEED_VIEW)
            continue;
        if (!snapshot)
            *op_ptr(ops, slot) = NULL;
        else if (view_op_missing(ops, slot))
            return kvkit__error(err, KVKIT_PLUGIN_SYMBOL, name,
                                "backend \"%s\" (%s) declares KVKIT_BACKEND_SNAPSHOT but lacks %s",
                                name, where, slot->symbol);
    }
    return KVKIT_OK;
}

bool kvkit__backend_supports(const kvkit__backend_t *b, const char *op)
{
    if (strcmp(op, "snapshot") == 0)
        return b->ops.view_open != NULL; /* check_views: then all of them are */
    const op_slot_t *slot = op_find(op);
    return slot != NULL && slot->need == NEED_OPTIONAL && op_get(&b->ops, slot) != NULL;
}

/*** plugin directories ***/

int kvkit_plugin_dir_add(const char *dir, kvkit_error_t *err)
{
    if (dir == NULL || dir[0] != '/')
        return kvkit__error(err, KVKIT_INVALID, dir ? dir : "",
                            "plugin directory \"%s\" is not an absolute path", dir ? dir : "(null)");
    /* refused up front when it exists and breaks the rule; checked again,
     * with the plugin file, at every load */
    char real[PATH_MAX], why[KVKIT_ERROR_TEXT_LENGTH];
    struct stat st;
    int chk = kvkit__path_check(dir, 1, real, sizeof real, &st, why, sizeof why);
    if (chk == KVKIT__PATH_UNSAFE)
        return kvkit__error(err, KVKIT_PLUGIN_LOAD, dir, "refusing plugin directory %s: %s", dir,
                            why);
    if (chk == KVKIT__PATH_BAD)
        return kvkit__error(err, KVKIT_INVALID, dir, "plugin directory %s: %s", dir, why);
    char *copy = kvkit__strdup(dir);
    if (copy == NULL)
        return kvkit__error(err, KVKIT_NOMEM, dir, "out of memory adding plugin directory");
    pthread_mutex_lock(&loader_lock);
    char **grown = kvkit__realloc(api_dirs, (n_api_dirs + 1) * sizeof *api_dirs);
    if (grown == NULL) {
        pthread_mutex_unlock(&loader_lock);
        kvkit__free(copy);
        return kvkit__error(err, KVKIT_NOMEM, dir, "out of memory adding plugin directory");
    }
    api_dirs = grown;
    api_dirs[n_api_dirs++] = copy;
    pthread_mutex_unlock(&loader_lock);
    return KVKIT_OK;
}

void kvkit_plugin_dirs_clear(void)
{
    pthread_mutex_lock(&loader_lock);
    for (size_t i = 0; i < n_api_dirs; i++)
        kvkit__free(api_dirs[i]);
    kvkit__free(api_dirs);
    api_dirs = NULL;
    n_api_dirs = 0;
    pthread_mutex_unlock(&loader_lock);
}

const char *kvkit_plugin_dir_default(void)
{
    return KVKIT_PLUGINDIR;
}

static const char setuid_why[] = "the whole variable is ignored in a set-uid or set-gid program";

static const char *plugin_path_env(void)
{
#ifdef HAVE_SECURE_GETENV
    return secure_getenv("KVKIT_PLUGIN_PATH");
#else
    return getuid() == geteuid() && getgid() == getegid() ? getenv("KVKIT_PLUGIN_PATH") : NULL;
#endif
}

/* Call fn(ctx, dir, origin) for each directory in search order, with the
 * loader lock held, and ignored(ctx, entry, origin, why) for each entry of
 * KVKIT_PLUGIN_PATH that is not searched (NULL: not told).  Stops when
 * either returns non-zero and returns that. */
static int dirs_walk_locked(int (*fn)(void *, const char *, const char *),
                            kvkit_plugin_ignored_fn ignored, void *ctx)
{
    int rc;
    for (size_t i = 0; i < n_api_dirs; i++)
        if ((rc = fn(ctx, api_dirs[i], "api")) != 0)
            return rc;
    const char *env = plugin_path_env();
    if (env == NULL && ignored != NULL && (env = getenv("KVKIT_PLUGIN_PATH")) != NULL) {
        /* secure_getenv said no: the caller may not choose our code */
        if ((rc = ignored(ctx, env, "KVKIT_PLUGIN_PATH", setuid_why)) != 0)
            return rc;
        env = NULL;
    }
    if (env != NULL) {
        char dir[PATH_MAX];
        for (;;) {
            size_t len = strcspn(env, ":");
            /* a relative entry would resolve against the working directory
             * (CVE-2021-4034's lesson) */
            const char *why = len == 0            ? "empty entry"
                              : env[0] != '/'     ? "not an absolute path"
                              : len >= sizeof dir ? "too long"
                                                  : NULL;
            memcpy(dir, env, len < sizeof dir ? len : sizeof dir - 1);
            dir[len < sizeof dir ? len : sizeof dir - 1] = '\0';
            if (why == NULL)
                rc = fn(ctx, dir, "KVKIT_PLUGIN_PATH");
            else
                rc = ignored != NULL ? ignored(ctx, dir, "KVKIT_PLUGIN_PATH", why) : 0;
            if (rc != 0)
                return rc;
            env += len;
            if (*env == '\0')
                break;
            env++; /* ':' - and "a:" ends in an empty entry */
        }
    }
    return fn(ctx, KVKIT_PLUGINDIR, "default");
}

static int dirs_each_locked(int (*fn)(void *, const char *, const char *), void *ctx)
{
    return dirs_walk_locked(fn, NULL, ctx);
}

void kvkit_plugin_dirs_each(kvkit_plugin_dir_fn fn, void *ctx)
{
    pthread_mutex_lock(&loader_lock);
    dirs_each_locked(fn, ctx);
    pthread_mutex_unlock(&loader_lock);
}

/* For kvkit_plugin_dirs_ignored: pass ignored entries on, and check each
 * searched directory against the rule. */
typedef struct ignored_ctx {
    kvkit_plugin_ignored_fn fn;
    void *ctx;
} ignored_ctx_t;

static int pass_ignored(void *vctx, const char *entry, const char *origin, const char *why)
{
    ignored_ctx_t *ic = vctx;
    return ic->fn(ic->ctx, entry, origin, why);
}

/* "unsafe: WHY" when dir breaks the rule, else "" */
static void dir_unsafe(const char *dir, char *out, size_t cap)
{
    char real[PATH_MAX], why[KVKIT_ERROR_TEXT_LENGTH];
    struct stat st;
    out[0] = '\0';
    if (kvkit__path_check(dir, 1, real, sizeof real, &st, why, sizeof why) == KVKIT__PATH_UNSAFE)
        snprintf(out, cap, "unsafe: %s", why);
}

static int check_searched(void *vctx, const char *dir, const char *origin)
{
    ignored_ctx_t *ic = vctx;
    char why[KVKIT_ERROR_TEXT_LENGTH + 16];
    dir_unsafe(dir, why, sizeof why);
    return why[0] ? ic->fn(ic->ctx, dir, origin, why) : 0;
}

void kvkit_plugin_dirs_ignored(kvkit_plugin_ignored_fn fn, void *ctx)
{
    if (fn == NULL)
        return;
    ignored_ctx_t ic = {fn, ctx};
    pthread_mutex_lock(&loader_lock);
    dirs_walk_locked(check_searched, pass_ignored, &ic);
    pthread_mutex_unlock(&loader_lock);
}

/*** loading one file ***/

static int ltdl_init_locked(kvkit_error_t *err)
{
    if (ltdl_ready)
        return KVKIT_OK;
    if (lt_dlinit() != 0) {
        const char *e = lt_dlerror();
        return kvkit__error(err, KVKIT_PLUGIN_LOAD, "libltdl", "libltdl: initialization failed: %s",
                            e ? e : "unknown error");
    }
    ltdl_ready = 1;
    return KVKIT_OK;
}

static void backend_free(kvkit__backend_t *b)
{
    if (b == NULL)
        return;
    kvkit__free(b->name);
    kvkit__free(b->path);
    kvkit__free(b);
}

static void unload_locked(kvkit__backend_t *b)
{
    if (b->dl != NULL)
        lt_dlclose((lt_dlhandle)b->dl);
    backend_free(b);
}

/* Check a descriptor against this host.  `where` names the file (or
 * "(built-in)") in messages. */
static int check_descriptor(const kvkit_backend_descriptor_t *d, const char *name,
                            const char *where, kvkit_error_t *err)
{
    if (d->abi_major != KVKIT_BACKEND_ABI_MAJOR)
        return kvkit__error(err, KVKIT_ABI, name,
                            "backend \"%s\" (%s) speaks backend ABI %u.%u, but this libkvkit speaks %d.%d: the major versions must match (rebuild the plugin against this kvkit)",
                            name, where, d->abi_major, d->abi_minor,
                            KVKIT_BACKEND_ABI_MAJOR, KVKIT_BACKEND_ABI_MINOR);
    if (d->abi_minor > KVKIT_BACKEND_ABI_MINOR)
        return kvkit__error(err, KVKIT_ABI, name,
                            "backend \"%s\" (%s) needs backend ABI %u.%u, newer than this libkvkit's %d.%d (upgrade kvkit)",
                            name, where, d->abi_major, d->abi_minor,
                            KVKIT_BACKEND_ABI_MAJOR, KVKIT_BACKEND_ABI_MINOR);
    if (d->struct_size < offsetof(kvkit_backend_descriptor_t, reserved))
        return kvkit__error(err, KVKIT_ABI, name,
                            "backend \"%s\" (%s): descriptor struct_size %u is too small",
                            name, where, d->struct_size);
    if (d->name == NULL || strcmp(d->name, name) != 0)
        return kvkit__error(err, KVKIT_PLUGIN_NAME, name,
                            "backend file %s declares the name \"%s\", expected \"%s\" (a plugin's file must be named after its backend)",
                            where, d->name ? d->name : "(null)", name);
    return KVKIT_OK;
}

/* Check plugin file `path` and open it with libltdl (*dl).  The lock is
 * held. */
static int open_library_locked(const char *path, const char *name, lt_dlhandle *dlp,
                               kvkit_error_t *err)
{
    /* the descriptor stays open until the library is mapped, so that the
     * file checked is the one compared with what was loaded */
    char real[PATH_MAX], why[KVKIT_ERROR_TEXT_LENGTH];
    int fd = -1;
    int chk = kvkit__plugin_file_open(path, &fd, real, sizeof real, why, sizeof why);
    if (chk != KVKIT__PATH_OK)
        return kvkit__error(err, KVKIT_PLUGIN_LOAD, name, "backend \"%s\": %s %s: %s", name,
                            chk == KVKIT__PATH_UNSAFE ? "refusing" : "cannot load", path, why);

    /* libltdl has no "bind now" advice.  Opening the file first with
     * RTLD_NOW resolves every symbol up front, so a plugin with an
     * unresolvable dependency or symbol fails here, with the dynamic
     * linker's own text, instead of crashing at its first call.  The ltdl
     * open below then shares the already bound object. */
    void *probe = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (probe == NULL) {
        const char *e = dlerror();
        close(fd);
        return kvkit__error(err, KVKIT_PLUGIN_LOAD, name, "backend \"%s\": cannot load %s: %s",
                            name, path, e ? e : "unknown error");
    }

    lt_dladvise advise;
    lt_dlhandle dl = NULL;
    if (lt_dladvise_init(&advise) == 0) {
        if (lt_dladvise_local(&advise) == 0)
            dl = lt_dlopenadvise(real, advise);
        lt_dladvise_destroy(&advise);
    }
    dlclose(probe);
    if (dl == NULL) {
        const char *e = lt_dlerror();
        close(fd);
        return kvkit__error(err, KVKIT_PLUGIN_LOAD, name, "backend \"%s\": cannot load %s: %s",
                            name, path, e ? e : "unknown error");
    }
    int same = kvkit__plugin_file_same(fd, real);
    close(fd);
    if (!same) {
        lt_dlclose(dl);
        return kvkit__error(err, KVKIT_PLUGIN_LOAD, name,
                            "backend \"%s\": refusing %s: the file was replaced while it was being loaded",
                            name, path);
    }
    *dlp = dl;
    return KVKIT_OK;
}

/* Read the descriptor and one symbol per operation of the loaded plugin
 * into b.  `path` names it in messages. */
static int bind_symbols(kvkit__backend_t *b, lt_dlhandle dl, const char *name, const char *path,
                        kvkit_error_t *err)
{
    b->desc = (const kvkit_backend_descriptor_t *)lt_dlsym(dl, "kvkit_backend_descriptor");
    if (b->desc == NULL)
        return kvkit__error(err, KVKIT_PLUGIN_SYMBOL, name,
                            "backend \"%s\" (%s) lacks the descriptor symbol kvkit_backend_descriptor: is it a kvkit backend, and is its file named after it?",
                            name, path);
    int rc = check_descriptor(b->desc, name, path, err);
    if (rc != KVKIT_OK)
        return rc;
    for (size_t i = 0; i < N_OP_SLOTS; i++) {
        void *fn = lt_dlsym(dl, op_slots[i].symbol);
        if (fn == NULL && op_slots[i].need == NEED_REQUIRED)
            return kvkit__error(err, KVKIT_PLUGIN_SYMBOL, name,
                                "backend \"%s\" (%s) lacks the required symbol %s",
                                name, path, op_slots[i].symbol);
        *op_ptr(&b->ops, &op_slots[i]) = fn;
    }
    b->ops.descriptor = b->desc;
    return check_views(&b->ops, name, path, err);
}

/* Load path as backend `name`.  The lock is held. */
static int load_file_locked(const char *path, const char *name,
                            kvkit__backend_t **out, kvkit_error_t *err)
{
    int rc = ltdl_init_locked(err);
    if (rc != KVKIT_OK)
        return rc;
    lt_dlhandle dl;
    if ((rc = open_library_locked(path, name, &dl, err)) != KVKIT_OK)
        return rc;
    kvkit__backend_t *b = kvkit__calloc(1, sizeof *b);
    if (b == NULL || (b->name = kvkit__strdup(name)) == NULL ||
        (b->path = kvkit__strdup(path)) == NULL) {
        backend_free(b);
        lt_dlclose(dl);
        return kvkit__error(err, KVKIT_NOMEM, name, "out of memory loading backend \"%s\"", name);
    }
    b->dl = dl;
    if ((rc = bind_symbols(b, dl, name, path, err)) != KVKIT_OK) {
        unload_locked(b);
        return rc;
    }
    if (b->desc->flags & KVKIT_BACKEND_RESIDENT)
        lt_dlmakeresident(dl);
    *out = b;
    return KVKIT_OK;
}

/*** finding a backend by name ***/

typedef struct find_ctx {
    const char *name;
    char found[4096];
    char tried[1024]; /* for the not-found message: paths tried, */
    char ignored[1024]; /* KVKIT_PLUGIN_PATH entries not searched, */
    char unsafe[1024];  /* directories that break the rule */
} find_ctx_t;

/* Append ", "-separated text to buf (silently cut when full). */
static void add_note(char *buf, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 3 >= cap)
        return;
    if (used > 0) {
        strcpy(buf + used, ", ");
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
}

static int find_ignored(void *vctx, const char *entry, const char *origin, const char *why)
{
    find_ctx_t *ctx = vctx;
    if (why == setuid_why)
        add_note(ctx->ignored, sizeof ctx->ignored, "every entry (%s)", why);
    else
        add_note(ctx->ignored, sizeof ctx->ignored, "\"%s\" (%s)", entry, why);
    return 0;
}

static int find_in_dir(void *vctx, const char *dir, const char *origin)
{
    find_ctx_t *ctx = vctx;
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s.so", dir, ctx->name);
    if (n < 0 || (size_t)n >= sizeof path)
        return 0;
    /* stat, not open: a FIFO named like a plugin would block open(2); an
     * unsafe directory is still looked into, so that a plugin there is
     * refused rather than silently replaced by one from a later directory */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        memcpy(ctx->found, path, (size_t)n + 1);
        return 1;
    }
    add_note(ctx->tried, sizeof ctx->tried, "%s", path);
    return 0;
}

/* After a search found nothing: which of its directories break the rule. */
static int find_unsafe(void *vctx, const char *dir, const char *origin)
{
    find_ctx_t *ctx = vctx;
    char why[KVKIT_ERROR_TEXT_LENGTH + 16];
    dir_unsafe(dir, why, sizeof why);
    if (why[0] != '\0') /* past "unsafe: ", which the message says once */
        add_note(ctx->unsafe, sizeof ctx->unsafe, "%s (%s)", dir, why + strlen("unsafe: "));
    return 0;
}

static kvkit__backend_t *loaded_locked(const char *name)
{
    for (kvkit__backend_t *b = backends; b; b = b->next)
        if (strcmp(b->name, name) == 0)
            return b;
    return NULL;
}

int kvkit__backend_acquire(const char *name, kvkit__backend_t **out,
                           kvkit_error_t *err)
{
    int rc = kvkit__name_check(name, strlen(name), err);
    if (rc != KVKIT_OK)
        return rc;
    pthread_mutex_lock(&loader_lock);
    kvkit__backend_t *b = loaded_locked(name);
    if (b != NULL) {
        b->refs++;
        *out = b;
        pthread_mutex_unlock(&loader_lock);
        return KVKIT_OK;
    }
    find_ctx_t ctx = {.name = name};
    if (!dirs_walk_locked(find_in_dir, find_ignored, &ctx)) {
        dirs_each_locked(find_unsafe, &ctx);
        pthread_mutex_unlock(&loader_lock);
        return kvkit__error(err, KVKIT_NO_BACKEND, name,
                            "no backend \"%s\": tried %s%s%s%s%s (add the plugin's directory to KVKIT_PLUGIN_PATH)",
                            name, ctx.tried, ctx.ignored[0] ? "; ignored in KVKIT_PLUGIN_PATH: " : "",
                            ctx.ignored, ctx.unsafe[0] ? "; unsafe, so any plugin there is refused: " : "",
                            ctx.unsafe);
    }
    rc = load_file_locked(ctx.found, name, &b, err);
    if (rc == KVKIT_OK) {
        b->refs = 1;
        b->next = backends;
        backends = b;
        *out = b;
    }
    pthread_mutex_unlock(&loader_lock);
    return rc;
}

void kvkit__backend_release(kvkit__backend_t *b)
{
    if (b == NULL)
        return;
    pthread_mutex_lock(&loader_lock);
    if (--b->refs == 0 && b->dl != NULL && !(b->desc->flags & KVKIT_BACKEND_RESIDENT)) {
        for (kvkit__backend_t **pp = &backends; *pp; pp = &(*pp)->next)
            if (*pp == b) {
                *pp = b->next;
                break;
            }
        unload_locked(b);
    }
    pthread_mutex_unlock(&loader_lock);
}

/*** in-process registration ***/

int kvkit_backend_register(const kvkit_backend_ops_t *ops, kvkit_error_t *err)
{
    if (ops == NULL || ops->descriptor == NULL || ops->descriptor->name == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_backend_register: ops and ops->descriptor->name are required");
    const char *name = ops->descriptor->name;
    int rc = kvkit__name_check(name, strlen(name), err);
    if (rc != KVKIT_OK)
        return rc;
    if ((rc = check_descriptor(ops->descriptor, name, "(built-in)", err)) != KVKIT_OK)
        return rc;
    for (size_t i = 0; i < N_OP_SLOTS; i++)
        if (op_slots[i].need == NEED_REQUIRED && op_get(ops, &op_slots[i]) == NULL)
            return kvkit__error(err, KVKIT_PLUGIN_SYMBOL, name,
                                "backend \"%s\" (built-in) lacks the required operation %s",
                                name, op_slots[i].symbol);
    kvkit__backend_t *b = kvkit__calloc(1, sizeof *b);
    if (b == NULL || (b->name = kvkit__strdup(name)) == NULL) {
        backend_free(b);
        return kvkit__error(err, KVKIT_NOMEM, name, "out of memory registering backend \"%s\"", name);
    }
    b->ops = *ops;
    b->desc = ops->descriptor;
    if ((rc = check_views(&b->ops, name, "(built-in)", err)) != KVKIT_OK) {
        backend_free(b);
        return rc;
    }
    pthread_mutex_lock(&loader_lock);
    kvkit__backend_t *old = loaded_locked(name);
    if (old != NULL) {
        pthread_mutex_unlock(&loader_lock);
        backend_free(b);
        return kvkit__error(err, KVKIT_INVALID, name,
                            "backend \"%s\" is already %s", name,
                            old->dl ? "loaded from a plugin file" : "registered");
    }
    b->next = backends;
    backends = b;
    pthread_mutex_unlock(&loader_lock);
    return KVKIT_OK;
}

int kvkit_backend_unregister(const char *name, kvkit_error_t *err)
{
    if (name == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_backend_unregister: name is NULL");
    pthread_mutex_lock(&loader_lock);
    for (kvkit__backend_t **pp = &backends; *pp; pp = &(*pp)->next) {
        kvkit__backend_t *b = *pp;
        if (b->dl != NULL || strcmp(b->name, name) != 0)
            continue;
        if (b->refs > 0) {
            unsigned refs = b->refs;
            pthread_mutex_unlock(&loader_lock);
            return kvkit__error(err, KVKIT_INVALID, name,
                                "backend \"%s\" is still used by %u open store%s", name,
                                refs, refs == 1 ? "" : "s");
        }
        *pp = b->next;
        backend_free(b);
        pthread_mutex_unlock(&loader_lock);
        return KVKIT_OK;
    }
    pthread_mutex_unlock(&loader_lock);
    return kvkit__error(err, KVKIT_NOTFOUND, name, "no registered backend \"%s\"", name);
}

/*** listing ***/

typedef struct list_ctx {
    kvkit_backend_info_fn fn;
    void *ctx;
    char **seen; /* names met so far, for `shadowed` */
    size_t n_seen, cap_seen;
    int stopped;
    int rc;
} list_ctx_t;

static bool plugin_file_name(const char *file, char *name, size_t cap)
{
    size_t len = strlen(file);
    if (len < 4 || strcmp(file + len - 3, ".so") != 0 || len - 3 > KVKIT_NAME_MAX || len - 3 >= cap)
        return false;
    if (kvkit__name_check(file, len - 3, NULL) != KVKIT_OK)
        return false;
    memcpy(name, file, len - 3);
    name[len - 3] = '\0';
    return true;
}

static bool seen_before(list_ctx_t *lc, const char *name)
{
    for (size_t i = 0; i < lc->n_seen; i++)
        if (strcmp(lc->seen[i], name) == 0)
            return true;
    if (lc->n_seen == lc->cap_seen) {
        size_t cap = lc->cap_seen ? 2 * lc->cap_seen : 16;
        char **grown = kvkit__realloc(lc->seen, cap * sizeof *grown);
        if (grown == NULL)
            return false;
        lc->seen = grown;
        lc->cap_seen = cap;
    }
    char *copy = kvkit__strdup(name);
    if (copy != NULL)
        lc->seen[lc->n_seen++] = copy;
    return false;
}

static int report(list_ctx_t *lc, kvkit_backend_info_t *info, const kvkit_backend_descriptor_t *d)
{
    if (d != NULL) {
        info->version = d->version ? d->version : "";
        info->description = d->description ? d->description : "";
        info->abi_major = d->abi_major;
        info->abi_minor = d->abi_minor;
    }
    if (lc->fn(lc->ctx, info) != 0)
        lc->stopped = 1;
    return lc->stopped;
}

static int list_dir(void *vctx, const char *dir, const char *origin)
{
    list_ctx_t *lc = vctx;
    DIR *dh = opendir(dir);
    if (dh == NULL)
        return 0;
    /* readdir order is arbitrary; collect and sort so listings are stable */
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    char name[KVKIT_NAME_MAX + 1];
    while ((de = readdir(dh)) != NULL) {
        if (!plugin_file_name(de->d_name, name, sizeof name))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = kvkit__realloc(names, cap * sizeof *grown);
            if (grown == NULL)
                break;
            names = grown;
        }
        if ((names[n] = kvkit__strdup(name)) != NULL)
            n++;
    }
    closedir(dh);
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful of names */
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    for (size_t i = 0; i < n && !lc->stopped; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.so", dir, names[i]);
        kvkit_backend_info_t info = {.name = names[i], .path = path, .error = ""};
        info.shadowed = seen_before(lc, names[i]);
        kvkit__backend_t *b = loaded_locked(names[i]);
        if (b != NULL && b->path != NULL && strcmp(b->path, path) == 0) {
            report(lc, &info, b->desc);
            continue;
        }
        kvkit_error_t e = {0};
        info.status = load_file_locked(path, names[i], &b, &e);
        if (info.status == KVKIT_OK) {
            report(lc, &info, b->desc);
            unload_locked(b);
        } else {
            info.error = e.text;
            report(lc, &info, NULL);
        }
    }
    for (size_t i = 0; i < n; i++)
        kvkit__free(names[i]);
    kvkit__free(names);
    return lc->stopped;
}

int kvkit_backends_list(kvkit_backend_info_fn fn, void *ctx, kvkit_error_t *err)
{
    if (fn == NULL)
        return kvkit__error(err, KVKIT_INVALID, "", "kvkit_backends_list: fn is NULL");
    list_ctx_t lc = {.fn = fn, .ctx = ctx};
    pthread_mutex_lock(&loader_lock);
    int rc = ltdl_init_locked(err);
    if (rc == KVKIT_OK) {
        for (kvkit__backend_t *b = backends; b && !lc.stopped; b = b->next) {
            if (b->dl != NULL)
                continue;
            kvkit_backend_info_t info = {.name = b->name, .path = "(built-in)", .error = ""};
            seen_before(&lc, b->name);
            report(&lc, &info, b->desc);
        }
        if (!lc.stopped)
            dirs_each_locked(list_dir, &lc);
    }
    pthread_mutex_unlock(&loader_lock);
    for (size_t i = 0; i < lc.n_seen; i++)
        kvkit__free(lc.seen[i]);
    kvkit__free(lc.seen);
    return rc;
}
