/* vec.c: room in a growable array (see vec.h). */
#include "vec.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

void *vec_room(void *items, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n < *cap)
        return items;
    size_t nc = *cap ? *cap : (first ? first : 1);
    for (bool twice = *cap != 0; twice || nc <= n; twice = false) {
        if (nc > SIZE_MAX / 2)
            return NULL;
        nc *= 2;
    }
    if (size && nc > SIZE_MAX / size)
        return NULL;
    void *p = realloc(items, nc * size);
    if (p)
        *cap = nc;
    return p;
}
