/* Compiled core of the EDM/IDM body path: tokens, canonical forms, keyed hashes, set lookups.
 *
 * agent/fingerprint/tokens.py holds the rules (and a numpy implementation of this same path,
 * used when this module is not built); tests pin that both give identical token streams. The
 * point of this file is cost: an upload is lowered, its multi-word dates and (914) phones are
 * rewritten, it is split, and each token is made canonical and hashed with the County key in
 * one pass, with no per-token Python object. Tokens that need Unicode folding (accented or
 * punctuated words without digits) are handed back to Python's `canonical`.
 *
 * Keyed hashes: BLAKE2b (RFC 7693) keyed mode, 8-byte digest, first 60 bits read big-endian --
 * bit for bit what hashlib.blake2b(key=..., digest_size=8) gives. Plain words' hashes are cached
 * in a direct-mapped table keyed by a 64-bit hash of the word under a random per-process seed
 * (wyhash's construction); numbers are never cached.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------- BLAKE2b (RFC 7693) ---------------- */

static const uint64_t B2_IV[8] = {
    0x6A09E667F3BCC908ULL, 0xBB67AE8584CAA73BULL, 0x3C6EF372FE94F82BULL, 0xA54FF53A5F1D36F1ULL,
    0x510E527FADE682D1ULL, 0x9B05688C2B3E6C1FULL, 0x1F83D9ABFB41BD6BULL, 0x5BE0CD19137E2179ULL};

static const uint8_t B2_SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

#define ROTR64(x, n) (((x) >> (n)) | ((x) << (64 - (n))))

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static void b2_compress(uint64_t h[8], const uint8_t block[128], uint64_t t, int last) {
    uint64_t v[16], m[16];
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = B2_IV[i];
    }
    v[12] ^= t;             /* byte counter: inputs here are far below 2**64 bytes */
    if (last) v[14] = ~v[14];
    for (int i = 0; i < 16; i++) m[i] = load64(block + 8 * i);
