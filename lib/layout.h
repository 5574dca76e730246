/* layout.h - the shared-memory layout of the warmth table (internal).
 *
 * State segment (one writer: warmd; readers map it PROT_READ):
 *
 *   offset 0            header (one page, struct warmth__hdr)
 *   off_index[0]        index buffer 0: index_cap x uint64 entries
 *   off_index[1]        index buffer 1: same
 *   off_records         capacity x struct warmth__rec (512 bytes, 64-aligned)
 *
 * Demand segment (workers may write; the coordinator treats it as
 * untrusted input).  A sealed memfd, no name: workers get it from the
 * writer over a Unix socket, so none of them can change its size
 * (lib/dsock.h says why and how):
 *
 *   offset 0            header (one page, struct warmth__dhdr)
 *   off_slots           capacity x struct warmth__dslot (64 bytes)
 *
 * Records: two copies of the payload and a sequence counter whose parity
 * names the copy readers use (a "latch", as Linux's seqcount_latch).  The
 * writer stores the new payload into the other copy, then bumps seq, which
 * hands readers the copy it just completed; a reader loads seq, copies the
 * copy it names, loads seq again and retries (bounded) only when it moved.
 * No reader ever waits for the writer: a writer stopped, preempted or
 * killed mid-update leaves the copy readers use whole.  The plain seqlock
 * this replaced (seq odd while the one copy was rewritten) made a lookup
 * answer WARMTH_EBUSY whenever warmd was descheduled inside its 30 stores
 * for longer than the reader's tries: one in ~500,000 lookups in
 * test_reload on a loaded 2-core machine, and every lookup of a record
 * while warmd was stopped there (check_seqlock's test_writer_stopped).
 * Payload words are accessed as atomics (release stores in rec_write,
 * acquire loads in warmth__rec_read), so the racing copy is defined
 * behaviour in C11 and ThreadSanitizer sees no data race; the order comes
 * from those release stores and acquire loads of the words themselves (no
 * fences: ThreadSanitizer does not model them, and on x86 both are plain
 * moves).
 *
 * Index: open addressing over a power-of-two number of 64-bit entries,
 * entry = (hash32 << 32) | (slot + 1), 0 = empty.  Two buffers.  A change is
 * written into the inactive buffer and published with one release store of
 * index_seq (RCU-style publication; liburcu cannot track readers living in
 * other processes, so instead of a grace period that would need reader state
 * in shared memory, a reader validates with index_seq that the buffer it
 * probed was not rewritten under it, and checks the model name inside the
 * record it copied, so a lookup can never return another model's data).
 *
 * index_seq: even = stable; odd = the writer is filling the inactive
 * buffer.  The active buffer is (index_seq >> 1) & 1 in both cases.  The
 * buffer a reader probed (seq s1) is next overwritten when index_seq reaches
 * (s1 & ~1) + 3, so the probe is valid iff s2 - (s1 & ~1) < 3.
 *
 * Freed slots are reused only after WARMTH__SLOT_GRACE_NS and two index
 * publications, and every reuse bumps the slot's generation.  A
 * publication that removes a model is made twice (lib/writer.c,
 * warmth__w_publish): waiting for an unrelated later change to bring the
 * second one left the freed slots unusable for good when none came.
 */
#ifndef WARMTH_LAYOUT_H
#define WARMTH_LAYOUT_H

#include <assert.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "warmth.h"

/* The bytes "WARMTHs1" / "WARMTHd1" read as a little-endian 64-bit word;
 * stored last, with release, when a segment is fully initialised. */
#define WARMTH__MAGIC 0x317348544d524157ull
#define WARMTH__DMAGIC 0x316448544d524157ull
/* Bump on any incompatible change of this file; readers refuse others. */
#define WARMTH__ABI                                                            \
  4u /* 2: word-at-a-time name hash; 3: demand_id, the                         \
        demand segment a sealed memfd (lib/dsock.h); 4: two copies per         \
        record (the latch above) */
#define WARMTH__HDR_SIZE 4096u
#define WARMTH__REC_SIZE 512u
#define WARMTH__DSLOT_SIZE 64u
/* Hard bound on capacity, so every size computation fits easily in 64 bits
 * and a garbage header cannot ask for a huge mapping. */
#define WARMTH__CAPACITY_MAX (1u << 20)
/* Tries before a reader answers WARMTH_EBUSY.  A try fails only when the
 * writer completed an update of that very record meanwhile; warmd updates a
 * record a few times per warmup, so 10000 in a row do not happen. */
#define WARMTH__READ_TRIES 10000
#define WARMTH__SLOT_GRACE_NS (2LL * 1000000000LL)
#define WARMTH__STALE_DEFAULT_NS (5LL * 1000000000LL)

