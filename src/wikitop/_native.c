/* wikitop._native: the hot loops in C. Ranker is the engine for dumps whose keys arrive sorted
 * (see wikitop.ranking); percent_decode is the blacklist's title decoding (see wikitop.blacklist).
 *
 * Ranker makes one pass over the uncompressed bytes, with the GIL released: split each line on single spaces
 * (quoted fields are unquoted as wikitop.ranking.arrow_parse.split_line does), validate the views, check that
 * (domain, title) keys never decrease, and keep the top N rows of the current domain run,
 * skipping blacklisted pairs. A key can then repeat only right after itself (a file sorted by whole
 * line), so summing equal adjacent keys is the only sum needed and memory stays at N rows per domain.
 * A row whose key decreases is set aside as a side row (the order goes on from the key before it):
 * Python adds it to its key's sum, or, when the N rows kept cannot tell whether it enters a top N,
 * ranks the hour again. Past SET_ASIDE_MAX such rows the pass stops: the caller then ranks the hour
 * again on the general path, a Ranker made with any_order=True, which sums every key in a hash table (its memory grows
 * with the distinct keys of the hour, ~28 bytes each plus the title) and ranks them at finish().
 * Keys holding a space (only possible inside quotes) are handed back to Python as side rows,
 * exactly as the Arrow path sets them aside.
 *
 * Misuse is a Python exception, never a crash: every entry point checks the object first (made but
 * not initialised, unusable after a MemoryError, busy in another thread), with the GIL held, so the
 * checks and the busy flag need no lock. The hot loop itself carries no checks.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif
/* Lines are split by finding their separators 64 bytes at a time (see separator_bits): with SSE2
 * (every x86-64) 16 bytes per instruction, on other little-endian CPUs (or built with
 * -DWIKITOP_SCALAR_SCAN: the tests build each kind) 8 bytes per 64-bit word, else byte by byte. The
 * same answers from each. */
#if defined(__SSE2__) && !defined(WIKITOP_SCALAR_SCAN)
#include <emmintrin.h>
#define WIKITOP_SSE2_SCAN 1
#elif defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WIKITOP_SWAR_SCAN 1
#elif defined(_WIN32)
#define WIKITOP_SWAR_SCAN 1
#endif

#define INT64_MAX_U ((uint64_t)INT64_MAX)
/* Rows out of place that the one pass sets aside before it gives the hour up to the general path:
 * a few (a row appended late, say) cost nothing; a shuffled file reaches this within kilobytes. */
#define SET_ASIDE_MAX 4096

/* ---- growable byte buffer ---------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} Buf;

static int buf_reserve(Buf *b, size_t need) {
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) return -1;
    b->data = grown;
    b->cap = cap;
    return 0;
}

static int buf_set(Buf *b, const char *p, size_t n) {
    if (buf_reserve(b, n ? n : 1)) return -1;
    if (n) memcpy(b->data, p, n);
    b->len = n;
    return 0;
}

static int buf_append(Buf *b, const char *p, size_t n) {
    if (buf_reserve(b, b->len + n + 1)) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static void buf_free(Buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static char *copy_bytes(const char *p, size_t n) {
    char *copy = malloc(n ? n : 1);
    if (copy && n) memcpy(copy, p, n);
    return copy;
}

/* Bytes order, as Python compares bytes: memcmp, then the shorter one first. */
static int compare_bytes(const char *a, size_t alen, const char *b, size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return (alen > blen) - (alen < blen);
}

/* ---- a set of byte strings (the blacklist) ------------------------------------------------ */

typedef struct {
    uint64_t hash;
    const char *key; /* NULL: empty slot */
    size_t len;
} Slot;

typedef struct {
    Slot *slots;
    size_t mask;
    char *arena;
} KeySet;

static uint64_t hash_bytes(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static int keyset_contains(const KeySet *set, const char *p, size_t n) {
    if (!set->slots) return 0;
    uint64_t h = hash_bytes(p, n);
    for (size_t i = h & set->mask;; i = (i + 1) & set->mask) {
        const Slot *slot = &set->slots[i];
        if (!slot->key) return 0;
        if (slot->hash == h && slot->len == n && memcmp(slot->key, p, n) == 0) return 1;
    }
}

static void keyset_insert(KeySet *set, const char *p, size_t n) {
    uint64_t h = hash_bytes(p, n);
    for (size_t i = h & set->mask;; i = (i + 1) & set->mask) {
        Slot *slot = &set->slots[i];
        if (!slot->key) {
            slot->hash = h;
            slot->key = p;
            slot->len = n;
            return;
        }
        if (slot->hash == h && slot->len == n && memcmp(slot->key, p, n) == 0) return;
    }
}

/* Build the set from a list of bytes; with `prefix_only`, keep each key up to its first space. */
static int keyset_build(KeySet *set, PyObject *keys, int prefix_only) {
    Py_ssize_t count = PyList_GET_SIZE(keys);
    size_t total = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *key = PyList_GET_ITEM(keys, i);
        if (!PyBytes_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "blacklist and watch keys must be bytes");
            return -1;
        }
        total += (size_t)PyBytes_GET_SIZE(key);
    }
    size_t size = 16;
    while (size < 2 * (size_t)count + 2) size *= 2;
    set->slots = calloc(size, sizeof(Slot));
    set->arena = malloc(total ? total : 1);
    if (!set->slots || !set->arena) {
        PyErr_NoMemory();
        return -1;
    }
    set->mask = size - 1;
    char *at = set->arena;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *key = PyList_GET_ITEM(keys, i);
        size_t n = (size_t)PyBytes_GET_SIZE(key);
        const char *p = PyBytes_AS_STRING(key);
        if (prefix_only) {
            const char *space = memchr(p, ' ', n);
            n = space ? (size_t)(space - p) : n;
        }
        memcpy(at, p, n);
        keyset_insert(set, at, n);
        at += n;
    }
    return 0;
}

static void keyset_free(KeySet *set) {
    free(set->slots);
    free(set->arena);
    set->slots = NULL;
    set->arena = NULL;
}

/* ---- the ranker ---------------------------------------------------------------------------- */

typedef struct {
    uint64_t views;
    char *title;
    size_t len;
} Entry;

typedef struct {
    char *domain;
    size_t domain_len;
    Entry *entries;
    size_t count;
} Run;

