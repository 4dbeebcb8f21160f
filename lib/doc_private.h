/*
 * doc_private.h - internals of the document layer shared by lib/doc_*.c.
 * Nothing here is exported (kvkit__ prefix, not kvkit_[a-z]).
 */
#ifndef KVKIT_DOC_PRIVATE_H
#define KVKIT_DOC_PRIVATE_H

#include "kvkit_private.h"

/*** schemas and properties (doc_schema.c, doc_prop.c) ***/

typedef struct kvkit__validator {
    kvkit_validator_fn fn;
    void *ctx;
    char *name;
} kvkit__validator_t;

struct kvkit_prop {
    char *name;
    uint32_t hash; /* of the name: the schema's lookup table is keyed by it */
    kvkit_prop_kind_t kind;
    unsigned flags;
    json_t *def; /* default value (JSON form) or NULL */
    kvkit_default_fn def_fn;
    void *def_ctx;
    kvkit__validator_t *validators;
    size_t n_validators;
    const kvkit_schema_t *target; /* embedded / embedded list / reference */
    json_t *values;               /* enum values (array) */
    char *prefix;                 /* password crypt prefix, NULL: default */
    const kvkit_schema_t *owner;  /* the schema that declared it */
};

struct kvkit_schema {
    char *name;
    char *bucket;
    const kvkit_schema_t *parent;
    kvkit_store_t *store;
    bool strict;
    /* Inherited properties first (pointers into the parents' arrays), then
     * the schema's own; own[i] says which entries this schema frees. */
    kvkit_prop_t **props;
    bool *own;
    size_t n_props, cap_props;
    /* Name lookup: open addressing on the names' hashes, slot_mask + 1
     * (a power of two, at least twice cap_props) slots holding a props
     * index + 1, 0 when empty.  Rebuilt whenever props changes; sized
     * when props grows, so a rebuild never allocates. */
    uint32_t *slots;
    size_t slot_mask;
    unsigned n_children;       /* schemas created with this one as parent */
    kvkit_schema_list_t *list; /* owner when loaded from JSON, else NULL */
};

/* The property `name` of the schema, or NULL (a hash lookup). */
kvkit_prop_t *kvkit__schema_find(const kvkit_schema_t *schema, const char *name);

/* Create / destroy ignoring list ownership (the list uses these). */
int kvkit__schema_create(const char *name, const kvkit_schema_t *parent, kvkit_store_t *store,
                         kvkit_schema_t **out, kvkit_error_t *err);
void kvkit__schema_free(kvkit_schema_t *schema);

/* 1 if `s` is `base` or derives from it. */
bool kvkit__schema_is_a(const kvkit_schema_t *s, const kvkit_schema_t *base);
/* The one check before a call reaches the schema's store: KVKIT_INVALID
 * when the schema is NULL or has no store. */
int kvkit__schema_need_store(const kvkit_schema_t *s, kvkit_error_t *err);

/* Return KVKIT_INVALID from the calling function when prop is NULL. */
#define CHECK_PROP(p, err)                                                                         \
    do {                                                                                           \
        if ((p) == NULL)                                                                           \
            return kvkit__error(err, KVKIT_INVALID, "", "property is NULL");                       \
    } while (0)

void kvkit__prop_free(kvkit_prop_t *prop);
/* Can properties of this kind carry KVKIT_PROP_INDEX? */
bool kvkit__kind_indexable(kvkit_prop_kind_t kind);
/* A fresh default value for the property (new reference; json_null() when
 * it has none).  NULL only when out of memory. */
json_t *kvkit__prop_default(const kvkit_prop_t *prop);
/* Index of `value` in the enum's values, or -1. */
long kvkit__enum_index(const kvkit_prop_t *prop, const json_t *value);

/*** JSON helpers (doc_jsonutil.c) ***/

/* Parse a JSON text (duplicate keys refused).  On failure *nomem tells
 * an allocation failure from bad JSON: jansson's lexer reports some
 * allocation failures as syntax errors, so a failed parse is tried once
 * more - bad JSON fails the same way twice; a transient allocation failure
 * then succeeds, and a difference between the two failures is one too. */
json_t *kvkit__json_parse(const char *text, size_t len, json_error_t *jerr, bool *nomem);

/* A shallow copy (new reference), or NULL when out of memory - never a
 * container with members missing, as json_copy can return. */
json_t *kvkit__json_copy(json_t *value);

/* Nesting depth of a value (a scalar is 0, [] is 1), stopping early once
 * past `limit`. */
size_t kvkit__json_depth(const json_t *value, size_t limit);

