/* warmth.c - the PHP extension of libwarmth: Warmth\Table and friends in C,
 * plus plain functions, with one handle per process kept across requests.
 *
 * Why an extension when lib/php/src does the same through FFI: the FFI call
 * itself cost 252 of the 327 ns of Table::isWarm (issue 11), FFI needs
 * ffi.enable=preload and opcache.preload set up by hand, and a PHP variable
 * cannot outlive a request, so the FFI binding keeps its process handle's
 * address in the C environment.  Here the handle is C memory of the module,
 * which lives as long as the process (PHP-FPM child, Apache prefork child,
 * CLI), and a call costs one internal function call.
 *
 * State, per process (never per request):
 *   wx_segs   segment name ("" for the default) -> wx_seg: the process's
 *             handle of that segment, opened lazily (WARMTH_OPEN_LAZY: no
 *             coordinator yet is fine) on first use, never closed before the
 *             process ends.  A handle opened before fork() works in the
 *             children (warmth.h), so a PHP-FPM master that opened it (an
 *             opcache.preload script that asked) hands it to its children.
 *   wx_seg.models  model name -> resolved model handle (warmth_resolve):
 *             a worker asks about the same few models all its life, so a
 *             name is resolved once per process and each later question is
 *             one seqlock read of its record, no hashing of the name in the
 *             library.  Bounded (WX_MODELS_MAX): names beyond it are asked
 *             by name, so a caller passing user input cannot grow it.
 * PHP is built NTS on Debian (FPM, prefork mod_php, CLI): a process runs one
 * request at a time, and these tables need no lock.  A ZTS build is refused
 * at compile time rather than raced.
 *
 * Per request: the Warmth\Table objects of Table::shared() (one per segment
 * name and request, as in the FFI binding), and the last error of the plain
 * functions.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ext/spl/spl_array.h"
#include "ext/spl/spl_exceptions.h"
#include "ext/standard/info.h"
#include "php.h"
#include "php_ini.h"
#include "zend_exceptions.h"
#include "zend_interfaces.h"

#include <warmth.h>

#include "php_warmth.h"

#ifdef ZTS
#error                                                                         \
    "the warmth extension keeps per-process tables without locks: build it against an NTS PHP"
#endif

/* Resolved model handles cached per segment and process: far more than the
 * few models a worker uses, small enough that a caller looping over user
 * input cannot make the process grow without bound. */
#define WX_MODELS_MAX 256

/* A libwarmth without resolved model handles (before 0.2): every call goes
 * by name (config.m4 defines HAVE_WARMTH_RESOLVE when the library has
 * them). */
#ifndef HAVE_WARMTH_RESOLVE
typedef struct warmth_model warmth_model_t;
#define warmth_resolve(h, name, m) ((void)(h), (void)(name), WARMTH_ENOTFOUND)
#define warmth_model_free(m) ((void)(m))
#define warmth_model_is_warm(m) WARMTH_EINVAL
#define warmth_model_touch(m) WARMTH_EINVAL
#define warmth_model_report(m, us, ok) WARMTH_EINVAL
#define warmth_model_wait_warm(m, ms) WARMTH_EINVAL
#define warmth_model_lookup(m, info) WARMTH_EINVAL
#endif

/* ---- per-process segment handles ---------------------------------------- */

typedef struct wx_seg {
  warmth_t *h;
  zend_string *shm; /* persistent; NULL: the default ($WARMTH_SHM, /warmth) */
  pid_t opened_pid; /* getpid() when opened (warmth_info(), tests) */
  bool process;     /* the process's: lives until the module shuts down */
  HashTable models; /* name -> warmth_model_t * (persistent) */
} wx_seg;

static HashTable wx_segs; /* key: segment name, "" for the default */

ZEND_BEGIN_MODULE_GLOBALS(warmth)
char *shm;              /* ini warmth.shm: the plain functions' segment */
bool open_at_start;     /* ini warmth.open_at_start: open it in MINIT */
HashTable *shared_objs; /* this request's Table::shared() objects */
int last_error;         /* the plain functions' lastError() */
ZEND_END_MODULE_GLOBALS(warmth)

ZEND_DECLARE_MODULE_GLOBALS(warmth)
#define WG(v) ZEND_MODULE_GLOBALS_ACCESSOR(warmth, v)

static zend_class_entry *wx_ce_table, *wx_ce_info, *wx_ce_status,
    *wx_ce_exception;
static zend_object_handlers wx_table_handlers;

static void wx_model_dtor(zval *zv) { warmth_model_free(Z_PTR_P(zv)); }

static wx_seg *wx_seg_new(warmth_t *h, zend_string *shm, bool process) {
  wx_seg *s = pecalloc(1, sizeof *s, 1);
  s->h = h;
  s->shm = shm ? zend_string_init(ZSTR_VAL(shm), ZSTR_LEN(shm), 1) : NULL;
  s->opened_pid = getpid();
  s->process = process;
  zend_hash_init(&s->models, 8, NULL, wx_model_dtor, 1);
  return s;
}

static void wx_seg_free(wx_seg *s) {
  /* Model handles first: they point into the table handle's state. */
  zend_hash_destroy(&s->models);
  warmth_close(s->h);
  if (s->shm)
    zend_string_release(s->shm);
  pefree(s, 1);
}

static void wx_segs_dtor(zval *zv) { wx_seg_free(Z_PTR_P(zv)); }

/* The model handle of `name` in `s`, resolved on first use, or NULL: the
 * caller then asks by name, which gives the precise answer or error (no
 * segment yet, model not in the table, bad name, cache full). */
static warmth_model_t *wx_model(wx_seg *s, zend_string *name) {
  zval *zv = zend_hash_find(&s->models, name);
  if (zv)
    return Z_PTR_P(zv);
  if (zend_hash_num_elements(&s->models) >= WX_MODELS_MAX)
    return NULL;
  warmth_model_t *m;
  if (warmth_resolve(s->h, ZSTR_VAL(name), &m) != 0)
    return NULL;
  zend_string *key = zend_string_init(ZSTR_VAL(name), ZSTR_LEN(name), 1);
  zend_hash_add_new_ptr(&s->models, key, m);
  zend_string_release(key);
  return m;
}

/* ---- errors ---------------------------------------------------------------
 */

/* Throws Warmth\WarmthException for library code rc, its message
 * "<context>: <strerror> (<err_name>)" as in the FFI binding. */
static void wx_throw(int rc, const char *fmt, ...)
    ZEND_ATTRIBUTE_FORMAT(printf, 2, 3);
static void wx_throw(int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  zend_string *ctx = zend_vstrpprintf(0, fmt, ap);
  va_end(ap);
  const char *err = warmth_strerror(rc), *name = warmth_err_name(rc);
  zend_string *msg = ZSTR_LEN(ctx) ? zend_strpprintf(0, "%s: %s (%s)",
                                                     ZSTR_VAL(ctx), err, name)
                                   : zend_strpprintf(0, "%s (%s)", err, name);
  zend_object *ex =
      zend_throw_exception(wx_ce_exception, ZSTR_VAL(msg), (zend_long)rc);
  zend_update_property_string(wx_ce_exception, ex, "errName",
                              sizeof "errName" - 1, name);
  zend_update_property_string(wx_ce_exception, ex, "strerror",
                              sizeof "strerror" - 1, err);
  zend_string_release(msg);
  zend_string_release(ctx);
}

