#define FFI_SCOPE "WARMTH"
#define FFI_LIB "libwarmth.so.0"
/* warmth.ffi.h - the declarations of include/warmth.h that PHP's FFI needs.
 *
 * FFI's C parser takes no preprocessor beyond the two #defines above (read
 * by FFI::load() and the ffi.preload ini setting only at the very top of
 * the file, before any comment; warmth.h.php drops them for FFI::cdef()),
 * so this is a hand-kept copy: the enums and macros are constants of
 * Warmth\WarmthException and Warmth\ModelInfo.  Keep it in step with
 * include/warmth.h; the layout test (lib/php/tests/run.php, with
 * lib/php/tests/php-helper.c) fails when a size, an offset, a field or a
 * constant differs from the real header's.
 */
typedef struct warmth warmth_t;

struct warmth_model_info {
  uint32_t size;
  uint16_t state;
  uint16_t http_status;
  char name[64];
  int64_t warm_until;
  int64_t last_probe;
  int64_t last_ok;
  int64_t retry_after_until;
  uint64_t successes;
  uint64_t failures;
  uint64_t tokens_in;
  uint64_t tokens_out;
  uint64_t tokens_cached;
  uint64_t cost_nusd;
  uint32_t last_latency_us;
  uint32_t ewma_latency_us;
  uint32_t dns_us, connect_us, tls_us, ttfb_us;
  uint32_t fails_in_row;
  uint32_t flags;
  uint16_t error_class;
  uint16_t endpoint;
  uint32_t headroom_requests;
  uint32_t headroom_tokens;
  uint32_t slot;
  uint64_t generation;
  uint32_t interval_ms;
  uint32_t warm_ttl_ms;
};

struct warmth_status {
  uint32_t size;
  int32_t pid;
  int64_t heartbeat_age_ns;
  int64_t stale_after_ns;
  int64_t created_ns;
  uint32_t retired;
  uint32_t stale;
  uint32_t models;
  uint32_t capacity;
  uint64_t index_generation;
};

typedef int (*warmth_iter_fn)(const struct warmth_model_info *info, void *arg);

int warmth_open(warmth_t **out, const char *shm_name, unsigned flags);
void warmth_close(warmth_t *h);
int warmth_lookup(warmth_t *h, const char *model,
                  struct warmth_model_info *info);
int warmth_is_warm(warmth_t *h, const char *model);
int warmth_touch(warmth_t *h, const char *model);
int warmth_report(warmth_t *h, const char *model, uint32_t latency_us, int ok);
int warmth_wait_warm(warmth_t *h, const char *model, uint32_t timeout_ms);
int warmth_foreach(warmth_t *h, warmth_iter_fn fn, void *arg);
int warmth_status(warmth_t *h, struct warmth_status *st);
const char *warmth_state_name(int state);
const char *warmth_error_class_name(int error_class);
const char *warmth_strerror(int err);
const char *warmth_err_name(int err);
unsigned warmth_version(void);
const char *warmth_version_string(void);

/* From libc (found through libwarmth's dependencies): Warmth\ProcessHandle
 * keeps a worker's handle across requests in the process environment. */
char *getenv(const char *name);
int setenv(const char *name, const char *value, int overwrite);