enum { WARMTH__LIVE = 0, WARMTH__RETIRED = 1, WARMTH__SUPERSEDED = 2 };

/* The payload of a record: 30 words, copied word by word.  What an is_warm
 * question reads comes first (warm_until, the state word, the name), so
 * for a name of up to 31 bytes it shares the record's first cache line
 * with seq (copy 0) or fills one line (copy 1). */
struct warmth__payload {
  int64_t warm_until;
  uint16_t state;
  uint16_t http_status;
  uint16_t error_class;
  uint16_t endpoint;
  char name[64];
  int64_t last_probe;
  int64_t last_ok;
  int64_t retry_after_until;
  uint64_t successes;
  uint64_t failures;
  uint64_t tokens_in;
  uint64_t tokens_out;
  uint64_t tokens_cached;
  uint64_t cost_nusd;
  uint64_t generation;
  uint32_t last_latency_us;
  uint32_t ewma_latency_us;
  uint32_t dns_us;
  uint32_t connect_us;
  uint32_t tls_us;
  uint32_t ttfb_us;
  uint32_t fails_in_row;
  uint32_t flags;
  uint32_t headroom_requests;
  uint32_t headroom_tokens;
  uint32_t interval_ms; /* the model's warmup interval (cost projection) */
  uint32_t warm_ttl_ms;
  uint64_t reserved[4];
};
#define WARMTH__PAYLOAD_WORDS 30
#define WARMTH__NAME_WORD (offsetof(struct warmth__payload, name) / 8)
static_assert(sizeof(struct warmth__payload) == WARMTH__PAYLOAD_WORDS * 8,
              "payload is 30 words");
/* The words a reader copies: all but `reserved`, which no reader uses yet
 * (a reader that starts using it copies it too). */
#define WARMTH__READ_WORDS (offsetof(struct warmth__payload, reserved) / 8)

/* Words from copy 0 to copy 1: 256 bytes, so a field sits at the same
 * offset in its cache line in both copies and a reader touches as many
 * lines in either. */
#define WARMTH__COPY_STRIDE 32

struct warmth__rec {
  _Atomic uint64_t seq; /* its parity names the copy readers use */
  /* copy 0: w[0..29]; copy 1: w[32..61] */
  _Atomic uint64_t w[WARMTH__COPY_STRIDE + WARMTH__PAYLOAD_WORDS];
  uint64_t pad;
} __attribute__((aligned(64)));
static_assert(sizeof(struct warmth__rec) == WARMTH__REC_SIZE, "record size");

/* The copy that readers of sequence value `seq` use. */
static inline const _Atomic uint64_t *
warmth__rec_copy(const struct warmth__rec *r, uint64_t seq) {
  return r->w + (seq & 1) * WARMTH__COPY_STRIDE;
}

struct warmth__hdr {
  _Atomic uint64_t magic; /* WARMTH__MAGIC, stored last at creation */
  uint32_t abi;           /* WARMTH__ABI */
  uint32_t hdr_size;      /* WARMTH__HDR_SIZE */
  uint32_t rec_size;      /* WARMTH__REC_SIZE */
  uint32_t capacity;      /* record slots */
  uint32_t index_cap;     /* entries per index buffer, power of two */
  uint32_t pad0;
  uint64_t seg_size; /* total bytes, as reserved at creation */
  uint64_t off_index[2];
  uint64_t off_records;
  uint64_t instance;  /* random id of this segment */
  int64_t created_ns; /* CLOCK_REALTIME */
  /* Mutable part: every field below is written by the coordinator only. */
  _Atomic int32_t pid;
  _Atomic uint32_t retired;   /* WARMTH__LIVE / RETIRED / SUPERSEDED */
  _Atomic uint64_t successor; /* instance of the segment that replaced us */
  _Atomic int64_t heartbeat;  /* CLOCK_MONOTONIC ns, stored every tick */
  _Atomic int64_t stale_after_ns;
  _Atomic uint64_t index_seq; /* see the top of this file */
  _Atomic uint32_t nmodels;
  uint32_t pad1;
  /* The demand segment workers get now (lib/dsock.h), 0 = none: random,
   * new with every coordinator (an adopted segment gets a new one). */
  _Atomic uint64_t demand_id;
};
static_assert(sizeof(struct warmth__hdr) <= WARMTH__HDR_SIZE, "header size");
/* The bindings' tests read demand_id at this offset (conftest.py). */
static_assert(offsetof(struct warmth__hdr, demand_id) == 128, "demand_id");

struct warmth__dhdr {
  _Atomic uint64_t magic; /* WARMTH__DMAGIC, stored last at creation */
  uint32_t abi;
  uint32_t hdr_size;
  uint32_t slot_size;
  uint32_t capacity; /* equals the state segment's */
  uint64_t seg_size;
  uint64_t off_slots;
  uint64_t instance;  /* the state segment's instance */
  uint64_t demand_id; /* equals the state header's demand_id */
};