typedef struct {
    char *domain;
    size_t domain_len;
    char *title;
    size_t title_len;
    uint64_t views;
} SideRow;

/* Any-order mode keeps every key once: records [Record, title bytes] back to back in an arena (8-byte
 * aligned), found through an open-addressing table of slots `hash tag << 32 | (record offset / 8 + 1)`
 * (0: empty). A slot's position is its tag's top bits, so growing the table never hashes a key again.
 * Domain codes are interned the same way in a table of their own, so a key costs its title and ~28
 * bytes (a 16-byte record head, padding, and its slot at most 70% full). */
#define TALLY_AHEAD 8

typedef struct {
    uint64_t views;  /* a key: its summed views; a domain code: its index */
    uint32_t domain; /* a key: its domain code's index */
    uint32_t len;    /* the bytes that follow */
} Record;

typedef struct {
    Buf arena;
    uint64_t *slots;
    unsigned bits; /* the table has 1 << bits slots */
    size_t count;
} Table;

typedef struct {
    Table keys, domains;
    uint32_t *domain_slots; /* domain index -> its record offset / 8 in domains.arena */
    size_t domain_count, domain_cap;
    size_t last_domain; /* the previous row's domain index (rows of one domain often follow each other) */
    int have_last;
    /* Keys hashed, their slot prefetched, waiting a few rows to be added (see tally_key). */
    struct {
        uint64_t hash, views;
        uint32_t domain;
        Buf title;
    } ahead[TALLY_AHEAD];
    size_t ahead_count, ahead_next;
} Tallied;

/* What an entry point may do with the object; tp_alloc zeroes it, so a new object is RANKER_NEW. */
typedef enum {
    RANKER_NEW = 0, /* made by Ranker.__new__ alone: nothing allocated, nothing to rank with */
    RANKER_READY,   /* initialised by Ranker(top_n, blacklist_keys) */
    RANKER_BROKEN,  /* an allocation failed mid-line: the state (the previous key above all) is not to be trusted */
} RankerState;

typedef struct {
    PyObject_HEAD
    RankerState state;
    const char *busy; /* NULL, or why another call must wait: set by feed() while the GIL is released */
    size_t top_n;
    KeySet pairs;   /* domain + " " + percent-decoded title */
    KeySet domains; /* the domain codes that have blacklisted titles */
    /* Ranker(..., watch=keys): hand over the rows of these keys (domain + " " + title) as side
     * rows, and nothing else (see watch_record). */
    KeySet watch, watch_domains;
    int watching;
    Buf carry;      /* the unfinished last line of the previous feed */
    Buf scratch;    /* the fields of a quoted line, unquoted */
    Buf lookup;     /* a blacklist key being looked up */
    /* The previous key. It points into the data being fed, or into prev_key once copied there. */
    const char *prev_domain, *prev_title;
    size_t prev_domain_len, prev_title_len;
    int have_prev;
    Buf prev_key;
    uint64_t prev_views; /* the previous key's views, summed over equal adjacent keys: offered once it changes */
    /* The current domain run and its top rows. */
    Buf run_domain;
    int have_run, run_checked;
    Entry *top;
    size_t top_count;
    /* Finished runs and side rows, waiting to be handed to Python. */
    Run *runs;
    size_t run_count, run_cap;
    SideRow *side;
    size_t side_count, side_cap;
    long long lines_read, lines_skipped;
    size_t set_aside; /* rows whose key decreased, handed over as side rows (at most SET_ASIDE_MAX) */
    int out_of_order, finished;
    int any_order;  /* Ranker(..., any_order=True): sum every key in `tallied`, then rank (the general path) */
    int overflow;   /* a key's summed views went past 2**64 - 1 */
    Tallied tallied;
} Ranker;

static void free_entries(Entry *entries, size_t count) {
    for (size_t i = 0; i < count; i++) free(entries[i].title);
}

static void free_pending(Ranker *r) {
    for (size_t i = 0; i < r->run_count; i++) {
        free(r->runs[i].domain);
        free_entries(r->runs[i].entries, r->runs[i].count);
        free(r->runs[i].entries);
    }
    r->run_count = 0;
    for (size_t i = 0; i < r->side_count; i++) {
        free(r->side[i].domain);
        free(r->side[i].title);
    }
    r->side_count = 0;
}

/* Percent-decode as urllib.parse.unquote_to_bytes: "%XX" with two hex digits is one byte. */
static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Write the decoded bytes of [p, p + n) to `out` (room for n bytes); return their count. */
static size_t percent_decode_into(char *out, const char *p, size_t n) {
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        int high, low;
        if (p[i] == '%' && i + 2 < n && (high = hex_value((unsigned char)p[i + 1])) >= 0 &&
            (low = hex_value((unsigned char)p[i + 2])) >= 0) {
            out[at++] = (char)(high * 16 + low);
            i += 2;
        } else {
            out[at++] = p[i];
        }
    }
    return at;
}

static int is_blacklisted(Ranker *r, const char *title, size_t len) {
    Buf *key = &r->lookup;
    if (buf_reserve(key, r->run_domain.len + 1 + len + 1)) return -1;
    memcpy(key->data, r->run_domain.data, r->run_domain.len);
    key->data[r->run_domain.len] = ' ';
    size_t at = r->run_domain.len + 1;
    at += percent_decode_into(key->data + at, title, len);
    return keyset_contains(&r->pairs, key->data, at);
}

/* Make room for one more item in a growable array of `*cap` items; -1 when out of memory. */
static int reserve_one(void **items, size_t *cap, size_t count, size_t item_size) {
    if (count < *cap) return 0;
    size_t larger = *cap ? *cap * 2 : 16;
    void *grown = realloc(*items, larger * item_size);
    if (!grown) return -1;
    *items = grown;
    *cap = larger;
    return 0;
}

static int flush_run(Ranker *r) {
    if (!r->have_run) return 0;
    if (reserve_one((void **)&r->runs, &r->run_cap, r->run_count, sizeof(Run))) return -1;
    Run *run = &r->runs[r->run_count];
    run->domain = copy_bytes(r->run_domain.data, r->run_domain.len);
    run->entries = malloc((r->top_count ? r->top_count : 1) * sizeof(Entry));
    if (!run->domain || !run->entries) {
        free(run->domain);
        free(run->entries);
        return -1;
    }
    run->domain_len = r->run_domain.len;
    memcpy(run->entries, r->top, r->top_count * sizeof(Entry));
    run->count = r->top_count;
    r->run_count++;
    r->top_count = 0;
    r->have_run = 0;
    return 0;
}