/* A NUL would cut the name short on its way to C, so "a\0b" would read as
 * "a": refused here, with the code the library gives bad names. */
static bool wx_name_ok(zend_string *model) {
  if (memchr(ZSTR_VAL(model), '\0', ZSTR_LEN(model)) == NULL)
    return true;
  wx_throw(WARMTH_ENAMETOOLONG, "model name contains NUL");
  return false;
}

/* The per-request calls: a caller's mistake throws; anything else (no
 * segment, stale, busy, unknown model, ...) is kept in *last and reads as
 * "no".  Returns rc, or -1000 when it threw. */
static int wx_soft(int rc, int *last, const char *what) {
  if (rc >= 0) {
    *last = 0;
    return rc;
  }
  *last = rc;
  if (rc == WARMTH_EINVAL || rc == WARMTH_ENAMETOOLONG) {
    wx_throw(rc, "%s", what);
    return -1000;
  }
  return rc;
}

/* ---- the calls, through the model handle when there is one ----------------
 */

static int wx_is_warm(wx_seg *s, zend_string *name) {
  warmth_model_t *m = wx_model(s, name);
  return m ? warmth_model_is_warm(m) : warmth_is_warm(s->h, ZSTR_VAL(name));
}

static int wx_touch(wx_seg *s, zend_string *name) {
  warmth_model_t *m = wx_model(s, name);
  return m ? warmth_model_touch(m) : warmth_touch(s->h, ZSTR_VAL(name));
}

static int wx_report(wx_seg *s, zend_string *name, uint32_t us, int ok) {
  warmth_model_t *m = wx_model(s, name);
  return m ? warmth_model_report(m, us, ok)
           : warmth_report(s->h, ZSTR_VAL(name), us, ok);
}

static int wx_wait_warm(wx_seg *s, zend_string *name, uint32_t ms) {
  warmth_model_t *m = wx_model(s, name);
  return m ? warmth_model_wait_warm(m, ms)
           : warmth_wait_warm(s->h, ZSTR_VAL(name), ms);
}

static int wx_lookup(wx_seg *s, zend_string *name,
                     struct warmth_model_info *info) {
  info->size = sizeof *info;
  warmth_model_t *m = wx_model(s, name);
  return m ? warmth_model_lookup(m, info)
           : warmth_lookup(s->h, ZSTR_VAL(name), info);
}

/* Seconds (a PHP float) to the library's unsigned 32-bit units, clamped;
 * false (and thrown) when negative or NaN. */
static bool wx_units(double seconds, double scale, bool up, uint32_t *out,
                     const char *what) {
  if (!(seconds >= 0.0)) {
    wx_throw(WARMTH_EINVAL, "%s must be >= 0 seconds", what);
    return false;
  }
  double v = up ? ceil(seconds * scale) : round(seconds * scale);
  *out = v >= 4294967295.0 ? UINT32_MAX : (uint32_t)v;
  return true;
}

/* ---- process segments -----------------------------------------------------
 */

/* Opens a handle (lazy or strict); NULL after throwing. */
static warmth_t *wx_open(zend_string *shm, bool lazy) {
  if (shm && (ZSTR_LEN(shm) == 0 ||
              memchr(ZSTR_VAL(shm), '\0', ZSTR_LEN(shm)) != NULL)) {
    wx_throw(WARMTH_EINVAL, "open: bad segment name");
    return NULL;
  }
  warmth_t *h;
  int rc =
      warmth_open(&h, shm ? ZSTR_VAL(shm) : NULL, lazy ? WARMTH_OPEN_LAZY : 0);
  if (rc != 0) {
    if (shm) {
      wx_throw(rc, "open %s", ZSTR_VAL(shm));
    } else {
      const char *env = getenv("WARMTH_SHM");
      wx_throw(rc, "open %s", env && *env ? env : WARMTH_SHM_DEFAULT);
    }
    return NULL;
  }
  return h;
}

/* The process's handle of `shm` (NULL: the default), opened on first use;
 * NULL after throwing. */
static wx_seg *wx_process_seg(zend_string *shm) {
  zval *zv =
      shm ? zend_hash_find(&wx_segs, shm) : zend_hash_str_find(&wx_segs, "", 0);
  if (zv)
    return Z_PTR_P(zv);
  warmth_t *h = wx_open(shm, true);
  if (!h)
    return NULL;
  wx_seg *s = wx_seg_new(h, shm, true);
  zend_string *key = shm ? zend_string_init(ZSTR_VAL(shm), ZSTR_LEN(shm), 1)
                         : zend_string_init("", 0, 1);
  zend_hash_add_new_ptr(&wx_segs, key, s);
  zend_string_release(key);
  return s;
}

/* The plain functions' segment: ini warmth.shm, else the default. */
static wx_seg *wx_default_seg(void) {
  static wx_seg *cached; /* the ini is PHP_INI_SYSTEM: fixed per process */
  if (cached)
    return cached;
  const char *ini = WG(shm);
  if (ini && *ini) {
    zend_string *name = zend_string_init(ini, strlen(ini), 0);
    cached = wx_process_seg(name);
    zend_string_release(name);
  } else {
    cached = wx_process_seg(NULL);
  }
  return cached;
}

/* ---- Warmth\ModelInfo and Warmth\Status -----------------------------------
 */

/* Their properties, in slot order: objects are filled by slot number
 * (OBJ_PROP_NUM), the declaration order below. */
static const struct wx_prop {
  const char *name;
  uint32_t type;
} wx_info_props[] = {
    {"name", IS_STRING},         {"state", IS_STRING},
    {"stateCode", IS_LONG},      {"httpStatus", IS_LONG},
    {"warmUntil", IS_LONG},      {"lastProbe", IS_LONG},
    {"lastOk", IS_LONG},         {"retryAfterUntil", IS_LONG},
    {"successes", IS_LONG},      {"failures", IS_LONG},
    {"tokensIn", IS_LONG},       {"tokensOut", IS_LONG},
    {"tokensCached", IS_LONG},   {"costNusd", IS_LONG},
    {"lastLatencyUs", IS_LONG},  {"ewmaLatencyUs", IS_LONG},
    {"dnsUs", IS_LONG},          {"connectUs", IS_LONG},
    {"tlsUs", IS_LONG},          {"ttfbUs", IS_LONG},
    {"failsInRow", IS_LONG},     {"flags", IS_LONG},
    {"errorClass", IS_STRING},   {"errorClassCode", IS_LONG},
    {"endpoint", IS_LONG},       {"headroomRequests", IS_LONG},
    {"headroomTokens", IS_LONG}, {"slot", IS_LONG},
    {"generation", IS_LONG},     {"intervalMs", IS_LONG},
    {"warmTtlMs", IS_LONG},      {"warmForSeconds", IS_DOUBLE},
};

static const struct wx_prop wx_status_props[] = {
    {"pid", IS_LONG},
    {"heartbeatAgeNs", IS_LONG},
    {"staleAfterNs", IS_LONG},
    {"createdNs", IS_LONG},
    {"retired", IS_LONG},
    {"stale", _IS_BOOL},
    {"models", IS_LONG},
    {"capacity", IS_LONG},
    {"indexGeneration", IS_LONG},
};

