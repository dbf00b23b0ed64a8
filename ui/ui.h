/* ui.h: the web console's static files, embedded at build time from ui/www.
 *
 * The console is plain HTML, CSS and JavaScript modules (no framework, no
 * CDN, no external fonts, no inline script or style), so that it runs under
 * the strict Content-Security-Policy the daemon sends (docs/console.md). */
#ifndef AUDITD_UI_H
#define AUDITD_UI_H

#include <stddef.h>

/* The file `name` ("index.html", "app.js", ...): its bytes (static, not
 * NUL-counted), length and media type. Returns 0, or -1 if there is none. */
int ui_asset(const char *name, const unsigned char **data, size_t *len, const char **mime);

#endif