static int start_run(Ranker *r, const char *domain, size_t len) {
    if (flush_run(r) || buf_set(&r->run_domain, domain, len)) return -1;
    r->have_run = 1;
    r->run_checked = keyset_contains(&r->domains, domain, len);
    return 0;
}

/* The kept rows form a binary heap whose root is the worst row: fewest views, then the greatest
 * title. Replacing the worst costs O(log N), which keeps a large WIKITOP_TOP_N affordable. */
static int is_worse(const Entry *a, const Entry *b) {
    if (a->views != b->views) return a->views < b->views;
    return compare_bytes(a->title, a->len, b->title, b->len) > 0;
}

static void sift_up(Entry *heap, size_t i) {
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!is_worse(&heap[i], &heap[parent])) return;
        Entry swap = heap[i];
        heap[i] = heap[parent];
        heap[parent] = swap;
        i = parent;
    }
}

static void sift_down(Entry *heap, size_t count, size_t i) {
    for (;;) {
        size_t worst = i, left = 2 * i + 1, right = left + 1;
        if (left < count && is_worse(&heap[left], &heap[worst])) worst = left;
        if (right < count && is_worse(&heap[right], &heap[worst])) worst = right;
        if (worst == i) return;
        Entry swap = heap[i];
        heap[i] = heap[worst];
        heap[worst] = swap;
        i = worst;
    }
}

/* Offer a row of the current run. Titles ascend within a run, so a row that only ties the worst
 * kept row loses the tie and is never kept once N rows are. */
static int offer(Ranker *r, const char *title, size_t len, uint64_t views) {
    int full = r->top_count == r->top_n;
    if (full && views <= r->top[0].views) return 0;
    if (r->run_checked) {
        int listed = is_blacklisted(r, title, len);
        if (listed) return listed < 0 ? -1 : 0;
    }
    char *copy = copy_bytes(title, len);
    if (!copy) return -1;
    if (full) {
        free(r->top[0].title);
        r->top[0] = (Entry){views, copy, len};
        sift_down(r->top, r->top_count, 0);
    } else {
        r->top[r->top_count] = (Entry){views, copy, len};
        sift_up(r->top, r->top_count++);
    }
    return 0;
}

static int add_side_row(Ranker *r, const char *d, size_t dl, const char *t, size_t tl, uint64_t views) {
    if (reserve_one((void **)&r->side, &r->side_cap, r->side_count, sizeof(SideRow))) return -1;
    SideRow *row = &r->side[r->side_count];
    row->domain = copy_bytes(d, dl);
    row->title = copy_bytes(t, tl);
    if (!row->domain || !row->title) {
        free(row->domain);
        free(row->title);
        return -1;
    }
    row->domain_len = dl;
    row->title_len = tl;
    row->views = views;
    r->side_count++;
    return 0;
}

/* Views: ASCII digits only, leading zeros allowed, at most 2**63 - 1. Returns 0 when invalid. */
static int parse_views(const char *p, size_t n, uint64_t *out) {
    if (n == 0) return 0;
    size_t i = 0;
    while (i < n && p[i] == '0') i++;
    if (n - i > 19) return 0;
    uint64_t value = 0;
    for (size_t j = 0; j < n; j++) {
        unsigned digit = (unsigned char)p[j] - '0';
        if (digit > 9) return 0;
        value = value * 10 + digit;
    }
    if (value > INT64_MAX_U) return 0;
    *out = value;
    return 1;
}

/* Split a line with a quoted field as split_line does, into r->scratch; 0 when malformed or the
 * field count is not 4. `starts`/`lens` receive the 4 fields as offsets into the scratch buffer. */
static int split_quoted(Ranker *r, const char *p, size_t n, size_t starts[4], size_t lens[4], int *nomem) {
    Buf *out = &r->scratch;
    if (buf_reserve(out, n + 1)) {
        *nomem = 1;
        return 0;
    }
    out->len = 0;
    size_t field = 0, i = 0;
    starts[0] = 0;
    for (;;) {
        if (field == 4) return 0;
        starts[field] = out->len;
        if (i < n && p[i] == '"') {
            i++;
            int closed = 0;
            while (i < n) {
                char c = p[i];
                if (c == '\\' && i + 1 < n && (p[i + 1] == '"' || p[i + 1] == '\\')) {
                    out->data[out->len++] = p[i + 1];
                    i += 2;
                } else if (c == '"') {
                    i++;
                    closed = 1;
                    break;
                } else {
                    out->data[out->len++] = c;
                    i++;
                }
            }
            if (!closed || (i < n && p[i] != ' ')) return 0;
        } else {
            while (i < n && p[i] != ' ') out->data[out->len++] = p[i++];
        }
        lens[field] = out->len - starts[field];
        field++;
        if (i == n) return field == 4;
        i++; /* the separating space */
    }
}

static int contains_space(const char *p, size_t n) { return memchr(p, ' ', n) != NULL; }

/* Keep the previous key valid after the data it points into goes away. */
static int own_prev_key(Ranker *r) {
    if (!r->have_prev) return 0;
    if (r->prev_domain >= r->prev_key.data && r->prev_domain < r->prev_key.data + r->prev_key.cap) return 0;
    size_t dl = r->prev_domain_len, tl = r->prev_title_len;
    Buf copy = {0};
    if (buf_reserve(&copy, dl + tl + 1)) return -1;
    memcpy(copy.data, r->prev_domain, dl);
    memcpy(copy.data + dl, r->prev_title, tl);
    buf_free(&r->prev_key);
    r->prev_key = copy;
    r->prev_domain = copy.data;
    r->prev_title = copy.data + dl;
    return 0;
}

/* One ordered record: check the order, switch runs on a new domain, offer the row. */
/* ---- any-order mode: every key's sum in a hash table, then the top N of each domain --------- */

/* Add `views` to a sum; 1 (and the sum unchanged) when it would pass 2**64 - 1. */
static int add_views(uint64_t *sum, uint64_t views) {
    if (views > UINT64_MAX - *sum) return 1;
    *sum += views;
    return 0;
}

static size_t record_size(size_t len) { return (sizeof(Record) + len + 7) & ~(size_t)7; }