static void wx_declare_props(zend_class_entry *ce, const struct wx_prop *p,
                             size_t n) {
  for (size_t i = 0; i < n; i++) {
    zval undef;
    ZVAL_UNDEF(&undef);
    zend_string *name =
        zend_string_init_interned(p[i].name, strlen(p[i].name), 1);
    zend_declare_typed_property(
        ce, name, &undef, ZEND_ACC_PUBLIC | ZEND_ACC_READONLY, NULL,
        (zend_type)ZEND_TYPE_INIT_CODE(p[i].type, 0, 0));
    zend_string_release(name);
  }
}

/* State and error-class names, interned once per process. */
static zend_string *wx_state_names[WARMTH_STATE_COUNT];
static zend_string *wx_class_names[WARMTH_ERR_CLASS_COUNT];

static void wx_name_zval(zval *zv, zend_string **known, int n, int code,
                         const char *(*fn)(int)) {
  if (code >= 0 && code < n)
    ZVAL_INTERNED_STR(zv, known[code]);
  else
    ZVAL_STRING(zv, fn(code));
}

static int64_t wx_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A ModelInfo from one consistent copy; `now` (CLOCK_MONOTONIC ns, the
 * clock of hrtime(true)) for warmForSeconds. */
static void wx_info_zval(zval *rv, const struct warmth_model_info *in,
                         int64_t now) {
  object_init_ex(rv, wx_ce_info);
  zval *p = OBJ_PROP_NUM(Z_OBJ_P(rv), 0);
  ZVAL_STRINGL(p++, in->name, strnlen(in->name, sizeof in->name));
  wx_name_zval(p++, wx_state_names, WARMTH_STATE_COUNT, in->state,
               warmth_state_name);
  ZVAL_LONG(p++, in->state);
  ZVAL_LONG(p++, in->http_status);
  ZVAL_LONG(p++, in->warm_until);
  ZVAL_LONG(p++, in->last_probe);
  ZVAL_LONG(p++, in->last_ok);
  ZVAL_LONG(p++, in->retry_after_until);
  ZVAL_LONG(p++, (zend_long)in->successes);
  ZVAL_LONG(p++, (zend_long)in->failures);
  ZVAL_LONG(p++, (zend_long)in->tokens_in);
  ZVAL_LONG(p++, (zend_long)in->tokens_out);
  ZVAL_LONG(p++, (zend_long)in->tokens_cached);
  ZVAL_LONG(p++, (zend_long)in->cost_nusd);
  ZVAL_LONG(p++, in->last_latency_us);
  ZVAL_LONG(p++, in->ewma_latency_us);
  ZVAL_LONG(p++, in->dns_us);
  ZVAL_LONG(p++, in->connect_us);
  ZVAL_LONG(p++, in->tls_us);
  ZVAL_LONG(p++, in->ttfb_us);
  ZVAL_LONG(p++, in->fails_in_row);
  ZVAL_LONG(p++, in->flags);
  wx_name_zval(p++, wx_class_names, WARMTH_ERR_CLASS_COUNT, in->error_class,
               warmth_error_class_name);
  ZVAL_LONG(p++, in->error_class);
  ZVAL_LONG(p++, in->endpoint);
  ZVAL_LONG(p++, in->headroom_requests);
  ZVAL_LONG(p++, in->headroom_tokens);
  ZVAL_LONG(p++, in->slot);
  ZVAL_LONG(p++, (zend_long)in->generation);
  ZVAL_LONG(p++, in->interval_ms);
  ZVAL_LONG(p++, in->warm_ttl_ms);
  ZVAL_DOUBLE(p++, in->state == WARMTH_WARM && in->warm_until > now
                       ? (double)(in->warm_until - now) / 1e9
                       : 0.0);
}

static void wx_status_zval(zval *rv, const struct warmth_status *st) {
  object_init_ex(rv, wx_ce_status);
  zval *p = OBJ_PROP_NUM(Z_OBJ_P(rv), 0);
  ZVAL_LONG(p++, st->pid);
  ZVAL_LONG(p++, st->heartbeat_age_ns);
  ZVAL_LONG(p++, st->stale_after_ns);
  ZVAL_LONG(p++, st->created_ns);
  ZVAL_LONG(p++, st->retired);
  ZVAL_BOOL(p++, st->stale != 0);
  ZVAL_LONG(p++, st->models);
  ZVAL_LONG(p++, st->capacity);
  ZVAL_LONG(p++, (zend_long)st->index_generation);
}

static zend_long wx_prop_long(zval *obj, uint32_t slot) {
  zval *p = OBJ_PROP_NUM(Z_OBJ_P(obj), slot);
  return Z_TYPE_P(p) == IS_LONG ? Z_LVAL_P(p) : 0;
}

#define WX_INFO_FLAGS 21 /* slot of "flags" in wx_info_props */
#define WX_INFO_COST 13  /* slot of "costNusd" */
#define WX_STATUS_RETIRED 4
#define WX_STATUS_STALE 5

static const struct {
  unsigned bit;
  const char *name;
} wx_flag_names[] = {
    {WARMTH_F_SLOW, "slow"},
    {WARMTH_F_KEY_PROBLEM, "key_problem"},
    {WARMTH_F_BUDGET, "budget"},
    {WARMTH_F_PAUSED, "paused"},
    {WARMTH_F_THROTTLED, "throttled"},
    {WARMTH_F_REAL_TRAFFIC, "real_traffic"},
    {WARMTH_F_PREFIX_CACHED, "prefix_cached"},
    {WARMTH_F_FLEET, "fleet"},
    {WARMTH_F_MODEL_PROBLEM, "model_problem"},
    {WARMTH_F_OFF_HOURS, "off_hours"},
};

PHP_METHOD(Warmth_ModelInfo, __construct) {
  ZEND_PARSE_PARAMETERS_NONE(); /* private: made by the library only */
}

PHP_METHOD(Warmth_ModelInfo, hasFlag) {
  zend_long flag;
  ZEND_PARSE_PARAMETERS_START(1, 1)
  Z_PARAM_LONG(flag)
  ZEND_PARSE_PARAMETERS_END();
  RETURN_BOOL((wx_prop_long(ZEND_THIS, WX_INFO_FLAGS) & flag) == flag);
}

PHP_METHOD(Warmth_ModelInfo, flagNames) {
  ZEND_PARSE_PARAMETERS_NONE();
  zend_long flags = wx_prop_long(ZEND_THIS, WX_INFO_FLAGS);
  array_init(return_value);
  for (size_t i = 0; i < sizeof wx_flag_names / sizeof wx_flag_names[0]; i++)
    if (flags & wx_flag_names[i].bit)
      add_next_index_string(return_value, wx_flag_names[i].name);
}

PHP_METHOD(Warmth_ModelInfo, costUsd) {
  ZEND_PARSE_PARAMETERS_NONE();
  RETURN_DOUBLE((double)wx_prop_long(ZEND_THIS, WX_INFO_COST) / 1e9);
}

PHP_METHOD(Warmth_Status, __construct) { ZEND_PARSE_PARAMETERS_NONE(); }

