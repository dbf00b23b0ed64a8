/* afile.h: whole files, read with a bound and written atomically.
 *
 * An atomic write puts the bytes in a temporary file beside the target
 * ("<path>.tmp.<pid>"), fsyncs it, renames it over the target and fsyncs the
 * directory, so a reader sees the old file or the new one, never a part, and
 * after a crash the new name survives only with all of its bytes.
 *
 * A write can also be done in two steps (stage, then publish) when something
 * must happen between "the bytes are safely on disk" and "the file is in
 * force", e.g. recording the change in the ledger: if that fails, abort
 * removes the staged file and the old one stays in force. */
#ifndef AUDITD_AFILE_H
#define AUDITD_AFILE_H

#include "buf.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define AFILE_PATH_MAX 4096

/* Read all of `path` into `out` (reset first). Files over `max` bytes are
 * refused with ADT_ETOOBIG; a missing file is ADT_ENOTFOUND. `path` "-"
 * reads standard input. */
int afile_read(const char *path, size_t max, buf *out, adt_err *err);

/* Write data[0..len) to `path` atomically with permissions `mode`. */
int afile_write(const char *path, const void *data, size_t len, mode_t mode, adt_err *err);

/* A staged write: the temporary file is complete and on disk. */
typedef struct afile_staged {
    char path[AFILE_PATH_MAX];
    char tmp[AFILE_PATH_MAX + 32];
    bool pending;
} afile_staged;

/* Step one: write the temporary file and fsync it. */
int afile_stage(afile_staged *st, const char *path, const void *data, size_t len, mode_t mode,
                adt_err *err);
/* Step two: rename it over the target and fsync the directory. */
int afile_publish(afile_staged *st, adt_err *err);
/* Instead of publishing: remove the temporary file (no-op when none is pending). */
void afile_abort(afile_staged *st);

#endif
