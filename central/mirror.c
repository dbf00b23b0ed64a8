#include "mirror.h"

#include "cship.h"
#include "cstore.h"
#include "cwitness.h"
#include "log.h"
#include "merkle.h"
#include "note.h"
#include "sitelog.h"

#include <curl/curl.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOD "central"
#define NOTE_EVERY_S 5 /* how often a current stream records that it was checked */

struct mirror_stream {
    char *conninfo;
    int64_t site_id;
    int flags;
    cstore *cs;
    bool locked;
    bool loaded;
    cstore_site site;
    sitelog *log;
    cstore_stream st;
    sitelog_page page;
    merkle_hash *hashes;
    cstore_node *nodes;         /* subtrees the package completes (level >= CSTORE_NODE_MIN_LEVEL) */
    size_t nnodes;
    uint64_t xchecked;          /* the witness's cosigned size last found consistent */
    cship_ref *refs;            /* site.shipment entries of the package */
    size_t nrefs;
    time_t noted_at;
};

/* Subtrees a package of SITELOG_PAGE_MAX entries can complete at level >= 4:
 * at most one per 16 entries at level 4, half that at 5, ..., plus one per
 * level for subtrees that end inside the package but started before it. */
#define NODES_MAX (SITELOG_PAGE_MAX / 8 + 64)
#define REFS_MAX 256     /* site.shipment entries in one package (more: the package is split) */
#define FETCH_PER_PULL 8 /* shipped batches fetched per pull */

