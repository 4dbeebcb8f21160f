/*
 * plugin_file.c - the plugin-path rule and the check that a file is a
 * shared object the dynamic linker can map without faulting.
 *
 * Why each part exists (issue 11):
 *  - ownership and modes of every directory from / down, links followed by
 *    hand: a plugin runs with the caller's privileges, so whoever can
 *    replace any directory or link on its way can run code as the caller
 *    (OpenSSH's StrictModes and sudo apply the same rule).  A sticky
 *    directory writable by others (/tmp) is allowed: there nobody can
 *    rename or delete another user's file, and the file itself must be
 *    ours or root's, so a file someone else planted is refused;
 *  - lstat before open, O_NONBLOCK on open: a FIFO named like a plugin
 *    would block open(2) forever;
 *  - the ELF check: dlopen maps segments by their offsets, and touching a
 *    page past the end of a truncated file is SIGBUS, not an error code.
 *
 * What is left between the check and dlopen: the loader opens the checked
 * path again (libltdl takes a name, not a descriptor).  The rule above
 * means only root or the effective user can change any part of that path,
 * and the loader compares device and inode afterwards
 * (kvkit__plugin_file_same) to report a file replaced meanwhile.
 */
#include "kvkit_private.h"

#include "plugin_file.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LINKS_MAX 40 /* as the kernel's path walk */

/*** owners and modes ***/

static const char *kind_of(mode_t mode)
{
    return S_ISFIFO(mode)   ? "not a regular file (a FIFO)"
           : S_ISSOCK(mode) ? "not a regular file (a socket)"
           : S_ISCHR(mode)  ? "not a regular file (a character device)"
           : S_ISBLK(mode)  ? "not a regular file (a block device)"
           : S_ISDIR(mode)  ? "not a regular file (a directory)"
                            : "not a regular file";
}

/* 0 if st (of `path`, a directory or the final file) follows the rule. */
static int owner_mode_ok(const char *path, const struct stat *st, int is_dir, char *why, size_t cap)
{
    uid_t euid = geteuid();
    char what[PATH_MAX + 16];
    if (is_dir)
        snprintf(what, sizeof what, "directory %s", path);
    else
        snprintf(what, sizeof what, "the file");
    if (st->st_uid != 0 && st->st_uid != euid) {
        snprintf(
            why, cap,
            "%s is owned by uid %u, not by root or uid %u, so that user could replace the plugin",
            what, (unsigned)st->st_uid, (unsigned)euid);
        return -1;
    }
    mode_t w = st->st_mode & (S_IWGRP | S_IWOTH);
    if (w == 0 || (is_dir && (st->st_mode & S_ISVTX)))
        return 0;
    snprintf(why, cap, "%s is writable by %s (mode %04o)%s, so %s could replace the plugin", what,
             (w & S_IWOTH) ? "others" : "its group", (unsigned)(st->st_mode & 07777),
             is_dir ? " without the sticky bit" : "", (w & S_IWOTH) ? "anyone" : "its group");
    return -1;
}

/*** the walk ***/

/* A walk down a path: `res` is the part resolved and checked so far (it
 * holds no link), `p` the rest still to walk, inside `todo`. */
typedef struct walk {
    char todo[2 * PATH_MAX];
    char res[PATH_MAX];
    struct stat st; /* lstat of res */
    const char *p;
    int links;
} walk_t;

static int walk_start(walk_t *w, const char *path, char *why, size_t cap)
{
    if (path == NULL || path[0] != '/') {
        snprintf(why, cap, "not an absolute path");
        return KVKIT__PATH_BAD;
    }
    if (strlen(path) >= sizeof w->todo) {
        snprintf(why, cap, "path too long");
        return KVKIT__PATH_BAD;
    }
    strcpy(w->todo, path);
    w->p = w->todo;
    w->links = 0;
    strcpy(w->res, "/");
    if (lstat(w->res, &w->st) != 0) {
        snprintf(why, cap, "/: %s", strerror(errno));
        return KVKIT__PATH_BAD;
    }
    return owner_mode_ok(w->res, &w->st, 1, why, cap) != 0 ? KVKIT__PATH_UNSAFE : KVKIT__PATH_OK;
}

/* "..": res has no links in it, so its parent is textual; both were
 * checked on the way down. */
static int walk_up(walk_t *w, char *why, size_t cap)
{
    char *slash = strrchr(w->res, '/');
    slash[slash == w->res ? 1 : 0] = '\0';
    if (lstat(w->res, &w->st) != 0) {
        snprintf(why, cap, "%s: %s", w->res, strerror(errno));
        return KVKIT__PATH_BAD;
    }
    return KVKIT__PATH_OK;
}

