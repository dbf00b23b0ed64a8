/* hmap.c: string-keyed hash map (hmap.h). */
#include "hmap.h"

#include "status.h"

#include <stdlib.h>
#include <string.h>

static char tomb_mark;
#define HMAP_TOMB (&tomb_mark)
#define HMAP_MIN_CAP 64

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
    return h;
}

void hmap_init(hmap *m)
{
    memset(m, 0, sizeof *m);
}

void hmap_free(hmap *m, void (*free_val)(void *val))
{
    for (size_t i = 0; i < m->cap; i++) {
        hmap_slot *s = &m->slots[i];
        if (!s->key || s->key == HMAP_TOMB)
            continue;
        free(s->key);
        if (free_val)
            free_val(s->val);
    }
    free(m->slots);
    hmap_init(m);
}

/* Index of key's slot, or of the slot a new key would take (the first
 * tombstone met, else the empty slot that ended the probe). */
static size_t find(const hmap *m, const char *key, size_t len, uint64_t h, bool *found)
{
    size_t mask = m->cap - 1, i = (size_t)h & mask, tomb = SIZE_MAX;
    for (;;) {
        const hmap_slot *s = &m->slots[i];
        if (!s->key) {
            *found = false;
            return tomb != SIZE_MAX ? tomb : i;
        }
        if (s->key == HMAP_TOMB) {
            if (tomb == SIZE_MAX)
                tomb = i;
        } else if (s->hash == h && s->klen == len && !memcmp(s->key, key, len)) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static int grow(hmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : HMAP_MIN_CAP;
    if (m->live * 2 < m->cap)
        ncap = m->cap; /* mostly tombstones: rebuild at the same size */
    hmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return ADT_ENOMEM;
    hmap n = {ns, ncap, 0, 0};
    for (size_t i = 0; i < m->cap; i++) {
        hmap_slot *s = &m->slots[i];
        if (!s->key || s->key == HMAP_TOMB)
            continue;
        bool found;
        size_t j = find(&n, s->key, s->klen, s->hash, &found);
        n.slots[j] = *s;
        n.used++;
        n.live++;
    }
    free(m->slots);
    *m = n;
    return ADT_OK;
}

void *hmap_get(const hmap *m, const char *key, size_t len)
{
    if (!m->cap || !key)
        return NULL;
    bool found;
    size_t i = find(m, key, len, fnv1a(key, len), &found);
    return found ? m->slots[i].val : NULL;
}

void *hmap_gets(const hmap *m, const char *key)
{
    return key ? hmap_get(m, key, strlen(key)) : NULL;
}

const char *hmap_key(const hmap *m, const char *key, size_t len)
{
    if (!m->cap || !key)
        return NULL;
    bool found;
    size_t i = find(m, key, len, fnv1a(key, len), &found);
    return found ? m->slots[i].key : NULL;
}

void **hmap_slot_of(hmap *m, const char *key, size_t len)
{
    if ((m->used + 1) * 4 >= m->cap * 3 && grow(m) != ADT_OK)
        return NULL;
    uint64_t h = fnv1a(key, len);
    bool found;
    size_t i = find(m, key, len, h, &found);
    hmap_slot *s = &m->slots[i];
    if (found)
        return &s->val;
    char *k = malloc(len + 1);
    if (!k)
        return NULL;
    memcpy(k, key, len);
    k[len] = '\0';
    if (s->key != HMAP_TOMB)
        m->used++;
    m->live++;
    *s = (hmap_slot){k, len, h, NULL};
    return &s->val;
}

int hmap_put(hmap *m, const char *key, size_t len, void *val, void **old)
{
    void **slot = hmap_slot_of(m, key, len);
    if (!slot)
        return ADT_ENOMEM;
    if (old)
        *old = *slot;
    *slot = val;
    return ADT_OK;
}

void *hmap_del(hmap *m, const char *key, size_t len)
{
    if (!m->cap)
        return NULL;
    bool found;
    size_t i = find(m, key, len, fnv1a(key, len), &found);
    if (!found)
        return NULL;
    hmap_slot *s = &m->slots[i];
    void *v = s->val;
    free(s->key);
    *s = (hmap_slot){HMAP_TOMB, 0, 0, NULL};
    m->live--;
    return v;
}

size_t hmap_count(const hmap *m)
{
    return m->live;
}

bool hmap_next(const hmap *m, size_t *it, const char **key, size_t *klen, void **val)
{
    while (*it < m->cap) {
        const hmap_slot *s = &m->slots[(*it)++];
        if (!s->key || s->key == HMAP_TOMB)
            continue;
        if (key)
            *key = s->key;
        if (klen)
            *klen = s->klen;
        if (val)
            *val = s->val;
        return true;
    }
    return false;
}