static Record *record_at(const Table *t, size_t slot_value) {
    return (Record *)(t->arena.data + ((size_t)(uint32_t)slot_value - 1) * 8);
}

static uint64_t key_hash(uint32_t domain, const char *p, size_t n) {
    uint64_t h = hash_bytes(p, n) ^ ((uint64_t)domain * 0x9E3779B97F4A7C15ULL);
    h ^= h >> 33; /* murmur3's finalizer: the tag's top bits pick the slot */
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

/* Every row probes a random slot: with 4 KiB pages, a table of tens of MiB misses the TLB on nearly
 * each one. Huge pages, where the kernel offers them on request, take most of that cost away. */
static void ask_huge_pages(void *p, size_t n) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1), end = ((uintptr_t)p + n) & ~(huge - 1);
    if (end > start) (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

static int table_grow(Table *t) {
    unsigned bits = t->slots ? t->bits + 1 : 12;
    if (bits > 32) return -1;
    size_t size = (size_t)1 << bits, mask = size - 1;
    uint64_t *slots = calloc(size, sizeof(uint64_t));
    if (!slots) return -1;
    ask_huge_pages(slots, size * sizeof(uint64_t));
    for (size_t i = 0; t->slots && i < ((size_t)1 << t->bits); i++) {
        uint64_t s = t->slots[i];
        if (!s) continue;
        size_t j = (size_t)((s >> 32) >> (32 - bits));
        while (slots[j]) j = (j + 1) & mask;
        slots[j] = s;
    }
    free(t->slots);
    t->slots = slots;
    t->bits = bits;
    return 0;
}

/* The record of (domain, bytes), added with `views` when absent (*added = 1); NULL when out of memory. */
static Record *table_add_hashed(Table *t, uint64_t h, uint32_t domain, const char *p, size_t n, uint64_t views,
                                int *added) {
    if ((!t->slots || (t->count + 1) * 10 > ((size_t)7 << t->bits)) && table_grow(t)) return NULL;
    uint32_t tag = (uint32_t)(h >> 32);
    size_t mask = ((size_t)1 << t->bits) - 1, i = tag >> (32 - t->bits);
    for (; t->slots[i]; i = (i + 1) & mask) {
        if ((uint32_t)(t->slots[i] >> 32) != tag) continue;
        Record *rec = record_at(t, t->slots[i]);
        if (rec->domain == domain && rec->len == n && memcmp(rec + 1, p, n) == 0) {
            *added = 0;
            return rec;
        }
    }
    size_t offset = t->arena.len, size = record_size(n);
    if (offset / 8 + 1 > UINT32_MAX || n > UINT32_MAX || buf_reserve(&t->arena, offset + size)) return NULL;
    Record *rec = (Record *)(t->arena.data + offset);
    *rec = (Record){views, domain, (uint32_t)n};
    memcpy(rec + 1, p, n);
    t->arena.len = offset + size;
    t->slots[i] = ((uint64_t)tag << 32) | (offset / 8 + 1);
    t->count++;
    *added = 1;
    return rec;
}

static Record *table_find_or_add(Table *t, uint32_t domain, const char *p, size_t n, uint64_t views, int *added) {
    return table_add_hashed(t, key_hash(domain, p, n), domain, p, n, views, added);
}

static void table_free(Table *t) {
    buf_free(&t->arena);
    free(t->slots);
    t->slots = NULL;
    t->bits = 0;
    t->count = 0;
}

static Record *domain_record(const Tallied *t, size_t index) {
    return record_at(&t->domains, t->domain_slots[index]);
}

/* The index of a domain code, interned on first sight; -1 when out of memory. */
static int64_t domain_index(Tallied *t, const char *d, size_t dl) {
    if (t->have_last) {
        Record *last = domain_record(t, t->last_domain);
        if (last->len == dl && memcmp(last + 1, d, dl) == 0) return (int64_t)t->last_domain;
    }
    int added;
    Record *rec = table_find_or_add(&t->domains, UINT32_MAX, d, dl, t->domain_count, &added);
    if (!rec) return -1;
    if (added) {
        if (reserve_one((void **)&t->domain_slots, &t->domain_cap, t->domain_count, sizeof(uint32_t))) return -1;
        t->domain_slots[t->domain_count++] = (uint32_t)(((char *)rec - t->domains.arena.data) / 8 + 1);
    }
    t->last_domain = (size_t)rec->views;
    t->have_last = 1;
    return (int64_t)rec->views;
}

static void tallied_free(Tallied *t) {
    for (size_t i = 0; i < TALLY_AHEAD; i++) buf_free(&t->ahead[i].title);
    table_free(&t->keys);
    table_free(&t->domains);
    free(t->domain_slots);
    memset(t, 0, sizeof(*t));
}

static int add_key(Ranker *r, uint64_t h, uint32_t domain, const char *t, size_t tl, uint64_t views) {
    int added;
    Record *rec = table_add_hashed(&r->tallied.keys, h, domain, t, tl, views, &added);
    if (!rec) return -1;
    if (!added && add_views(&rec->views, views)) r->overflow = 1;
    return 0;
}

/* Nearly every row probes a random slot of a table far larger than the caches: the key is hashed and
 * its slot prefetched now, and added TALLY_AHEAD rows later, when the slot has arrived. */
static int tally_key(Ranker *r, const char *d, size_t dl, const char *t, size_t tl, uint64_t views) {
    Tallied *tallied = &r->tallied;
    int64_t domain = domain_index(tallied, d, dl);
    if (domain < 0) return -1;
    uint64_t h = key_hash((uint32_t)domain, t, tl);
    Table *keys = &tallied->keys;
#if defined(__GNUC__)
    if (keys->slots) __builtin_prefetch(&keys->slots[(uint32_t)(h >> 32) >> (32 - keys->bits)]);
#endif
    size_t at = tallied->ahead_next;
    if (tallied->ahead_count == TALLY_AHEAD) {
        Buf *title = &tallied->ahead[at].title;
        if (add_key(r, tallied->ahead[at].hash, tallied->ahead[at].domain, title->data, title->len,
                    tallied->ahead[at].views))
            return -1;
    } else {
        tallied->ahead_count++;
    }
    if (buf_set(&tallied->ahead[at].title, t, tl)) return -1;
    tallied->ahead[at].hash = h;
    tallied->ahead[at].views = views;
    tallied->ahead[at].domain = (uint32_t)domain;
    tallied->ahead_next = (at + 1) % TALLY_AHEAD;
    return 0;
}

/* Add the keys still waiting in the prefetch ring. */
static int drain_ahead(Ranker *r) {
    Tallied *t = &r->tallied;
    for (size_t i = 0; i < t->ahead_count; i++) {
        if (add_key(r, t->ahead[i].hash, t->ahead[i].domain, t->ahead[i].title.data, t->ahead[i].title.len,
                    t->ahead[i].views))
            return -1;
    }
    t->ahead_count = 0;
    return 0;
}

/* Blacklist lookup for any domain (is_blacklisted is the current run's). */
static int pair_listed(Ranker *r, const char *domain, size_t dl, const char *title, size_t len) {
    Buf *key = &r->lookup;
    if (buf_reserve(key, dl + 1 + len + 1)) return -1;
    memcpy(key->data, domain, dl);
    key->data[dl] = ' ';
    size_t at = dl + 1 + percent_decode_into(key->data + dl + 1, title, len);
    return keyset_contains(&r->pairs, key->data, at);
}

typedef struct {
    Entry *items; /* a heap, worst row at the root (see is_worse); titles point into the arena */
    size_t count, cap;
} Top;

/* Offer a summed key to its domain's top N. Keys come in no order, so ties compare titles. */
static int offer_tallied(Ranker *r, Top *top, Entry row, const Record *domain, int checked) {
    int full = top->count == r->top_n;
    if (full && !is_worse(&top->items[0], &row)) return 0;
    if (checked) {
        int listed = pair_listed(r, (const char *)(domain + 1), domain->len, row.title, row.len);
        if (listed) return listed < 0 ? -1 : 0;
    }
    if (full) {
        top->items[0] = row;
        sift_down(top->items, top->count, 0);
        return 0;
    }
    if (reserve_one((void **)&top->items, &top->cap, top->count, sizeof(Entry))) return -1;
    top->items[top->count] = row;
    sift_up(top->items, top->count++);
    return 0;
}

/* Hand each domain's top N to r->runs, titles copied out of the arena. */
static int emit_tops(Ranker *r, const Top *tops) {
    for (size_t i = 0; i < r->tallied.domain_count; i++) {
        if (!tops[i].count) continue;
        if (reserve_one((void **)&r->runs, &r->run_cap, r->run_count, sizeof(Run))) return -1;
        Record *domain = domain_record(&r->tallied, i);
        Run *run = &r->runs[r->run_count];
        *run = (Run){copy_bytes((const char *)(domain + 1), domain->len), domain->len,
                     malloc(tops[i].count * sizeof(Entry)), 0};
        r->run_count++; /* from here, free_pending frees what the run holds */
        if (!run->domain || !run->entries) return -1;
        for (size_t j = 0; j < tops[i].count; j++) {
            Entry row = tops[i].items[j];
            row.title = copy_bytes(row.title, row.len);
            if (!row.title) return -1;
            run->entries[run->count++] = row;
        }
    }
    return 0;
}

/* The end of an any-order pass: rank every summed key, then free the table. */
static int rank_tallied(Ranker *r) {
    if (drain_ahead(r)) return -1;
    Tallied *t = &r->tallied;
    size_t n = t->domain_count;
    Top *tops = calloc(n ? n : 1, sizeof(Top));
    char *checked = calloc(n ? n : 1, 1);
    int failed = !tops || !checked;
    for (size_t i = 0; !failed && i < n; i++) {
        Record *domain = domain_record(t, i);
        checked[i] = (char)keyset_contains(&r->domains, (const char *)(domain + 1), domain->len);
    }
    for (size_t offset = 0; !failed && offset < t->keys.arena.len;) {
        Record *rec = (Record *)(t->keys.arena.data + offset);
        Entry row = {rec->views, (char *)(rec + 1), rec->len};
        failed = offer_tallied(r, &tops[rec->domain], row, domain_record(t, rec->domain), checked[rec->domain]);
        offset += record_size(rec->len);
    }
    if (!failed) failed = emit_tops(r, tops);
    for (size_t i = 0; tops && i < n; i++) free(tops[i].items);
    free(tops);
    free(checked);
    tallied_free(t);
    return failed ? -1 : 0;
}

/* One record: in any-order mode, add it to its key's sum. Otherwise check the order (an equal
 * adjacent key adds to the previous key's sum), offer the previous key once the key changes, switch
 * runs on a new domain. */
/* Watching: a row of a watched key becomes a side row; the others are only counted as read. */
static int watch_record(Ranker *r, const char *d, size_t dl, const char *t, size_t tl, uint64_t views) {
    if (!keyset_contains(&r->watch_domains, d, dl)) return 0;
    Buf *key = &r->lookup;
    if (buf_reserve(key, dl + 1 + tl)) return -1;
    memcpy(key->data, d, dl);
    key->data[dl] = ' ';
    memcpy(key->data + dl + 1, t, tl);
    if (!keyset_contains(&r->watch, key->data, dl + 1 + tl)) return 0;
    return add_side_row(r, d, dl, t, tl, views);
}

static int take_record(Ranker *r, const char *d, size_t dl, const char *t, size_t tl, uint64_t views, int volatile_key) {
    if (r->watching) return watch_record(r, d, dl, t, tl, views);
    if (r->any_order) return tally_key(r, d, dl, t, tl, views);
    int same_domain = 0;
    if (r->have_prev) {
        int c = compare_bytes(d, dl, r->prev_domain, r->prev_domain_len);
        if (c == 0) {
            same_domain = 1;
            c = compare_bytes(t, tl, r->prev_title, r->prev_title_len);
        }
        if (c < 0 && r->set_aside < SET_ASIDE_MAX) {
            /* Out of place: handed to Python as a side row (wikitop.ranking.native adds it to its
             * key's sum there, or sends the hour to the general path); the order goes on from the
             * previous key. */
            r->set_aside++;
            return add_side_row(r, d, dl, t, tl, views);
        }
        if (c < 0 || (c == 0 && add_views(&r->prev_views, views))) {
            r->out_of_order = 1; /* the general path ranks the hour (and reports an overflow) */
            return 0;
        }
        if (c == 0) return 0;
        if (offer(r, r->prev_title, r->prev_title_len, r->prev_views)) return -1;
    }
    r->prev_domain = d;
    r->prev_domain_len = dl;
    r->prev_title = t;
    r->prev_title_len = tl;
    r->prev_views = views;
    r->have_prev = 1;
    /* A volatile key lives in a buffer that the next line overwrites (scratch or carry). */
    if (volatile_key && own_prev_key(r)) return -1;
    if (!same_domain && start_run(r, d, dl)) return -1;
    return 0;
}

/* ---- splitting lines: every separator (' ' or '\n') found 64 bytes at a time ------------------ */

/* The index of the lowest set bit of a non-zero word. */
static inline unsigned lowest_bit(uint64_t bits) {
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(bits);
#else
    unsigned index = 0;
    while (!(bits & 1)) {
        bits >>= 1;
        index++;
    }
    return index;
#endif
}

/* 0x80 in each byte of `word` that is zero, nothing elsewhere. */
static inline uint64_t zero_bytes(uint64_t word) {
    const uint64_t low7 = 0x7F7F7F7F7F7F7F7FULL;
    return ~(((word & low7) + low7) | word | low7);
}

/* Bit i set when byte start + i of [p, p + n) is ' ' or '\n', for the 64 bytes from `start`. */
static uint64_t separator_bits(const char *p, size_t n, size_t start) {
    const char *at = p + start;
    size_t len = n - start < 64 ? n - start : 64;
    uint64_t bits = 0;
#ifdef WIKITOP_SSE2_SCAN
    if (len == 64) {
        const __m128i space = _mm_set1_epi8(' '), newline = _mm_set1_epi8('\n');
        for (int i = 0; i < 4; i++) {
            __m128i bytes = _mm_loadu_si128((const __m128i *)(at + 16 * i));
            __m128i found = _mm_or_si128(_mm_cmpeq_epi8(bytes, space), _mm_cmpeq_epi8(bytes, newline));
            bits |= (uint64_t)(uint32_t)_mm_movemask_epi8(found) << (16 * i);
        }
        return bits;
    }
#endif
#if defined(WIKITOP_SWAR_SCAN)
    if (len == 64) { /* 8 bytes at a time in a 64-bit word: each byte's top bit, gathered */
        for (unsigned i = 0; i < 8; i++) {
            uint64_t word;
            memcpy(&word, at + 8 * i, 8);
            uint64_t found = zero_bytes(word ^ 0x2020202020202020ULL) | zero_bytes(word ^ 0x0A0A0A0A0A0A0A0AULL);
            bits |= (((found >> 7) * 0x0102040810204080ULL) >> 56) << (8 * i);
        }
        return bits;
    }
#endif
    for (size_t i = 0; i < len; i++) bits |= (uint64_t)((at[i] == ' ') | (at[i] == '\n')) << i;
    return bits;
}

/* The separators of [p, p + n) not taken yet, one 64-byte window at a time. */
typedef struct {
    const char *p;
    size_t n, window;
    uint64_t bits; /* the separators of the current window not taken yet */
} Separators;

/* The position of the next separator, or n when none is left. */
static inline size_t next_separator(Separators *s) {
    while (!s->bits) {
        size_t start = (s->window + 1) * 64;
        if (start >= s->n) return s->n;
        s->window++;
        s->bits = separator_bits(s->p, s->n, start);
    }
    size_t at = s->window * 64 + lowest_bit(s->bits);
    s->bits &= s->bits - 1;
    return at;
}

/* Take the next separator that is a '\n' (or n). */
static size_t next_newline(Separators *s, size_t separator) {
    while (separator < s->n && s->p[separator] != '\n') separator = next_separator(s);
    return separator;
}

typedef enum { LINE_PLAIN, LINE_QUOTED, LINE_MALFORMED } LineKind;

/* Take the line [p, line_end), split by scan_lines as `kind`. */
static int take_split(Ranker *r, const char *p, const char *line_end, LineKind kind, const char *fields[4],
                      const size_t lens[4], int volatile_line) {
    r->lines_read++;
    uint64_t views;
    if (kind == LINE_PLAIN) {
        if (!parse_views(fields[2], lens[2], &views)) goto malformed;
        return take_record(r, fields[0], lens[0], fields[1], lens[1], views, volatile_line);
    }
    if (kind == LINE_MALFORMED) goto malformed;
    size_t starts[4], qlens[4];
    int nomem = 0;
    if (!split_quoted(r, p, (size_t)(line_end - p), starts, qlens, &nomem)) {
        if (nomem) return -1;
        goto malformed;
    }
    const char *base = r->scratch.data;
    if (!parse_views(base + starts[2], qlens[2], &views)) goto malformed;
    const char *d = base + starts[0], *t = base + starts[1];
    if (contains_space(d, qlens[0]) || contains_space(t, qlens[1]))
        return add_side_row(r, d, qlens[0], t, qlens[1], views);
    return take_record(r, d, qlens[0], t, qlens[1], views, 1);

malformed:
    r->lines_skipped++;
    return 0;
}

/* Split the lines of [p, p + n) into their 4 space-separated fields and take each. A line ends at
 * its '\n'; when `whole`, [p, p + n) is one line without it. Otherwise a last line with no '\n' is
 * left: *consumed is where it starts. A field starting with '"' makes the line LINE_QUOTED
 * (split_quoted splits it), too few fields or a fifth LINE_MALFORMED. */
static int scan_lines(Ranker *r, const char *p, size_t n, int whole, int volatile_line, size_t *consumed) {
    Separators separators = {p, n, 0, n ? separator_bits(p, n, 0) : 0};
    size_t at = 0;
    while (!r->out_of_order && (whole || at < n)) {
        const char *fields[4];
        size_t lens[4], start = at, line_end;
        LineKind kind = LINE_PLAIN;
        for (int k = 0;; k++) {
            int quoted = start < n && p[start] == '"';
            size_t separator = next_separator(&separators);
            if (quoted || (k == 3 && separator < n && p[separator] == ' ')) {
                kind = quoted ? LINE_QUOTED : LINE_MALFORMED; /* not split here, or a fifth field */
                line_end = next_newline(&separators, separator);
                break;
            }
            if (separator < n && p[separator] == ' ') {
                fields[k] = p + start;
                lens[k] = separator - start;
                start = separator + 1;
                continue;
            }
            line_end = separator; /* its '\n', or n */
            if (k < 3) {
                kind = LINE_MALFORMED;
            } else {
                fields[3] = p + start;
                lens[3] = separator - start;
            }
            break;
        }
        if (line_end == n && !whole) break; /* unfinished: the next block holds the rest */
        if (take_split(r, p + at, p + line_end, kind, fields, lens, volatile_line)) return -1;
        at = line_end + 1;
        if (whole) break;
    }
    *consumed = at < n ? at : n;
    return 0;
}

/* Take one whole line [p, p + n) (no '\n' in it). */
static int take_line(Ranker *r, const char *p, size_t n, int volatile_line) {
    size_t consumed;
    return scan_lines(r, p, n, 1, volatile_line, &consumed);
}

/* Process the whole lines of [p, p + n); *consumed is where the unfinished tail starts. */
static int scan(Ranker *r, const char *p, size_t n, size_t *consumed) { return scan_lines(r, p, n, 0, 0, consumed); }

/* An allocation failed half-way through a line: the previous key may point into a block that is gone
 * and the current run may be half-updated, so no later call may touch them. */
static PyObject *raise_memory(Ranker *r) {
    r->state = RANKER_BROKEN;
    return PyErr_NoMemory();
}

/* 0 when an entry point may use the object; -1 with a RuntimeError set when it may not. */
static int check_usable(const Ranker *r) {
    if (r->busy) {
        PyErr_Format(PyExc_RuntimeError, "Ranker is %s: use one Ranker from one thread at a time", r->busy);
        return -1;
    }
    if (r->state == RANKER_NEW) {
        PyErr_SetString(PyExc_RuntimeError, "Ranker not initialised: call Ranker(top_n, blacklist_keys)");
        return -1;
    }
    if (r->state == RANKER_BROKEN) {
        PyErr_SetString(PyExc_RuntimeError,
                        "Ranker is unusable after an earlier MemoryError: rank the dump again with a new Ranker");
        return -1;
    }
    return 0;
}

static PyObject *Ranker_feed(Ranker *r, PyObject *arg) {
    /* Take the buffer first: getting it may run other code, which then finds the object as it is. */
    Py_buffer view;
    if (!PyArg_Parse(arg, "y*:feed", &view)) return NULL;
    if (check_usable(r)) goto refuse;
    if (r->finished) {
        PyErr_SetString(PyExc_RuntimeError, "feed() after finish()");
        goto refuse;
    }
    if (r->out_of_order) {
        PyBuffer_Release(&view);
        Py_RETURN_FALSE;
    }
    const char *p = view.buf;
    size_t n = (size_t)view.len;
    int failed = 0;
    /* Taken with the GIL held, so a second feed (or any other call) sees it and refuses. */
    r->busy = "already feeding in another thread";
    Py_BEGIN_ALLOW_THREADS
    /* Finish the line carried over from the previous feed first. */
    if (r->carry.len) {
        const char *newline = memchr(p, '\n', n);
        size_t head = newline ? (size_t)(newline - p) : n;
        failed = buf_append(&r->carry, p, head);
        if (!failed && newline) {
            failed = take_line(r, r->carry.data, r->carry.len, 1) || own_prev_key(r);
            r->carry.len = 0;
            p += head + 1;
            n -= head + 1;
        } else if (!failed) {
            n = 0;
        }
    }
    if (!failed && n) {
        size_t consumed = 0;
        failed = scan(r, p, n, &consumed) || own_prev_key(r);
        if (!failed && !r->out_of_order) failed = buf_append(&r->carry, p + consumed, n - consumed);
    }
    Py_END_ALLOW_THREADS
    r->busy = NULL;
    PyBuffer_Release(&view);
    if (failed) return raise_memory(r);
    if (r->out_of_order) Py_RETURN_FALSE;
    Py_RETURN_TRUE;
refuse:
    PyBuffer_Release(&view);
    return NULL;
}

static PyObject *Ranker_finish(Ranker *r, PyObject *Py_UNUSED(ignored)) {
    if (check_usable(r)) return NULL;
    if (!r->finished && !r->out_of_order) {
        r->finished = 1;
        if (r->carry.len && take_line(r, r->carry.data, r->carry.len, 1)) return raise_memory(r);
        r->carry.len = 0;
        /* The last key is still waiting for a different one: offer it before closing its run. */
        int last = !r->out_of_order && !r->any_order && r->have_prev;
        if (last && offer(r, r->prev_title, r->prev_title_len, r->prev_views)) return raise_memory(r);
        if (!r->out_of_order && flush_run(r)) return raise_memory(r);
        if (r->any_order && rank_tallied(r)) return raise_memory(r);
    }
    if (r->overflow) {
        PyErr_SetString(PyExc_OverflowError, "a page's summed views exceed 2**64 - 1");
        return NULL;
    }
    if (r->out_of_order) Py_RETURN_FALSE;
    Py_RETURN_TRUE;
}

/* Hand the finished runs and side rows to Python and forget them. */
static PyObject *Ranker_pop(Ranker *r, PyObject *Py_UNUSED(ignored)) {
    if (check_usable(r)) return NULL;
    /* Building the lists may run the garbage collector, hence finalizers that could call this
     * object (even from another thread, should one release the GIL): they must not touch the runs. */
    r->busy = "busy in pop() (called again from a finalizer?)";
    PyObject *runs = PyList_New((Py_ssize_t)r->run_count);
    PyObject *side = PyList_New((Py_ssize_t)r->side_count);
    if (!runs || !side) goto error;
    for (size_t i = 0; i < r->run_count; i++) {
        Run *run = &r->runs[i];
        PyObject *rows = PyList_New((Py_ssize_t)run->count);
        if (!rows) goto error;
        PyObject *item = Py_BuildValue("(y#N)", run->domain, (Py_ssize_t)run->domain_len, rows);
        if (!item) goto error;
        PyList_SET_ITEM(runs, (Py_ssize_t)i, item);
        for (size_t j = 0; j < run->count; j++) {
            Entry *e = &run->entries[j];
            PyObject *row = Py_BuildValue("(Ky#)", (unsigned long long)e->views, e->title, (Py_ssize_t)e->len);
            if (!row) goto error;
            PyList_SET_ITEM(rows, (Py_ssize_t)j, row);
        }
    }
    for (size_t i = 0; i < r->side_count; i++) {
        SideRow *s = &r->side[i];
        PyObject *row = Py_BuildValue("(y#y#K)", s->domain, (Py_ssize_t)s->domain_len, s->title,
                                      (Py_ssize_t)s->title_len, (unsigned long long)s->views);
        if (!row) goto error;
        PyList_SET_ITEM(side, (Py_ssize_t)i, row);
    }
    r->busy = NULL;
    free_pending(r);
    return Py_BuildValue("(NN)", runs, side);
error:
    r->busy = NULL;
    Py_XDECREF(runs);
    Py_XDECREF(side);
    return NULL;
}

/* Free everything the object holds and zero it, back to what tp_alloc made (RANKER_NEW). */
static void Ranker_release(Ranker *r) {
    free_pending(r);
    free(r->runs);
    free(r->side);
    if (r->top) free_entries(r->top, r->top_count);
    free(r->top);
    keyset_free(&r->pairs);
    keyset_free(&r->domains);
    keyset_free(&r->watch);
    keyset_free(&r->watch_domains);
    tallied_free(&r->tallied);
    buf_free(&r->carry);
    buf_free(&r->scratch);
    buf_free(&r->lookup);
    buf_free(&r->prev_key);
    buf_free(&r->run_domain);
    memset((char *)r + offsetof(Ranker, state), 0, sizeof(Ranker) - offsetof(Ranker, state));
}

/* The object starts RANKER_NEW (tp_alloc zeroes it); every method refuses it until __init__ succeeds. */
static PyObject *Ranker_new(PyTypeObject *type, PyObject *Py_UNUSED(args), PyObject *Py_UNUSED(kwds)) {
    return type->tp_alloc(type, 0);
}

static int Ranker_init(Ranker *r, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"top_n", "blacklist_keys", "any_order", "watch", NULL};
    Py_ssize_t top_n;
    PyObject *keys, *watch = Py_None;
    int any_order = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "nO!|pO:Ranker", kwlist, &top_n, &PyList_Type, &keys, &any_order,
                                     &watch))
        return -1;
    if (watch != Py_None && !PyList_Check(watch)) {
        PyErr_SetString(PyExc_TypeError, "watch must be a list of bytes or None");
        return -1;
    }
    if (top_n < 1) {
        PyErr_SetString(PyExc_ValueError, "top_n must be at least 1");
        return -1;
    }
    if (r->state != RANKER_NEW) {
        PyErr_SetString(PyExc_RuntimeError, "Ranker is already initialised: make a new Ranker");
        return -1;
    }
    r->top_n = (size_t)top_n;
    r->top = calloc(r->top_n, sizeof(Entry));
    if (!r->top) PyErr_NoMemory();
    int watching = watch != Py_None;
    if (!r->top || keyset_build(&r->pairs, keys, 0) || keyset_build(&r->domains, keys, 1) ||
        (watching && (keyset_build(&r->watch, watch, 0) || keyset_build(&r->watch_domains, watch, 1)))) {
        Ranker_release(r); /* a failed __init__ leaves nothing behind: it may be called again */
        return -1;
    }
    r->any_order = any_order;
    r->watching = watching;
    r->state = RANKER_READY;
    return 0;
}