/* `cand` is a link: it lives in res, which is checked, so follow it from
 * there; what is left to walk is its target followed by `rest`. */
static int walk_link(walk_t *w, const char *cand, const char *rest, const char *path, char *why,
                     size_t cap)
{
    char link[PATH_MAX], next[2 * PATH_MAX];
    if (++w->links > LINKS_MAX) {
        snprintf(why, cap, "%s: too many levels of symbolic links", path);
        return KVKIT__PATH_BAD;
    }
    ssize_t n = readlink(cand, link, sizeof link - 1);
    if (n < 0) {
        snprintf(why, cap, "%s: %s", cand, strerror(errno));
        return KVKIT__PATH_BAD;
    }
    link[n] = '\0';
    if ((size_t)n + strlen(rest) >= sizeof next) {
        snprintf(why, cap, "path too long");
        return KVKIT__PATH_BAD;
    }
    snprintf(next, sizeof next, "%s%s", link, rest);
    strcpy(w->todo, next);
    w->p = w->todo;
    if (link[0] == '/') {
        strcpy(w->res, "/");
        lstat(w->res, &w->st);
    }
    return KVKIT__PATH_OK;
}

/* May the walk enter (or, when `last`, end at) `cand`, which is no link? */
static int check_entry(const char *cand, const struct stat *st, int last, int want_dir, char *why,
                       size_t cap)
{
    if (S_ISDIR(st->st_mode))
        return owner_mode_ok(cand, st, 1, why, cap) != 0 ? KVKIT__PATH_UNSAFE : KVKIT__PATH_OK;
    if (!last) {
        snprintf(why, cap, "%s: not a directory", cand);
        return KVKIT__PATH_BAD;
    }
    if (want_dir) {
        snprintf(why, cap, "not a directory");
        return KVKIT__PATH_BAD;
    }
    if (!S_ISREG(st->st_mode)) {
        snprintf(why, cap, "%s", kind_of(st->st_mode));
        return KVKIT__PATH_BAD;
    }
    return owner_mode_ok(cand, st, 0, why, cap) != 0 ? KVKIT__PATH_UNSAFE : KVKIT__PATH_OK;
}

/* Walk the next component of w->p (no leading '/'). */
static int walk_step(walk_t *w, const char *path, int want_dir, char *why, size_t cap)
{
    size_t len = strcspn(w->p, "/");
    const char *comp = w->p, *rest = w->p + len;
    if (len == 1 && comp[0] == '.') {
        w->p = rest;
        return KVKIT__PATH_OK;
    }
    if (len == 2 && comp[0] == '.' && comp[1] == '.') {
        w->p = rest;
        return walk_up(w, why, cap);
    }
    char cand[PATH_MAX];
    size_t rl = strlen(w->res);
    if (rl + 1 + len >= sizeof cand) {
        snprintf(why, cap, "path too long");
        return KVKIT__PATH_BAD;
    }
    memcpy(cand, w->res, rl); /* res, "/" unless res is "/", the component */
    size_t at = rl > 1 ? rl + 1 : rl;
    cand[rl] = '/';
    memcpy(cand + at, comp, len);
    cand[at + len] = '\0';
    struct stat cst;
    if (lstat(cand, &cst) != 0) {
        snprintf(why, cap, "%s: %s", cand, strerror(errno));
        return errno == ENOENT ? KVKIT__PATH_MISSING : KVKIT__PATH_BAD;
    }
    if (S_ISLNK(cst.st_mode))
        return walk_link(w, cand, rest, path, why, cap);
    int rc = check_entry(cand, &cst, rest[strspn(rest, "/")] == '\0', want_dir, why, cap);
    if (rc != KVKIT__PATH_OK)
        return rc;
    strcpy(w->res, cand);
    w->st = cst;
    w->p = rest;
    return KVKIT__PATH_OK;
}

int kvkit__path_check(const char *path, int want_dir, char *real, size_t cap, struct stat *out,
                      char *why, size_t why_cap)
{
    walk_t w;
    int rc = walk_start(&w, path, why, why_cap);
    while (rc == KVKIT__PATH_OK) {
        while (*w.p == '/')
            w.p++;
        if (*w.p == '\0')
            break;
        rc = walk_step(&w, path, want_dir, why, why_cap);
    }
    if (rc != KVKIT__PATH_OK)
        return rc;
    if (want_dir ? !S_ISDIR(w.st.st_mode) : !S_ISREG(w.st.st_mode)) {
        snprintf(why, why_cap, "%s", want_dir ? "not a directory" : kind_of(w.st.st_mode));
        return KVKIT__PATH_BAD;
    }
    if (strlen(w.res) >= cap) {
        snprintf(why, why_cap, "path too long");
        return KVKIT__PATH_BAD;
    }
    strcpy(real, w.res);
    *out = w.st;
    return KVKIT__PATH_OK;
}