#define G(a, b, c, d, x, y)                   \
    do {                                      \
        v[a] = v[a] + v[b] + (x);             \
        v[d] = ROTR64(v[d] ^ v[a], 32);       \
        v[c] = v[c] + v[d];                   \
        v[b] = ROTR64(v[b] ^ v[c], 24);       \
        v[a] = v[a] + v[b] + (y);             \
        v[d] = ROTR64(v[d] ^ v[a], 16);       \
        v[c] = v[c] + v[d];                   \
        v[b] = ROTR64(v[b] ^ v[c], 63);       \
    } while (0)
    for (int r = 0; r < 12; r++) {
        const uint8_t *s = B2_SIGMA[r];
        G(0, 4, 8, 12, m[s[0]], m[s[1]]);
        G(1, 5, 9, 13, m[s[2]], m[s[3]]);
        G(2, 6, 10, 14, m[s[4]], m[s[5]]);
        G(3, 7, 11, 15, m[s[6]], m[s[7]]);
        G(0, 5, 10, 15, m[s[8]], m[s[9]]);
        G(1, 6, 11, 12, m[s[10]], m[s[11]]);
        G(2, 7, 8, 13, m[s[12]], m[s[13]]);
        G(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
#undef G
    for (int i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

/* ---------------- cache keys ---------------- */

static inline uint64_t mum(uint64_t a, uint64_t b) {
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t load32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

/* wyhash's construction (the fallback hash of Go's maps, made for keys an attacker chooses)
 * under a random per-process seed: a 64-bit key naming a word in the cache. */
static inline uint64_t word_key(uint64_t s0, uint64_t s1, const uint8_t *p, size_t n) {
    uint64_t a, b, seed = s0;
    if (n <= 16) {
        if (n >= 8) {
            a = load64(p);
            b = load64(p + n - 8);
        } else if (n >= 4) {
            a = load32(p);
            b = load32(p + n - 4);
        } else if (n) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t i = 0;
        for (; i + 16 < n; i += 16) seed = mum(load64(p + i) ^ s1, load64(p + i + 8) ^ seed);
        a = load64(p + n - 16);
        b = load64(p + n - 8);
    }
    return mum(s1 ^ n, mum(a ^ s1, b ^ seed));
}

/* ---------------- growable arrays ---------------- */

typedef struct {
    char *p;
    Py_ssize_t n, cap, item;
} Vec;

static int vec_reserve(Vec *v, Py_ssize_t extra) {
    if (v->n + extra <= v->cap) return 0;
    Py_ssize_t cap = v->cap ? v->cap : 256;
    while (cap < v->n + extra) cap *= 2;
    char *p = PyMem_Realloc(v->p, (size_t)(cap * v->item));
    if (!p) {
        PyErr_NoMemory();
        return -1;
    }
    v->p = p;
    v->cap = cap;
    return 0;
}

static inline int vec_push(Vec *v, const void *x) {
    if (v->n == v->cap && vec_reserve(v, 1) < 0) return -1;
    memcpy(v->p + v->n * v->item, x, (size_t)v->item);
    v->n++;
    return 0;
}

/* Typed pushes: a constant-size store, no memcpy call (the tokenizer makes one per token). */
static inline int push_u64(Vec *v, uint64_t x) {
    if (v->n == v->cap && vec_reserve(v, 1) < 0) return -1;
    ((uint64_t *)v->p)[v->n++] = x;
    return 0;
}

static inline int push_i32(Vec *v, int32_t x) {
    if (v->n == v->cap && vec_reserve(v, 1) < 0) return -1;
    ((int32_t *)v->p)[v->n++] = x;
    return 0;
}

static PyObject *vec_bytearray(Vec *v) {
    return PyByteArray_FromStringAndSize(v->p ? v->p : "", v->n * v->item);
}

/* A tuple of bytearray copies of the n vectors, then `extra` when not NULL (a new reference,
 * stolen either way). NULL with an exception on failure. */
static PyObject *vecs_tuple(int n, Vec *const *vecs, PyObject *extra) {
    PyObject *t = PyTuple_New(n + (extra != NULL));
    if (!t) {
        Py_XDECREF(extra);
        return NULL;
    }
    if (extra) PyTuple_SET_ITEM(t, n, extra);
    for (int i = 0; i < n; i++) {
        PyObject *b = vec_bytearray(vecs[i]);
        if (!b) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, b);
    }
    return t;
}

/* ---------------- character classes (bytes after lower-casing) ---------------- */

enum { C_LOWER = 1, C_DIGIT = 2, C_EDGE = 4, C_OTHER = 8, C_SEP = 16 };
static uint8_t CLS[256];      /* one of the above per byte, for the tokenizer's single pass */
static uint8_t SEP[256];      /* separators: become token boundaries */
static uint8_t EDGE[256];     /* stripped from both ends of a token */
static uint8_t SPACE[256];    /* regex \s for bytes */
static uint8_t WORD[256];     /* regex \w for bytes: [a-zA-Z0-9_] */

static void init_tables(void) {
    const char *sep = ",;:=<>\"[]{}()|\t\r\n\x0b\x0c!?*`~^\\";
    for (const char *c = sep; *c; c++) SEP[(uint8_t)*c] = 1;
    SEP[' '] = 1;
    const char *edge = "-/.'#$%&+@_";
    for (const char *c = edge; *c; c++) EDGE[(uint8_t)*c] = 1;
    const char *sp = " \t\n\r\x0b\x0c";
    for (const char *c = sp; *c; c++) SPACE[(uint8_t)*c] = 1;
    for (int c = 0; c < 256; c++) {
        WORD[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        CLS[c] = SEP[c] ? C_SEP : EDGE[c] ? C_EDGE : (c >= 'a' && c <= 'z') ? C_LOWER
               : (c >= '0' && c <= '9') ? C_DIGIT : C_OTHER;
    }
}

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_LOWER(c) ((c) >= 'a' && (c) <= 'z')

/* ---------------- dates ---------------- */

static int days_in(int y, int m) {
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return d[m - 1];
}

/* tokens._date: ISO date into out (10 bytes), 0 when not a date. */
static int make_date(long y, long m, long d, int pivot, char *out) {
    if (y < 100) y += y <= pivot ? 2000 : 1900;
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > days_in((int)y, (int)m)) return 0;
    snprintf(out, 11, "%04ld-%02ld-%02ld", y, m, d);
    return 1;
}

/* Reads a run of lo..hi digits at t[*i]; -1 when absent. */
static long digits(const uint8_t *t, Py_ssize_t n, Py_ssize_t *i, int lo, int hi) {
    long v = 0;
    int k = 0;
    while (*i < n && k < hi && IS_DIGIT(t[*i])) {
        v = v * 10 + (t[*i] - '0');
        (*i)++;
        k++;
    }
    return k >= lo ? v : -1;
}

/* tokens.canonical_date on a whole token: 1 and out set when it is a date in an accepted shape,
 * 0 when it is not; -1 when it has a date's shape but no such day (canonical_date's None after a
 * regex matched). The regexes are greedy fullmatches, so "first matching shape decides". */
static int token_date(const uint8_t *t, Py_ssize_t n, int pivot, char *out) {
    Py_ssize_t i;
    long a, b, c;
    /* YMD: \d{4}[-/.]\d{1,2}[-/.]\d{1,2} */
    i = 0;
    if ((a = digits(t, n, &i, 4, 4)) >= 0 && i == 4 && i < n && (t[i] == '-' || t[i] == '/' || t[i] == '.')) {
        i++;
        if ((b = digits(t, n, &i, 1, 2)) >= 0 && i < n && (t[i] == '-' || t[i] == '/' || t[i] == '.')) {
            i++;
            if ((c = digits(t, n, &i, 1, 2)) >= 0 && i == n) return make_date(a, b, c, pivot, out) ? 1 : -1;
        }
    }
    /* MDY: \d{1,2}[/-]\d{1,2}[/-](\d{4}|\d{2}) */
    i = 0;
    if ((a = digits(t, n, &i, 1, 2)) >= 0 && i < n && (t[i] == '/' || t[i] == '-')) {
        i++;
        if ((b = digits(t, n, &i, 1, 2)) >= 0 && i < n && (t[i] == '/' || t[i] == '-')) {
            i++;
            Py_ssize_t j = i;
            c = digits(t, n, &i, 2, 4);
            if (c >= 0 && i == n && (i - j == 4 || i - j == 2)) return make_date(c, a, b, pivot, out) ? 1 : -1;
        }
    }
    /* DMY: \d{1,2}\.\d{1,2}\.\d{4} */
    i = 0;
    if ((a = digits(t, n, &i, 1, 2)) >= 0 && i < n && t[i] == '.') {
        i++;
        if ((b = digits(t, n, &i, 1, 2)) >= 0 && i < n && t[i] == '.') {
            i++;
            Py_ssize_t j = i;
            c = digits(t, n, &i, 4, 4);
            if (c >= 0 && i == n && i - j == 4) return make_date(c, b, a, pivot, out) ? 1 : -1;
        }
    }
    /* YYYYMMDD: (19|20)\d\d\d\d\d\d */
    if (n == 8) {
        for (i = 0; i < 8; i++)
            if (!IS_DIGIT(t[i])) return 0;
        if ((t[0] == '1' && t[1] == '9') || (t[0] == '2' && t[1] == '0')) {
            a = (t[0] - '0') * 1000 + (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0');
            b = (t[4] - '0') * 10 + (t[5] - '0');
            c = (t[6] - '0') * 10 + (t[7] - '0');
            return make_date(a, b, c, pivot, out) ? 1 : -1;
        }
    }
    return 0;
}

/* ---------------- prepare: multi-word dates, (914) phones ---------------- */

static const char *MONTHS[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                 "jul", "aug", "sep", "oct", "nov", "dec"};

static int month_at(const uint8_t *p, Py_ssize_t i, Py_ssize_t end) {
    if (i + 3 > end) return 0;
    for (int m = 0; m < 12; m++)
        if (p[i] == MONTHS[m][0] && p[i + 1] == MONTHS[m][1] && p[i + 2] == MONTHS[m][2]) return m + 1;
    return 0;
}

/* MON = (jan|...|dec)[a-z]{0,6}\.? -- month number and i moved past it, or 0. Greedy with
 * backtracking as the regex does: the caller's next element is \s, which neither [a-z] nor
 * '.' can be, so the greedy choice is the only one that can succeed. */
static int parse_mon(const uint8_t *p, Py_ssize_t *i, Py_ssize_t end) {
    int m = month_at(p, *i, end);
    if (!m) return 0;
    Py_ssize_t j = *i + 3;
    int k = 0;
    while (j < end && k < 6 && IS_LOWER(p[j])) j++, k++;
    if (j < end && p[j] == '.') j++;
    *i = j;
    return m;
}

/* (\d{1,2})(?:st|nd|rd|th)? -- day and i moved past, or -1. A third digit fails the caller's
 * next element (\s, ',' or a letter of the suffix), so greedy two digits decide. */
static long parse_day(const uint8_t *p, Py_ssize_t *i, Py_ssize_t end, int suffix_ok) {
    Py_ssize_t j = *i;
    long d = digits(p, end, &j, 1, 2);
    if (d < 0) return -1;
    if (suffix_ok && j + 2 <= end) {
        const uint8_t a = p[j], b = p[j + 1];
        if ((a == 's' && b == 't') || (a == 'n' && b == 'd') || (a == 'r' && b == 'd') || (a == 't' && b == 'h'))
            j += 2;
    }
    *i = j;
    return d;
}

static int spaces_to(const uint8_t *p, Py_ssize_t i, Py_ssize_t end) {
    if (i >= end || !SPACE[p[i]]) return 0;
    while (i < end && SPACE[p[i]]) i++;
    return i == end;
}

/* One start position of _MONTH_BEFORE_YEAR_RE, anchored to end at s. The suffix is optional:
 * when taking it fails the rest, the regex backtracks to no suffix, so both are tried. */
static int month_date_at(const uint8_t *p, Py_ssize_t i, Py_ssize_t s, int *mon, long *day) {
    if (i > 0 && WORD[p[i - 1]] == WORD[p[i]]) return 0;  /* \b */
    if (!WORD[p[i]]) return 0;
    for (int suf = 1; suf >= 0; suf--) {
        Py_ssize_t j = i;
        int m = parse_mon(p, &j, s);
        if (m) {   /* MON \s+ day suffix? ,? \s+ $ */
            if (j >= s || !SPACE[p[j]]) goto alt2;
            while (j < s && SPACE[p[j]]) j++;
            long d = parse_day(p, &j, s, suf);
            if (d < 0) goto alt2;
            if (j < s && p[j] == ',' && spaces_to(p, j + 1, s)) { *mon = m; *day = d; return 1; }
            if (spaces_to(p, j, s)) { *mon = m; *day = d; return 1; }
        }
    alt2:
        j = i;
        {   /* day suffix? \s+ MON ,? \s+ $ */
            long d = parse_day(p, &j, s, suf);
            if (d < 0 || j >= s || !SPACE[p[j]]) continue;
            while (j < s && SPACE[p[j]]) j++;
            int m2 = parse_mon(p, &j, s);
            if (!m2) continue;
            if (j < s && p[j] == ',' && spaces_to(p, j + 1, s)) { *mon = m2; *day = d; return 1; }
            if (spaces_to(p, j, s)) { *mon = m2; *day = d; return 1; }
        }
    }
    return 0;
}

static double monotonic_now(void);

/* tokens._month_dates: "january 2, 1990" / "2 jan 1990" -> " 1990-01-02 ". Writes the
 * rewritten text to out; returns its length, -1 when nothing was rewritten, -2 on a memory
 * error, -3 when `deadline` (0: none) passed: a text of nothing but "jan 1 1990" costs a
 * lookback per year, so the clock is read every 1024 of them. */
static Py_ssize_t month_dates(const uint8_t *p, Py_ssize_t n, int pivot, Vec *out, double deadline) {
    Py_ssize_t last = 0, s = 0;
    int any = 0;
    unsigned looks = 0;
    out->n = 0;
    while (s + 4 <= n) {
        /* (?:19|20)\d\d\b found left to right, non-overlapping; most bytes are not 1 or 2 */
        for (; s + 8 <= n; s += 8) {   /* eight bytes at a time: any '1' or '2'? */
            uint64_t x, ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
            memcpy(&x, p + s, 8);
            uint64_t a = x ^ (ones * '1'), b = x ^ (ones * '2');
            if (((a - ones) & ~a & highs) | ((b - ones) & ~b & highs)) break;
        }
        while (s + 4 <= n && (unsigned)(p[s] - '1') > 1u) s++;
        if (s + 4 > n) break;
        if (!((p[s] == '1' && p[s + 1] == '9') || (p[s] == '2' && p[s + 1] == '0')) ||
            !IS_DIGIT(p[s + 2]) || !IS_DIGIT(p[s + 3]) || (s + 4 < n && WORD[p[s + 4]])) {
            s++;
            continue;
        }
        Py_ssize_t year_at = s;
        s += 4;
        if (year_at < last || (year_at > 0 && IS_DIGIT(p[year_at - 1]))) continue;
        /* the pattern ends in \s+ right before the year, after a day or a month word */
        if (year_at < 2 || !SPACE[p[year_at - 1]]) continue;
        if (++looks % 1024 == 0 && deadline > 0 && monotonic_now() > deadline) return -3;
        Py_ssize_t lo = year_at - 24 > last ? year_at - 24 : last;
        int mon = 0;
        long day = 0;
        Py_ssize_t start = -1;
        for (Py_ssize_t i = lo; i < year_at; i++)
            if (month_date_at(p, i, year_at, &mon, &day)) {
                start = i;
                break;
            }
        if (start < 0) continue;
        long year = (p[year_at] - '0') * 1000 + (p[year_at + 1] - '0') * 100 + (p[year_at + 2] - '0') * 10 +
                    (p[year_at + 3] - '0');
        char d[11];
        if (!make_date(year, mon, day, pivot, d)) continue;
        if (vec_reserve(out, (start - last) + 12) < 0) return -2;
        memcpy(out->p + out->n, p + last, (size_t)(start - last));
        out->n += start - last;
        out->p[out->n++] = ' ';
        memcpy(out->p + out->n, d, 10);
        out->n += 10;
        out->p[out->n++] = ' ';
        last = year_at + 4;
        any = 1;
    }
    if (!any) return -1;
    if (vec_reserve(out, n - last) < 0) return -2;
    memcpy(out->p + out->n, p + last, (size_t)(n - last));
    out->n += n - last;
    return out->n;
}

/* \((\d{3})\)\s?(\d{3})[\s.-](\d{4})\b -> " \1\2\3 ", in place (never longer). */
static Py_ssize_t paren_phones(uint8_t *p, Py_ssize_t n) {
    Py_ssize_t r = 0, w = 0;
    while (r < n) {
        if (p[r] == '(' && r + 13 <= n) {
            Py_ssize_t j = r + 1;
            int ok = IS_DIGIT(p[j]) && IS_DIGIT(p[j + 1]) && IS_DIGIT(p[j + 2]) && p[j + 3] == ')';
            if (ok) {
                uint8_t num[10];
                memcpy(num, p + j, 3);
                j += 4;
                if (j < n && SPACE[p[j]] && j + 1 < n && IS_DIGIT(p[j + 1])) j++;
                if (j + 8 <= n && IS_DIGIT(p[j]) && IS_DIGIT(p[j + 1]) && IS_DIGIT(p[j + 2]) &&
                    (SPACE[p[j + 3]] || p[j + 3] == '.' || p[j + 3] == '-') && IS_DIGIT(p[j + 4]) &&
                    IS_DIGIT(p[j + 5]) && IS_DIGIT(p[j + 6]) && IS_DIGIT(p[j + 7]) &&
                    (j + 8 == n || !WORD[p[j + 8]])) {
                    memcpy(num + 3, p + j, 3);
                    memcpy(num + 6, p + j + 4, 4);
                    p[w++] = ' ';
                    memcpy(p + w, num, 10);
                    w += 10;
                    p[w++] = ' ';
                    r = j + 8;
                    continue;
                }
            }
        }
        p[w++] = p[r++];
    }
    return w;
}

/* ---------------- the hasher ---------------- */

typedef struct {
    PyObject_HEAD
    uint64_t h_init[8];     /* parameter block applied, key block not yet compressed */
    uint64_t h_key[8];      /* after the key block: the state every token starts from */
    uint8_t key_block[128];
    uint64_t seed0, seed1;  /* the word keys' random per-process seed */
    uint64_t *cache;        /* 2**cbits slots of (word key, keyed hash): one cache line */
    unsigned cbits;
    int ready;
} Hasher;

static uint64_t keyed(Hasher *self, const uint8_t *p, Py_ssize_t n) {
    uint64_t h[8];
    uint8_t block[128];
    if (n == 0) {
        memcpy(h, self->h_init, sizeof h);
        b2_compress(h, self->key_block, 128, 1);
    } else {
        memcpy(h, self->h_key, sizeof h);
        uint64_t t = 128;
        while (n > 128) {
            t += 128;
            b2_compress(h, p, t, 0);
            p += 128;
            n -= 128;
        }
        memset(block, 0, sizeof block);
        memcpy(block, p, (size_t)n);
        t += (uint64_t)n;
        b2_compress(h, block, t, 1);
    }
    /* digest bytes are h[0] little-endian; tokens.py reads them big-endian, keeps 60 bits */
    return __builtin_bswap64(h[0]) >> 4;
}

static int Hasher_init(Hasher *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"token_key", "cache_bits", "seed", NULL};
    Py_buffer key, seed;
    unsigned cbits = 20;
    if (self->ready) {      /* other threads may be reading the cache: never swapped under them */
        PyErr_SetString(PyExc_TypeError, "Hasher is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "y*Iy*", names, &key, &cbits, &seed)) return -1;
    int bad = key.len < 1 || key.len > 64 || seed.len != 16 || cbits > 28;
    if (!bad) {
        for (int i = 0; i < 8; i++) self->h_init[i] = B2_IV[i];
        self->h_init[0] ^= 0x01010000ULL ^ ((uint64_t)key.len << 8) ^ 8ULL;
        memset(self->key_block, 0, 128);
        memcpy(self->key_block, key.buf, (size_t)key.len);
        memcpy(self->h_key, self->h_init, sizeof self->h_key);
        b2_compress(self->h_key, self->key_block, 128, 0);
        self->seed0 = load64((const uint8_t *)seed.buf);
        self->seed1 = load64((const uint8_t *)seed.buf + 8);
    }
    PyBuffer_Release(&key);
    PyBuffer_Release(&seed);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "token_key 1..64 bytes, seed 16 bytes, cache_bits <= 28");
        return -1;
    }
    self->cbits = cbits;
    if (cbits) {
        self->cache = PyMem_Calloc((size_t)2 << cbits, 8);
        if (!self->cache) {
            PyErr_NoMemory();
            return -1;
        }
    }
    self->ready = 1;
    return 0;
}

static int hasher_ready(Hasher *self) {
    if (self->ready) return 1;
    PyErr_SetString(PyExc_TypeError, "Hasher was not initialised");
    return 0;
}

static void Hasher_dealloc(Hasher *self) {
    /* key material: cleared before the memory goes back */
    memset(self->h_init, 0, sizeof self->h_init);
    memset(self->h_key, 0, sizeof self->h_key);
    memset(self->key_block, 0, sizeof self->key_block);
    PyMem_Free(self->cache);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Hasher_hash(Hasher *self, PyObject *arg) {
    Py_buffer b;
    if (!hasher_ready(self)) return NULL;
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0) return NULL;
    uint64_t v = keyed(self, (const uint8_t *)b.buf, b.len);
    PyBuffer_Release(&b);
    return PyLong_FromUnsignedLongLong(v);
}

/* The word cache: a word's 64-bit key (never 0: 0 marks an empty slot) picks its slot by its
 * high bits, and the slot holds the whole key beside the keyed hash. Only with cbits > 0. */
static inline uint64_t cache_key(Hasher *self, const uint8_t *p, Py_ssize_t n) {
    return word_key(self->seed0, self->seed1, p, (size_t)n) | 1;
}

static inline uint64_t *cache_slot(Hasher *self, uint64_t k) {
    return self->cache + 2 * (size_t)(k >> (64 - self->cbits));
}

/* A plain word's keyed hash through the cache, its key already made (and its slot prefetched). */
static inline uint64_t cached_hash(Hasher *self, uint64_t k, const uint8_t *p, Py_ssize_t n) {
    uint64_t *slot = cache_slot(self, k);
    if (slot[0] == k) return slot[1];
    uint64_t v = keyed(self, p, n);
    slot[0] = k;
    slot[1] = v;
    return v;
}

static inline uint64_t word_hash(Hasher *self, const uint8_t *p, Py_ssize_t n) {
    return self->cbits ? cached_hash(self, cache_key(self, p, n), p, n) : keyed(self, p, n);
}

/* cached(word) -> bool: whether the cache holds this (lowered, stripped) token. For tests: that
 * numbers never enter it. Tells nothing about the value. */
static PyObject *Hasher_cached(Hasher *self, PyObject *arg) {
    Py_buffer b;
    if (!hasher_ready(self)) return NULL;
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0) return NULL;
    int hit = 0;
    if (self->cbits) {
        uint64_t k = cache_key(self, b.buf, b.len);
        hit = cache_slot(self, k)[0] == k;
    }
    PyBuffer_Release(&b);
    return PyBool_FromLong(hit);
}

static double monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);   /* the clock behind Python's time.monotonic() */
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    Vec stream, seg, rare;
    PyObject *memo;          /* folded token (bytes) -> tuple of (hash, rare) pairs, this body */
    PyObject *fold;
    Py_ssize_t size;
} ViewState;