static void Ranker_dealloc(Ranker *r) {
    Ranker_release(r);
    Py_TYPE(r)->tp_free((PyObject *)r);
}

/* The counters too: feed() updates them without the GIL. */
static PyObject *Ranker_lines_read(Ranker *r, void *Py_UNUSED(closure)) {
    if (check_usable(r)) return NULL;
    return PyLong_FromLongLong(r->lines_read);
}

static PyObject *Ranker_lines_skipped(Ranker *r, void *Py_UNUSED(closure)) {
    if (check_usable(r)) return NULL;
    return PyLong_FromLongLong(r->lines_skipped);
}

static PyMethodDef Ranker_methods[] = {
    {"feed", (PyCFunction)Ranker_feed, METH_O,
     "Process a block of the uncompressed dump (any cut); False once a key arrived out of order."},
    {"finish", (PyCFunction)Ranker_finish, METH_NOARGS,
     "Process the last unterminated line and close the last run; False if out of order."},
    {"pop", (PyCFunction)Ranker_pop, METH_NOARGS,
     "Return and forget ([(domain, [(views, title), ...]), ...], [(domain, title, views), ...])."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Ranker_getset[] = {
    {"lines_read", (getter)Ranker_lines_read, NULL, "lines read so far", NULL},
    {"lines_skipped", (getter)Ranker_lines_skipped, NULL, "malformed lines skipped so far", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject RankerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wikitop._native.Ranker",
    .tp_doc = PyDoc_STR("Ranker(top_n, blacklist_keys, any_order=False, watch=None): top N rows per domain of a "
                        "key-sorted dump, or with any_order of a dump in any order (every key summed), or with "
                        "watch (keys b'domain title') only the rows of those keys, as side rows."),
    .tp_basicsize = sizeof(Ranker),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Ranker_new,
    .tp_init = (initproc)Ranker_init,
    .tp_dealloc = (destructor)Ranker_dealloc,
    .tp_methods = Ranker_methods,
    .tp_getset = Ranker_getset,
};

static PyObject *percent_decode(PyObject *Py_UNUSED(module), PyObject *arg) {
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "percent_decode() takes bytes");
        return NULL;
    }
    const char *p = PyBytes_AS_STRING(arg);
    size_t n = (size_t)PyBytes_GET_SIZE(arg);
    if (!memchr(p, '%', n)) return Py_NewRef(arg);
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
    if (!out) return NULL;
    size_t len = percent_decode_into(PyBytes_AS_STRING(out), p, n);
    if (_PyBytes_Resize(&out, (Py_ssize_t)len)) return NULL;
    return out;
}

static PyMethodDef module_methods[] = {
    {"percent_decode", percent_decode, METH_O,
     "Percent-decode bytes as urllib.parse.unquote_to_bytes does (%XX with two hex digits)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT, .m_name = "wikitop._native",
    .m_doc = "The hot loops in C: the ranker of key-sorted dumps, percent-decoding.", .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__native(void) {
    if (PyType_Ready(&RankerType) < 0) return NULL;
    PyObject *module = PyModule_Create(&native_module);
    if (!module) return NULL;
    Py_INCREF(&RankerType);
    if (PyModule_AddObject(module, "Ranker", (PyObject *)&RankerType) < 0) {
        Py_DECREF(&RankerType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
