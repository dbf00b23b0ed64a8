/* afile.c: bounded reads and atomic writes of whole files (afile.h). */
#include "afile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int afile_read(const char *path, size_t max, buf *out, adt_err *err)
{
    buf_reset(out);
    bool is_stdin = !strcmp(path, "-");
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return adt_fail(err, errno == ENOENT ? ADT_ENOTFOUND : ADT_EIO, "cannot open %s: %s",
                        path, strerror(errno));
    struct stat sb;
    if (!is_stdin && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > max) {
        close(fd);
        return adt_fail(err, ADT_ETOOBIG, "%s: %lld bytes is over the limit of %zu bytes", path,
                        (long long)sb.st_size, max);
    }
    int rc = ADT_OK;
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = adt_fail(err, ADT_EIO, "reading %s: %s", is_stdin ? "standard input" : path,
                          strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (out->len + (size_t)n > max) {
            rc = adt_fail(err, ADT_ETOOBIG, "%s is larger than the limit of %zu bytes",
                          is_stdin ? "standard input" : path, max);
            break;
        }
        if (buf_append(out, chunk, (size_t)n) != ADT_OK) {
            rc = adt_fail(err, ADT_ENOMEM, "out of memory reading %s", path);
            break;
        }
    }
    if (!is_stdin)
        close(fd);
    /* An empty file still yields a NUL-terminated (empty) text. */
    if (!rc && !out->data && buf_append(out, "", 0) != ADT_OK)
        rc = adt_fail(err, ADT_ENOMEM, "out of memory");
    return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* fsync the directory holding `path`, so a rename in it is durable. */
static int sync_dir(const char *path)
{
    char dir[AFILE_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

int afile_stage(afile_staged *st, const char *path, const void *data, size_t len, mode_t mode,
                adt_err *err)
{
    st->pending = false;
    int n = snprintf(st->path, sizeof st->path, "%s", path);
    if (n < 0 || (size_t)n >= sizeof st->path)
        return adt_fail(err, ADT_EINVAL, "path too long: %.200s", path);
    snprintf(st->tmp, sizeof st->tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(st->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return adt_fail(err, ADT_EIO, "cannot create %s: %s", st->tmp, strerror(errno));
    /* open() applies the umask; the caller's mode (e.g. 0600 for secrets) is meant exactly. */
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(st->tmp);
        return adt_fail(err, ADT_EIO, "writing %s: %s", st->tmp, strerror(e));
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(st->tmp);
        return adt_fail(err, ADT_EIO, "writing %s: %s", st->tmp, strerror(e));
    }
    st->pending = true;
    return ADT_OK;
}

int afile_publish(afile_staged *st, adt_err *err)
{
    if (!st->pending)
        return adt_fail(err, ADT_EINTERNAL, "no staged file to put in place");
    if (rename(st->tmp, st->path) != 0) {
        int e = errno;
        afile_abort(st);
        return adt_fail(err, ADT_EIO, "cannot put %s in place: %s", st->path, strerror(e));
    }
    st->pending = false;
    if (sync_dir(st->path) != 0)
        return adt_fail(err, ADT_EIO, "%s is in place but its directory could not be synced: %s",
                        st->path, strerror(errno));
    return ADT_OK;
}

void afile_abort(afile_staged *st)
{
    if (st->pending)
        unlink(st->tmp);
    st->pending = false;
}

int afile_write(const char *path, const void *data, size_t len, mode_t mode, adt_err *err)
{
    afile_staged st;
    int rc = afile_stage(&st, path, data, len, mode, err);
    return rc ? rc : afile_publish(&st, err);
}
