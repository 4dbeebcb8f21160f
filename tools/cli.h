/*
 * cli.h - what the files of the kvkit command-line tool share.
 *
 * One file per command group (cmd_*.c); util.c holds the error/exit-status
 * plumbing and JSON-line output, progress.c the terminal progress bar,
 * indexer.c how documents get their index entries (--schema or --index).
 */
#ifndef KVKIT_CLI_H
#define KVKIT_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <kvkit/backend.h> /* kvkit_backend_error fills the tool's own reports */
#include <kvkit/kvkit.h>

/* Exit statuses (kvkit(1), EXIT STATUS; scripts depend on them, so a
 * class keeps its number).  cli_exit_status maps every kvkit_status_t to
 * one of them. */
enum {
    EXIT_OK = 0,
    EXIT_NOTFOUND = 1,   /* the key does not exist */
    EXIT_USAGE = 2,      /* bad command line: options, arguments, store string, --schema */
    EXIT_VALIDATION = 3, /* bad input: a document, an input line, a query value */
    EXIT_BACKEND = 4,    /* the store failed or refused: I/O, server, lock, unsupported */
    EXIT_NO_BACKEND = 5  /* the store string names no backend that loads */
};

/* kvkit_error_t.code for an argument error the tool finds inside a command
 * (a --schema with no schema for the bucket, a bad --entry), so that
 * cli_fail exits with EXIT_USAGE.  Never a kvkit_status_t (those are >= 0). */
#define CLI_USAGE_ERROR (-1)

#define CLI_DEFAULT_STORE "leveldb:./kvkit-data"

/* The most the tool reads whole: a document on stdin, one import or script
 * line (--max-input BYTES; kvkit(1)).  A --schema file has the library's
 * own limit, also 64 MiB (kvkit_schema(3)). */
#define CLI_MAX_INPUT_DEFAULT ((size_t)64 << 20)

/* Global state, filled from the global options. */
typedef struct cli {
    const char *store; /* -s, $KVKIT_STORE, or CLI_DEFAULT_STORE */
    int quiet;         /* -q: no summary lines */
    int progress;      /* stderr is a terminal (and not -q) */
    size_t max_input;  /* --max-input, or CLI_MAX_INPUT_DEFAULT */
    const char *argv0;
    /* the dispatcher (kvkit.c), handed down so that `script` can run
     * commands without calling back up into the file that calls it */
    int (*run)(struct cli *cli, int argc, char **argv);
} cli_t;

/* One command: run gets argv with argv[0] == the command name. */
typedef struct cli_cmd {
    const char *name;
    int (*run)(cli_t *cli, int argc, char **argv);
    const char *usage; /* "BUCKET KEY" ... */
    const char *help;  /* option lines and description */
} cli_cmd_t;

/* Commands, one group per file. */
int cmd_backends(cli_t *cli, int argc, char **argv); /* cmd_backends.c */
int cmd_get(cli_t *cli, int argc, char **argv);      /* cmd_kv.c */
int cmd_put(cli_t *cli, int argc, char **argv);
int cmd_delete(cli_t *cli, int argc, char **argv);
int cmd_ls(cli_t *cli, int argc, char **argv); /* cmd_query.c */
int cmd_index(cli_t *cli, int argc, char **argv);
int cmd_query(cli_t *cli, int argc, char **argv); /* cmd_qexpr.c */
int cmd_export(cli_t *cli, int argc, char **argv); /* cmd_transfer.c */
int cmd_import(cli_t *cli, int argc, char **argv);
int cmd_copy(cli_t *cli, int argc, char **argv);
int cmd_check(cli_t *cli, int argc, char **argv);   /* cmd_check.c */
int cmd_compact(cli_t *cli, int argc, char **argv); /* cmd_admin.c */
int cmd_repair(cli_t *cli, int argc, char **argv);
int cmd_conformance(cli_t *cli, int argc, char **argv);
int cmd_script(cli_t *cli, int argc, char **argv); /* cmd_script.c */

/* kvkit.c: the command table, dispatch (argv[0] is the command, through
 * cli_t.run) and help. */
const cli_cmd_t *cli_command(const char *name);
int cli_help(const cli_cmd_t *cmd, FILE *out); /* returns EXIT_OK */

/*** util.c ***/

/* Exit status for a kvkit_status_t (or CLI_USAGE_ERROR). */
int cli_exit_status(int code);

/* Print "kvkit: MESSAGE" (the library's text) and return the exit status. */
int cli_fail(const kvkit_error_t *err);

/* printf-style error for the tool's own failures; returns `status`. */
__attribute__((format(printf, 2, 3))) int cli_error(int status, const char *fmt, ...);

/* Usage error for command `cmd`: message plus a pointer to --help; returns 2. */
__attribute__((format(printf, 2, 3))) int cli_usage(const char *cmd, const char *fmt, ...);

/* Open a store; on failure prints the error and sets *status.  A store
 * string the library or the backend refuses at open (KVKIT_INVALID: open
 * talks to no server) is the command line's fault: EXIT_USAGE. */