/*** validation (doc_validate.c) ***/

/* Accumulates validation failures: a message listing every failing path
 * (truncated to fit an error report) and, optionally, the paths.  The
 * current path is a stack of segments, turned into text only when a field
 * fails: validation runs on every save. */
#define KVKIT__VPATH_SEGMENTS 72 /* > KVKIT_DOC_MAX_DEPTH: deeper is refused */

typedef struct kvkit__vseg {
    const char *name; /* NULL: an array index */
    size_t index;
} kvkit__vseg_t;

typedef struct kvkit__vctx {
    kvkit__vseg_t seg[KVKIT__VPATH_SEGMENTS];
    size_t depth;
    /* msg and first are valid up to their NUL only: the context is not
     * zeroed */
    char msg[KVKIT_ERROR_TEXT_LENGTH];
    size_t msg_len;
    char first[KVKIT_ERROR_SUBJECT_LENGTH]; /* first failing path */
    size_t n_fail;
    bool stop_first; /* is_valid: stop at the first failure */
    bool nomem;
    json_t *paths; /* array of failing paths, or NULL */
    /* NULL, or n_props entries the validation of a top-level object fills
     * with the value of each property (NULL: absent), so that what
     * follows a validation does not look them up again */
    const json_t **values;
} kvkit__vctx_t;

void kvkit__vctx_init(kvkit__vctx_t *v, bool stop_first, json_t *paths);

/* Validate a JSON-form object against the schema, recording failures in v
 * (path prefix: v's current segments).  Returns the number of new
 * failures. */
size_t kvkit__validate(const kvkit_schema_t *schema, const json_t *object, kvkit__vctx_t *v);

/* Turn the failures in v into KVKIT_VALIDATION for `what` (e.g. a quoted
 * bucket/key), or KVKIT_OK when there are none. */
int kvkit__vctx_report(const kvkit__vctx_t *v, const char *what, kvkit_error_t *err);

/*** JSON form <-> stored form (doc_convert.c) ***/

/* JSON form -> stored form.  *out is a new reference (the input itself,
 * with a reference taken, when nothing needs converting). */
int kvkit__to_db(const kvkit_schema_t *schema, json_t *object, json_t **out, kvkit_error_t *err);
/* Stored form -> JSON form, in place on an object the caller owns alone
 * (freshly parsed).  Checks nesting depth.  KVKIT_CORRUPT; the message
 * does not say where (the caller prefixes bucket and key). */
int kvkit__from_db(const kvkit_schema_t *schema, json_t *object, kvkit_error_t *err);

/*** what a save writes (doc_prepare.c) ***/

/* Index entries of a stored-form (db = true) or JSON-form object. */
int kvkit__index_entries(const kvkit_schema_t *schema, const json_t *object, bool db,
                         kvkit_index_set_t *set, kvkit_error_t *err);

/* The one prepare path: validate the JSON-form object (failures reported
 * as KVKIT_VALIDATION for `kind "name"`), convert it to stored form
 * (*db_out, a new reference) and replace set's entries with its index
 * entries. */
int kvkit__prepare(const kvkit_schema_t *schema, const json_t *object, const char *kind,
                   const char *name, json_t **db_out, kvkit_index_set_t *set, kvkit_error_t *err);

/*** the document core (doc_core.c): calls nothing above it ***/

typedef struct kvkit__ref {
    const kvkit_prop_t *prop;
    kvkit_doc_t *doc; /* loaded target (owned) */
    struct kvkit__ref *next;
} kvkit__ref_t;

/* What a checked save compares the stored document with.
 *   NEW:     nothing: the key must be free.
 *   UNKNOWN: nothing known (saved unchecked, or from a query): refused.
 *   STORED:  the stored bytes the document was read from or last saved as
 *            (raw, when kept), and their revision (rev, 0 until looked up).
 *            A read keeps the store's buffer instead of asking for the
 *            revision, which costs a second point read: the revision is
 *            looked up only by a checked save or kvkit_doc_revision. */
enum { KVKIT__REV_NEW, KVKIT__REV_UNKNOWN, KVKIT__REV_STORED };

struct kvkit_doc {
    const kvkit_schema_t *schema;
    char *key;    /* points just past the struct (one allocation) */
    json_t *data; /* attributes, JSON form */
    uint64_t rev;
    int rev_state; /* KVKIT__REV_* */
    char *raw;     /* STORED: the bytes (raw_len), or NULL: rev only */
    size_t raw_len;
    bool raw_malloc;    /* raw came from the store (free), else kvkit__free */
    kvkit__ref_t *refs; /* loaded references */
};

