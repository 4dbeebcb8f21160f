/*
 * kvkit/document.h - schemas, properties, documents and queries.
 * Included by <kvkit/kvkit.h>; do not include directly.
 *
 * Ownership rules of this part of the API (on top of those in kvkit.h):
 *  - A schema borrows its store, its parent, and the schemas its embedded
 *    and reference properties point at: they must outlive it.  A document
 *    borrows its schema: destroy every document before its schema.
 *  - Schemas loaded from a JSON description belong to their
 *    kvkit_schema_list_t; never destroy them one by one.
 *  - json_t in: plain names borrow (the library takes its own reference or
 *    copy), `_new` steals the reference, also when the call fails.
 *    json_t out: `**out` of a getter is borrowed (valid until the attribute
 *    changes or the document is destroyed); of a builder (serialize,
 *    invalids, to_db ...) it is a new reference the caller json_decref()s.
 *  - Strings returned as `const char *` are borrowed from their object.
 *    Strings returned through `char **` are the caller's, freed with free().
 *  - Threads: a schema that is no longer being changed may be used by many
 *    threads at once (it is only read); a document or query belongs to one
 *    thread at a time.
 *  - Allocation failures are KVKIT_NOMEM: nothing leaks and every object
 *    stays usable (a merge or clear may then be partly applied).
 *  - Validation failures are KVKIT_VALIDATION; the message names every
 *    failing field with its path ("title", "address.zip", "items[2].qty",
 *    "_extra_props" for undeclared attributes of a strict schema).
 *
 * In-memory ("JSON") form versus stored form of values:
 *   enum      value (as declared)              | its index in the values (integer)
 *   datetime  epoch seconds (integer or real)  | the same
 *   password  the crypt(3) hash string         | the same (plain text is never kept)
 *   reference the target's key (string)        | the same
 *   embedded  a JSON object of the nested schema, converted recursively
 * Every other kind is stored as it is.
 *
 * Nesting: a document deeper than KVKIT_DOC_MAX_DEPTH levels of objects and
 * arrays (the document itself is level 1) is refused: KVKIT_VALIDATION on
 * save/validate, KVKIT_CORRUPT when read from a store.
 */
#ifndef KVKIT_DOCUMENT_H
#define KVKIT_DOCUMENT_H

