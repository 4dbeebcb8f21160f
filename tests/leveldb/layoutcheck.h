/* layoutcheck.h - check a closed leveldb store's raw keys against the
 * kvlayout invariants, for test documents that carry their indexed values
 * in an "idx" object ({"idx": {"field": value-or-list, ...}, ...}). */
#ifndef KVKIT_TESTS_LEVELDB_LAYOUTCHECK_H
#define KVKIT_TESTS_LEVELDB_LAYOUTCHECK_H

#include <stddef.h>

/* The index entries a document should have: one line per entry,
 * "field=<hex sortable>", sorted and distinct (what kvkit_index_set makes). */

/* Scan the LevelDB database in `path` (no process may have it open) and
 * check that:
 *  - every document has exactly the index entries of its "idx" values, each
 *    with the right predecessor value, and a manifest that lists them;
 *  - every index entry and manifest belongs to a stored document;
 *  - manifest revisions are distinct and not above the store's counter;
 *  - a stored manifest filter that is current (its ceiling is the store's)
 *    has all its pages and answers "maybe" for every document's manifest.
 * Returns 0 when all hold; otherwise non-zero with a description of the
 * first violation in msg.  *n_docs receives the number of documents. */
int layout_check(const char *path, size_t *n_docs, char *msg, size_t msg_size);

#endif