PHP_METHOD(Warmth_Status, retiredName) {
  ZEND_PARSE_PARAMETERS_NONE();
  switch (wx_prop_long(ZEND_THIS, WX_STATUS_RETIRED)) {
  case 0:
    RETURN_STRING("live");
  case 1:
    RETURN_STRING("retired");
  case 2:
    RETURN_STRING("superseded");
  default:
    RETURN_STRING("invalid");
  }
}

PHP_METHOD(Warmth_Status, alive) {
  ZEND_PARSE_PARAMETERS_NONE();
  zval *stale = OBJ_PROP_NUM(Z_OBJ_P(ZEND_THIS), WX_STATUS_STALE);
  RETURN_BOOL(Z_TYPE_P(stale) == IS_FALSE &&
              wx_prop_long(ZEND_THIS, WX_STATUS_RETIRED) == 0);
}

/* ---- Warmth\WarmthException -----------------------------------------------
 */

PHP_METHOD(Warmth_WarmthException, __construct) {
  zend_long code;
  zend_string *err_name, *strerr, *context = NULL;
  zval *previous = NULL;
  ZEND_PARSE_PARAMETERS_START(3, 5)
  Z_PARAM_LONG(code)
  Z_PARAM_STR(err_name)
  Z_PARAM_STR(strerr)
  Z_PARAM_OPTIONAL
  Z_PARAM_STR(context)
  Z_PARAM_OBJECT_OF_CLASS_OR_NULL(previous, zend_ce_throwable)
  ZEND_PARSE_PARAMETERS_END();
  zend_object *o = Z_OBJ_P(ZEND_THIS);
  zend_string *msg =
      context && ZSTR_LEN(context)
          ? zend_strpprintf(0, "%s: %s (%s)", ZSTR_VAL(context),
                            ZSTR_VAL(strerr), ZSTR_VAL(err_name))
          : zend_strpprintf(0, "%s (%s)", ZSTR_VAL(strerr), ZSTR_VAL(err_name));
  zend_update_property_str(zend_ce_exception, o, "message",
                           sizeof "message" - 1, msg);
  zend_string_release(msg);
  zend_update_property_long(zend_ce_exception, o, "code", sizeof "code" - 1,
                            code);
  if (previous)
    zend_update_property(zend_ce_exception, o, "previous",
                         sizeof "previous" - 1, previous);
  zend_update_property_str(wx_ce_exception, o, "errName", sizeof "errName" - 1,
                           err_name);
  zend_update_property_str(wx_ce_exception, o, "strerror",
                           sizeof "strerror" - 1, strerr);
}

static void wx_exception_prop(INTERNAL_FUNCTION_PARAMETERS, const char *name) {
  ZEND_PARSE_PARAMETERS_NONE();
  zval rv, *v = zend_read_property(wx_ce_exception, Z_OBJ_P(ZEND_THIS), name,
                                   strlen(name), 1, &rv);
  RETURN_COPY_DEREF(v);
}

PHP_METHOD(Warmth_WarmthException, errName) {
  wx_exception_prop(INTERNAL_FUNCTION_PARAM_PASSTHRU, "errName");
}

PHP_METHOD(Warmth_WarmthException, strerror) {
  wx_exception_prop(INTERNAL_FUNCTION_PARAM_PASSTHRU, "strerror");
}

/* ---- Warmth\Table ---------------------------------------------------------
 */

typedef struct wx_table {
  wx_seg *seg; /* NULL: closed */
  bool owned;  /* open(): freed with the object; shared(): the process's */
  int last_error;
  zend_string *shm; /* as given to open()/shared(), NULL for the default */
  zend_object std;
} wx_table;

static inline wx_table *wx_table_from(zend_object *o) {
  return (wx_table *)((char *)o - XtOffsetOf(wx_table, std));
}
#define WX_THIS wx_table_from(Z_OBJ_P(ZEND_THIS))

static zend_object *wx_table_create(zend_class_entry *ce) {
  wx_table *t = zend_object_alloc(sizeof *t, ce);
  zend_object_std_init(&t->std, ce);
  object_properties_init(&t->std, ce);
  t->std.handlers = &wx_table_handlers;
  return &t->std;
}

static void wx_table_close(wx_table *t) {
  if (t->seg && t->owned)
    wx_seg_free(t->seg);
  t->seg = NULL;
}

static void wx_table_free(zend_object *o) {
  wx_table *t = wx_table_from(o);
  wx_table_close(t);
  if (t->shm)
    zend_string_release(t->shm);
  zend_object_std_dtor(o);
}

/* A clone must not share (and later free) the original's handle: the copy
 * starts closed, and __clone() refuses it anyway. */
static zend_object *wx_table_clone(zend_object *old) {
  zend_object *o = wx_table_create(old->ce);
  zend_objects_clone_members(o, old);
  return o;
}

static void wx_table_init(zval *rv, wx_seg *seg, bool owned, zend_string *shm) {
  object_init_ex(rv, wx_ce_table);
  wx_table *t = wx_table_from(Z_OBJ_P(rv));
  t->seg = seg;
  t->owned = owned;
  t->shm = shm ? zend_string_copy(shm) : NULL;
}

/* The table's segment, or NULL after throwing "table is closed". */
static wx_seg *wx_live(wx_table *t) {
  if (EXPECTED(t->seg != NULL))
    return t->seg;
  wx_throw(WARMTH_EINVAL, "table is closed");
  return NULL;
}

PHP_METHOD(Warmth_Table, __construct) { ZEND_PARSE_PARAMETERS_NONE(); }

PHP_METHOD(Warmth_Table, open) {
  zend_string *shm = NULL;
  bool lazy = true;
  ZEND_PARSE_PARAMETERS_START(0, 2)
  Z_PARAM_OPTIONAL
  Z_PARAM_STR_OR_NULL(shm)
  Z_PARAM_BOOL(lazy)
  ZEND_PARSE_PARAMETERS_END();
  warmth_t *h = wx_open(shm, lazy);
  if (!h)
    RETURN_THROWS();
  wx_table_init(return_value, wx_seg_new(h, shm, false), true, shm);
}

PHP_METHOD(Warmth_Table, shared) {
  zend_string *shm = NULL;
  ZEND_PARSE_PARAMETERS_START(0, 1)
  Z_PARAM_OPTIONAL
  Z_PARAM_STR_OR_NULL(shm)
  ZEND_PARSE_PARAMETERS_END();
  const char *key = shm ? ZSTR_VAL(shm) : "";
  size_t klen = shm ? ZSTR_LEN(shm) : 0;
  if (shm && klen == 0) {
    wx_throw(WARMTH_EINVAL, "open: bad segment name");
    RETURN_THROWS();
  }
  if (!WG(shared_objs)) {
    ALLOC_HASHTABLE(WG(shared_objs));
    zend_hash_init(WG(shared_objs), 2, NULL, ZVAL_PTR_DTOR, 0);
  }
  zval *zv = zend_hash_str_find(WG(shared_objs), key, klen);
  if (zv && wx_table_from(Z_OBJ_P(zv))->seg)
    RETURN_COPY(zv);
  wx_seg *s = wx_process_seg(shm);
  if (!s)
    RETURN_THROWS();
  zval obj;
  wx_table_init(&obj, s, false, shm);
  zend_hash_str_update(WG(shared_objs), key, klen, &obj);
  RETURN_COPY(&obj);
}