int mirror_stream_open(const char *conninfo, int64_t site_id, int flags, mirror_stream **out,
                       adt_err *err)
{
    *out = NULL;
    void *h;
    char *ci;
    int rc = cstore_client_new(conninfo, sizeof(mirror_stream), &h, &ci, err);
    if (rc)
        return rc;
    mirror_stream *ms = h;
    ms->conninfo = ci;
    ms->hashes = malloc(SITELOG_PAGE_MAX * sizeof *ms->hashes);
    ms->nodes = malloc(NODES_MAX * sizeof *ms->nodes);
    ms->refs = malloc(REFS_MAX * sizeof *ms->refs);
    if (!ms->conninfo || !ms->hashes || !ms->nodes || !ms->refs) {
        mirror_stream_close(ms);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    ms->site_id = site_id;
    ms->flags = flags;
    sitelog_page_init(&ms->page);
    *out = ms;
    return ADT_OK;
}

static void disconnect(mirror_stream *ms)
{
    cstore_close(ms->cs);
    ms->cs = NULL;
    ms->locked = false;
    ms->loaded = false;
}

void mirror_stream_close(mirror_stream *ms)
{
    if (!ms)
        return;
    disconnect(ms);
    sitelog_close(ms->log);
    sitelog_page_free(&ms->page);
    free(ms->hashes);
    free(ms->nodes);
    free(ms->refs);
    free(ms->conninfo);
    free(ms);
}

const char *mirror_stream_origin(const mirror_stream *ms)
{
    return ms->site.origin;
}

/* Connect, read the site and its token, take the writer lock and read the
 * stream, as far as not done yet. */
static int connect_stream(mirror_stream *ms, adt_err *err)
{
    int rc;
    if (ms->cs && !cstore_ok(ms->cs))
        disconnect(ms);
    if (!ms->cs) {
        if ((rc = cstore_open(ms->conninfo, "mirror", 0, &ms->cs, err)))
            return rc;
        if ((rc = cstore_site_by_id(ms->cs, ms->site_id, &ms->site, err)))
            goto fail;
        if (!ms->log) {
            char *token = NULL;
            size_t tl = 0;
            if ((rc = cstore_site_token(ms->cs, ms->site_id, &token, &tl, err)))
                goto fail;
            rc = sitelog_open(ms->site.url, token, &ms->log, err);
            sodium_memzero(token, tl);
            sodium_free(token);
            if (rc)
                goto fail;
        }
    }
    if (!ms->locked) {
        if (ms->flags & MIRROR_NO_LOCK)
            ms->locked = true;
        else if ((rc = cstore_stream_lock(ms->cs, ms->site_id, &ms->locked, err)))
            goto fail;
        ms->loaded = false;
    }
    if (ms->locked && !ms->loaded) {
        if ((rc = cstore_stream_load(ms->cs, ms->site_id, &ms->st, err)))
            goto fail;
        ms->loaded = true;
    }
    return ADT_OK;
fail:
    if (!cstore_ok(ms->cs))
        disconnect(ms);
    return rc;
}

static void b64_root(const merkle_hash h, char *out, size_t cap)
{
    sodium_bin2base64(out, cap, h, MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
}

/* Raise an alert and halt the stream; nothing of the site's new state is stored. */
static int raise_alert(mirror_stream *ms, const char *kind, const char *site_note,
                       mirror_pull *res, adt_err *err, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int raise_alert(mirror_stream *ms, const char *kind, const char *site_note,
                       mirror_pull *res, adt_err *err, const char *fmt, ...)
{
    char detail[ADT_ERR_MAX * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    int64_t id = 0;
    int rc = cstore_stream_halt(ms->cs, &ms->st, kind, site_note, detail, &id, err);
    if (rc) {
        if (!cstore_ok(ms->cs))
            disconnect(ms);
        adt_err_prefix(err, "%s detected but not recorded (%s)", kind, detail);
        return rc;
    }
    if (id)
        log_msg(LOG_ERROR, MOD, "ALERT #%lld %s: site %s: %s; its stream is halted until an "
                "operator runs 'auditd central site resume --origin %s'",
                (long long)id, kind, ms->site.origin, detail, ms->site.origin);
    res->outcome = MIRROR_HALTED;
    res->alert_id = id;
    snprintf(res->alert_kind, sizeof res->alert_kind, "%s", kind);
    return ADT_OK;
}

/* A cstore write failed: a conflict means another writer moved the stream
 * (read it again, not an error); a lost connection drops the session. */
static int db_failed(mirror_stream *ms, int rc, adt_err *err)
{
    if (rc == ADT_ECONFLICT) {
        ms->loaded = false;
        return ADT_OK;
    }
    if (!cstore_ok(ms->cs))
        disconnect(ms);
    return rc;
}

/* Step 1: the site's checkpoint against the pending one. Sets *halted when an
 * alert was raised. OUT: the served checkpoint's size and root. */
static int update_pending(mirror_stream *ms, mirror_pull *res, bool *halted, uint64_t *served,
                          merkle_hash root, adt_err *err)
{
    cstore_stream *st = &ms->st;
    char note[SITELOG_NOTE_MAX];
    size_t nl = 0;
    int rc = sitelog_checkpoint(ms->log, note, sizeof note, &nl, err);
    if (rc)
        return rc;
    uint64_t n = 0;
    adt_err ve = {0};
    if (note_verify_checkpoint(note, nl, ms->site.origin, ms->site.pub, &n, root, &ve))
        return adt_fail(err, ADT_ECRYPTO,
                        "the checkpoint served at %s is not one signed by %s's registered key "
                        "(%s); nothing stored",
                        ms->site.url, ms->site.origin, ve.msg);
    *served = n;
    char a[64], b[64];
    if (n < st->pending_size) {
        *halted = true;
        return raise_alert(ms, "cut", note, res, err,
                           "the site now serves a checkpoint of size %llu, below the size %llu "
                           "it signed before: its log was cut (entries up to %llu are mirrored)",
                           (unsigned long long)n, (unsigned long long)st->pending_size,
                           (unsigned long long)st->frontier.size);
    }
    if (n == st->pending_size) {
        if (!memcmp(root, st->pending_root, MERKLE_HASH_LEN))
            return ADT_OK;
        b64_root(st->pending_root, a, sizeof a);
        b64_root(root, b, sizeof b);
        *halted = true;
        return raise_alert(ms, "fork", note, res, err,
                           "the site signed two different trees of size %llu: root %s (held by "
                           "the centre) and root %s (served now)",
                           (unsigned long long)n, a, b);
    }
    if (st->pending_size > 0) {
        merkle_hash proof[MERKLE_MAX_PROOF];
        size_t np = 0;
        rc = sitelog_consistency(ms->log, st->pending_size, n, proof, &np, err);
        if (rc)
            return rc;
        if (!merkle_verify_consistency(st->pending_size, n, st->pending_root, root, proof, np)) {
            *halted = true;
            return raise_alert(ms, "fork", note, res, err,
                               "the site's checkpoint of size %llu is not consistent with its "
                               "checkpoint of size %llu held by the centre: the consistency "
                               "proof it served does not verify (its log was rewritten or forked)",
                               (unsigned long long)n, (unsigned long long)st->pending_size);
        }
    }
    rc = cstore_stream_advance(ms->cs, st, n, root, note, err);
    return rc ? db_failed(ms, rc, err) : ADT_OK;
}

/* Step 1b: what the centre cosigned as the site's witness against what the
 * site serves to its mirror (both signed by the site). A site that shows the
 * witness one history and the mirror another, or that serves less than the
 * witness cosigned, is caught here. Each cosigned size is checked once: what
 * is consistent with one served checkpoint is consistent with every later one
 * the mirror accepts (those are proven consistent with each other). */
static int cross_check(mirror_stream *ms, uint64_t n, const merkle_hash root, mirror_pull *res,
                       bool *halted, adt_err *err)
{
    uint64_t m = 0;
    merkle_hash rm;
    bool has = false;
    char *wnote = malloc(SITELOG_NOTE_MAX);
    if (!wnote)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    int rc = cwitness_latest_of(ms->cs, ms->site_id, &m, rm, wnote, SITELOG_NOTE_MAX, &has, err);
    if (rc || !has || m == 0 || m == ms->xchecked)
        goto out;
    char a[64], b[64];
    b64_root(rm, a, sizeof a);
    b64_root(root, b, sizeof b);
    if (m > n) {
        *halted = true;
        rc = raise_alert(ms, "cut", wnote, res, err,
                         "the site serves a checkpoint of size %llu to the mirror, below the size "
                         "%llu the centre cosigned as its witness: its log was cut",
                         (unsigned long long)n, (unsigned long long)m);
        goto out;
    }
    bool ok;
    if (m == n) {
        ok = !memcmp(rm, root, MERKLE_HASH_LEN);
    } else {
        merkle_hash proof[MERKLE_MAX_PROOF];
        size_t np = 0;
        if ((rc = sitelog_consistency(ms->log, m, n, proof, &np, err)))
            goto out;
        ok = merkle_verify_consistency(m, n, rm, root, proof, np);
    }
    if (!ok) {
        *halted = true;
        rc = raise_alert(ms, "fork", wnote, res, err,
                         "the checkpoint of size %llu (root %s) the centre cosigned as the site's "
                         "witness is not consistent with the checkpoint of size %llu (root %s) "
                         "the site serves to the mirror: it shows the two different histories",
                         (unsigned long long)m, a, (unsigned long long)n, b);
        goto out;
    }
    ms->xchecked = m;
out:
    free(wnote);
    if (rc && !cstore_ok(ms->cs))
        disconnect(ms);
    return rc;
}

static int refs_in_tx(cstore *cs, void *ctx, adt_err *err)
{
    mirror_stream *ms = ctx;
    return cship_insert(cs, ms->site_id, ms->refs, ms->nrefs, err);
}

static int on_node(void *ctx, int level, uint64_t index, const merkle_hash h)
{
    mirror_stream *ms = ctx;
    if (level < CSTORE_NODE_MIN_LEVEL)
        return ADT_OK;
    if (ms->nnodes >= NODES_MAX)
        return ADT_EINTERNAL;
    cstore_node *nd = &ms->nodes[ms->nnodes++];
    nd->level = level;
    nd->index = index;
    memcpy(nd->hash, h, MERKLE_HASH_LEN);
    return ADT_OK;
}

/* Step 2: one package from the next entry, proven, then stored. */
static int store_package(mirror_stream *ms, mirror_pull *res, bool *halted, adt_err *err)
{
    cstore_stream *st = &ms->st;
    uint64_t start = st->frontier.size;
    uint64_t end = st->pending_size - start > MIRROR_PACKAGE ? start + MIRROR_PACKAGE
                                                              : st->pending_size;
    int rc = sitelog_entries(ms->log, start, end, &ms->page, err);
    if (rc)
        return rc;
    size_t n = (size_t)ms->page.count;
    merkle_frontier nf = st->frontier;
    ms->nnodes = 0;
    ms->nrefs = 0;
    for (size_t i = 0; i < n; i++) {
        const char *leaf = ms->page.data.data + ms->page.off[i];
        ms->refs[ms->nrefs].idx = start + i;
        if (cship_ref_of_leaf(leaf, ms->page.len[i], &ms->refs[ms->nrefs]) &&
            ++ms->nrefs == REFS_MAX) {
            n = i + 1; /* the rest in the next package */
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        merkle_leaf_hash(ms->page.data.data + ms->page.off[i], ms->page.len[i], ms->hashes[i]);
        if (merkle_frontier_push(&nf, ms->hashes[i], on_node, ms))
            return adt_fail(err, ADT_EINTERNAL, "a package completed more tree nodes than "
                            "expected");
    }
    merkle_hash root;
    merkle_frontier_root(&nf, root);
    bool proven;
    if (nf.size == st->pending_size) {
        proven = !memcmp(root, st->pending_root, MERKLE_HASH_LEN);
    } else {
        merkle_hash proof[MERKLE_MAX_PROOF];
        size_t np = 0;
        rc = sitelog_consistency(ms->log, nf.size, st->pending_size, proof, &np, err);
        if (rc)
            return rc;
        proven = merkle_verify_consistency(nf.size, st->pending_size, root, st->pending_root,
                                           proof, np);
    }
    if (!proven) {
        *halted = true;
        return raise_alert(ms, "bad_entries", NULL, res, err,
                           "the entries [%llu, %llu) the site served do not lead to its signed "
                           "checkpoint of size %llu: they differ from what it signed (ledger "
                           "edited) or were altered on the way",
                           (unsigned long long)start, (unsigned long long)nf.size,
                           (unsigned long long)st->pending_size);
    }
    rc = cstore_stream_append(ms->cs, st, ms->page.data.data, ms->page.off, ms->page.len,
                              ms->hashes, n, ms->nodes, ms->nnodes, &nf,
                              ms->nrefs ? refs_in_tx : NULL, ms, err);
    if (rc)
        return db_failed(ms, rc, err);
    res->stored += n;
    return ADT_OK;
}

int mirror_stream_pull(mirror_stream *ms, uint64_t max_entries, const atomic_int *stop,
                       mirror_pull *res, adt_err *err)
{
    memset(res, 0, sizeof *res);
    int rc = connect_stream(ms, err);
    if (rc)
        return rc;
    if (!ms->locked) {
        res->outcome = MIRROR_STANDBY;
        return ADT_OK;
    }
    if (ms->st.halted) {
        /* Halted before: see whether an operator resumed it. */
        ms->loaded = false;
        if ((rc = connect_stream(ms, err)))
            return rc;
    }
    bool halted = ms->st.halted;
    uint64_t served = 0;
    merkle_hash served_root;
    if (!halted)
        rc = update_pending(ms, res, &halted, &served, served_root, err);
    if (!rc && !halted && ms->loaded)
        rc = cross_check(ms, served, served_root, res, &halted, err);
    while (!rc && !halted && ms->loaded && ms->st.frontier.size < ms->st.pending_size &&
           res->stored < max_entries && !(stop && atomic_load(stop)))
        rc = store_package(ms, res, &halted, err);
    if (!rc && ms->cs && !ms->loaded)
        rc = connect_stream(ms, err); /* a concurrent writer moved the stream: read it again */
    if (!rc && !halted && ms->loaded && ms->locked) {
        /* Batches recorded by entries stored so far (and not fetched yet). */
        int got = 0;
        rc = cship_fetch(ms->cs, ms->log, ms->site_id, FETCH_PER_PULL, &got, err);
        if (rc && !cstore_ok(ms->cs))
            disconnect(ms);
        res->fetched = (uint64_t)got;
    }
    res->pending_size = ms->st.pending_size;
    res->next_entry = ms->st.frontier.size;
    res->mirror_size = ms->st.mirror_size;
    if (rc) {
        if (cstore_ok(ms->cs))
            cstore_stream_note(ms->cs, ms->site_id, err->msg);
        adt_err_prefix(err, "site %s", ms->site.origin[0] ? ms->site.origin : "?");
        return rc;
    }
    if (halted || ms->st.halted)
        res->outcome = MIRROR_HALTED;
    else if (ms->st.frontier.size < ms->st.pending_size)
        res->outcome = MIRROR_PARTIAL;
    else
        res->outcome = MIRROR_CURRENT;
    if (res->stored) {
        /* Between pulls a stream keeps no page buffers. */
        sitelog_trim(ms->log);
        sitelog_page_free(&ms->page);
        sitelog_page_init(&ms->page);
    }
    time_t now = time(NULL);
    if (res->outcome != MIRROR_HALTED && (res->stored || now - ms->noted_at >= NOTE_EVERY_S)) {
        cstore_stream_note(ms->cs, ms->site_id, NULL);
        ms->noted_at = now;
    }
    return ADT_OK;
}

/* ---------- the service ---------- */

typedef struct worker {
    const mirror_opts *o;
    sem_t *active;
    int64_t site_id;
    pthread_t th;
    bool started;
    /* final state, for `once` */
    int rc;
    char msg[ADT_ERR_MAX];
    char origin[NOTE_ORIGIN_MAX + 1];
    mirror_pull last;
    uint64_t stored;
} worker;

static bool stopping(const mirror_opts *o)
{
    return o->stop && atomic_load(o->stop);
}

/* Sleep `ms` milliseconds, waking early when asked to stop. */
static void nap(const mirror_opts *o, int ms)
{
    while (ms > 0 && !stopping(o)) {
        int step = ms > 50 ? 50 : ms;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    const mirror_opts *o = w->o;
    mirror_stream *ms = NULL;
    adt_err err = {0};
    char last_err[ADT_ERR_MAX] = "";
    int backoff = 0;
    mirror_outcome said = MIRROR_CURRENT;
    w->rc = mirror_stream_open(o->conninfo, w->site_id, 0, &ms, &err);
    if (w->rc) {
        snprintf(w->msg, sizeof w->msg, "%s", err.msg);
        return NULL;
    }
    while (!stopping(o)) {
        mirror_pull p;
        while (sem_wait(w->active) && !stopping(o))
            ;
        int rc = mirror_stream_pull(ms, o->once ? UINT64_MAX : 65536, o->stop, &p, &err);
        sem_post(w->active);
        if (mirror_stream_origin(ms)[0])
            snprintf(w->origin, sizeof w->origin, "%s", mirror_stream_origin(ms));
        w->last = p;
        w->stored += p.stored;
        if (rc) {
            if (strcmp(err.msg, last_err))
                log_msg(LOG_WARN, MOD, "%s; retrying", err.msg);
            snprintf(last_err, sizeof last_err, "%s", err.msg);
            if (o->once) {
                w->rc = rc;
                snprintf(w->msg, sizeof w->msg, "%s", err.msg);
                break;
            }
            backoff = backoff ? (backoff > o->max_backoff_ms / 2 ? o->max_backoff_ms : backoff * 2)
                              : o->interval_ms;
            nap(o, backoff);
            continue;
        }
        if (last_err[0]) {
            log_msg(LOG_INFO, MOD, "site %s: mirroring again", w->origin);
            last_err[0] = '\0';
        }
        backoff = 0;
        if (p.stored)
            log_msg(LOG_INFO, MOD, "site %s: stored %llu entries; %llu of %llu mirrored", w->origin,
                    (unsigned long long)p.stored, (unsigned long long)p.next_entry,
                    (unsigned long long)p.pending_size);
        if (p.fetched)
            log_msg(LOG_INFO, MOD, "site %s: fetched %llu shipped batch(es), each matching the "
                    "digest its mirrored ledger records", w->origin,
                    (unsigned long long)p.fetched);
        if (p.outcome != said && p.outcome == MIRROR_STANDBY)
            log_msg(LOG_INFO, MOD, "site %s: standby (another front-end writes this stream)",
                    w->origin[0] ? w->origin : "?");
        said = p.outcome;
        if (p.outcome == MIRROR_PARTIAL)
            continue;
        if (o->once)
            break;
        nap(o, o->interval_ms);
    }
    mirror_stream_close(ms);
    return NULL;
}

static int start_worker(worker *w, const mirror_opts *o, sem_t *active, int64_t id,
                        adt_err *err)
{
    memset(w, 0, sizeof *w);
    w->o = o;
    w->active = active;
    w->site_id = id;
    if (pthread_create(&w->th, NULL, worker_main, w))
        return adt_fail(err, ADT_ENOMEM, "cannot start a mirror thread");
    w->started = true;
    return ADT_OK;
}

/* The ids of the sites to mirror: the named ones, or all. */
static int site_ids(cstore *cs, const mirror_opts *o, int64_t *ids, size_t *n, adt_err *err)
{
    if (!o->origins)
        return cstore_site_ids(cs, ids, CSTORE_SITES_MAX, n, err);
    *n = 0;
    for (size_t i = 0; i < o->norigins && i < CSTORE_SITES_MAX; i++) {
        cstore_site s;
        int rc = cstore_site_get(cs, o->origins[i], &s, err);
        if (rc)
            return rc;
        ids[(*n)++] = s.id;
    }
    return ADT_OK;
}

/* Sites added while the mirror runs are picked up within 10 intervals,
 * between 1 and 10 s (one short query each time). */
static int rescan_ms(const mirror_opts *o)
{
    int ms = o->interval_ms * 10;
    return ms < 1000 ? 1000 : ms > 10000 ? 10000 : ms;
}

/* mirror_run's defaults for what the caller left 0. */
static void opts_defaults(mirror_opts *o)
{
    if (o->interval_ms <= 0)
        o->interval_ms = 1000;
    if (o->max_backoff_ms < o->interval_ms)
        o->max_backoff_ms = o->interval_ms > 60000 ? o->interval_ms : 60000;
    if (o->max_active <= 0)
        o->max_active = 4;
}

/* Wait for the writers and add up how each ended into *sum. */
static void join_workers(const mirror_opts *o, worker *ws, size_t nw, mirror_summary *sum)
{
    for (size_t k = 0; k < nw; k++) {
        worker *w = &ws[k];
        if (!w->started)
            continue;
        pthread_join(w->th, NULL);
        sum->sites++;
        sum->stored += w->stored;
        if (w->rc)
            sum->failed++;
        else if (w->last.outcome == MIRROR_HALTED)
            sum->halted++;
        else if (w->last.outcome == MIRROR_STANDBY)
            sum->standby++;
        else if (w->last.outcome == MIRROR_CURRENT)
            sum->current++;
        if (o->once && o->on_done)
            o->on_done(o->ctx, w->origin, w->rc, w->msg, &w->last);
    }
}

int mirror_run(const mirror_opts *oin, mirror_summary *sum, adt_err *err)
{
    mirror_opts o = *oin;
    atomic_int own_stop = 0;
    if (!o.stop)
        o.stop = &own_stop;
    opts_defaults(&o);
#ifdef __GLIBC__
    /* Page buffers (megabytes) are mapped and unmapped, not kept in the
     * threads' malloc arenas once freed (glibc would otherwise raise its mmap
     * threshold after the first free and keep them). */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
    memset(sum, 0, sizeof *sum);
    if (sodium_init() < 0)
        return adt_fail(err, ADT_ECRYPTO, "libsodium failed to initialise");
    sem_t active;
    if (sem_init(&active, 0, (unsigned)o.max_active))
        return adt_fail(err, ADT_EINTERNAL, "cannot create a semaphore");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int64_t *ids = malloc(CSTORE_SITES_MAX * sizeof *ids);
    worker *ws = calloc(CSTORE_SITES_MAX, sizeof *ws);
    if (!ids || !ws) {
        free(ids);
        free(ws);
        sem_destroy(&active);
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    }
    size_t nw = 0;
    int rc = ADT_OK;
    int backoff = 0;
    bool said_down = false;
    for (;;) {
        /* (Re)read the list of sites and start a writer for each new one. */
        cstore *cs = NULL;
        size_t n = 0;
        rc = cstore_open(o.conninfo, "mirror", 0, &cs, err);
        if (!rc)
            rc = site_ids(cs, &o, ids, &n, err);
        cstore_close(cs);
        if (rc) {
            if (o.once || rc == ADT_ENOTFOUND || rc == ADT_ECONFLICT)
                break;
            if (!said_down)
                log_msg(LOG_WARN, MOD, "%s; retrying", err->msg);
            said_down = true;
            backoff = backoff ? (backoff * 2 > o.max_backoff_ms ? o.max_backoff_ms : backoff * 2)
                              : o.interval_ms;
            nap(&o, backoff);
            if (stopping(&o)) {
                rc = ADT_OK;
                break;
            }
            continue;
        }
        backoff = 0;
        said_down = false;
        for (size_t i = 0; i < n && !rc; i++) {
            bool have = false;
            for (size_t k = 0; k < nw && !have; k++)
                have = ws[k].site_id == ids[i];
            if (!have) {
                rc = start_worker(&ws[nw], &o, &active, ids[i], err);
                if (!rc)
                    nw++;
            }
        }
        if (rc || o.once || o.origins)
            break;
        nap(&o, rescan_ms(&o));
        if (stopping(&o))
            break;
    }
    if (!rc && !o.once) /* named sites: run until asked to stop */
        while (!stopping(&o))
            nap(&o, 1000);
    if (rc) /* a fatal error: the writers started so far must end too */
        atomic_store(o.stop, 1);
    join_workers(&o, ws, nw, sum);
    free(ids);
    free(ws);
    sem_destroy(&active);
    return rc;
}