static inline int emit(ViewState *st, uint64_t v, int32_t seg, int rare) {
    if (push_u64(&st->stream, v) < 0 || push_i32(&st->seg, seg) < 0) return -1;
    if (rare && push_u64(&st->rare, v) < 0) return -1;
    return 0;
}

/* Tokens that need Unicode folding: Python's canonical() on the raw token. */
static int emit_folded(Hasher *self, ViewState *st, const uint8_t *raw, Py_ssize_t rn,
                       const uint8_t *t, Py_ssize_t n, int32_t seg) {
    PyObject *key = PyBytes_FromStringAndSize((const char *)t, n);
    if (!key) return -1;
    PyObject *got = PyDict_GetItemWithError(st->memo, key);   /* borrowed */
    if (!got) {
        if (PyErr_Occurred()) goto fail;
        PyObject *rawb = PyBytes_FromStringAndSize((const char *)raw, rn);
        if (!rawb) goto fail;
        PyObject *toks = PyObject_CallOneArg(st->fold, rawb);
        Py_DECREF(rawb);
        if (!toks) goto fail;
        PyObject *seq = PySequence_Fast(toks, "canonical() must return a sequence");
        Py_DECREF(toks);
        if (!seq) goto fail;
        Py_ssize_t m = PySequence_Fast_GET_SIZE(seq);
        PyObject *pairs = PyTuple_New(m);
        if (!pairs) {
            Py_DECREF(seq);
            goto fail;
        }
        for (Py_ssize_t i = 0; i < m; i++) {
            char *c;
            Py_ssize_t cn;
            if (PyBytes_AsStringAndSize(PySequence_Fast_GET_ITEM(seq, i), &c, &cn) < 0) {
                Py_DECREF(seq);
                Py_DECREF(pairs);
                goto fail;
            }
            int alpha = cn > 0;
            for (Py_ssize_t j = 0; j < cn && alpha; j++) alpha = IS_LOWER((uint8_t)c[j]) || ((uint8_t)c[j] >= 'A' && (uint8_t)c[j] <= 'Z');
            uint64_t v = keyed(self, (const uint8_t *)c, cn);
            PyTuple_SET_ITEM(pairs, i, Py_BuildValue("(Ki)", (unsigned long long)v, !alpha));
            if (!PyTuple_GET_ITEM(pairs, i)) {
                Py_DECREF(seq);
                Py_DECREF(pairs);
                goto fail;
            }
        }
        Py_DECREF(seq);
        if (PyDict_SetItem(st->memo, key, pairs) < 0) {
            Py_DECREF(pairs);
            goto fail;
        }
        Py_DECREF(pairs);
        got = PyDict_GetItem(st->memo, key);
    }
    Py_DECREF(key);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(got); i++) {
        PyObject *pair = PyTuple_GET_ITEM(got, i);
        uint64_t v = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(pair, 0));
        int rare = PyObject_IsTrue(PyTuple_GET_ITEM(pair, 1));
        if (emit(st, v, seg, rare) < 0) return -1;
    }
    return 0;