/* A document with a copy of the key; `data` (stolen on success; NULL: a
 * new empty object) becomes its attributes. */
int kvkit__doc_alloc(const kvkit_schema_t *schema, const char *key, size_t key_len, json_t *data,
                     kvkit_doc_t **out, kvkit_error_t *err);
/* Fill absent declared attributes with defaults (or nulls). */
int kvkit__doc_defaults(kvkit_doc_t *doc, bool nulls, kvkit_error_t *err);
/* Forget loaded references (all when prop is NULL). */
void kvkit__doc_drop_refs(kvkit_doc_t *doc, const kvkit_prop_t *prop);
/* Set without password hashing or checks (value stolen; NULL = null).
 * name must be valid UTF-8: checked by kvkit__doc_check_name or a
 * declared property's name. */
int kvkit__doc_put(kvkit_doc_t *doc, const char *name, json_t *value, kvkit_error_t *err);
/* Set the revision state, forgetting the kept bytes. */
void kvkit__doc_rev_set(kvkit_doc_t *doc, int state, uint64_t rev);
/* State STORED at `raw` (len bytes, taken over: freed with free() when
 * from_store, else with kvkit__free) and revision rev (0: not looked up). */
void kvkit__doc_rev_keep(kvkit_doc_t *doc, char *raw, size_t len, bool from_store, uint64_t rev);
/* KVKIT_INVALID unless doc is set and name is a non-empty UTF-8 string. */
int kvkit__doc_check_name(const kvkit_doc_t *doc, const char *name, kvkit_error_t *err);

/*** passwords (doc_password.c) ***/

/* The hash of `plain` with the password property's prefix, as a new JSON
 * string. */
int kvkit__password_value(const kvkit_prop_t *prop, const char *plain, json_t **out,
                          kvkit_error_t *err);

/*** per-thread scratch for saves (doc_scratch.c) ***/

typedef struct kvkit__scratch {
    kvkit_index_set_t *iset; /* the saved document's index entries */
    char *buf;               /* its serialization: len bytes, not NUL-terminated */
    size_t len, cap;
} kvkit__scratch_t;

/* The calling thread's scratch (freed when the thread ends), or NULL when
 * out of memory. */
kvkit__scratch_t *kvkit__scratch(void);
/* Serialize `value` into sc->buf / sc->len, byte for byte what
 * json_dumps(value, JSON_COMPACT) writes; -1 when out of memory or when
 * jansson refuses the value (a string that is not UTF-8, a cycle). */
int kvkit__scratch_dump(kvkit__scratch_t *sc, const json_t *value);
/* Give back a buffer that one large document made large. */
void kvkit__scratch_trim(kvkit__scratch_t *sc);

/*** loading documents and references (doc_load.c) ***/

/* Documents being loaded, innermost first: eager reference loading stops
 * at a document already on the chain (a cycle) or past a depth. */
typedef struct kvkit__loading {
    const char *bucket;
    const char *key;
    const struct kvkit__loading *up;
    unsigned depth;
} kvkit__loading_t;

#define KVKIT__EAGER_DEPTH 16

/* Build a document from stored bytes (copied from), loading eager
 * references.  KVKIT_CORRUPT naming bucket and key on malformed data. */
int kvkit__doc_from_bytes(const kvkit_schema_t *schema, const char *key, size_t key_len,
                          const char *bytes, size_t len, const kvkit__loading_t *up,
                          kvkit_doc_t **out, kvkit_error_t *err);
/* Read a document from the schema's store with one plain get; when the
 * backend has checked saves, the stored bytes are kept (state STORED).
 * KVKIT_NOTFOUND without a message when absent. */
int kvkit__doc_read(const kvkit_schema_t *schema, const char *key, const kvkit__loading_t *up,
                    kvkit_doc_t **out, kvkit_error_t *err);
/* Load (or find already loaded) the target of reference `prop`; *target is
 * NULL for unset/null and for a missing target of a lenient reference. */
int kvkit__ref_load(kvkit_doc_t *doc, const kvkit_prop_t *prop, const kvkit__loading_t *up,
                    kvkit_doc_t **target, kvkit_error_t *err);

/* A copy of compound query q for the schema's documents (doc_qexpr.c):
 * planned on the schema's indexed properties, enum values in stored form,
 * every field a property or "$key". */
int kvkit__qexpr_for_schema(const kvkit_schema_t *s, const kvkit_qexpr_t *q,
                            kvkit_qexpr_t **out, kvkit_error_t *err);

#endif /* KVKIT_DOC_PRIVATE_H */
