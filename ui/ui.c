#include "ui.h"

#include <string.h>

extern const unsigned char ui_index_html[], ui_app_css[], ui_app_js[], ui_verify_js[],
    ui_favicon_svg[];
extern const unsigned long ui_index_html_len, ui_app_css_len, ui_app_js_len, ui_verify_js_len,
    ui_favicon_svg_len;

int ui_asset(const char *name, const unsigned char **data, size_t *len, const char **mime)
{
    static const struct {
        const char *name;
        const unsigned char *data;
        const unsigned long *len;
        const char *mime;
    } files[] = {
        {"index.html", ui_index_html, &ui_index_html_len, "text/html; charset=utf-8"},
        {"app.css", ui_app_css, &ui_app_css_len, "text/css; charset=utf-8"},
        {"app.js", ui_app_js, &ui_app_js_len, "text/javascript; charset=utf-8"},
        {"verify.js", ui_verify_js, &ui_verify_js_len, "text/javascript; charset=utf-8"},
        {"favicon.svg", ui_favicon_svg, &ui_favicon_svg_len, "image/svg+xml"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (!strcmp(files[i].name, name)) {
            *data = files[i].data;
            *len = (size_t)*files[i].len;
            *mime = files[i].mime;
            return 0;
        }
    return -1;
}