PHP_METHOD(Warmth_Table, close) {
  ZEND_PARSE_PARAMETERS_NONE();
  wx_table_close(WX_THIS);
}

PHP_METHOD(Warmth_Table, __clone) {
  ZEND_PARSE_PARAMETERS_NONE();
  zend_throw_exception(spl_ce_LogicException,
                       "a Warmth\\Table cannot be cloned", 0);
}

PHP_METHOD(Warmth_Table, __serialize) {
  ZEND_PARSE_PARAMETERS_NONE();
  zend_throw_exception(spl_ce_LogicException,
                       "a Warmth\\Table cannot be serialized", 0);
}

PHP_METHOD(Warmth_Table, __unserialize) {
  zval *data;
  ZEND_PARSE_PARAMETERS_START(1, 1)
  Z_PARAM_ARRAY(data)
  ZEND_PARSE_PARAMETERS_END();
  (void)data;
  zend_throw_exception(spl_ce_LogicException,
                       "a Warmth\\Table cannot be unserialized", 0);
}

PHP_METHOD(Warmth_Table, shmName) {
  ZEND_PARSE_PARAMETERS_NONE();
  wx_table *t = WX_THIS;
  if (t->shm)
    RETURN_STR_COPY(t->shm);
  RETURN_NULL();
}

PHP_METHOD(Warmth_Table, isOpen) {
  ZEND_PARSE_PARAMETERS_NONE();
  RETURN_BOOL(WX_THIS->seg != NULL);
}

PHP_METHOD(Warmth_Table, lastError) {
  ZEND_PARSE_PARAMETERS_NONE();
  RETURN_LONG(WX_THIS->last_error);
}

/* The per-request methods and plain functions share these bodies: `s` the
 * segment (NULL: threw already), `last` where the soft error goes. */
#define WX_MODEL_ARG(model)                                                    \
  ZEND_PARSE_PARAMETERS_START(1, 1)                                            \
  Z_PARAM_STR(model)                                                           \
  ZEND_PARSE_PARAMETERS_END()

static void wx_do_is_warm(zval *rv, wx_seg *s, int *last, zend_string *model) {
  if (!s || !wx_name_ok(model))
    return;
  ZVAL_BOOL(rv, wx_soft(wx_is_warm(s, model), last, "isWarm") == 1);
}

static void wx_do_touch(zval *rv, wx_seg *s, int *last, zend_string *model) {
  if (!s || !wx_name_ok(model))
    return;
  ZVAL_BOOL(rv, wx_soft(wx_touch(s, model), last, "touch") == 0);
}

static void wx_do_report(zval *rv, wx_seg *s, int *last, zend_string *model,
                         double seconds, bool ok) {
  uint32_t us;
  if (!wx_units(seconds, 1e6, false, &us, "report: latency") || !s ||
      !wx_name_ok(model))
    return;
  ZVAL_BOOL(rv, wx_soft(wx_report(s, model, us, ok), last, "report") == 0);
}

static void wx_do_wait_warm(zval *rv, wx_seg *s, int *last, zend_string *model,
                            double seconds) {
  uint32_t ms;
  if (!wx_units(seconds, 1e3, true, &ms, "waitWarm: timeout") || !s ||
      !wx_name_ok(model))
    return;
  ZVAL_BOOL(rv, wx_soft(wx_wait_warm(s, model, ms), last, "waitWarm") == 1);
}

static void wx_do_lookup(zval *rv, wx_seg *s, zend_string *model) {
  if (!s || !wx_name_ok(model))
    return;
  struct warmth_model_info info;
  int rc = wx_lookup(s, model, &info);
  if (rc != 0) {
    wx_throw(rc, "lookup %s", ZSTR_VAL(model));
    return;
  }
  wx_info_zval(rv, &info, wx_now());
}

PHP_METHOD(Warmth_Table, isWarm) {
  zend_string *model;
  WX_MODEL_ARG(model);
  wx_table *t = WX_THIS;
  wx_do_is_warm(return_value, wx_live(t), &t->last_error, model);
}

PHP_METHOD(Warmth_Table, touch) {
  zend_string *model;
  WX_MODEL_ARG(model);
  wx_table *t = WX_THIS;
  wx_do_touch(return_value, wx_live(t), &t->last_error, model);
}

PHP_METHOD(Warmth_Table, report) {
  zend_string *model;
  double seconds;
  bool ok;
  ZEND_PARSE_PARAMETERS_START(3, 3)
  Z_PARAM_STR(model)
  Z_PARAM_DOUBLE(seconds)
  Z_PARAM_BOOL(ok)
  ZEND_PARSE_PARAMETERS_END();
  wx_table *t = WX_THIS;
  wx_do_report(return_value, wx_live(t), &t->last_error, model, seconds, ok);
}

PHP_METHOD(Warmth_Table, waitWarm) {
  zend_string *model;
  double seconds;
  ZEND_PARSE_PARAMETERS_START(2, 2)
  Z_PARAM_STR(model)
  Z_PARAM_DOUBLE(seconds)
  ZEND_PARSE_PARAMETERS_END();
  wx_table *t = WX_THIS;
  wx_do_wait_warm(return_value, wx_live(t), &t->last_error, model, seconds);
}

PHP_METHOD(Warmth_Table, lookup) {
  zend_string *model;
  WX_MODEL_ARG(model);
  wx_do_lookup(return_value, wx_live(WX_THIS), model);
}

struct wx_walk {
  zval *arr;
  int64_t now;
};

static int wx_walk_fn(const struct warmth_model_info *info, void *arg) {
  struct wx_walk *w = arg;
  zval m;
  wx_info_zval(&m, info, w->now);
  zval *name = OBJ_PROP_NUM(Z_OBJ(m), 0);
  zend_symtable_update(Z_ARRVAL_P(w->arr), Z_STR_P(name), &m);
  return 0;
}

/* Every model, keyed by name, into rv; false after throwing. */
static bool wx_models(zval *rv, wx_table *t) {
  wx_seg *s = wx_live(t);
  if (!s)
    return false;
  array_init(rv);
  struct wx_walk w = {rv, wx_now()};
  int rc = warmth_foreach(s->h, wx_walk_fn, &w);
  if (rc < 0) {
    zval_ptr_dtor(rv);
    ZVAL_UNDEF(rv);
    wx_throw(rc, "foreach");
    return false;
  }
  return true;
}

PHP_METHOD(Warmth_Table, models) {
  ZEND_PARSE_PARAMETERS_NONE();
  if (!wx_models(return_value, WX_THIS))
    RETURN_THROWS();
}

PHP_METHOD(Warmth_Table, getIterator) {
  ZEND_PARSE_PARAMETERS_NONE();
  zval arr;
  if (!wx_models(&arr, WX_THIS))
    RETURN_THROWS();
  object_init_ex(return_value, spl_ce_ArrayIterator);
  zend_call_known_instance_method_with_1_params(
      spl_ce_ArrayIterator->constructor, Z_OBJ_P(return_value), NULL, &arr);
  zval_ptr_dtor(&arr);
}