/*** the ELF check ***/

static int read_at(int fd, void *buf, size_t len, off_t off)
{
    char *b = buf;
    while (len > 0) {
        ssize_t n = pread(fd, b, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        b += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

/* This process's ELF identity, taken from libkvkit's own mapped header;
 * e_machine is 0 when that cannot be found (then it is not compared). */
static void native_ident(unsigned char *cls, unsigned char *data, unsigned *machine)
{
    static const char anchor;
    const union {
        uint16_t u;
        unsigned char c[2];
    } one = {1};
    *cls = sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32;
    *data = one.c[0] ? ELFDATA2LSB : ELFDATA2MSB;
    *machine = 0;
    Dl_info info;
    if (dladdr(&anchor, &info) != 0 && info.dli_fbase != NULL) {
        const ElfW(Ehdr) *self = info.dli_fbase;
        if (memcmp(self->e_ident, ELFMAG, SELFMAG) == 0 && self->e_ident[EI_CLASS] == *cls)
            *machine = self->e_machine;
    }
}

static int truncated(char *why, size_t cap, const char *what, unsigned long long end,
                     unsigned long long size)
{
    snprintf(why, cap, "the file is truncated: %s ends at byte %llu, but the file has %llu bytes",
             what, end, size);
    return KVKIT__PATH_BAD;
}

/* Does [off, off + len) lie inside a file of `size` bytes?  (No overflow.) */
static int inside(unsigned long long off, unsigned long long len, unsigned long long size)
{
    return off <= size && len <= size - off;
}

/* The identification bytes (the first `have` of eh): an ELF file of this
 * process's class and byte order.  *machine: this process's e_machine, 0
 * when unknown. */
static int check_ident(const ElfW(Ehdr) *eh, size_t have, unsigned *machine, char *why,
                       size_t cap)
{
    if (have < SELFMAG || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) {
        snprintf(why, cap, "it is not an ELF file");
        return KVKIT__PATH_BAD;
    }
    unsigned char cls, data;
    native_ident(&cls, &data, machine);
    if (have > EI_CLASS && eh->e_ident[EI_CLASS] != cls) {
        unsigned c = eh->e_ident[EI_CLASS];
        if (c == ELFCLASS32 || c == ELFCLASS64)
            snprintf(why, cap, "it is a %d-bit ELF file, this process is %d-bit",
                     c == ELFCLASS32 ? 32 : 64, cls == ELFCLASS32 ? 32 : 64);
        else
            snprintf(why, cap, "it has an unknown ELF class %u", c);
        return KVKIT__PATH_BAD;
    }
    if (have > EI_DATA && eh->e_ident[EI_DATA] != data) {
        snprintf(why, cap, "it has the wrong byte order (ELF data %u, this process is %s-endian)",
                 (unsigned)eh->e_ident[EI_DATA], data == ELFDATA2LSB ? "little" : "big");
        return KVKIT__PATH_BAD;
    }
    return KVKIT__PATH_OK;
}

/* The rest of the header: a shared object for this machine whose header
 * tables lie inside the file. */
static int check_header(const ElfW(Ehdr) *eh, unsigned machine, unsigned long long size,
                        char *why, size_t cap)
{
    if (eh->e_ident[EI_VERSION] != EV_CURRENT) {
        snprintf(why, cap, "it has an unknown ELF version %u", (unsigned)eh->e_ident[EI_VERSION]);
        return KVKIT__PATH_BAD;
    }
    if (eh->e_type != ET_DYN) {
        snprintf(why, cap, "it is not a shared object (ELF type %u)", (unsigned)eh->e_type);
        return KVKIT__PATH_BAD;
    }
    if (machine != 0 && eh->e_machine != machine) {
        snprintf(why, cap, "it is for ELF machine %u, this process runs on machine %u",
                 (unsigned)eh->e_machine, machine);
        return KVKIT__PATH_BAD;
    }
    if (eh->e_phentsize != sizeof(ElfW(Phdr)) || eh->e_phnum == 0 || eh->e_phnum == PN_XNUM) {
        snprintf(why, cap, "it has no usable program header table (%u entries of %u bytes)",
                 (unsigned)eh->e_phnum, (unsigned)eh->e_phentsize);
        return KVKIT__PATH_BAD;
    }
    unsigned long long ph_len = (unsigned long long)eh->e_phnum * sizeof(ElfW(Phdr));
    if (!inside(eh->e_phoff, ph_len, size))
        return truncated(why, cap, "the program header table", eh->e_phoff + ph_len, size);
    if (eh->e_shoff != 0) {
        /* e_shnum 0 with a table means "count in entry 0": one entry at least */
        unsigned long long n = eh->e_shnum ? eh->e_shnum : 1;
        if (eh->e_shentsize != sizeof(ElfW(Shdr))) {
            snprintf(why, cap, "it has a bad section header size (%u bytes)",
                     (unsigned)eh->e_shentsize);
            return KVKIT__PATH_BAD;
        }
        if (!inside(eh->e_shoff, n * sizeof(ElfW(Shdr)), size))
            return truncated(why, cap, "the section header table",
                             eh->e_shoff + n * sizeof(ElfW(Shdr)), size);
    }
    return KVKIT__PATH_OK;
}

/* Every segment lies inside the file, and at least one is loadable.  One
 * header at a time, on the stack: checking a plugin allocates nothing, so
 * it cannot fail for want of memory. */
static int check_segments(int fd, const ElfW(Ehdr) *eh, unsigned long long size, char *why,
                          size_t cap)
{
    unsigned loads = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        ElfW(Phdr) ph;
        if (read_at(fd, &ph, sizeof ph, (off_t)(eh->e_phoff + (unsigned long long)i * sizeof ph)) !=
            0) {
            snprintf(why, cap, "cannot read its program headers: %s",
                     strerror(errno ? errno : EIO));
            return KVKIT__PATH_BAD;
        }
        if (ph.p_type == PT_LOAD) {
            loads++;
            if (ph.p_filesz > ph.p_memsz) {
                snprintf(why, cap, "it is corrupt: segment %u holds more file bytes than memory",
                         i);
                return KVKIT__PATH_BAD;
            }
        }
        if (ph.p_filesz > 0 && !inside(ph.p_offset, ph.p_filesz, size)) {
            char what[64];
            snprintf(what, sizeof what, "segment %u (type %#x)", i, (unsigned)ph.p_type);
            return truncated(why, cap, what, (unsigned long long)ph.p_offset + ph.p_filesz, size);
        }
    }
    if (loads == 0) {
        snprintf(why, cap, "it has no loadable segment");
        return KVKIT__PATH_BAD;
    }
    return KVKIT__PATH_OK;
}

static int elf_check(int fd, unsigned long long size, char *why, size_t cap)
{
    ElfW(Ehdr) eh;
    memset(&eh, 0, sizeof eh);
    size_t have = size < sizeof eh ? (size_t)size : sizeof eh;
    if (read_at(fd, &eh, have, 0) != 0) {
        snprintf(why, cap, "cannot read it: %s", strerror(errno ? errno : EIO));
        return KVKIT__PATH_BAD;
    }
    unsigned machine;
    int rc = check_ident(&eh, have, &machine, why, cap);
    if (rc != KVKIT__PATH_OK)
        return rc;
    if (have < sizeof eh)
        return truncated(why, cap, "the ELF header", sizeof eh, size);
    if ((rc = check_header(&eh, machine, size, why, cap)) != KVKIT__PATH_OK)
        return rc;
    return check_segments(fd, &eh, size, why, cap);
}

/*** opening ***/

int kvkit__plugin_file_open(const char *path, int *fdp, char *real, size_t cap, char *why,
                            size_t why_cap)
{
    struct stat st, fst;
    int rc = kvkit__path_check(path, 0, real, cap, &st, why, why_cap);
    if (rc == KVKIT__PATH_MISSING)
        rc = KVKIT__PATH_BAD;
    if (rc != KVKIT__PATH_OK)
        return rc;
    int fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &fst) != 0) {
        snprintf(why, why_cap, "%s: %s", real, strerror(errno));
        if (fd >= 0)
            close(fd);
        return KVKIT__PATH_BAD;
    }
    if (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
        snprintf(why, why_cap, "%s was replaced while it was being checked", real);
        rc = KVKIT__PATH_UNSAFE;
    } else if (!S_ISREG(fst.st_mode)) {
        snprintf(why, why_cap, "%s", kind_of(fst.st_mode));
        rc = KVKIT__PATH_BAD;
    } else if (owner_mode_ok(real, &fst, 0, why, why_cap) != 0) {
        rc = KVKIT__PATH_UNSAFE;
    } else {
        rc = elf_check(fd, (unsigned long long)fst.st_size, why, why_cap);
    }
    if (rc != KVKIT__PATH_OK) {
        close(fd);
        return rc;
    }
    *fdp = fd;
    return KVKIT__PATH_OK;
}

int kvkit__plugin_file_same(int fd, const char *real)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(real, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}
