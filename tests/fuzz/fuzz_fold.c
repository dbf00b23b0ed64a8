/* fuzz_fold.c: a report's kept ledger fold (reports_fold.db's state bytes,
 * docs/reports.md "Kept state") through the parser a report restores it
 * with: a damaged state must be refused without reading out of bounds,
 * leaking, or allocating beyond what its bytes could hold (the sanitizer
 * build replays the corpus). Seeds: states kept by the plant demo's reports
 * (the plant's and the witness's), cut, flipped and with a huge count. */
#include "rdata.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)rdata_fold_parses(data, size);
    return 0;
}