fail:
    Py_DECREF(key);
    return -1;
}

static int token(Hasher *self, ViewState *st, const uint8_t *raw, Py_ssize_t rn, int32_t seg,
                 int pivot) {
    const uint8_t *t = raw;
    Py_ssize_t n = rn;
    st->size++;
    while (n && EDGE[t[0]]) t++, n--;
    while (n && EDGE[t[n - 1]]) n--;
    if (!n) return 0;
    int alpha = 1, digit = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint8_t c = t[i];
        if (!IS_LOWER(c)) {
            alpha = 0;
            if (IS_DIGIT(c)) {
                digit = 1;
                break;
            }
        }
    }
    if (alpha) return emit(st, word_hash(self, t, n), seg, 0);
    if (!digit) return emit_folded(self, st, raw, rn, t, n, seg);
    char buf[11];
    int d = token_date(t, n, pivot, buf);
    if (d > 0) return emit(st, keyed(self, (const uint8_t *)buf, 10), seg, 1);
    /* numbers and identifiers: letters and digits only; 1 + ten digits loses the 1 */
    uint8_t small[256];
    uint8_t *c = n <= (Py_ssize_t)sizeof small ? small : PyMem_Malloc((size_t)n);
    if (!c) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t m = 0;
    int all_digits = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint8_t ch = t[i];
        if (IS_LOWER(ch) || IS_DIGIT(ch)) {
            c[m++] = ch;
            all_digits &= IS_DIGIT(ch);
        }
    }
    const uint8_t *out = c;
    if (m == 11 && c[0] == '1' && all_digits) out++, m--;
    int rc = m ? emit(st, keyed(self, out, m), seg, 1) : 0;
    if (c != small) PyMem_Free(c);
    return rc;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* tokens.prepare but for the separators (the tokenizer splits on them itself, prepare() below
 * translates them): lower-cases src into `low`, rewrites multi-word dates (into `dated`) and
 * (914) phones. *out, *outn: the text to split. 0; -2 on a memory error (raised); -3 when the
 * deadline passed. */
