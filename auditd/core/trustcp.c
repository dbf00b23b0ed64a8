#include "trustcp.h"

#include "ledger.h"
#include "note.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(trustcp_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(trustcp_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->problem, sizeof res->problem, fmt, ap);
    va_end(ap);
    res->ok = false;
    return ADT_OK;
}

typedef struct rooter {
    merkle_frontier f;
    uint64_t next;
} rooter;

/* Rebuild the tree from the leaf bytes themselves, not the stored hashes. */
static int push_leaf(void *ctx, uint64_t index, const char *leaf, size_t len)
{
    rooter *r = ctx;
    if (index != r->next)
        return ADT_ECORRUPT;
    merkle_hash h;
    merkle_leaf_hash(leaf, len, h);
    r->next++;
    return merkle_frontier_push(&r->f, h, NULL, NULL);
}

static void b64(const merkle_hash h, char out[48])
{
    sodium_bin2base64(out, 48, h, MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
}

/* Every witness asked for must have cosigned the checkpoint: false (res says
 * why) when one has not. OUT by: who vouches for it, for the messages after. */
static bool witnesses_cosigned(const char *note, const note_parsed *np, const cosig_key *wkeys,
                               size_t nw, trustcp_result *res, char *by, size_t cap)
{
    adt_err why = {0};
    char who[640] = "";
    for (size_t i = 0; i < nw; i++) {
        uint64_t ts = 0;
        int v = cosig_verify(note, np, &wkeys[i], &ts, &why);
        if (v == ADT_ENOTFOUND) {
            bad(res, "the trusted checkpoint has no cosignature by witness %s (key %s)",
                wkeys[i].name, wkeys[i].vkey);
            return false;
        }
        if (v) {
            bad(res, "the trusted checkpoint's cosignature by witness %s does not verify with key %s",
                wkeys[i].name, wkeys[i].vkey);
            return false;
        }
        res->timestamps[res->nwitnesses++] = ts;
        size_t wl = strlen(who);
        snprintf(who + wl, sizeof who - wl, "%s%s", i ? (i + 1 == nw ? " and " : ", ") : "",
                 wkeys[i].name);
    }
    if (nw)
        snprintf(by, cap, "cosigned by witness%s %s", nw > 1 ? "es" : "", who);
    else
        snprintf(by, cap, "signed by the log key only (no --witness-key given)");
    return true;
}

/* The ledger must hold the checkpoint's size with exactly its root,
 * recomputed from the leaf bytes (res says otherwise). `by` says who vouches
 * for the checkpoint. */
static int ledger_holds(ledger *lg, const note_checkpoint *cp, const char *by,
                        trustcp_result *res, adt_err *err)
{
    int rc = ledger_size(lg, &res->ledger_size, err);
    if (rc)
        return rc;
    if (res->ledger_size < cp->size)
        return bad(res, "the ledger has %llu entries but the trusted checkpoint, %s, has %llu: the "
                   "tail was cut (entries %llu..%llu are missing)",
                   (unsigned long long)res->ledger_size, by, (unsigned long long)cp->size,
                   (unsigned long long)res->ledger_size, (unsigned long long)(cp->size - 1));
    rooter r;
    merkle_frontier_init(&r.f);
    r.next = 0;
    rc = cp->size ? ledger_scan(lg, 0, cp->size, push_leaf, &r, err) : ADT_OK;
    if (rc == ADT_ECORRUPT || (!rc && r.next != cp->size))
        return bad(res, "the ledger's entries below %llu are not contiguous (entry %llu is "
                   "missing): the ledger was cut or damaged; run 'auditd verify'",
                   (unsigned long long)cp->size, (unsigned long long)r.next);
    if (rc)
        return rc;
    merkle_hash got;
    merkle_frontier_root(&r.f, got);
    if (sodium_memcmp(got, cp->root, MERKLE_HASH_LEN) != 0) {
        char g[48], w[48];
        b64(got, g);
        b64(cp->root, w);
        return bad(res, "the ledger's first %llu entries have root %s but the trusted checkpoint, "
                   "%s, has root %s: history below %llu was rewritten", (unsigned long long)cp->size,
                   g, by, w, (unsigned long long)cp->size);
    }
    return ADT_OK;
}

int trustcp_check(const char *dir, const char *note, size_t len, const char *log_vkey,
                  const cosig_key *wkeys, size_t nw, trustcp_result *res, adt_err *err)
{
    memset(res, 0, sizeof *res);
    res->ok = true;
    if (nw > TRUSTCP_WITNESSES_MAX)
        return adt_fail(err, ADT_ETOOBIG, "at most %d witness keys", TRUSTCP_WITNESSES_MAX);
    ledger *lg = NULL;
    int rc = ledger_open(dir, LEDGER_RDONLY, &lg, err);
    if (rc)
        return rc;
    note_parsed *np = malloc(sizeof *np);
    if (!np) {
        ledger_close(lg);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    adt_err why = {0};
    note_checkpoint cp;
    char name[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];

    if (note_parse(note, len, np, &why) || note_checkpoint_parse(note, np->text_len, &cp, &why)) {
        bad(res, "the trusted checkpoint is not a C2SP checkpoint: %s", why.msg);
        goto out;
    }
    res->size = cp.size;
    memcpy(res->root, cp.root, MERKLE_HASH_LEN);
    if (strcmp(cp.origin, ledger_origin(lg)) != 0) {
        bad(res, "the trusted checkpoint is for log '%s', but this ledger is '%s'", cp.origin,
            ledger_origin(lg));
        goto out;
    }
    /* The log's signature. */
    const char *vk = log_vkey ? log_vkey : ledger_key_line(lg);
    if ((rc = note_key_parse(vk, name, sizeof name, pub, err))) {
        adt_err_prefix(err, "--log-key");
        goto out;
    }
    int v = note_verify_ed25519(note, np, name, pub, &why);
    if (v) {
        bad(res, "the trusted checkpoint %s log key %s%s", v == ADT_ENOTFOUND ? "is not signed by the"
                                                            : "has a signature that does not verify with the",
            vk, log_vkey ? "" : " (the ledger's own key; pin another with --log-key)");
        goto out;
    }
    char by[700];
    if (witnesses_cosigned(note, np, wkeys, nw, res, by, sizeof by))
        rc = ledger_holds(lg, &cp, by, res, err);
out:
    free(np);
    ledger_close(lg);
    return rc;
}