/* One slot of the demand segment, one cache line, indexed like records.
 * Workers write it; the coordinator reads it and resets it on slot reuse. */
struct warmth__dslot {
  _Atomic uint32_t last_touch_s; /* coarse CLOCK_MONOTONIC seconds */
  _Atomic uint32_t waiters;      /* workers sleeping in warmth_wait_warm */
  _Atomic uint64_t touches;
  _Atomic int64_t real_ok_ns; /* last real success (CLOCK_MONOTONIC) */
  _Atomic uint32_t real_latency_us;
  _Atomic uint32_t pad0;
  _Atomic uint64_t real_ok;    /* real successes reported */
  _Atomic uint64_t real_fail;  /* real failures reported */
  _Atomic uint64_t generation; /* slot generation it belongs to */
  uint64_t pad[1];
} __attribute__((aligned(64)));
static_assert(sizeof(struct warmth__dslot) == WARMTH__DSLOT_SIZE, "dslot");

/* 1 if name is a valid model name (1..WARMTH_NAME_MAX printable, no space).
 * A byte at a time: the reference that warmth__name_hash() must agree with
 * (tests/unit/check_layout.c), and the check for config and adoption. */
static inline int warmth__name_ok(const char *s, size_t *len) {
  size_t n = 0;
  if (!s)
    return 0;
  for (; s[n]; n++)
    if (n >= WARMTH_NAME_MAX || (unsigned char)s[n] < 0x21 ||
        (unsigned char)s[n] > 0x7e)
      return 0;
  *len = n;
  return n > 0;
}

/* The name hash of the index: eight bytes at a time, a multiply-xorshift
 * per word, seeded with the length (so the padding of the last word cannot
 * make two names equal), finished with splitmix64's mixer (constants from
 * Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
 * 2014) so the low bits that pick the bucket depend on every byte.
 * Measured with bench-reader: FNV-1a a byte at a time plus a separate
 * validation pass took most of a lookup of a 24-byte name. */
#define WARMTH__ONES 0x0101010101010101ull
#define WARMTH__HIGHS 0x8080808080808080ull

static inline uint64_t warmth__hash_word(uint64_t h, uint64_t w) {
  h = (h ^ w) * 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 32);
}

static inline uint32_t warmth__hash_final(uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return (uint32_t)(h ^ (h >> 31));
}

/* The name as the record stores it: NUL-padded words. */
#define WARMTH__NAME_WORDS ((WARMTH_NAME_MAX + 1) / 8)

/* Validates and hashes in one pass.  Returns 1 and sets *len and *hash for a
 * valid name, else 0; with `words`, also the name as a record holds it
 * (NUL-padded words, (len + 8) / 8 of them), for a compare without another
 * pass.  Never reads past the name's NUL (strnlen, then whole words inside
 * the name and a zero-filled copy of the tail). */