static int prepare_text(const uint8_t *src, Py_ssize_t n, int pivot, double deadline, Vec *low,
                        Vec *dated, uint8_t **out, Py_ssize_t *outn) {
    low->n = 0;
    if (vec_reserve(low, n + 1) < 0) return -2;
    uint8_t *p = (uint8_t *)low->p;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint8_t c = src[i];
        p[i] = c + ((uint8_t)((unsigned)(c - 'A') < 26u) << 5);
    }
    int paren = memchr(src, '(', (size_t)n) != NULL;
    Py_ssize_t dn = month_dates(p, n, pivot, dated, deadline);
    if (dn == -2 || dn == -3) return (int)dn;
    if (dn >= 0) {
        p = (uint8_t *)dated->p;
        n = dn;
    }
    if (paren) n = paren_phones(p, n);
    *out = p;
    *outn = n;
    return 0;
}

/* view(segments, pivot, deadline, fold) -> (stream, segment_of, rare, size) or None when the
 * deadline (time.monotonic(); 0 for none) passed. stream: u64 canonical hashes in reading order,
 * segment_of: i32 per stream entry, rare: sorted distinct u64 hashes of canonical tokens that
 * are not plain words. */
static PyObject *Hasher_view(Hasher *self, PyObject *args) {
    PyObject *segments, *fold;
    int pivot;
    double deadline;
    if (!hasher_ready(self) || !PyArg_ParseTuple(args, "OidO", &segments, &pivot, &deadline, &fold))
        return NULL;
    PyObject *seq = PySequence_Fast(segments, "segments must be a sequence of bytes");
    if (!seq) return NULL;
    ViewState st = {{NULL, 0, 0, 8}, {NULL, 0, 0, 4}, {NULL, 0, 0, 8}, NULL, fold, 0};
    Vec low = {NULL, 0, 0, 1}, dated = {NULL, 0, 0, 1};
    PyObject *result = NULL;
    int late = 0;
    st.memo = PyDict_New();
    if (!st.memo) goto done;
    for (Py_ssize_t si = 0; si < PySequence_Fast_GET_SIZE(seq) && !late; si++) {
        Py_buffer b;
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, si), &b, PyBUF_SIMPLE) < 0) goto done;
        uint8_t *p;
        Py_ssize_t n;
        int rc = prepare_text(b.buf, b.len, pivot, deadline, &low, &dated, &p, &n);
        PyBuffer_Release(&b);
        if (rc == -2) goto done;
        if (rc == -3) {
            late = 1;
            break;
        }
        /* Tokens go in batches: the plain words' cache slots are prefetched while the batch is
         * split, then the batch is hashed in order (the slots live in a table of megabytes). */
        Py_ssize_t i = 0;
        while (i < n && !late) {
            struct { Py_ssize_t s, n; uint64_t key; unsigned cls; } batch[64];
            int nb = 0;
            while (nb < 64 && i < n) {
                while (i < n && CLS[p[i]] == C_SEP) i++;
                Py_ssize_t s = i;
                unsigned cls = 0, c;
                while (i < n && (c = CLS[p[i]]) != C_SEP) {
                    cls |= c;
                    i++;
                }
                if (i == s) break;
                batch[nb].s = s;
                batch[nb].n = i - s;
                batch[nb].cls = cls;
                if (cls == C_LOWER && self->cbits) {
                    batch[nb].key = cache_key(self, p + s, i - s);
                    __builtin_prefetch(cache_slot(self, batch[nb].key));
                }
                nb++;
            }
            for (int j = 0; j < nb; j++) {
                const uint8_t *t = p + batch[j].s;
                if (batch[j].cls == C_LOWER && self->cbits) {   /* most tokens */
                    st.size++;
                    if (emit(&st, cached_hash(self, batch[j].key, t, batch[j].n), (int32_t)si, 0) < 0)
                        goto done;
                } else if (token(self, &st, t, batch[j].n, (int32_t)si, pivot) < 0) {
                    goto done;
                }
            }
            if (deadline > 0 && monotonic_now() > deadline) late = 1;
        }
        if (deadline > 0 && monotonic_now() > deadline) late = 1;
    }
    if (late) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    if (st.rare.n > 1) {
        qsort(st.rare.p, (size_t)st.rare.n, 8, cmp_u64);
        uint64_t *r = (uint64_t *)st.rare.p;
        Py_ssize_t w = 1;
        for (Py_ssize_t j = 1; j < st.rare.n; j++)
            if (r[j] != r[w - 1]) r[w++] = r[j];
        st.rare.n = w;
    }
    PyObject *size = PyLong_FromSsize_t(st.size);
    if (size) result = vecs_tuple(3, (Vec *[]){&st.stream, &st.seg, &st.rare}, size);
