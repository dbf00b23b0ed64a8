/* hmap.h: a hash map from byte-string keys to pointers.
 *
 * Open addressing with linear probing (64-bit FNV-1a hashes), 64 slots at
 * first, doubled at 3/4 load;
 * deletion leaves tombstones that the next growth drops. Lookups take a key
 * span (pointer and length) so callers can look up a slice of a larger text
 * without copying it.
 *
 * Ownership: the map copies every key it stores and frees them in hmap_free;
 * values are the caller's (hmap_free can hand each one to a destructor).
 * Iteration order is unspecified. Not thread-safe. */
#ifndef AUDITD_HMAP_H
#define AUDITD_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hmap_slot {
    char *key;    /* NULL = never used; HMAP_TOMB = deleted */
    size_t klen;
    uint64_t hash;
    void *val;
} hmap_slot;

typedef struct hmap {
    hmap_slot *slots;
    size_t cap;   /* 0 or a power of two */
    size_t used;  /* live + tombstones */
    size_t live;
} hmap;

/* An empty map (no allocation until the first put). Cannot fail. */
void hmap_init(hmap *m);
/* Free every key, call `free_val` (may be NULL) on every value, and reset. */
void hmap_free(hmap *m, void (*free_val)(void *val));

/* The value stored under key[0..len), or NULL. */
void *hmap_get(const hmap *m, const char *key, size_t len);
/* Same for a NUL-terminated key. */
void *hmap_gets(const hmap *m, const char *key);

/* Store `val` under key[0..len), replacing a value stored there already
 * (the old one is returned through *old when `old` is not NULL).
 * ADT_OK, or ADT_ENOMEM (the map is unchanged). */
int hmap_put(hmap *m, const char *key, size_t len, void *val, void **old);

/* The address of the value slot for key[0..len), inserting NULL there when
 * the key is absent (so `*slot == NULL` means "new"). The address is valid
 * until the next put or delete. NULL on allocation failure. */
void **hmap_slot_of(hmap *m, const char *key, size_t len);

/* Remove key[0..len); returns its value (NULL if it was absent). */
void *hmap_del(hmap *m, const char *key, size_t len);

size_t hmap_count(const hmap *m);

/* The stored copy of key[0..len) (NUL-terminated, alive until it is
 * deleted or the map freed), or NULL: for interning strings. */
const char *hmap_key(const hmap *m, const char *key, size_t len);

/* Visit every entry: start with *it = 0; returns false when done. */
bool hmap_next(const hmap *m, size_t *it, const char **key, size_t *klen, void **val);

#endif