PHP_METHOD(Warmth_Table, status) {
  ZEND_PARSE_PARAMETERS_NONE();
  wx_seg *s = wx_live(WX_THIS);
  if (!s)
    RETURN_THROWS();
  struct warmth_status st = {.size = sizeof st};
  int rc = warmth_status(s->h, &st);
  if (rc != 0) {
    wx_throw(rc, "status");
    RETURN_THROWS();
  }
  wx_status_zval(return_value, &st);
}

PHP_METHOD(Warmth_Table, version) {
  ZEND_PARSE_PARAMETERS_NONE();
  RETURN_STRING(warmth_version_string());
}

PHP_METHOD(Warmth_Table, defaultName) {
  ZEND_PARSE_PARAMETERS_NONE();
  /* PHP's getenv(), as the FFI binding's: putenv() in this process counts */
  zval fn, rv, arg;
  ZVAL_STRING(&fn, "getenv");
  ZVAL_STRING(&arg, "WARMTH_SHM");
  call_user_function(NULL, NULL, &fn, &rv, 1, &arg);
  zval_ptr_dtor(&fn);
  zval_ptr_dtor(&arg);
  if (Z_TYPE(rv) == IS_STRING && Z_STRLEN(rv) > 0)
    RETURN_COPY_VALUE(&rv);
  zval_ptr_dtor(&rv);
  RETURN_STRING(WARMTH_SHM_DEFAULT);
}

/* ---- plain functions: the process's table of ini warmth.shm -------------- */

PHP_FUNCTION(warmth_is_warm) {
  zend_string *model;
  WX_MODEL_ARG(model);
  wx_do_is_warm(return_value, wx_default_seg(), &WG(last_error), model);
}

PHP_FUNCTION(warmth_touch) {
  zend_string *model;
  WX_MODEL_ARG(model);
  wx_do_touch(return_value, wx_default_seg(), &WG(last_error), model);
}

PHP_FUNCTION(warmth_report) {
  zend_string *model;
  double seconds;
  bool ok;
  ZEND_PARSE_PARAMETERS_START(3, 3)
  Z_PARAM_STR(model)
  Z_PARAM_DOUBLE(seconds)
  Z_PARAM_BOOL(ok)
  ZEND_PARSE_PARAMETERS_END();
  wx_do_report(return_value, wx_default_seg(), &WG(last_error), model, seconds,
               ok);
}

PHP_FUNCTION(warmth_wait_warm) {
  zend_string *model;
  double seconds;
  ZEND_PARSE_PARAMETERS_START(2, 2)
  Z_PARAM_STR(model)
  Z_PARAM_DOUBLE(seconds)
  ZEND_PARSE_PARAMETERS_END();
  wx_do_wait_warm(return_value, wx_default_seg(), &WG(last_error), model,
                  seconds);
}

PHP_FUNCTION(warmth_lookup) {
  zend_string *model;
  WX_MODEL_ARG(model);
  wx_do_lookup(return_value, wx_default_seg(), model);
}

PHP_FUNCTION(warmth_last_error) {
  ZEND_PARSE_PARAMETERS_NONE();
  RETURN_LONG(WG(last_error));
}

/* What this process holds for segment `shm` (NULL: the plain functions'),
 * without opening anything: for tests and for the curious. */
PHP_FUNCTION(warmth_info) {
  zend_string *shm = NULL;
  ZEND_PARSE_PARAMETERS_START(0, 1)
  Z_PARAM_OPTIONAL
  Z_PARAM_STR_OR_NULL(shm)
  ZEND_PARSE_PARAMETERS_END();
  const char *ini = WG(shm);
  zval *zv;
  if (shm)
    zv = zend_hash_find(&wx_segs, shm);
  else if (ini && *ini)
    zv = zend_hash_str_find(&wx_segs, ini, strlen(ini));
  else
    zv = zend_hash_str_find(&wx_segs, "", 0);
  wx_seg *s = zv ? Z_PTR_P(zv) : NULL;
  array_init(return_value);
  add_assoc_string(return_value, "version", PHP_WARMTH_VERSION);
  add_assoc_string(return_value, "library", warmth_version_string());
  add_assoc_bool(return_value, "open", s != NULL);
  add_assoc_long(return_value, "opened_pid", s ? s->opened_pid : 0);
  add_assoc_long(return_value, "models_cached",
                 s ? zend_hash_num_elements(&s->models) : 0);
#ifdef HAVE_WARMTH_RESOLVE
  add_assoc_bool(return_value, "handles", true);
#else
  add_assoc_bool(return_value, "handles", false);
#endif
}

/* The library's words and name for an error code (WarmthException::*). */
PHP_FUNCTION(warmth_strerror) {
  zend_long code;
  ZEND_PARSE_PARAMETERS_START(1, 1)
  Z_PARAM_LONG(code)
  ZEND_PARSE_PARAMETERS_END();
  RETURN_STRING(warmth_strerror((int)code));
}

PHP_FUNCTION(warmth_err_name) {
  zend_long code;
  ZEND_PARSE_PARAMETERS_START(1, 1)
  Z_PARAM_LONG(code)
  ZEND_PARSE_PARAMETERS_END();
  RETURN_STRING(warmth_err_name((int)code));
}