done:
    Py_DECREF(seq);
    Py_XDECREF(st.memo);
    PyMem_Free(st.stream.p);
    PyMem_Free(st.seg.p);
    PyMem_Free(st.rare.p);
    PyMem_Free(low.p);
    PyMem_Free(dated.p);
    return result;
}

/* prepare(data, pivot) -> bytes: the view's own prepare_text with separators as spaces: what
 * tokens.prepare gives (a test pins the two together). */
static PyObject *fast_prepare(PyObject *mod, PyObject *args) {
    Py_buffer b;
    int pivot;
    if (!PyArg_ParseTuple(args, "y*i", &b, &pivot)) return NULL;
    Vec low = {NULL, 0, 0, 1}, dated = {NULL, 0, 0, 1};
    PyObject *out = NULL;
    uint8_t *p;
    Py_ssize_t n;
    if (prepare_text(b.buf, b.len, pivot, 0, &low, &dated, &p, &n) == 0) {
        for (Py_ssize_t i = 0; i < n; i++)
            if (SEP[p[i]]) p[i] = ' ';
        out = PyBytes_FromStringAndSize((const char *)p, n);
    }
    PyBuffer_Release(&b);
    PyMem_Free(low.p);
    PyMem_Free(dated.p);
    return out;
}

static PyMethodDef Hasher_methods[] = {
    {"hash", (PyCFunction)Hasher_hash, METH_O, "keyed 60-bit hash of one canonical token"},
    {"view", (PyCFunction)Hasher_view, METH_VARARGS, "canonical hashes of the tokens of segments"},
    {"cached", (PyCFunction)Hasher_cached, METH_O, "whether a token is in the word cache"},
    {NULL}};

static PyTypeObject HasherType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "agent.fingerprint._fast.Hasher",
    .tp_basicsize = sizeof(Hasher),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Hasher_init,
    .tp_dealloc = (destructor)Hasher_dealloc,
    .tp_methods = Hasher_methods,
    .tp_doc = "Keyed BLAKE2b token hashes, a plain-word cache and the body tokenizer.",
};

/* ---------------- sorted sets with a bitmap in front ---------------- */

typedef struct {
    PyObject_HEAD
    Py_buffer values;       /* sorted u64, held (a numpy array of the index) */
    uint64_t *bits;
    unsigned shift;         /* bit index = top bits of value * golden ratio */
    uint64_t *table;        /* small sets: open addressing (linear probing), 0 = empty */
    uint64_t tmask;
    int has_zero;
    int has;
} U64Set;

static PyTypeObject U64SetType;

#define SMALL_SET (1 << 16)
#define UNSORTED_MAX (1 << 18)   /* a body's token stream as a set, without sorting it */

static int U64Set_init(U64Set *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"values", "sorted", NULL};
    PyObject *obj;
    int is_sorted = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p", names, &obj, &is_sorted)) return -1;
    if (self->has) {    /* matcher threads may be reading it: never swapped under them */
        PyErr_SetString(PyExc_TypeError, "U64Set is already initialised");
        return -1;
    }
    if (PyObject_GetBuffer(obj, &self->values, PyBUF_C_CONTIGUOUS) < 0) return -1;
    self->has = 1;
    if (self->values.len % 8) {
        PyErr_SetString(PyExc_ValueError, "values must be a u64 buffer");
        return -1;
    }
    Py_ssize_t n = self->values.len / 8;
    const uint64_t *v = self->values.buf;
    if (!is_sorted && n > UNSORTED_MAX) {
        PyErr_SetString(PyExc_ValueError, "unsorted values: at most 2**18");
        return -1;
    }
    for (Py_ssize_t i = 1; i < n && is_sorted; i++)
        if (v[i] < v[i - 1]) {
            PyErr_SetString(PyExc_ValueError, "values must be sorted");
            return -1;
        }
    /* about 16 bits per value, at least 2**16 bits: a false positive in ~6% of absent values
     * (the binary search then answers), at most 2**30 bits (128 MiB) */
    unsigned b = 16;
    while (b < 30 && ((Py_ssize_t)1 << b) < n * 16) b++;
    self->shift = 64 - b;
    self->bits = PyMem_Calloc(((size_t)1 << b) / 64, 8);
    if (!self->bits) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t k = (v[i] * 0x9E3779B97F4A7C15ULL) >> self->shift;
        self->bits[k >> 6] |= 1ULL << (k & 63);
    }
    /* a small set that answers "yes" often (the common words) skips the binary search */
    if (n && (n <= SMALL_SET || !is_sorted)) {
        size_t size = 16;
        while (size < (size_t)n * 4) size *= 2;
        self->table = PyMem_Calloc(size, 8);
        if (!self->table) {
            PyErr_NoMemory();
            return -1;
        }
        self->tmask = size - 1;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (!v[i]) {
                self->has_zero = 1;
                continue;
            }
            size_t j = (size_t)((v[i] * 0xC2B2AE3D27D4EB4FULL) >> 32) & self->tmask;
            while (self->table[j] && self->table[j] != v[i]) j = (j + 1) & self->tmask;
            self->table[j] = v[i];
        }
    }
    return 0;
}