static inline int warmth__name_words(const char *s, size_t *len, uint32_t *hash,
                                     uint64_t *words) {
  if (!s)
    return 0;
  size_t n = strnlen(s, WARMTH_NAME_MAX + 1);
  if (n == 0 || n > WARMTH_NAME_MAX)
    return 0;
  /* Hide where s points from the optimiser: inlined with a short literal,
   * gcc warns (-Warray-bounds) of the 8-byte copy on a branch that the
   * length test makes dead for that literal. */
  __asm__("" : "+r"(s));
  uint64_t h = n, bad = 0, w, v;
  size_t i = 0;
  for (; i < n; i += 8) {
    if (n - i >= 8) {
      memcpy(&w, s + i, 8);
      v = w;
    } else {
      /* The tail, zero-filled as in the record; for the byte test only,
       * the bytes past the name read 'A' (valid).  A name of 8 bytes or
       * more: its last 8 bytes, shifted, so no copy of variable length (a
       * call to memcpy, whose size branches mispredict when names of
       * several lengths are looked up: callgrind --branch-sim). */
      size_t k = n - i;
      if (n >= 8) {
        memcpy(&w, s + n - 8, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w <<= 8 * (8 - k);
#else
        w >>= 8 * (8 - k);
#endif
      } else {
        w = 0;
        memcpy(&w, s + i, k);
      }
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
      v = w | (0x41 * WARMTH__ONES & (~0ull >> (8 * k)));
#else
      v = w | (0x41 * WARMTH__ONES & (~0ull << (8 * k)));
#endif
    }
    /* A byte < 0x21 or > 0x7e sets its high bit in one of the two terms
     * (the "haszero"-family tests of Bit Twiddling Hacks, exact for the
     * question "is there any such byte"). */
    bad |= ((v - 0x21 * WARMTH__ONES) & ~v) | (v + WARMTH__ONES) | v;
    h = warmth__hash_word(h, w);
    if (words)
      words[i / 8] = w;
  }
  if (bad & WARMTH__HIGHS)
    return 0;
  if (words && i == n && i < WARMTH__NAME_WORDS * 8)
    words[i / 8] = 0; /* a length of whole words: the NUL word */
  *len = n;
  *hash = warmth__hash_final(h);
  return 1;
}

static inline int warmth__name_hash(const char *s, size_t *len,
                                    uint32_t *hash) {
  return warmth__name_words(s, len, hash, NULL);
}

/* The hash of a name already known to be valid; also returns its length. */
static inline uint32_t warmth__hash(const char *s, size_t *len) {
  uint32_t h = 0;
  if (!warmth__name_hash(s, len, &h))
    *len = strlen(s);
  return h;
}

static inline uint64_t warmth__entry(uint32_t hash, uint32_t slot) {
  return ((uint64_t)hash << 32) | (uint64_t)(slot + 1);
}

/* Smallest power of two >= 2 * capacity (load factor <= 0.5). */
static inline uint32_t warmth__index_cap(uint32_t capacity) {
  uint32_t c = 16;
  while (c < 2 * capacity)
    c <<= 1;
  return c;
}

/* The one canonical layout for a capacity: the writer creates exactly this,
 * and a reader refuses a header that says anything else. */
struct warmth__geom {
  uint32_t index_cap;
  uint64_t off_index[2];
  uint64_t off_records;
  uint64_t seg_size;
  uint64_t d_off_slots;
  uint64_t d_seg_size;
};

static inline void warmth__geometry(uint32_t capacity, struct warmth__geom *g) {
  g->index_cap = warmth__index_cap(capacity);
  uint64_t ib = (uint64_t)g->index_cap * 8u;
  g->off_index[0] = WARMTH__HDR_SIZE;
  g->off_index[1] = WARMTH__HDR_SIZE + ib;
  g->off_records = (WARMTH__HDR_SIZE + 2 * ib + 63) & ~(uint64_t)63;
  g->seg_size = g->off_records + (uint64_t)capacity * WARMTH__REC_SIZE;
  g->d_off_slots = WARMTH__HDR_SIZE;
  g->d_seg_size = WARMTH__HDR_SIZE + (uint64_t)capacity * WARMTH__DSLOT_SIZE;
}

static inline int64_t warmth__mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One try of warmth__rec_read on copy c, taken at seq s1: 0, or -1 when
 * seq moved meanwhile. */
static inline __attribute__((always_inline)) int
warmth__rec_try(const struct warmth__rec *r, const _Atomic uint64_t *c,
                uint64_t s1, struct warmth__payload *out) {
  char *o = (char *)out;
  /* Acquire loads pair with the writer's release stores of the words
   * (rec_write): if a word we loaded came from a later update, which
   * rewrites this copy only after seq moved on, the re-read of seq below,
   * ordered after them, sees it moved.  On x86 these are plain loads, as
   * relaxed ones would be.  Straight into *out (a torn copy is simply
   * overwritten by the retry), unrolled: the loop overhead was a third of a
   * lookup (callgrind). */
#pragma GCC unroll 30
  for (size_t i = 0; i < WARMTH__READ_WORDS; i++) {
    uint64_t v = atomic_load_explicit(&c[i], memory_order_acquire);
    memcpy(o + 8 * i, &v, 8);
  }
  return atomic_load_explicit(&r->seq, memory_order_relaxed) == s1 ? 0 : -1;
}

/* Copy of a record's payload (but `reserved`) into *out: the copy that seq
 * names, validated by seq not moving.  Returns 0, or WARMTH_EBUSY when the
 * writer replaced the record on each of WARMTH__READ_TRIES tries. */
static inline int warmth__rec_read(const struct warmth__rec *r,
                                   struct warmth__payload *out) {
  for (int tries = 0; tries < WARMTH__READ_TRIES; tries++) {
    /* Acquire pairs with the writer's release store of seq: we see every
     * word of the copy it handed over. */
    uint64_t s1 = atomic_load_explicit(&r->seq, memory_order_acquire);
    /* A branch per copy with constant offsets, not an address computed
     * from s1: predicted, it lets the copy's loads start while the load of
     * seq is on its way (bench-reader: a handle's is_warm took 8.2 ns with
     * one copy, 13.6 with the computed address). */
    int rc = (s1 & 1) ? warmth__rec_try(r, r->w + WARMTH__COPY_STRIDE, s1, out)
                      : warmth__rec_try(r, r->w, s1, out);
    if (rc == 0)
      return 0;
  }
  return WARMTH_EBUSY;
}

#endif /* WARMTH_LAYOUT_H */
