#include "witness.h"

#include "buf.h"
#include "codec.h"
#include "numparse.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct witness {
    const note_signer *signer;
    witness_store_ops ops;
    void *ctx;
    cosig_key key;
};

int witness_new(const note_signer *signer, const witness_store_ops *ops, void *ctx, witness **out,
                adt_err *err)
{
    witness *w = calloc(1, sizeof *w);
    if (!w)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    w->signer = signer;
    w->ops = *ops;
    w->ctx = ctx;
    int rc = cosig_key_make(note_signer_name(signer), note_signer_pub(signer), &w->key, err);
    if (rc) {
        free(w);
        return rc;
    }
    *out = w;
    return ADT_OK;
}

void witness_free(witness *w) { free(w); }

const cosig_key *witness_key(const witness *w) { return &w->key; }

int witness_parse_request(const char *body, size_t len, witness_request *out, adt_err *err)
{
    memset(out, 0, sizeof *out);
    if (len > WITNESS_BODY_MAX)
        return adt_fail(err, ADT_ETOOBIG, "request body of %zu bytes is over %u", len,
                        (unsigned)WITNESS_BODY_MAX);
    const char *p = body, *end = body + len;
    const char *nl = memchr(p, '\n', len);
    /* "old" SP decimal, no leading zeroes (unless 0) */
    if (!nl || nl - p < 5 || memcmp(p, "old ", 4) != 0)
        return adt_fail(err, ADT_EINVAL, "the body must start with the line 'old <tree size>'");
    const char *d = p + 4;
    size_t dl = (size_t)(nl - d);
    if ((dl > 1 && d[0] == '0') || num_u64n(d, dl, UINT64_MAX, &out->old_size))
        return adt_fail(err, ADT_EINVAL, "old size must be a decimal number without leading zeroes");
    p = nl + 1;
    for (;;) {
        nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        if (!nl)
            return adt_fail(err, ADT_EINVAL, "no empty line between the consistency proof and the "
                            "checkpoint");
        if (nl == p)
            break;
        if (out->nproof == WITNESS_PROOF_MAX)
            return adt_fail(err, ADT_EINVAL, "more than %d consistency proof lines",
                            WITNESS_PROOF_MAX);
        adt_err derr;
        /* A proof line is exactly the base64 of one 32-byte hash (44 characters). */
        if (nl - p != 44 || codec_unb64(p, 44, out->proof[out->nproof], MERKLE_HASH_LEN,
                                        MERKLE_HASH_LEN, NULL, &derr)) {
            return adt_fail(err, ADT_EINVAL, "consistency proof line %zu is not the base64 of a "
                            "32-byte hash", out->nproof + 1);
        }
        /* Canonical spelling only: re-encode and compare. */
        char again[CODEC_B64_LEN(MERKLE_HASH_LEN)];
        codec_b64(out->proof[out->nproof], MERKLE_HASH_LEN, again, sizeof again);
        if (memcmp(again, p, 44) != 0)
            return adt_fail(err, ADT_EINVAL, "consistency proof line %zu is not canonical base64",
                            out->nproof + 1);
        out->nproof++;
        p = nl + 1;
    }
    out->note = nl + 1;
    out->note_len = (size_t)(end - out->note);
    if (out->note_len == 0)
        return adt_fail(err, ADT_EINVAL, "no checkpoint after the empty line");
    return ADT_OK;
}

static int answer(witness_answer *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int answer(witness_answer *a, int status, const char *fmt, ...)
{
    a->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->message, sizeof a->message, fmt, ap);
    va_end(ap);
    return ADT_OK;
}

/* 403: a signature by a trusted key must be there, and every line by a
 * trusted key must verify; lines by other keys are ignored. True when it
 * answered. */
static bool refuse_signatures(const witness_request *rq, const note_parsed *np,
                              const note_checkpoint *cp, const witness_log_key *keys, size_t nkeys,
                              witness_answer *ans)
{
    adt_err why = {0};
    bool signed_ok = false;
    for (size_t k = 0; k < nkeys; k++) {
        int v = note_verify_ed25519(rq->note, np, keys[k].name, keys[k].pub, &why);
        if (v == ADT_OK) {
            signed_ok = true;
        } else if (v != ADT_ENOTFOUND) {
            answer(ans, 403, "checkpoint for '%s': %s", cp->origin, why.msg);
            return true;
        }
    }
    if (!signed_ok) {
        answer(ans, 403, "checkpoint for '%s' carries no signature by a key the witness trusts for "
               "that origin", cp->origin);
        return true;
    }
    return false;
}

/* 422: the checkpoint must be consistent with the one cosigned last (size
 * rq->old_size, root cur_root when `has`). True when it answered. */
static bool refuse_inconsistent(const witness_request *rq, const note_checkpoint *cp, bool has,
                                const merkle_hash cur_root, witness_answer *ans)
{
    merkle_hash empty;
    merkle_empty_root(empty);
    if (cp->size == 0 && sodium_memcmp(cp->root, empty, MERKLE_HASH_LEN) != 0) {
        answer(ans, 422, "a checkpoint of size 0 must have the empty tree's root, SHA-256(\"\")");
        return true;
    }
    if (rq->old_size == 0 && rq->nproof != 0) {
        answer(ans, 422, "old size 0 needs an empty consistency proof, not %zu lines", rq->nproof);
        return true;
    }
    if (has && rq->old_size == cp->size) {
        if (sodium_memcmp(cur_root, cp->root, MERKLE_HASH_LEN) != 0) {
            answer(ans, 422, "the checkpoint has the size the witness cosigned last (%llu) but "
                   "another root hash", (unsigned long long)cp->size);
            return true;
        }
        if (rq->nproof != 0) {
            answer(ans, 422, "the consistency proof between equal sizes must be empty");
            return true;
        }
    } else if (rq->old_size > 0 &&
               !merkle_verify_consistency(rq->old_size, cp->size, cur_root, cp->root,
                                          (const merkle_hash *)rq->proof, rq->nproof)) {
        answer(ans, 422, "the consistency proof from size %llu to %llu does not verify against the "
               "root the witness cosigned at %llu", (unsigned long long)rq->old_size,
               (unsigned long long)cp->size, (unsigned long long)rq->old_size);
        return true;
    }
    return false;
}