kvkit_store_t *cli_open(const char *uri, int *status);

/* Check a BUCKET (and KEY, unless NULL) given on the command line of `cmd`
 * by the library's own rule, before any store is asked: EXIT_OK, or
 * EXIT_USAGE with the library's reason printed. */
int cli_check_names(const char *cmd, const char *bucket, const char *key);

/* While keeping (script), every store opened whose backend is not
 * KVKIT_BACKEND_DURABLE gets a second handle held until cli_keep_end, so
 * memory:NAME outlives the command that filled it. */
void cli_keep_begin(void);
void cli_keep_end(void);

/* Parse a query value: a JSON number when the text is one (and force_string
 * is 0), else the text as a string.  New reference. */
json_t *cli_query_value(const char *text, int force_string);
/* {"FIELD": [values...]} for each of fields: the document's scalar value,
 * or each number or string of its list (what an index holds); NULL when
 * out of memory. */
json_t *cli_field_values(const json_t *doc, const char *const *fields, size_t n_fields);

/* Parse a document (any JSON value; objects for documents); NULL with a
 * message in err (KVKIT_VALIDATION) when it is not JSON. */
json_t *cli_parse_json(const char *text, size_t len, const char *what, kvkit_error_t *err);

/* Read all of a stream, at most `max` bytes, into a malloc'd
 * NUL-terminated buffer.  NULL on a read error or out of memory, or with
 * *too_large = 1 when the stream holds more than `max` (reading stops one
 * byte past it, so endless input ends). */
char *cli_slurp(FILE *in, size_t max, size_t *len, int *too_large);

/* Read one line, at most `max` bytes before its '\n', into *line (grown
 * as needed, the caller frees it; NUL-terminated, the '\n' kept).  Returns
 * its length, -1 at the end of input or on a read error (ferror tells),
 * -2 when the line is longer than `max` (reading stops there), -3 when out
 * of memory. */
long cli_read_line(FILE *in, size_t max, char **line, size_t *cap);

/* Output: a key as one line (JSON string with json != 0), a
 * {"key":...,"value":...} line.  The value is embedded as JSON when it
 * parses, else as a JSON string.  Return 0, or -1 on a write error. */
int cli_print_key(FILE *out, const char *key, size_t key_len, int json);
int cli_print_doc(FILE *out, const char *key, size_t key_len, const char *value, size_t value_len);

/* Monotonic seconds. */
double cli_now(void);

/* Split "a,b,c" into an array of fields (appended to *fields). */
int cli_add_fields(const char ***fields, size_t *n, char *list);

/*** progress.c ***/

typedef struct cli_progress {
    int on;           /* draw the bar (stderr is a terminal) */
    int quiet;        /* no summary */
    const char *verb; /* "imported", "exported", "copied", "checked" */
    const char *unit; /* "documents" */
    uint64_t total;   /* 0: unknown */
    uint64_t done;
    double start, last_draw;
    int drawn;
} cli_progress_t;

void cli_progress_start(cli_progress_t *p, const cli_t *cli, const char *verb, uint64_t total);
/* done: units so far; `pos`/`total` may be bytes (import) when items are unknown. */
void cli_progress_update(cli_progress_t *p, uint64_t done, uint64_t pos);
/* Erase the bar and print "kvkit: VERB N documents ... in S s (R/s)" (unless -q). */
void cli_progress_end(cli_progress_t *p, uint64_t done, const char *what);

/*** indexer.c: stored bytes and index entries for a document ***/

typedef struct cli_indexer cli_indexer_t;

/* Options shared by put/index/import/copy/check: --schema FILE and
 * --index FIELD[,FIELD...].  Returns NULL (and *status) on error; an
 * indexer with neither is valid and produces no entries. */
cli_indexer_t *cli_indexer_create(const char *schema_file, const char **fields, size_t n_fields,
                                  int *status);
void cli_indexer_destroy(cli_indexer_t *ix);

/* 1 when it knows how to index (a schema or --index was given). */
int cli_indexer_active(const cli_indexer_t *ix);

/* Pick the schema for `bucket` (no-op without --schema).  Call before the
 * functions below. */
int cli_indexer_bind(cli_indexer_t *ix, const char *bucket, kvkit_error_t *err);

/* The buckets of the schema file (up to max), for copy's default. */
size_t cli_indexer_buckets(const cli_indexer_t *ix, const char **buckets, size_t max);

/* Validate `doc` (JSON form, or stored form with stored != 0), fill `set`
 * (cleared first) with its index entries and, if value is not NULL, set
 * *value to the bytes to store (malloc'd, NUL-terminated).  A validation
 * failure is KVKIT_VALIDATION naming every invalid field. */
int cli_indexer_prepare(cli_indexer_t *ix, const json_t *doc, int stored, char **value,
                        kvkit_index_set_t *set, kvkit_error_t *err);

