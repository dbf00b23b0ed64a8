#include "witsrv.h"

#include "log.h"
#include "witness.h"
#include "witness_sqlite.h"

#include <errno.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MOD "witness"

/* Answer statuses counted for /metrics. */
static const int counted[] = {200, 400, 403, 404, 409, 422, 500};
#define NCOUNTED (sizeof counted / sizeof counted[0])

struct witsrv {
    witness_sqlite *db;
    note_signer *signer;
    witness *wit;
    atomic_ullong answers[NCOUNTED];
    atomic_ullong cosign_us_sum; /* time spent deciding and storing a 200 */
};

int witsrv_open(const char *dir, witsrv **out, adt_err *err)
{
    *out = NULL;
    char kpath[4200];
    struct stat sb;
    snprintf(kpath, sizeof kpath, "%s/%s", dir, WITNESS_KEY_FILE);
    if (stat(kpath, &sb) != 0 && errno == ENOENT)
        return ADT_OK; /* not a witness */
    witsrv *w = calloc(1, sizeof *w);
    if (!w)
        return adt_fail(err, ADT_ENOMEM, "out of memory");
    int rc = witness_sqlite_open(dir, &w->db, err);
    if (!rc)
        rc = witness_sqlite_signer(w->db, dir, &w->signer, err);
    if (!rc)
        rc = witness_new(w->signer, witness_sqlite_ops(), w->db, &w->wit, err);
    if (rc) {
        adt_err_prefix(err, "opening the witness in %s", dir);
        witsrv_close(w);
        return rc;
    }
    log_msg(LOG_INFO, MOD, "witness %s: POST /add-checkpoint enabled (key %s)",
            witness_sqlite_name(w->db), witness_key(w->wit)->vkey);
    *out = w;
    return ADT_OK;
}

void witsrv_close(witsrv *w)
{
    if (!w)
        return;
    witness_free(w->wit);
    note_signer_free(w->signer);
    witness_sqlite_close(w->db);
    free(w);
}

static void count(witsrv *w, int status)
{
    for (size_t i = 0; i < NCOUNTED; i++)
        if (counted[i] == status)
            atomic_fetch_add(&w->answers[i], 1);
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int witsrv_add_checkpoint(witsrv *w, const api_request *req, api_response *resp)
{
    int64_t t0 = mono_us();
    witness_answer *a = malloc(sizeof *a);
    if (!a)
        return api_error(resp, 500, "internal", "out of memory");
    adt_err err = {0};
    time_t now = time(NULL);
    int rc = witness_add_checkpoint(w->wit, req->body ? req->body : "", req->body_len,
                                    now > 0 ? (uint64_t)now : 1, a, &err);
    if (rc) {
        log_msg(LOG_ERROR, MOD, "add-checkpoint failed: %s", err.msg);
        count(w, 500);
        free(a);
        return api_error(resp, 500, "internal", "the witness could not decide: %s", err.msg);
    }
    count(w, a->status);
    switch (a->status) {
    case 200:
        atomic_fetch_add(&w->cosign_us_sum, (unsigned long long)(mono_us() - t0));
        log_msg(LOG_DEBUG, MOD, "cosigned %s at size %llu", a->origin, (unsigned long long)a->size);
        resp->status = 200;
        resp->content_type = "text/plain; charset=utf-8";
        rc = buf_puts(&resp->body, a->cosig);
        break;
    case 409:
        resp->status = 409;
        resp->content_type = "text/x.tlog.size";
        rc = buf_printf(&resp->body, "%llu\n", (unsigned long long)a->size);
        break;
    default: {
        const char *code = a->status == 400   ? "invalid"
                           : a->status == 403 ? "forbidden"
                           : a->status == 404 ? "not_found"
                                              : "unprocessable";
        if (a->status == 403 || a->status == 422)
            log_msg(LOG_WARN, MOD, "refused a checkpoint (%d): %s", a->status, a->message);
        rc = api_error(resp, a->status, code, "%s", a->message);
        break;
    }
    }
    free(a);
    return rc;
}

int witsrv_get_checkpoint(witsrv *w, const api_request *req, api_response *resp)
{
    static const char pre[] = "/v1/witness/", suf[] = "/checkpoint";
    const char *p = req->path + sizeof pre - 1;
    char hex[65];
    size_t n = strlen(p);
    bool ok = strncmp(req->path, pre, sizeof pre - 1) == 0 && n == 64 + sizeof suf - 1 &&
              strcmp(p + 64, suf) == 0;
    for (size_t i = 0; ok && i < 64; i++)
        ok = (p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f');
    if (!ok)
        return api_error(resp, 404, "not_found", "use GET /v1/witness/<lowercase hex SHA-256 of the "
                         "log's origin>/checkpoint");
    memcpy(hex, p, 64);
    hex[64] = '\0';
    adt_err err = {0};
    int rc = witness_sqlite_latest_by_hash(w->db, hex, &resp->body, &err);
    if (rc == ADT_ENOTFOUND)
        return api_error(resp, 404, "not_found", "%s", err.msg);
    if (rc)
        return api_error(resp, 500, "internal", "%s", err.msg);
    resp->status = 200;
    resp->content_type = "text/plain; charset=utf-8";
    return ADT_OK;
}

int witsrv_metrics(witsrv *w, buf *out)
{
    int rc = buf_puts(out, "# HELP auditd_witness_answers_total add-checkpoint requests answered "
                           "by this witness, by HTTP status.\n"
                           "# TYPE auditd_witness_answers_total counter\n");
    for (size_t i = 0; !rc && i < NCOUNTED; i++)
        rc = buf_printf(out, "auditd_witness_answers_total{status=\"%d\"} %llu\n", counted[i],
                        (unsigned long long)atomic_load(&w->answers[i]));
    if (!rc)
        rc = buf_printf(out, "# HELP auditd_witness_cosign_seconds_sum Time spent on requests "
                             "answered 200 (verify, prove, cosign, store durably).\n"
                             "# TYPE auditd_witness_cosign_seconds_sum counter\n"
                             "auditd_witness_cosign_seconds_sum %.6f\n",
                        (double)atomic_load(&w->cosign_us_sum) / 1e6);
    return rc;
}
