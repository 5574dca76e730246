/* The model table: every model configured or asked for, with its settings,
 * its observed state (warmth, prefix cache, rate window) and its counters.
 * One mutex guards all of it: requests come from many connection threads
 * and /_stats must be exact, and no critical section sleeps or does I/O. */
#include "config.h"

#include "upstream.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A stress test may ask for thousands of names; past this, 503, so that a
 * runaway client cannot eat the machine. */
#define MODELS_MAX 100000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct up_model **order; /* insertion order, for stable listings */
static size_t count, cap;
static size_t *slots; /* open addressing: index into order + 1; 0 empty */
static size_t nslots; /* power of two, kept at most half full */
static bool restricted;
static struct up_model *star;
static struct {
  uint64_t total, models_list;
  struct up_counters status; /* only .status is used */
} global;

void up_models_lock(void) { pthread_mutex_lock(&lock); }
void up_models_unlock(void) { pthread_mutex_unlock(&lock); }

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 offset basis */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ULL; /* FNV 64 prime */
  return h;
}

static int rehash(size_t n) {
  size_t *s = calloc(n, sizeof *s);
  if (!s)
    return -1;
  for (size_t i = 0; i < count; i++) {
    size_t j = fnv1a(order[i]->name) & (n - 1);
    while (s[j])
      j = (j + 1) & (n - 1);
    s[j] = i + 1;
  }
  free(slots);
  slots = s;
  nslots = n;
  return 0;
}

static struct up_model *create(const char *name) {
  if (count >= MODELS_MAX)
    return NULL;
  if ((count + 1) * 2 > nslots && rehash(nslots * 2) != 0)
    return NULL;
  if (count == cap) {
    size_t ncap = cap ? cap * 2 : 64;
    struct up_model **o = realloc(order, ncap * sizeof *o);
    if (!o)
      return NULL;
    order = o;
    cap = ncap;
  }
  struct up_model *m = calloc(1, sizeof *m);
  if (!m || !(m->name = strdup(name))) {
    free(m);
    return NULL;
  }
  for (int i = 0; i < UP_SET_COUNT; i++)
    m->set[i] = UP_UNSET;
  order[count++] = m;
  size_t j = fnv1a(name) & (nslots - 1);
  while (slots[j])
    j = (j + 1) & (nslots - 1);
  slots[j] = count;
  return m;
}

struct up_model *up_model_find(const char *name, bool create_it) {
  for (size_t j = fnv1a(name) & (nslots - 1); slots[j];
       j = (j + 1) & (nslots - 1))
    if (!strcmp(order[slots[j] - 1]->name, name))
      return order[slots[j] - 1];
  return create_it ? create(name) : NULL;
}

int up_models_init(void) {
  if (rehash(256) != 0 || !(star = create(UP_STAR)))
    return -1;
  /* defaults from the issue: cold after 10 s, 800 ms cold, 20 ms warm */
  star->set[UP_SET_COLD_AFTER] = 10000;
  star->set[UP_SET_COLD_MS] = 800;
  star->set[UP_SET_WARM_MS] = 20;
  star->set[UP_SET_RPM] = 600;
  star->set[UP_SET_TPM] = 1000000;
  star->set[UP_SET_HEADROOM] = UP_UNSET; /* none: report the real value */
  return 0;
}

void up_models_free(void) {
  for (size_t i = 0; i < count; i++) {
    free(order[i]->name);
    free(order[i]);
  }
  free(order);
  free(slots);
  order = NULL;
  slots = NULL;
  count = cap = nslots = 0;
  star = NULL;
}

struct up_model *up_model_get(const char *name, bool *full) {
  *full = false;
  if (!name || !up_name_valid(name))
    return NULL;
  struct up_model *m = up_model_find(name, !restricted);
  if (!m && !restricted)
    *full = true;
  return m && up_model_exists(m) ? m : NULL;
}

struct up_model *up_model_star(void) {
  return star;
}

long up_model_setting(const struct up_model *m, enum up_setting s) {
  return m->set[s] != UP_UNSET ? m->set[s] : star->set[s];
}

bool up_model_exists(const struct up_model *m) {
  return m != star && (!restricted || m->listed);
}

bool up_name_valid(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > UP_NAME_MAX || !strcmp(name, UP_STAR))
    return false;
  for (; *name; name++)
    if ((unsigned char)*name < 0x20 || *name == 0x7f)
      return false;
  return true;
}

int up_models_restrict(const char *csv, const char **err) {
  const char *p = csv;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    char name[UP_NAME_MAX + 1];
    if (n > UP_NAME_MAX) {
      *err = "model name too long";
      return -1;
    }
    memcpy(name, p, n);
    name[n] = 0;
    if (!up_name_valid(name)) {
      *err = "bad or empty model name";
      return -1;
    }
    struct up_model *m = up_model_find(name, true);
    if (!m) {
      *err = "out of memory";
      return -1;
    }
    m->listed = true;
    restricted = true;
    if (!comma)
      return 0;
    p = comma + 1;
  }
}

