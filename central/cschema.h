/* cschema.h: the central tier's SQL schema and its migrations (docs/central.md).
 *
 * Everything lives in the PostgreSQL schema `auditd_central`. Migrations are
 * numbered from 1, applied in order, each in its own transaction together with
 * its row in `auditd_central.schema_migrations`, under a PostgreSQL advisory
 * lock so that front-ends started at once never apply one twice. A binary
 * refuses a database whose version differs from the one it was built for. */
#ifndef AUDITD_CSCHEMA_H
#define AUDITD_CSCHEMA_H

#include "status.h"

#include <libpq-fe.h>

/* The schema version this build reads and writes. */
#define CSCHEMA_VERSION 1

/* The advisory-lock class of the central tier (two-key form): key (CLASS, 0)
 * serialises migrations, (CLASS, site id) elects the one writer of a site's
 * stream. 0x61756443 = "audC". */
#define CSCHEMA_LOCK_CLASS 1635083331

/* Apply every migration newer than the database's version. OUT: *from, *to:
 * the version found and the version now. */
int cschema_migrate(PGconn *db, int *from, int *to, adt_err *err);

/* ADT_OK if the database is at CSCHEMA_VERSION; else an error saying to run
 * `auditd central init` (older or missing) or to upgrade auditd (newer). */
int cschema_check(PGconn *db, adt_err *err);

#endif
