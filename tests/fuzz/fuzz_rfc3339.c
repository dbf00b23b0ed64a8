/* fuzz_rfc3339.c: rfc3339_parse on arbitrary bytes. Whatever parses must
 * format (when within years 0000..9999) and parse back to the same instant,
 * and the formatted text must have the documented shape. */
#include "rfc3339.h"
#include "status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t us;
    if (rfc3339_parse((const char *)data, size, &us) != ADT_OK)
        return 0;
    /* Accepted input has the fixed prefix shape. */
    if (size < 20 || data[4] != '-' || data[7] != '-' || data[13] != ':' || data[16] != ':')
        abort();
    char s[40];
    if (rfc3339_format(us, s, sizeof s) != ADT_OK)
        return 0; /* an offset moved it outside 0000..9999 */
    if (strlen(s) != 27 || s[10] != 'T' || s[19] != '.' || s[26] != 'Z')
        abort();
    int64_t back;
    if (rfc3339_parse(s, strlen(s), &back) != ADT_OK || back != us)
        abort();
    char t[32];
    if (rfc3339_format_s(us, t, sizeof t) != ADT_OK || strlen(t) != 20 || memcmp(t, s, 19) != 0)
        abort();
    return 0;
}
