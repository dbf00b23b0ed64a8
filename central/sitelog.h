/* sitelog.h: a client for one site's log API (docs/api.md, "Log endpoints").
 *
 * The central tier reads each site's signed checkpoint, pages of its entries
 * (`GET /v1/log/entries?start=&end=`) and consistency proofs over HTTP(S) with
 * an auditor token. Nothing a site answers is trusted: this module only checks
 * that an answer is well formed and bounded; the mirror (mirror.h) proves every
 * entry and checkpoint before anything is stored.
 *
 * Ownership: a `sitelog` owns its libcurl handle, a bounded response buffer and
 * the token (in sodium_malloc'd memory, wiped on close). A `sitelog_page` owns
 * the decoded leaves of the last page read into it. One thread at a time. */
#ifndef AUDITD_SITELOG_H
#define AUDITD_SITELOG_H

#include "buf.h"
#include "merkle.h"
#include "status.h"

#include <stddef.h>
#include <stdint.h>

#define SITELOG_URL_MAX 1024
#define SITELOG_TOKEN_MAX 256
#define SITELOG_PAGE_MAX 10000          /* entries one page may hold (the server's cap too) */
/* A site checkpoint as served: the log's note with room for cosignature lines
 * (C2SP signed notes may carry several signatures). */
#define SITELOG_NOTE_MAX 8192
#define SITELOG_RESP_MAX (8u << 20)     /* bytes one answer may take (a server page is < 6 MiB) */

typedef struct sitelog sitelog;

/* A page of entries [start, start + count): leaf i is data[off[i] .. off[i]+len[i]). */
typedef struct sitelog_page {
    uint64_t start;
    uint64_t count;
    buf data;      /* the answer as received; the leaves are read in place */
    size_t *off;
    size_t *len;
} sitelog_page;

/* Check that `url` is an http:// or https:// URL without query or fragment
 * (what `central site add` accepts). */
int sitelog_url_check(const char *url, adt_err *err);
/* Check that `token` is a site's auditor token: 1..SITELOG_TOKEN_MAX printable ASCII characters
 * without spaces (what `central site add` accepts and sitelog_open sends). */
int sitelog_token_check(const char *token, adt_err *err);

/* A client for the site at `url` using the auditor `token` (copied). */
int sitelog_open(const char *url, const char *token, sitelog **out, adt_err *err);
void sitelog_close(sitelog *s);

/* The site's latest checkpoint note, as served (not verified), into note[0..cap).
 * Fails with ADT_ETOOBIG if it does not fit. */
int sitelog_checkpoint(sitelog *s, char *note, size_t cap, size_t *len, adt_err *err);

/* RFC 6962 PROOF(first, D[second]) as served (not verified); `proof` has room
 * for MERKLE_MAX_PROOF hashes, OUT: *n. */
int sitelog_consistency(sitelog *s, uint64_t first, uint64_t second, merkle_hash *proof,
                        size_t *n, adt_err *err);

/* Entries from `start`, at most up to `end` (exclusive), into `page` (replacing
 * what it held). The site may answer fewer; `page->count` >= 1 on success. */
int sitelog_entries(sitelog *s, uint64_t start, uint64_t end, sitelog_page *page,
                    adt_err *err);

/* GET /v1/shipments/{sha_hex} (docs/central.md, "Shipments"): a batch the
 * site recorded, its bytes into `out` (replacing what it held; bounded by
 * out->max). ADT_ENOTFOUND when the site answers 404. Not verified here. */
int sitelog_shipment(sitelog *s, const char *sha_hex, buf *out, adt_err *err);

void sitelog_page_init(sitelog_page *p);
void sitelog_page_free(sitelog_page *p);

/* Give back the memory held between requests (the last answer), e.g. when a
 * stream has caught up, so that idle streams hold almost nothing. */
void sitelog_trim(sitelog *s);

/* Parsers of the answers above (pure; fuzzed by tests/fuzz/fuzz_sitelog.c).
 * sitelog_parse_proof: `{"hashes":[base64 of 32 bytes, ...]}` (other members
 * ignored), at most MERKLE_MAX_PROOF hashes.
 * sitelog_parse_entries: the bytes in page->data, a page as served by
 * `GET /v1/log/entries` (docs/api.md): one or more entries, each a big-endian
 * uint32 length in 1..LEDGER_MAX_LEAF and that many bytes, nothing after the
 * last; at most min(SITELOG_PAGE_MAX, want_end - want_start) entries. Sets
 * start = want_start, count, off and len (into page->data). */
int sitelog_parse_proof(const char *json, size_t len, merkle_hash *proof, size_t *n,
                        adt_err *err);
int sitelog_parse_entries(sitelog_page *page, uint64_t want_start, uint64_t want_end,
                          adt_err *err);

#endif