#ifdef __cplusplus
extern "C" {
#endif

#define KVKIT_DOC_MAX_DEPTH 64

/* Default crypt(3) prefix of password properties: yescrypt. */
#define KVKIT_PASSWORD_PREFIX_DEFAULT "$y$"

typedef struct kvkit_schema kvkit_schema_t;
typedef struct kvkit_prop kvkit_prop_t;
typedef struct kvkit_doc kvkit_doc_t;
typedef struct kvkit_schema_list kvkit_schema_list_t;
typedef struct kvkit_query kvkit_query_t; /* a query's results, iterated */
typedef struct kvkit_qexpr kvkit_qexpr_t; /* a parsed compound query (kvkit/query.h) */

/*** property kinds and flags ***/

typedef enum kvkit_prop_kind {
    KVKIT_PROP_STRING = 1,
    KVKIT_PROP_NUMBER = 2,  /* integer or real */
    KVKIT_PROP_INTEGER = 3, /* integer; a real with a fraction is invalid */
    KVKIT_PROP_BOOLEAN = 4,
    KVKIT_PROP_DICT = 5,          /* any JSON object */
    KVKIT_PROP_LIST = 6,          /* any JSON array */
    KVKIT_PROP_EMBEDDED = 7,      /* object validated by a nested schema */
    KVKIT_PROP_EMBEDDED_LIST = 8, /* array of such objects */
    KVKIT_PROP_REFERENCE = 9,     /* key of a document of another schema */
    KVKIT_PROP_ENUM = 10,         /* one of a list of values; stored as its index */
    KVKIT_PROP_DATETIME = 11,     /* epoch seconds */
    KVKIT_PROP_PASSWORD = 12,     /* crypt(3) hash */
    KVKIT_PROP_GENERIC = 13       /* any JSON value */
} kvkit_prop_kind_t;

/* The kind's name as used in JSON schema descriptions ("string", "number",
 * "integer", "boolean", "dict", "list", "embedded", "embedded_list",
 * "reference", "enum", "datetime", "password", "generic"); NULL if unknown. */
const char *kvkit_prop_kind_name(kvkit_prop_kind_t kind);

/* Flags of kvkit_schema_add*. */
#define KVKIT_PROP_REQUIRED (1u << 0)       /* null or unset is invalid */
#define KVKIT_PROP_INDEX (1u << 1)          /* maintain an index on the value */
#define KVKIT_PROP_LOAD_ON_DEMAND (1u << 2) /* reference: load on first access */
#define KVKIT_PROP_LENIENT (1u << 3)        /* reference: missing target reads as NULL
                                             * instead of KVKIT_REF_MISSING */

/*** schemas ***/

/* Create a schema named `name` (copied; also the default bucket).  `parent`
 * (may be NULL; borrowed, must outlive the schema) gives its properties,
 * strictness, store and indexes, which the new schema may override.  `store`
 * (may be NULL: the parent's, or none) is borrowed.  On KVKIT_OK *out is
 * the caller's, freed with kvkit_schema_destroy. */
int kvkit_schema_create(const char *name, const kvkit_schema_t *parent, kvkit_store_t *store,
                        kvkit_schema_t **out, kvkit_error_t *err);

/* Destroy a schema created with kvkit_schema_create (not one of a
 * kvkit_schema_list_t).  Its documents and child schemas must be gone.
 * NULL is allowed. */
void kvkit_schema_destroy(kvkit_schema_t *schema);

/* Accessors; strings borrowed from the schema. */
const char *kvkit_schema_name(const kvkit_schema_t *schema);
const char *kvkit_schema_bucket(const kvkit_schema_t *schema);
const kvkit_schema_t *kvkit_schema_parent(const kvkit_schema_t *schema);
kvkit_store_t *kvkit_schema_store(const kvkit_schema_t *schema);
int kvkit_schema_strict(const kvkit_schema_t *schema);

/* Setters (bucket is copied; store borrowed). */
int kvkit_schema_set_bucket(kvkit_schema_t *schema, const char *bucket, kvkit_error_t *err);
void kvkit_schema_set_store(kvkit_schema_t *schema, kvkit_store_t *store);
/* Strict schemas refuse undeclared attributes ("_extra_props"). */
void kvkit_schema_set_strict(kvkit_schema_t *schema, int strict);

/* Declare property `name` (copied) of `kind` with KVKIT_PROP_* flags.  A
 * name the parent declares is overridden; one the schema itself declares is
 * KVKIT_INVALID.  Properties cannot be added to a schema that already has
 * child schemas.  Embedded, embedded-list and reference properties need a
 * target (kvkit_prop_set_target, or use kvkit_schema_add_ref /
 * _add_embedded); enum properties need values.  *prop (may be NULL)
 * receives the property, borrowed from the schema, for the kvkit_prop_*
 * setters. */
int kvkit_schema_add(kvkit_schema_t *schema, const char *name, kvkit_prop_kind_t kind,
                     unsigned flags, kvkit_prop_t **prop, kvkit_error_t *err);

/* Shorthands: add + kvkit_prop_set_target / kvkit_prop_set_enum.
 * `target` is borrowed; `values` (n JSON scalars) are copied. */
int kvkit_schema_add_ref(kvkit_schema_t *schema, const char *name, const kvkit_schema_t *target,
                         unsigned flags, kvkit_prop_t **prop, kvkit_error_t *err);
int kvkit_schema_add_embedded(kvkit_schema_t *schema, const char *name,
                              const kvkit_schema_t *target, int is_list, unsigned flags,
                              kvkit_prop_t **prop, kvkit_error_t *err);
int kvkit_schema_add_enum(kvkit_schema_t *schema, const char *name, const char *const *values,
                          size_t n_values, unsigned flags, kvkit_prop_t **prop, kvkit_error_t *err);

/* The property called `name` (own or inherited), borrowed; NULL if none. */
const kvkit_prop_t *kvkit_schema_prop(const kvkit_schema_t *schema, const char *name);
/* Properties in declaration order (inherited ones first). */
size_t kvkit_schema_prop_count(const kvkit_schema_t *schema);
const kvkit_prop_t *kvkit_schema_prop_at(const kvkit_schema_t *schema, size_t i);

/*** properties ***/

/* Produces a default value: a new reference (stolen by the library), or
 * NULL for null. */
typedef json_t *(*kvkit_default_fn)(void *ctx);

/* Returns non-zero when `value` (borrowed, never null) is acceptable. */
typedef int (*kvkit_validator_fn)(void *ctx, const json_t *value);

/* Accessors: the name is borrowed from the property, the target schema is
 * the borrowed pointer given to kvkit_prop_set_target (NULL if none). */
const char *kvkit_prop_name(const kvkit_prop_t *prop);
kvkit_prop_kind_t kvkit_prop_kind(const kvkit_prop_t *prop);
unsigned kvkit_prop_flags(const kvkit_prop_t *prop);
const kvkit_schema_t *kvkit_prop_target(const kvkit_prop_t *prop);

/* Replace the flags (KVKIT_PROP_INDEX on a kind that cannot be indexed -
 * boolean, dict, embedded, embedded list, password, generic - is
 * KVKIT_INVALID naming the property). */
int kvkit_prop_set_flags(kvkit_prop_t *prop, unsigned flags, kvkit_error_t *err);

/* Default value, deep-copied (a JSON-form value).  NULL clears it. */
int kvkit_prop_set_default(kvkit_prop_t *prop, const json_t *value, kvkit_error_t *err);
/* Default produced by fn(ctx) at each use; ctx is borrowed. */
int kvkit_prop_set_default_fn(kvkit_prop_t *prop, kvkit_default_fn fn, void *ctx,
                              kvkit_error_t *err);

/* Append a validator; `name` (copied) appears in validation messages;
 * ctx is borrowed.  Validators run in order, on non-null values only. */
int kvkit_prop_add_validator(kvkit_prop_t *prop, kvkit_validator_fn fn, void *ctx, const char *name,
                             kvkit_error_t *err);

/* The schema of an embedded, embedded-list or reference property
 * (borrowed, must outlive the property's schema). */
int kvkit_prop_set_target(kvkit_prop_t *prop, const kvkit_schema_t *target, kvkit_error_t *err);

/* The values of an enum property: a JSON array of distinct scalars
 * (borrowed; deep-copied). */
int kvkit_prop_set_enum(kvkit_prop_t *prop, const json_t *values, kvkit_error_t *err);

/* crypt(3) prefix of a password property ("$y$", "$2b$", "$6$" ...;
 * copied).  Checked by hashing a probe now. */
int kvkit_prop_set_password_prefix(kvkit_prop_t *prop, const char *prefix, kvkit_error_t *err);

/* Hash `plain` with a fresh salt (crypt_gensalt_rn from the system's
 * randomness, then crypt_r).  prefix NULL: KVKIT_PASSWORD_PREFIX_DEFAULT.
 * On KVKIT_OK *hash is the caller's, freed with free(). */
int kvkit_prop_password_hash(const char *prefix, const char *plain, char **hash,
                             kvkit_error_t *err);
/* *match = 1 when `plain` hashes to `hash` (compared in constant time),
 * else 0.  A malformed hash is KVKIT_INVALID. */
int kvkit_prop_password_check(const char *hash, const char *plain, int *match, kvkit_error_t *err);

/*** schemas from a JSON description ***/

/*
 * A description is an object mapping schema names to definitions:
 *
 *   { "User": { "bucket": "users", "strict": true, "parent": "Base",
 *               "properties": {
 *                 "name":    { "type": "string", "required": true, "index": true },
 *                 "age":     { "type": "integer", "default": 18 },
 *                 "role":    { "type": "enum", "values": ["admin", "user"] },
 *                 "address": { "type": "embedded", "schema": "Address" },
 *                 "items":   { "type": "embedded_list",
 *                              "schema": { "properties": { "qty": { "type": "integer" } } } },
 *                 "boss":    { "type": "reference", "schema": "User",
 *                              "load_on_demand": true, "strict": false },
 *                 "pw":      { "type": "password", "prefix": "$y$" } } },
 *     "Address": { "properties": { "zip": { "type": "string" } } } }
 *
 * "schema" names another schema of the description or is an inline
 * (anonymous) definition.  Definition keys: bucket, parent, strict,
 * properties.  Property keys: type, required, index, default, values,
 * schema, load_on_demand, strict (references), prefix (passwords).  Any
 * other key, an unknown type, a missing or unknown schema name or a parent
 * cycle is KVKIT_INVALID naming the schema and property.
 */

/* Build every schema of the description; all of them use `store` (may be
 * NULL; borrowed).  On KVKIT_OK *out is the caller's, freed with
 * kvkit_schema_list_destroy, which destroys its schemas. */
int kvkit_schema_list_load_json(const json_t *description, kvkit_store_t *store,
                                kvkit_schema_list_t **out, kvkit_error_t *err);
int kvkit_schema_list_load_string(const char *text, kvkit_store_t *store, kvkit_schema_list_t **out,
                                  kvkit_error_t *err);
int kvkit_schema_list_load_file(const char *path, kvkit_store_t *store, kvkit_schema_list_t **out,
                                kvkit_error_t *err);
void kvkit_schema_list_destroy(kvkit_schema_list_t *list);

/* The named schema (borrowed from the list; NULL if none). */
kvkit_schema_t *kvkit_schema_list_find(const kvkit_schema_list_t *list, const char *name);
/* Named schemas in description order (inline ones are not counted). */
size_t kvkit_schema_list_count(const kvkit_schema_list_t *list);
kvkit_schema_t *kvkit_schema_list_at(const kvkit_schema_list_t *list, size_t i);

/*** schema operations on plain JSON (no document object) ***/

/* Check a JSON-form object (borrowed) against the schema: KVKIT_VALIDATION
 * naming every failing field. */
int kvkit_schema_validate(const kvkit_schema_t *schema, const json_t *object, kvkit_error_t *err);

/* Convert between the JSON form and the stored form (see the table above).
 * *out is a new reference.  to_db does not validate. */
int kvkit_schema_to_db(const kvkit_schema_t *schema, const json_t *object, json_t **out,
                       kvkit_error_t *err);
int kvkit_schema_from_db(const kvkit_schema_t *schema, const json_t *object, json_t **out,
                         kvkit_error_t *err);

/* Add the index entries of `object` (borrowed, JSON form: enums hold
 * their values) for every indexed property to `set` (not cleared first).
 * An enum value that is not one of its values is KVKIT_INVALID. */
int kvkit_schema_index_set(const kvkit_schema_t *schema, const json_t *object,
                           kvkit_index_set_t *set, kvkit_error_t *err);

/* Validate, convert to stored form and build the index set (cleared first)
 * in one call: what a save does.  *db_out is a new reference. */
int kvkit_schema_prepare(const kvkit_schema_t *schema, const json_t *object, json_t **db_out,
                         kvkit_index_set_t *set, kvkit_error_t *err);

/*** documents ***/

/* A new, unsaved document of `schema` with its defaults applied.  `key`
 * (copied) may be NULL: a random 128-bit key in 32 hex digits (getrandom).
 * On KVKIT_OK *out is the caller's, freed with kvkit_doc_destroy. */
int kvkit_doc_new(const kvkit_schema_t *schema, const char *key, kvkit_doc_t **out,
                  kvkit_error_t *err);

/* Read the document stored under `key` in the schema's bucket.
 * KVKIT_NOTFOUND (no message needed) when absent; KVKIT_CORRUPT naming
 * bucket and key when the stored bytes are not a valid document.
 * References without KVKIT_PROP_LOAD_ON_DEMAND are loaded too (a strict
 * one whose target is missing fails with KVKIT_REF_MISSING naming it - never
 * KVKIT_NOTFOUND, which means the document itself is absent; a cycle of
 * references is cut: the repeated document is left to load on demand).
 * One plain read of the store: the revision is not fetched.  When the
 * backend has checked saves, the document keeps the stored bytes it was
 * read from (for kvkit_doc_save_checked).
 * *out is the caller's (kvkit_doc_destroy). */
int kvkit_doc_get(const kvkit_schema_t *schema, const char *key, kvkit_doc_t **out,
                  kvkit_error_t *err);

/* kvkit_doc_get, or kvkit_doc_new with that key when absent.  *created
 * (may be NULL) tells which.  Only KVKIT_NOTFOUND (the document itself is
 * absent) creates; every other failure of the read - KVKIT_REF_MISSING,
 * KVKIT_CORRUPT ... - is returned with *out NULL and *created 0, so a new
 * document never replaces a stored one by mistake.  When it creates, err is
 * left untouched. */
int kvkit_doc_get_or_new(const kvkit_schema_t *schema, const char *key, kvkit_doc_t **out,
                         int *created, kvkit_error_t *err);

/* Re-read the document from its store, dropping unsaved changes and loaded
 * references; it then keeps the bytes just read, as kvkit_doc_get.
 * KVKIT_NOTFOUND if it is no longer stored, KVKIT_REF_MISSING if a strict
 * reference's target is not; the document is unchanged on any failure. */
int kvkit_doc_reload(kvkit_doc_t *doc, kvkit_error_t *err);

/* Validate (KVKIT_VALIDATION naming every failing field, nothing written),
 * then store the document with its index entries. */
int kvkit_doc_save(kvkit_doc_t *doc, kvkit_error_t *err);

/* As kvkit_doc_save, but only if the stored document is still the one this
 * document was read from or last saved as (a new document: only if the key
 * is free).  The rule is by content: it succeeds exactly when the stored
 * bytes are still the bytes this document was read from (kvkit_doc_get,
 * kvkit_doc_reload) or wrote in its last checked save.  The stored
 * document and its revision are read, compared, and the save applies only
 * if that revision is still stored, so the whole check is atomic.  A
 * change made since and then undone, leaving identical bytes, does not
 * conflict: nothing stored is lost by the save.
 * KVKIT_CONFLICT when the bytes differ, the document was deleted since, or
 * the key of a new document is taken (nothing written);
 * KVKIT_NOT_SUPPORTED on backends without revisions; KVKIT_INVALID when
 * there is nothing to compare with - after an unchecked save, or for a
 * document that came from a query (reload it). */
int kvkit_doc_save_checked(kvkit_doc_t *doc, kvkit_error_t *err);

/* Delete the document (and its index entries) from the store; the object
 * stays valid and may be saved again. */
int kvkit_doc_delete(kvkit_doc_t *doc, kvkit_error_t *err);

/* Delete by key without reading.  An absent key is KVKIT_OK. */
int kvkit_doc_delete_key(const kvkit_schema_t *schema, const char *key, kvkit_error_t *err);

/* Free the document and the references it loaded.  NULL is allowed. */
void kvkit_doc_destroy(kvkit_doc_t *doc);

/* The key (borrowed from the document) and the schema (borrowed). */
const char *kvkit_doc_key(const kvkit_doc_t *doc);
const kvkit_schema_t *kvkit_doc_schema(const kvkit_doc_t *doc);
/* The revision of the stored document this one was read from or last
 * saved as (checked); 0 for a new document, after an unchecked save, for a
 * document from a query, on backends without revisions.  A read does not
 * fetch it: the first call after one MAY READ THE STORE (one get with the
 * revision), answering 0 when the stored bytes are no longer those read or
 * the read fails; a revision found is remembered by the document. */
uint64_t kvkit_doc_revision(const kvkit_doc_t *doc);

/* 1 when both are documents of the same bucket with the same key. */
int kvkit_doc_equal(const kvkit_doc_t *a, const kvkit_doc_t *b);

/*** attributes ***/

/* *value: the attribute, borrowed (null for a declared, unset one).  An
 * attribute neither declared nor set is KVKIT_INVALID naming it. */
int kvkit_doc_attr_get(const kvkit_doc_t *doc, const char *name, json_t **value,
                       kvkit_error_t *err);

/* 1 if the attribute is set (null counts as set), else 0. */
int kvkit_doc_attr_has(const kvkit_doc_t *doc, const char *name);

/* Set an attribute, declared or not.  `value` is borrowed (a reference is
 * taken) by _set and stolen by _set_new (even on failure); NULL means null.
 * A string set on a password property is hashed first; a reference
 * property takes the target's key.  Values are checked by validation
 * (is_valid / save), not here. */
int kvkit_doc_attr_set(kvkit_doc_t *doc, const char *name, json_t *value, kvkit_error_t *err);
int kvkit_doc_attr_set_new(kvkit_doc_t *doc, const char *name, json_t *value, kvkit_error_t *err);

/* Remove the attribute (a declared one then reads as null). */
int kvkit_doc_attr_unset(kvkit_doc_t *doc, const char *name, kvkit_error_t *err);

/* Typed helpers.  Setters copy.  Getters: KVKIT_INVALID naming the
 * attribute when it holds another type; a null or unset attribute is
 * KVKIT_NOTFOUND (no message).  *value of get_string is borrowed. */
int kvkit_doc_attr_set_string(kvkit_doc_t *doc, const char *name, const char *value,
                              kvkit_error_t *err);
int kvkit_doc_attr_set_integer(kvkit_doc_t *doc, const char *name, int64_t value,
                               kvkit_error_t *err);
int kvkit_doc_attr_set_real(kvkit_doc_t *doc, const char *name, double value, kvkit_error_t *err);
int kvkit_doc_attr_set_bool(kvkit_doc_t *doc, const char *name, int value, kvkit_error_t *err);
/* Epoch seconds; stored as an integer when whole. */
int kvkit_doc_attr_set_datetime(kvkit_doc_t *doc, const char *name, double epoch,
                                kvkit_error_t *err);
int kvkit_doc_attr_get_string(const kvkit_doc_t *doc, const char *name, const char **value,
                              kvkit_error_t *err);
int kvkit_doc_attr_get_integer(const kvkit_doc_t *doc, const char *name, int64_t *value,
                               kvkit_error_t *err);
/* Integers are converted. */
int kvkit_doc_attr_get_real(const kvkit_doc_t *doc, const char *name, double *value,
                            kvkit_error_t *err);
int kvkit_doc_attr_get_bool(const kvkit_doc_t *doc, const char *name, int *value,
                            kvkit_error_t *err);
int kvkit_doc_attr_get_datetime(const kvkit_doc_t *doc, const char *name, double *epoch,
                                kvkit_error_t *err);

/* Password properties: set hashes `plain` (copied, never stored); check
 * sets *match to 1 or 0 (an unset password never matches). */
int kvkit_doc_password_set(kvkit_doc_t *doc, const char *name, const char *plain,
                           kvkit_error_t *err);
int kvkit_doc_password_check(const kvkit_doc_t *doc, const char *name, const char *plain,
                             int *match, kvkit_error_t *err);

/* Reference properties.  ref_get loads the target on first access (or
 * returns the one loaded with the document); *target is borrowed from
 * `doc` until the attribute changes, the document reloads or is destroyed.
 * Unset/null: *target = NULL, KVKIT_OK.  Missing target: KVKIT_REF_MISSING
 * naming it for a strict reference, *target = NULL and KVKIT_OK for a
 * lenient one (a target that is stored but cannot load fails for both).
 * ref_set stores target's key (target is only read; NULL sets null); a
 * target of another schema than the property's (or one derived from it)
 * is KVKIT_INVALID. */
int kvkit_doc_ref_get(kvkit_doc_t *doc, const char *name, kvkit_doc_t **target, kvkit_error_t *err);
int kvkit_doc_ref_set(kvkit_doc_t *doc, const char *name, const kvkit_doc_t *target,
                      kvkit_error_t *err);

/*** whole-document operations ***/

/* Merge the members of `object` (borrowed) as kvkit_doc_attr_set would;
 * null members are skipped unless flags has KVKIT_MERGE_NULLS. */
#define KVKIT_MERGE_NULLS (1u << 0)
int kvkit_doc_merge(kvkit_doc_t *doc, const json_t *object, unsigned flags, kvkit_error_t *err);

/* Drop every attribute, then give the declared ones their defaults (or
 * null with KVKIT_CLEAR_NULLS). */
#define KVKIT_CLEAR_NULLS (1u << 0)
int kvkit_doc_clear(kvkit_doc_t *doc, unsigned flags, kvkit_error_t *err);

/* The JSON form of the document as a new object (*out, a new reference):
 * deep copies of every set attribute except the NULL-terminated `restricted` names (may
 * be NULL), plus "key" with KVKIT_SERIALIZE_KEY. */
#define KVKIT_SERIALIZE_KEY (1u << 0)
int kvkit_doc_serialize(const kvkit_doc_t *doc, const char *const *restricted, unsigned flags,
                        json_t **out, kvkit_error_t *err);

/* Replace the document's attributes with those of `object` (borrowed,
 * JSON form as serialize makes it; values are taken as they are, password
 * hashes included).  A string "key" member that the schema does not
 * declare is not an attribute and is ignored. */
int kvkit_doc_deserialize(kvkit_doc_t *doc, const json_t *object, kvkit_error_t *err);

/* 1 if the document validates, else 0 (stops at the first problem). */
int kvkit_doc_is_valid(const kvkit_doc_t *doc);

/* *out: a new JSON array of the failing field paths, set in both cases:
 * empty and KVKIT_OK when valid; else KVKIT_VALIDATION with the reasons in
 * err, as kvkit_doc_save reports them. */
int kvkit_doc_invalids(const kvkit_doc_t *doc, json_t **out, kvkit_error_t *err);

/*** queries ***/

/* Query flags. */
#define KVKIT_QUERY_KEYS (1u << 0) /* keys only: no document is read */

/* Documents (or keys) of the schema's bucket whose indexed property
 * `field` has a value v with lo <= v <= hi (hi NULL: v == lo).  Bounds are
 * borrowed; numbers may be integers or reals; an enum accepts its values;
 * a reference, target keys.  "$key" (key range) and "$bucket" (all, bounds
 * ignored) are pseudo-fields.  A field that is not an indexed property is
 * KVKIT_NOT_INDEXED naming it.
 *
 * Iterator form: constant memory, LevelDB shape:
 *   for (; kvkit_query_valid(q); kvkit_query_next(q)) ...
 *   rc = kvkit_query_status(q, err); kvkit_query_destroy(q);
 * On KVKIT_OK *out is the caller's (kvkit_query_destroy). */
int kvkit_query_index(const kvkit_schema_t *schema, const char *field, const json_t *lo,
                      const json_t *hi, unsigned flags, kvkit_query_t **out, kvkit_error_t *err);

/* Documents (or keys) of the schema's bucket that match the compound query
 * `expr` (kvkit/query.h, kvkit-query(7)), in its order, as an iterator like
 * kvkit_query_index.  The query is copied.  Its fields are property names
 * (or "$key"; another name is KVKIT_INVALID naming it); the schema's indexed
 * properties are the indexes the plan uses, the others are checked on the
 * stored documents.  Values are in stored form, except that an enum takes
 * its values, compared in the order the schema lists them ("starts with" on
 * an enum is KVKIT_INVALID). */
int kvkit_query_expr(const kvkit_schema_t *schema, const kvkit_qexpr_t *expr, unsigned flags,
                     kvkit_query_t **out, kvkit_error_t *err);

/* Every document (key) of the schema's bucket with lo <= key <= hi (NULL
 * bounds are open; both copied). */
int kvkit_query_all(const kvkit_schema_t *schema, const char *lo, const char *hi, unsigned flags,
                    kvkit_query_t **out, kvkit_error_t *err);

/* 1 while the query is on a result; next drops the current key and
 * document (not one taken with kvkit_query_take_doc). */
int kvkit_query_valid(const kvkit_query_t *query);
void kvkit_query_next(kvkit_query_t *query);
/* Borrowed until the next kvkit_query_next / _destroy. */
const char *kvkit_query_key(const kvkit_query_t *query);
/* The current document (not with KVKIT_QUERY_KEYS), borrowed until the
 * next kvkit_query_next / _destroy; NULL when it could not be read (the
 * error then ends the iteration and is reported by kvkit_query_status). */
kvkit_doc_t *kvkit_query_doc(kvkit_query_t *query);
/* The same, handed over: the caller kvkit_doc_destroy()s it. */
kvkit_doc_t *kvkit_query_take_doc(kvkit_query_t *query);
/* KVKIT_OK after a clean end, else the error (also copied into err). */
int kvkit_query_status(const kvkit_query_t *query, kvkit_error_t *err);
/* Free the query and its current document.  NULL is allowed. */
void kvkit_query_destroy(kvkit_query_t *query);

/* Callback forms.  `doc` is borrowed for the call (steal nothing); return
 * non-zero to stop early (still KVKIT_OK). */
typedef int (*kvkit_query_doc_fn)(void *ctx, kvkit_doc_t *doc);
int kvkit_query_index_docs(const kvkit_schema_t *schema, const char *field, const json_t *lo,
                           const json_t *hi, kvkit_query_doc_fn fn, void *ctx, kvkit_error_t *err);
int kvkit_query_index_keys(const kvkit_schema_t *schema, const char *field, const json_t *lo,
                           const json_t *hi, kvkit_key_fn fn, void *ctx, kvkit_error_t *err);
int kvkit_query_all_docs(const kvkit_schema_t *schema, const char *lo, const char *hi,
                         kvkit_query_doc_fn fn, void *ctx, kvkit_error_t *err);
int kvkit_query_all_keys(const kvkit_schema_t *schema, const char *lo, const char *hi,
                         kvkit_key_fn fn, void *ctx, kvkit_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* KVKIT_DOCUMENT_H */