/* The index values of a stored document, as a new object
 * FIELD -> [scalar, ...] (check compares them with the store). */
json_t *cli_indexer_values(cli_indexer_t *ix, const json_t *doc, kvkit_error_t *err);

/* The indexed fields (for check), borrowed. */
size_t cli_indexer_fields(const cli_indexer_t *ix, const char *const **fields);

/* The value to query `field` with, from command-line text: with a schema,
 * the field's declared kind decides; otherwise cli_query_value. */
int cli_indexer_query_value(cli_indexer_t *ix, const char *field, const char *text,
                            int force_string, json_t **out, kvkit_error_t *err);

/* The --schema, or NULL. */
struct cli_schema *cli_indexer_schema(const cli_indexer_t *ix);

/*** jsonline.c: import's fast path for lines already in stored form ***/

#define CLI_JSONLINE_MEMBERS 64

typedef struct cli_jsonline_member {
    const char *name; /* unescaped; not NUL-terminated */
    size_t name_len;
    const char *value; /* the member's JSON text */
    size_t value_len;
} cli_jsonline_member_t;

/* A scanned line; every pointer points into it. */
typedef struct cli_jsonline {
    const char *key; /* unescaped; not NUL-terminated */
    size_t key_len;
    const char *value; /* the document, byte for byte what json_dumps writes */
    size_t value_len;
    cli_jsonline_member_t members[CLI_JSONLINE_MEMBERS]; /* the document's */
    size_t n_members;
} cli_jsonline_t;

/* 1 when `line` is {"key": KEY, "value": DOCUMENT} with KEY unescaped
 * and DOCUMENT an object already in kvkit's stored form (see jsonline.c);
 * 0 for anything else, valid or not: take the jansson path then. */
int cli_jsonline_scan(const char *line, size_t len, cli_jsonline_t *out);

/* --index entries of a scanned line into `set` (cleared first): 1 when
 * done, 0 when the line needs cli_indexer_prepare (with --schema, or when
 * a value cannot be indexed: that path words the error). */
int cli_indexer_prepare_line(cli_indexer_t *ix, const cli_jsonline_t *line,
                             kvkit_index_set_t *set);

/*** check_table.c: what `kvkit check` remembers (compact, sorted) ***/

typedef struct ct_entry {
    const unsigned char *sortable; /* the value, sortable encoding */
    const char *key;
    uint32_t field; /* index into the checked fields */
    uint32_t len;
} ct_entry_t;

typedef struct check_table check_table_t;

check_table_t *ct_create(void);
void ct_destroy(check_table_t *t);
/* Remember a document key; returns the table's copy (NULL: out of memory). */
const char *ct_add_doc(check_table_t *t, const char *key);
/* A document whose entries cannot be judged; key must be the table's copy. */
int ct_add_skip(check_table_t *t, const char *key);
/* An entry the document `key` (the table's copy) should have. */
int ct_add_entry(check_table_t *t, uint32_t field, const unsigned char *sortable, size_t len,
                 const char *key);
/* Sort (and drop duplicate entries); then the lookups below work. */
int ct_seal(check_table_t *t);
int ct_is_doc(const check_table_t *t, const char *key);
int ct_is_skipped(const check_table_t *t, const char *key);
/* 1 if document `key` should have some entry for `field`. */
int ct_has(const check_table_t *t, uint32_t field, const char *key);
/* Entries by (field, sortable, key). */
size_t ct_size(const check_table_t *t);
const ct_entry_t *ct_at(const check_table_t *t, size_t i);
int ct_sortable_cmp(const ct_entry_t *a, const ct_entry_t *b);

/*** schema.c: --schema through the document layer ***/

struct cli_schema;
int cli_schema_load(const char *path, struct cli_schema **out, kvkit_error_t *err);
void cli_schema_free(struct cli_schema *s);
int cli_schema_bind(struct cli_schema *s, const char *bucket, kvkit_error_t *err);
size_t cli_schema_buckets(const struct cli_schema *s, const char **buckets, size_t max);
int cli_schema_prepare(struct cli_schema *s, const json_t *doc, int stored, char **value,
                       kvkit_index_set_t *set, kvkit_error_t *err);
/* The JSON form of a stored document (*out: new reference). */
int cli_schema_json_form(struct cli_schema *s, const json_t *stored, json_t **out,
                         kvkit_error_t *err);
json_t *cli_schema_values(struct cli_schema *s, const json_t *doc, kvkit_error_t *err);
size_t cli_schema_fields(const struct cli_schema *s, const char *const **fields);
int cli_schema_query_value(struct cli_schema *s, const char *field, const char *text,
                           int force_string, json_t **out, kvkit_error_t *err);
/* Run an index (or $bucket) query through the document layer and print
 * the results like ls/index do; returns the exit status. */
int cli_schema_run_query(struct cli_schema *s, kvkit_store_t *store, const char *bucket,
                         const char *field, const json_t *lo, const json_t *hi, int docs, int json);

#endif /* KVKIT_CLI_H */