/* ---- arginfo --------------------------------------------------------------
 */

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(ai_model_bool, 0, 1, _IS_BOOL, 0)
ZEND_ARG_TYPE_INFO(0, model, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(ai_report, 0, 3, _IS_BOOL, 0)
ZEND_ARG_TYPE_INFO(0, model, IS_STRING, 0)
ZEND_ARG_TYPE_INFO(0, latencySeconds, IS_DOUBLE, 0)
ZEND_ARG_TYPE_INFO(0, ok, _IS_BOOL, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(ai_wait, 0, 2, _IS_BOOL, 0)
ZEND_ARG_TYPE_INFO(0, model, IS_STRING, 0)
ZEND_ARG_TYPE_INFO(0, timeoutSeconds, IS_DOUBLE, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_OBJ_INFO_EX(ai_lookup, 0, 1, Warmth\\ModelInfo, 0)
ZEND_ARG_TYPE_INFO(0, model, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(ai_long, 0, 0, IS_LONG, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(ai_info, 0, 0, IS_ARRAY, 0)
ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, shm, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(ai_code_string, 0, 1, IS_STRING, 0)
ZEND_ARG_TYPE_INFO(0, code, IS_LONG, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_INFO_EX(ai_none, 0, 0, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(ai_void, 0, 0, IS_VOID, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(ai_bool, 0, 0, _IS_BOOL, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(ai_double, 0, 0, IS_DOUBLE, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(ai_string, 0, 0, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(ai_nstring, 0, 0, IS_STRING, 1)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(ai_array, 0, 0, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(ai_unserialize, 0, 1, IS_VOID, 0)
ZEND_ARG_TYPE_INFO(0, data, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(ai_hasflag, 0, 1, _IS_BOOL, 0)
ZEND_ARG_TYPE_INFO(0, flag, IS_LONG, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_OBJ_INFO_EX(ai_open, 0, 0, Warmth\\Table, 0)
ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, shm, IS_STRING, 1, "null")
ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, lazy, _IS_BOOL, 0, "true")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_OBJ_INFO_EX(ai_shared, 0, 0, Warmth\\Table, 0)
ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, shm, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_OBJ_INFO_EX(ai_iter, 0, 0, ArrayIterator, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_OBJ_INFO_EX(ai_status, 0, 0, Warmth\\Status, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_INFO_EX(ai_exception_ctor, 0, 0, 3)
ZEND_ARG_TYPE_INFO(0, code, IS_LONG, 0)
ZEND_ARG_TYPE_INFO(0, errName, IS_STRING, 0)
ZEND_ARG_TYPE_INFO(0, strerror, IS_STRING, 0)
ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, context, IS_STRING, 0, "''")
ZEND_ARG_OBJ_INFO_WITH_DEFAULT_VALUE(0, previous, Throwable, 1, "null")
ZEND_END_ARG_INFO()

static const zend_function_entry wx_functions[] = {
    PHP_FE(warmth_is_warm, ai_model_bool)   /* */
    PHP_FE(warmth_touch, ai_model_bool)     /* */
    PHP_FE(warmth_report, ai_report)        /* */
    PHP_FE(warmth_wait_warm, ai_wait)       /* */
    PHP_FE(warmth_lookup, ai_lookup)        /* */
    PHP_FE(warmth_last_error, ai_long)      /* */
    PHP_FE(warmth_info, ai_info)            /* */
    PHP_FE(warmth_strerror, ai_code_string) /* */
    PHP_FE(warmth_err_name, ai_code_string) /* */
    PHP_FE_END};

#define WX_PUB ZEND_ACC_PUBLIC
#define WX_STATIC (ZEND_ACC_PUBLIC | ZEND_ACC_STATIC)

static const zend_function_entry wx_table_methods[] = {
    PHP_ME(Warmth_Table, __construct, ai_none, ZEND_ACC_PRIVATE) /* */
    PHP_ME(Warmth_Table, open, ai_open, WX_STATIC)               /* */
    PHP_ME(Warmth_Table, shared, ai_shared, WX_STATIC)           /* */
    PHP_ME(Warmth_Table, close, ai_void, WX_PUB)                 /* */
    PHP_ME(Warmth_Table, __clone, ai_void, WX_PUB)               /* */
    PHP_ME(Warmth_Table, __serialize, ai_array, WX_PUB)          /* */
    PHP_ME(Warmth_Table, __unserialize, ai_unserialize, WX_PUB)  /* */
    PHP_ME(Warmth_Table, shmName, ai_nstring, WX_PUB)            /* */
    PHP_ME(Warmth_Table, isOpen, ai_bool, WX_PUB)                /* */
    PHP_ME(Warmth_Table, lastError, ai_long, WX_PUB)             /* */
    PHP_ME(Warmth_Table, isWarm, ai_model_bool, WX_PUB)          /* */
    PHP_ME(Warmth_Table, touch, ai_model_bool, WX_PUB)           /* */
    PHP_ME(Warmth_Table, report, ai_report, WX_PUB)              /* */
    PHP_ME(Warmth_Table, waitWarm, ai_wait, WX_PUB)              /* */
    PHP_ME(Warmth_Table, lookup, ai_lookup, WX_PUB)              /* */
    PHP_ME(Warmth_Table, getIterator, ai_iter, WX_PUB)           /* */
    PHP_ME(Warmth_Table, models, ai_array, WX_PUB)               /* */
    PHP_ME(Warmth_Table, status, ai_status, WX_PUB)              /* */
    PHP_ME(Warmth_Table, version, ai_string, WX_STATIC)          /* */
    PHP_ME(Warmth_Table, defaultName, ai_string, WX_STATIC)      /* */
    PHP_FE_END};

static const zend_function_entry wx_info_methods[] = {
    PHP_ME(Warmth_ModelInfo, __construct, ai_none, ZEND_ACC_PRIVATE) /* */
    PHP_ME(Warmth_ModelInfo, hasFlag, ai_hasflag, WX_PUB)            /* */
    PHP_ME(Warmth_ModelInfo, flagNames, ai_array, WX_PUB)            /* */
    PHP_ME(Warmth_ModelInfo, costUsd, ai_double, WX_PUB)             /* */
    PHP_FE_END};

static const zend_function_entry wx_status_methods[] = {
    PHP_ME(Warmth_Status, __construct, ai_none, ZEND_ACC_PRIVATE) /* */
    PHP_ME(Warmth_Status, retiredName, ai_string, WX_PUB)         /* */
    PHP_ME(Warmth_Status, alive, ai_bool, WX_PUB)                 /* */
    PHP_FE_END};

static const zend_function_entry wx_exception_methods[] = {
    PHP_ME(Warmth_WarmthException, __construct, ai_exception_ctor, WX_PUB) /* */
    PHP_ME(Warmth_WarmthException, errName, ai_string, WX_PUB)             /* */
    PHP_ME(Warmth_WarmthException, strerror, ai_string, WX_PUB)            /* */
    PHP_FE_END};

/* ---- module ---------------------------------------------------------------
 */

PHP_INI_BEGIN()
STD_PHP_INI_ENTRY("warmth.shm", "", PHP_INI_SYSTEM, OnUpdateString, shm,
                  zend_warmth_globals, warmth_globals)
STD_PHP_INI_BOOLEAN("warmth.open_at_start", "0", PHP_INI_SYSTEM, OnUpdateBool,
                    open_at_start, zend_warmth_globals, warmth_globals)
PHP_INI_END()

static zend_class_entry *wx_register(const char *name,
                                     const zend_function_entry *methods,
                                     zend_class_entry *parent, uint32_t flags) {
  zend_class_entry ce;
  INIT_CLASS_ENTRY_EX(ce, name, strlen(name), methods);
  zend_class_entry *c = zend_register_internal_class_ex(&ce, parent);
  c->ce_flags |= flags;
  return c;
}

static void wx_const(zend_class_entry *ce, const char *name, zend_long v) {
  zend_declare_class_constant_long(ce, name, strlen(name), v);
}

static PHP_GINIT_FUNCTION(warmth) {
  memset(warmth_globals, 0, sizeof *warmth_globals);
}

static PHP_MINIT_FUNCTION(warmth) {
  REGISTER_INI_ENTRIES();
  zend_hash_init(&wx_segs, 4, NULL, wx_segs_dtor, 1);

  for (int i = 0; i < WARMTH_STATE_COUNT; i++) {
    const char *n = warmth_state_name(i);
    wx_state_names[i] = zend_string_init_interned(n, strlen(n), 1);
  }
  for (int i = 0; i < WARMTH_ERR_CLASS_COUNT; i++) {
    const char *n = warmth_error_class_name(i);
    wx_class_names[i] = zend_string_init_interned(n, strlen(n), 1);
  }

  /* Final, and no dynamic properties: a ModelInfo or Status is a read-only
   * copy ("cannot create dynamic property", "cannot modify readonly"). */
  const uint32_t copy = ZEND_ACC_FINAL | ZEND_ACC_NO_DYNAMIC_PROPERTIES;

  wx_ce_exception = wx_register("Warmth\\WarmthException", wx_exception_methods,
                                spl_ce_RuntimeException, ZEND_ACC_FINAL);
  zend_declare_property_string(wx_ce_exception, "errName", sizeof "errName" - 1,
                               "", ZEND_ACC_PRIVATE);
  zend_declare_property_string(wx_ce_exception, "strerror",
                               sizeof "strerror" - 1, "", ZEND_ACC_PRIVATE);
#define WX_ERR_CONST(name, num, msg) wx_const(wx_ce_exception, #name, -(num));
  WARMTH_ERRNO_MAP(WX_ERR_CONST)
#undef WX_ERR_CONST

  wx_ce_info = wx_register("Warmth\\ModelInfo", wx_info_methods, NULL, copy);
  wx_declare_props(wx_ce_info, wx_info_props,
                   sizeof wx_info_props / sizeof wx_info_props[0]);
  static const struct {
    const char *name;
    zend_long v;
  } info_consts[] = {
      {"UNKNOWN", WARMTH_UNKNOWN},
      {"WARMING", WARMTH_WARMING},
      {"WARM", WARMTH_WARM},
      {"FAILING", WARMTH_FAILING},
      {"IDLE", WARMTH_IDLE},
      {"DISABLED", WARMTH_DISABLED},
      {"REACHABLE", WARMTH_REACHABLE},
      {"SLEEPING", WARMTH_SLEEPING},
      {"F_SLOW", WARMTH_F_SLOW},
      {"F_KEY_PROBLEM", WARMTH_F_KEY_PROBLEM},
      {"F_BUDGET", WARMTH_F_BUDGET},
      {"F_PAUSED", WARMTH_F_PAUSED},
      {"F_THROTTLED", WARMTH_F_THROTTLED},
      {"F_REAL_TRAFFIC", WARMTH_F_REAL_TRAFFIC},
      {"F_PREFIX_CACHED", WARMTH_F_PREFIX_CACHED},
      {"F_FLEET", WARMTH_F_FLEET},
      {"F_MODEL_PROBLEM", WARMTH_F_MODEL_PROBLEM},
      {"F_OFF_HOURS", WARMTH_F_OFF_HOURS},
      {"HEADROOM_UNKNOWN", 0xffffffff},
  };
  for (size_t i = 0; i < sizeof info_consts / sizeof info_consts[0]; i++)
    wx_const(wx_ce_info, info_consts[i].name, info_consts[i].v);

  wx_ce_status = wx_register("Warmth\\Status", wx_status_methods, NULL, copy);
  wx_declare_props(wx_ce_status, wx_status_props,
                   sizeof wx_status_props / sizeof wx_status_props[0]);
  wx_const(wx_ce_status, "LIVE", 0);
  wx_const(wx_ce_status, "RETIRED", 1);
  wx_const(wx_ce_status, "SUPERSEDED", 2);

  wx_ce_table = wx_register("Warmth\\Table", wx_table_methods, NULL,
                            ZEND_ACC_FINAL | ZEND_ACC_NO_DYNAMIC_PROPERTIES);
  wx_ce_table->create_object = wx_table_create;
  zend_class_implements(wx_ce_table, 1, zend_ce_aggregate);
  wx_const(wx_ce_table, "NAME_MAX", WARMTH_NAME_MAX);
  memcpy(&wx_table_handlers, zend_get_std_object_handlers(),
         sizeof wx_table_handlers);
  wx_table_handlers.offset = XtOffsetOf(wx_table, std);
  wx_table_handlers.free_obj = wx_table_free;
  wx_table_handlers.clone_obj = wx_table_clone;

  /* warmth.open_at_start: the process handle of warmth.shm opened here, in
   * the process that loads the module: the PHP-FPM master or the Apache
   * parent, before they fork their children, who all inherit it (one open
   * and one mapping per pool instead of one per child).  Lazy, so no
   * coordinator is needed yet; a failure (a bad name) is a warning, and
   * the children then open their own. */
  if (WG(open_at_start)) {
    if (!wx_default_seg()) {
      if (EG(exception))
        zend_clear_exception();
      php_error_docref(NULL, E_WARNING,
                       "warmth.open_at_start: cannot open the table");
    }
  }
  return SUCCESS;
}

static PHP_MSHUTDOWN_FUNCTION(warmth) {
  zend_hash_destroy(&wx_segs);
  UNREGISTER_INI_ENTRIES();
  return SUCCESS;
}

static PHP_RINIT_FUNCTION(warmth) {
  WG(shared_objs) = NULL;
  WG(last_error) = 0;
  return SUCCESS;
}

static PHP_RSHUTDOWN_FUNCTION(warmth) {
  if (WG(shared_objs)) {
    zend_hash_destroy(WG(shared_objs));
    FREE_HASHTABLE(WG(shared_objs));
    WG(shared_objs) = NULL;
  }
  return SUCCESS;
}

static PHP_MINFO_FUNCTION(warmth) {
  php_info_print_table_start();
  php_info_print_table_row(2, "warmth support", "enabled");
  php_info_print_table_row(2, "extension version", PHP_WARMTH_VERSION);
  php_info_print_table_row(2, "libwarmth version", warmth_version_string());
  const char *ini = WG(shm), *env = getenv("WARMTH_SHM");
  const char *name = ini && *ini ? ini : env && *env ? env : WARMTH_SHM_DEFAULT;
  php_info_print_table_row(2, "shm name", name);
  /* Opening is what the first call would do anyway (lazy, cheap). */
  wx_seg *s = wx_default_seg();
  if (!s && EG(exception))
    zend_clear_exception();
  struct warmth_status st = {.size = sizeof st};
  int rc = s ? warmth_status(s->h, &st) : WARMTH_ENOENT;
  php_info_print_table_row(2, "attached", rc == 0 ? "yes" : "no");
  if (rc == 0) {
    char buf[64];
    snprintf(buf, sizeof buf, "%d", (int)st.pid);
    php_info_print_table_row(2, "coordinator pid", buf);
    php_info_print_table_row(2, "coordinator",
                             st.retired == 1   ? "retired"
                             : st.retired == 2 ? "superseded"
                             : st.stale        ? "stale"
                                               : "live");
    snprintf(buf, sizeof buf, "%u of %u", st.models, st.capacity);
    php_info_print_table_row(2, "models", buf);
  } else {
    php_info_print_table_row(2, "why not", warmth_strerror(rc));
  }
  if (s) {
    char buf[32];
    snprintf(buf, sizeof buf, "%u", zend_hash_num_elements(&s->models));
    php_info_print_table_row(2, "models resolved by this process", buf);
  }
  php_info_print_table_end();
  DISPLAY_INI_ENTRIES();
}

static const zend_module_dep wx_deps[] = {ZEND_MOD_REQUIRED("spl")
                                              ZEND_MOD_END};

zend_module_entry warmth_module_entry = {STANDARD_MODULE_HEADER_EX,
                                         NULL,
                                         wx_deps,
                                         "warmth",
                                         wx_functions,
                                         PHP_MINIT(warmth),
                                         PHP_MSHUTDOWN(warmth),
                                         PHP_RINIT(warmth),
                                         PHP_RSHUTDOWN(warmth),
                                         PHP_MINFO(warmth),
                                         PHP_WARMTH_VERSION,
                                         PHP_MODULE_GLOBALS(warmth),
                                         PHP_GINIT(warmth),
                                         NULL,
                                         NULL,
                                         STANDARD_MODULE_PROPERTIES_EX};

#ifdef COMPILE_DL_WARMTH
ZEND_GET_MODULE(warmth)
#endif