static void U64Set_dealloc(U64Set *self) {
    if (self->has) PyBuffer_Release(&self->values);
    PyMem_Free(self->bits);
    PyMem_Free(self->table);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static inline int set_has(U64Set *self, uint64_t x) {
    uint64_t k = (x * 0x9E3779B97F4A7C15ULL) >> self->shift;
    if (!(self->bits[k >> 6] & (1ULL << (k & 63)))) return 0;
    if (self->table) {
        if (!x) return self->has_zero;
        size_t j = (size_t)((x * 0xC2B2AE3D27D4EB4FULL) >> 32) & self->tmask;
        while (self->table[j]) {
            if (self->table[j] == x) return 1;
            j = (j + 1) & self->tmask;
        }
        return 0;
    }
    const uint64_t *v = self->values.buf;
    Py_ssize_t lo = 0, hi = self->values.len / 8;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) >> 1;
        if (v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo < self->values.len / 8 && v[lo] == x;
}

/* find(values) -> bytearray of i64: the positions i where values[i] is in the set. */
static int set_ready(U64Set *self) {
    if (self->bits) return 1;
    PyErr_SetString(PyExc_TypeError, "U64Set was not initialised");
    return 0;
}

static PyObject *U64Set_find(U64Set *self, PyObject *arg) {
    Py_buffer b;
    if (!set_ready(self)) return NULL;
    if (PyObject_GetBuffer(arg, &b, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    Vec out = {NULL, 0, 0, 8};
    const uint64_t *q = b.buf;
    Py_ssize_t n = b.len / 8;
    PyObject *r = NULL;
    for (Py_ssize_t i = 0; i < n; i++)
        if (set_has(self, q[i])) {
            int64_t x = i;
            if (vec_push(&out, &x) < 0) goto done;
        }
    r = vec_bytearray(&out);
done:
    PyBuffer_Release(&b);
    PyMem_Free(out.p);
    return r;
}

/* grams_in(stream, k, found) -> (values, starts): the k-gram sums of the stream without this
 * set's members (the common words) that are members of `found` (a document index's
 * fingerprints), and the stream position where each starts. One pass, no intermediate arrays:
 * most bodies share no k-gram with any protected document. */
static PyObject *U64Set_grams_in(U64Set *self, PyObject *args) {
    Py_buffer b;
    int k;
    PyObject *found_obj;
    if (!set_ready(self)) return NULL;
    if (!PyArg_ParseTuple(args, "y*iO!", &b, &k, &U64SetType, &found_obj)) return NULL;
    U64Set *found = (U64Set *)found_obj;
    const uint64_t *s = b.buf;
    Py_ssize_t n = b.len / 8;
    Vec vals = {NULL, 0, 0, 8}, starts = {NULL, 0, 0, 8};
    PyObject *r = NULL;
    if (k < 1 || k > 16) {
        PyErr_SetString(PyExc_ValueError, "k must be 1..16");
        goto done;
    }
    if (!set_ready(found)) goto done;
    uint64_t ring[16];
    int64_t at[16];
    uint64_t sum = 0;
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (set_has(self, s[i])) continue;
        int slot = (int)(kept % k);
        if (kept >= k) sum -= ring[slot];
        ring[slot] = s[i];
        at[slot] = i;
        sum += s[i];
        kept++;
        if (kept >= k && set_has(found, sum)) {
            /* the oldest token of the window starts the k-gram: the slot after this one */
            if (push_u64(&vals, sum) < 0 || push_u64(&starts, (uint64_t)at[kept % k]) < 0) goto done;
        }
    }
    r = vecs_tuple(2, (Vec *[]){&vals, &starts}, NULL);
done:
    PyBuffer_Release(&b);
    PyMem_Free(vals.p);
    PyMem_Free(starts.p);
    return r;
}

static PyMethodDef U64Set_methods[] = {
    {"find", (PyCFunction)U64Set_find, METH_O, "positions of the values that are members"},
    {"grams_in", (PyCFunction)U64Set_grams_in, METH_VARARGS, "those k-gram sums found in another set"},
    {NULL}};

static PyTypeObject U64SetType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "agent.fingerprint._fast.U64Set",
    .tp_basicsize = sizeof(U64Set),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)U64Set_init,
    .tp_dealloc = (destructor)U64Set_dealloc,
    .tp_methods = U64Set_methods,
    .tp_doc = "Membership in a sorted u64 array, a bitmap answering most absent values.",
};

/* ---------------- the EDM row-window test ---------------- */

/* row_windows(rows, pos, cols, weights, window, need, required) -> bytearray of i64: for hits
 * sorted by (row, position), the index of the first hit of each row's first window of `window`
 * tokens whose distinct columns (one per token position) reach `need` weight and hold every
 * column of the `required` bitmask (columns >= 64 cannot be required here: the caller checks).
 * RecordMatcher._row_match is the same test in Python. */
