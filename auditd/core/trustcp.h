/* trustcp.h: check a ledger against a checkpoint kept outside it
 * (`auditd verify --trusted-checkpoint FILE [--witness-key VKEY]...`).
 *
 * `auditd verify` alone proves a ledger is internally consistent and signed;
 * it cannot know how big the ledger was, so a tail cut together with its tree
 * nodes and checkpoints, or a history rewritten by someone holding the key,
 * still verifies. A checkpoint kept elsewhere (a witness's, an agent's
 * receipt, a report's) remembers: the ledger must hold at least its size, and
 * the tree of its first `size` entries, recomputed from the leaf bytes, must
 * have exactly its root. Cosignatures by the given witnesses must be on it
 * and verify, so the statement rests on keys the ledger's host does not hold. */
#ifndef AUDITD_TRUSTCP_H
#define AUDITD_TRUSTCP_H

#include "cosig.h"
#include "merkle.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRUSTCP_WITNESSES_MAX 16
#define TRUSTCP_PROBLEM_MAX 1024

typedef struct trustcp_result {
    bool ok;
    char problem[TRUSTCP_PROBLEM_MAX]; /* when !ok: what is missing or wrong */
    uint64_t size;                     /* the trusted checkpoint's */
    merkle_hash root;
    uint64_t ledger_size;              /* entries in the ledger */
    size_t nwitnesses;                 /* witnesses whose cosignature verified */
    uint64_t timestamps[TRUSTCP_WITNESSES_MAX];
} trustcp_result;

/* Check the ledger in `dir` against `note` (a checkpoint with its signature
 * lines). The log signature is checked with `log_vkey` if given, else with
 * the ledger's own key; each of wkeys[0..nw) must have a valid cosignature
 * on it. ADT_OK when the check ran (the verdict is res->ok, res->problem);
 * another status when the ledger could not be read. */
int trustcp_check(const char *dir, const char *note, size_t len, const char *log_vkey,
                  const cosig_key *wkeys, size_t nw, trustcp_result *res, adt_err *err);

#endif