static void status_add(struct up_counters *c, int code) {
  for (int i = 0; i < UP_STATUS_SLOTS; i++) {
    if (c->status[i].n == 0)
      c->status[i].code = code;
    if (c->status[i].code == code) {
      c->status[i].n++;
      return;
    }
  }
  /* all slots taken by other codes: cannot happen with the codes we send */
}

void up_count_request(void) { global.total++; }
void up_count_list(void) { global.models_list++; }

void up_count_status(struct up_model *m, int status) {
  status_add(&global.status, status);
  if (m && m != star)
    status_add(&m->c, status);
}

static json_t *status_json(const struct up_counters *c) {
  json_t *o = json_object();
  for (int i = 0; i < UP_STATUS_SLOTS && c->status[i].n; i++) {
    char key[16];
    if (c->status[i].code == UP_STATUS_RESET)
      strcpy(key, "reset");
    else if (c->status[i].code == UP_STATUS_TIMEOUT)
      strcpy(key, "timeout");
    else
      snprintf(key, sizeof key, "%d", c->status[i].code);
    json_object_set_new(o, key, json_integer((json_int_t)c->status[i].n));
  }
  return o;
}

json_t *up_stats_json(int64_t now) {
  json_t *models = json_object();
  for (size_t i = 0; i < count; i++) {
    const struct up_model *m = order[i];
    const struct up_counters *c = &m->c;
    if (m == star)
      continue;
    long cold_after = up_model_setting(m, UP_SET_COLD_AFTER);
    bool warm = m->warm_ns && now - m->warm_ns <= (int64_t)cold_after * 1000000;
    json_t *ago =
        c->last_ns ? json_integer((now - c->last_ns) / 1000000) : json_null();
    /* With last_request_ms_ago, the span of the requests on this clock:
     * tests judge counts against the time that really passed. */
    json_t *first_ago =
        c->first_ns ? json_integer((now - c->first_ns) / 1000000) : json_null();
    json_t *one = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:I,s:I,s:I,s:b}", "requests",
        (json_int_t)c->requests, "chat", (json_int_t)c->chat, "messages",
        (json_int_t)c->messages, "models_list", (json_int_t)c->models_list,
        "cold_served", (json_int_t)c->cold_served, "warm_served",
        (json_int_t)c->warm_served, "first_request_ms_ago", first_ago,
        "last_request_ms_ago", ago, "status_counts", status_json(c),
        "prompt_tokens", (json_int_t)c->prompt_tokens, "completion_tokens",
        (json_int_t)c->completion_tokens, "cached_tokens",
        (json_int_t)c->cached_tokens, "warm", warm);
    /* appended: reasoning and cache writes (parts of completion and
     * prompt tokens), and the requests per translated protocol */
    static const char *const via_name[UP_VIA__N] = {
        [UP_VIA_NATIVE] = "native",
        [UP_VIA_AZURE] = "azure",
        [UP_VIA_GEMINI] = "gemini",
    };
    json_t *via = json_object();
    for (int v = 0; v < UP_VIA__N; v++)
      json_object_set_new(via, via_name[v],
                          json_integer((json_int_t)c->via[v]));
    json_object_set_new(one, "reasoning_tokens",
                        json_integer((json_int_t)c->reasoning_tokens));
    json_object_set_new(one, "cache_write_tokens",
                        json_integer((json_int_t)c->cache_write_tokens));
    json_object_set_new(one, "via", via);
    json_object_set_new(models, m->name, one);
  }
  return json_pack("{s:o,s:I,s:I,s:o}", "models", models, "total",
                   (json_int_t)global.total, "models_list",
                   (json_int_t)global.models_list, "status_counts",
                   status_json(&global.status));
}

json_t *up_models_list_json(void) {
  json_t *data = json_array();
  for (size_t i = 0; i < count; i++) {
    if (!up_model_exists(order[i]))
      continue;
    /* both dialects: OpenAI reads id/object/owned_by, Anthropic
     * id/type/display_name */
    json_array_append_new(data, json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "id",
                                          order[i]->name, "object", "model",
                                          "created", 1700000000, "owned_by",
                                          "warmth-upstream", "type", "model",
                                          "display_name", order[i]->name));
  }
  return json_pack("{s:s,s:o,s:b}", "object", "list", "data", data, "has_more",
                   0);
}

json_t *up_faults_json(void) {
  json_t *o = json_object();
  for (size_t i = 0; i < count; i++) {
    char text[64];
    if (order[i]->fault.kind == UP_FAULT_NONE)
      continue;
    up_fault_format(&order[i]->fault, text, sizeof text);
    json_object_set_new(o, order[i]->name, json_string(text));
  }
  return json_pack("{s:o}", "faults", o);
}

void up_stats_reset(bool all) {
  memset(&global, 0, sizeof global);
  for (size_t i = 0; i < count; i++) {
    struct up_model *m = order[i];
    memset(&m->c, 0, sizeof m->c);
    if (!all)
      continue;
    m->warm_ns = m->prefix_ns = m->win_start_ns = 0;
    m->prefix_hash = 0;
    m->win_requests = m->win_tokens = 0;
    m->flaky_n = 0;
  }
}