/* Cosign the checkpoint (ans->cosig) and write what the witness keeps of it
 * into `stored`: its text, the trusted keys' signature lines, the cosignature. */
static int cosign(witness *w, const witness_request *rq, const note_parsed *np,
                  const witness_log_key *keys, size_t nkeys, uint64_t now, witness_answer *ans,
                  buf *stored, adt_err *err)
{
    int rc = cosig_sign(w->signer, rq->note, np->text_len, now, ans->cosig, sizeof ans->cosig,
                        err);
    if (rc)
        return rc;
    rc = buf_append(stored, rq->note, np->text_len);
    if (!rc)
        rc = buf_putc(stored, '\n');
    for (size_t i = 0; !rc && i < np->nsigs; i++)
        for (size_t k = 0; k < nkeys; k++) {
            uint8_t id[4];
            note_key_id(keys[k].name, keys[k].pub, id);
            if (note_sig_by(rq->note, &np->sigs[i], keys[k].name, id)) {
                rc = buf_append(stored, rq->note + np->sigs[i].line_off, np->sigs[i].line_len);
                break;
            }
        }
    if (!rc)
        rc = buf_puts(stored, ans->cosig);
    return rc ? adt_fail(err, rc, "the cosigned checkpoint does not fit") : ADT_OK;
}

int witness_add_checkpoint(witness *w, const char *body, size_t len, uint64_t now,
                           witness_answer *ans, adt_err *err)
{
    memset(ans, 0, sizeof *ans);
    witness_request *rq = malloc(sizeof *rq);
    note_parsed *np = malloc(sizeof *np);
    buf stored;
    buf_init(&stored, NOTE_TEXT_MAX + COSIG_LINE_MAX + 1);
    int rc = ADT_OK;
    adt_err why = {0};
    note_checkpoint cp;
    if (!rq || !np) {
        rc = adt_fail(err, ADT_ENOMEM, "out of memory");
        goto out;
    }
    if (witness_parse_request(body, len, rq, &why) ||
        note_parse(rq->note, rq->note_len, np, &why) ||
        note_checkpoint_parse(rq->note, np->text_len, &cp, &why)) {
        answer(ans, 400, "%s", why.msg);
        goto out;
    }
    snprintf(ans->origin, sizeof ans->origin, "%s", cp.origin);
    if (cp.size > INT64_MAX || rq->old_size > INT64_MAX) {
        answer(ans, 400, "tree sizes above 2^63-1 are not supported");
        goto out;
    }

    /* 404: unknown origin. */
    witness_log_key keys[WITNESS_LOG_KEYS_MAX];
    size_t nkeys = 0;
    rc = w->ops.log_keys(w->ctx, cp.origin, keys, WITNESS_LOG_KEYS_MAX, &nkeys, err);
    if (rc == ADT_ENOTFOUND) {
        rc = ADT_OK;
        answer(ans, 404, "unknown log origin '%s': the witness operator registers logs with "
               "'auditd witness add-log'", cp.origin);
        goto out;
    }
    if (rc)
        goto out;

    if (refuse_signatures(rq, np, &cp, keys, nkeys, ans))
        goto out;

    /* 400: the old size must not exceed the checkpoint's. */
    if (rq->old_size > cp.size) {
        answer(ans, 400, "old size %llu is above the checkpoint's size %llu",
               (unsigned long long)rq->old_size, (unsigned long long)cp.size);
        goto out;
    }

    /* 409: the old size must be the witness's latest for this origin. */
    uint64_t cur = 0;
    merkle_hash cur_root;
    bool has = false;
    if ((rc = w->ops.latest(w->ctx, cp.origin, &cur, cur_root, &has, err)))
        goto out;
    if (!has)
        cur = 0;
    if (rq->old_size != cur) {
        ans->size = cur;
        answer(ans, 409, "the latest checkpoint the witness cosigned for '%s' has size %llu, not "
               "%llu", cp.origin, (unsigned long long)cur, (unsigned long long)rq->old_size);
        goto out;
    }

    if (refuse_inconsistent(rq, &cp, has, cur_root, ans))
        goto out;

    /* Cosign, then store atomically with the check above. */
    if ((rc = cosign(w, rq, np, keys, nkeys, now, ans, &stored, err)))
        goto out;
    uint64_t now_size = 0;
    rc = w->ops.swap(w->ctx, cp.origin, rq->old_size, has, cur_root, cp.size, cp.root, stored.data,
                     stored.len, &now_size, err);
    if (rc == ADT_ECONFLICT) {
        /* Another request moved the witness on between the check and the swap. */
        rc = ADT_OK;
        ans->cosig[0] = '\0';
        ans->size = now_size;
        answer(ans, 409, "the latest checkpoint the witness cosigned for '%s' has size %llu, not "
               "%llu", cp.origin, (unsigned long long)now_size, (unsigned long long)rq->old_size);
        goto out;
    }
    if (rc)
        goto out;
    ans->status = 200;
    ans->size = cp.size;
out:
    buf_free(&stored);
    free(rq);
    free(np);
    return rc;
}
