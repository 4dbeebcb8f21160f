/*
 * kvkit/document.h - schemas, properties, documents and queries.
 * Included by <kvkit/kvkit.h>; do not include directly.
 */
#ifndef KVKIT_DOCUMENT_H
#define KVKIT_DOCUMENT_H

#endif /* KVKIT_DOCUMENT_H */