static PyObject *fast_row_windows(PyObject *mod, PyObject *args) {
    Py_buffer rb, pb, cb, wb;
    long long window, need;
    unsigned long long required;
    if (!PyArg_ParseTuple(args, "y*y*y*y*LLK", &rb, &pb, &cb, &wb, &window, &need, &required)) return NULL;
    const int64_t *rows = rb.buf, *pos = pb.buf;
    const uint8_t *cols = cb.buf;
    const int64_t *w = wb.buf;
    Py_ssize_t n = rb.len / 8, nw = wb.len / 8;
    Vec out = {NULL, 0, 0, 8};
    PyObject *r = NULL;
    if (pb.len / 8 != n || cb.len != n) {
        PyErr_SetString(PyExc_ValueError, "rows, pos, cols differ in length");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (cols[i] >= nw) {
            PyErr_SetString(PyExc_ValueError, "column without a weight");
            goto done;
        }
    Py_ssize_t a0 = 0;
    while (a0 < n) {
        Py_ssize_t end = a0;
        while (end < n && rows[end] == rows[a0]) end++;
        for (Py_ssize_t a = a0; a < end; a++) {
            uint64_t seen[4] = {0, 0, 0, 0};   /* 256 columns */
            long long weight = 0, last_pos = -1;
            int found = 0;
            for (Py_ssize_t b = a; b < end; b++) {
                if (pos[b] - pos[a] >= window) break;
                uint8_t c = cols[b];
                if ((seen[c >> 6] >> (c & 63)) & 1) continue;
                if (pos[b] == last_pos) continue;   /* sorted: a used position is the previous one */
                seen[c >> 6] |= 1ULL << (c & 63);
                last_pos = pos[b];
                weight += w[c];
                if (weight >= need && (seen[0] & required) == required) {
                    found = 1;
                    break;
                }
            }
            if (found) {
                int64_t x = a;
                if (vec_push(&out, &x) < 0) goto done;
                break;
            }
        }
        a0 = end;
    }
    r = vec_bytearray(&out);
done:
    PyBuffer_Release(&rb);
    PyBuffer_Release(&pb);
    PyBuffer_Release(&cb);
    PyBuffer_Release(&wb);
    PyMem_Free(out.p);
    return r;
}

/* ---------------- EDM candidate rows ---------------- */

/* edm_candidates(at, values, rows, cols, weights, nameparts, name_cols, vocab, min_fields)
 *   -> (values u64, rows i64, cols u8, names_used)
 * `at`: positions in the index arrays of the cells whose value is in the body (each (row,
 * column) cell once). Per row: the weight of its columns found, plus each name column whose
 * first and last name hashes are both in `vocab` (the body's tokens). Rows reaching
 * `min_fields` are candidates; returned are the values to look for in the body: their found
 * cells, and first + last of the name columns that counted. RecordMatcher._candidates_numpy
 * is the same in numpy (a test pins the two). At most 64 columns (the caller checks). */
static PyObject *fast_edm_candidates(PyObject *mod, PyObject *args) {
    Py_buffer ab, vb, rb, cb, wb, pb, nb;
    PyObject *vocab_obj;
    long long need;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*OL", &ab, &vb, &rb, &cb, &wb, &pb, &nb, &vocab_obj, &need))
        return NULL;
    const int64_t *at = ab.buf, *w = wb.buf, *ncols = nb.buf;
    const uint64_t *values = vb.buf, *parts = pb.buf;
    const uint32_t *rows = rb.buf;
    const uint8_t *cols = cb.buf;
    Py_ssize_t n = ab.len / 8, ncells = vb.len / 8, nw = wb.len / 8, nn = nb.len / 8;
    Py_ssize_t nparts = pb.len / 8;
    U64Set *vocab = NULL;
    PyObject *result = NULL;
    struct Row { uint32_t row1; uint32_t names; int64_t weight; uint64_t mask; } *tab = NULL;
    size_t *slot_of = NULL, *occ = NULL;
    Vec ov = {NULL, 0, 0, 8}, orow = {NULL, 0, 0, 8}, ocol = {NULL, 0, 0, 1};
    int names_used = 0;
    if (vocab_obj != Py_None) {
        if (!PyObject_TypeCheck(vocab_obj, &U64SetType)) {
            PyErr_SetString(PyExc_TypeError, "vocab must be a U64Set or None");
            goto done;
        }
        vocab = (U64Set *)vocab_obj;
        if (!set_ready(vocab)) goto done;
    }
    if (rb.len / 4 != ncells || cb.len != ncells || nw > 64 || nn > 32 || (nn && !vocab)) {
        PyErr_SetString(PyExc_ValueError, "edm_candidates: inconsistent arrays");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (at[i] < 0 || at[i] >= ncells || cols[at[i]] >= nw) {
            PyErr_SetString(PyExc_ValueError, "edm_candidates: cell out of range");
            goto done;
        }
    /* The table and the name parts are megabytes, touched at random: every pass prefetches a
     * few entries ahead so the memory accesses overlap. */
    size_t size = 64;
    while (size < (size_t)n * 2) size *= 2;
    tab = PyMem_Calloc(size, sizeof *tab);
    slot_of = PyMem_Malloc((size_t)(n ? n : 1) * sizeof *slot_of);
    occ = PyMem_Malloc((size_t)(n ? n : 1) * sizeof *occ);
    if (!tab || !slot_of || !occ) {
        PyErr_NoMemory();
        goto done;
    }
#define AHEAD 16
#define HOME(r1) ((size_t)(((uint64_t)(r1) * 0x9E3779B97F4A7C15ULL) >> 40) & (size - 1))
    Py_ssize_t nocc = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i + AHEAD < n) __builtin_prefetch(&tab[HOME(rows[at[i + AHEAD]] + 1)], 1);
        uint32_t r1 = rows[at[i]] + 1;
        size_t j = HOME(r1);
        while (tab[j].row1 && tab[j].row1 != r1) j = (j + 1) & (size - 1);
        if (!tab[j].row1) {
            tab[j].row1 = r1;
            occ[nocc++] = j;
        }
        slot_of[i] = j;
        uint8_t c = cols[at[i]];
        if (!((tab[j].mask >> c) & 1)) {
            tab[j].mask |= 1ULL << c;
            tab[j].weight += w[c];
        }
    }
    for (Py_ssize_t q = 0; q < nocc && nn; q++) {
        if (q + AHEAD < nocc) {
            uint64_t ra = tab[occ[q + AHEAD]].row1 - 1;
            size_t pa = (size_t)(ra * (uint64_t)nn) * 2;
            if (pa < (size_t)nparts) __builtin_prefetch(&parts[pa]);
        }
        struct Row *e = &tab[occ[q]];
        uint64_t r = e->row1 - 1;
        for (Py_ssize_t k = 0; k < nn; k++) {
            int64_t c = ncols[k];
            if (c < 0 || c >= nw || ((e->mask >> c) & 1)) continue;
            size_t at2 = (size_t)(r * (uint64_t)nn + (uint64_t)k) * 2;
            if (at2 + 1 >= (size_t)nparts) continue;
            uint64_t f = parts[at2], l = parts[at2 + 1];
            if (f && set_has(vocab, f) && set_has(vocab, l)) {
                e->names |= 1u << k;
                e->weight += w[c];
            }
        }
    }
    /* the cells of candidate rows, then their names */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i + AHEAD < n) __builtin_prefetch(&tab[slot_of[i + AHEAD]]);
        struct Row *e = &tab[slot_of[i]];
        if (e->weight < need) continue;
        int64_t r = e->row1 - 1;
        if (vec_push(&ov, &values[at[i]]) < 0 || vec_push(&orow, &r) < 0 || vec_push(&ocol, &cols[at[i]]) < 0)
            goto done;
    }
    for (Py_ssize_t q = 0; q < nocc; q++) {
        struct Row *e = &tab[occ[q]];
        if (e->weight < need || !e->names) continue;
        int64_t r = e->row1 - 1;
        for (Py_ssize_t k = 0; k < nn; k++) {
            if (!((e->names >> k) & 1)) continue;
            size_t at2 = (size_t)((uint64_t)r * (uint64_t)nn + (uint64_t)k) * 2;
            uint64_t v = parts[at2] + parts[at2 + 1];
            uint8_t c = (uint8_t)ncols[k];
            if (vec_push(&ov, &v) < 0 || vec_push(&orow, &r) < 0 || vec_push(&ocol, &c) < 0) goto done;
            names_used = 1;
        }
    }
#undef HOME
#undef AHEAD
    result = vecs_tuple(3, (Vec *[]){&ov, &orow, &ocol}, PyBool_FromLong(names_used));
done:
    PyMem_Free(tab);
    PyMem_Free(slot_of);
    PyMem_Free(occ);
    PyMem_Free(ov.p);
    PyMem_Free(orow.p);
    PyMem_Free(ocol.p);
    PyBuffer_Release(&ab);
    PyBuffer_Release(&vb);
    PyBuffer_Release(&rb);
    PyBuffer_Release(&cb);
    PyBuffer_Release(&wb);
    PyBuffer_Release(&pb);
    PyBuffer_Release(&nb);
    return result;
}

static PyMethodDef module_methods[] = {
    {"prepare", fast_prepare, METH_VARARGS, "tokens.prepare in C"},
    {"row_windows", fast_row_windows, METH_VARARGS, "first matching window of each row's hits"},
    {"edm_candidates", fast_edm_candidates, METH_VARARGS, "EDM candidate rows and their values"},
    {NULL}};

static struct PyModuleDef fast_module = {PyModuleDef_HEAD_INIT, "agent.fingerprint._fast",
                                         "Compiled EDM/IDM body path (see tokens.py).", -1, module_methods};

PyMODINIT_FUNC PyInit__fast(void) {
    init_tables();
    if (PyType_Ready(&HasherType) < 0 || PyType_Ready(&U64SetType) < 0) return NULL;
    PyObject *m = PyModule_Create(&fast_module);
    if (!m) return NULL;
    if (PyModule_AddObjectRef(m, "Hasher", (PyObject *)&HasherType) < 0 ||
        PyModule_AddObjectRef(m, "U64Set", (PyObject *)&U64SetType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
