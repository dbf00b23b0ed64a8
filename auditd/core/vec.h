/* vec.h: room in a growable array (one malloc'd block of elements, doubled
 * when full), the idiom every part grows its lists with.
 *
 * The caller keeps the array, its element count and its capacity; vec_room
 * only makes room for one more element. Not thread-safe (no state of its own). */
#ifndef AUDITD_VEC_H
#define AUDITD_VEC_H

#include <stddef.h>

/* Room for element `n` of an array `items` of *cap elements of `size` bytes
 * (items may be NULL with *cap 0): returns items when n < *cap, else the
 * array reallocated to double the capacity (`first` elements the first time)
 * with *cap updated. NULL when memory runs out or the size would overflow:
 * then items is untouched and still the caller's. */
void *vec_room(void *items, size_t *cap, size_t n, size_t size, size_t first);

#endif
