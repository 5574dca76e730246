// warmth.cc - the Node N-API addon of libwarmth (node-addon-api).
//
// Wrapped by index.js, which keeps one Table per process and caches the
// models it resolved by name (see doc/node.md):
//   Table  a warmth_t (warmth_open, lazy): calls by name, status(),
//          models(), resolve(name) -> model, close().
//   model  a resolved model handle (warmth_resolve) as a plain object of
//          functions isWarm(), touch(), report(), lookup(), waitWarm(),
//          which ask without hashing the name again.  isWarm and touch are
//          raw N-API callbacks with the handle as their data: no
//          ObjectWrap unwrap, no argument parsing (measured: a
//          node-addon-api InstanceMethod cost 165 ns a call here, a raw
//          callback 14 ns).  The Table owns its model handles (freed before
//          warmth_close, as warmth.h asks) and their entries (freed with
//          the Table); each function holds its Table's object (property
//          _table), so the Table outlives them, and checks it is open.
// lookup() fills two typed arrays shared with index.js (one per JS
// environment), which builds the object: a JS object literal is far cheaper
// than 33 napi_set_named_property calls (measured: 15 us a lookup).
//
// Errors: the per-request calls (isWarm, touch, report, waitWarm) never
// throw for an absent, stale or busy coordinator or an unknown model: they
// answer false and keep the code in lastError.  They throw for a caller's
// mistake (a bad name, a closed table), as lookup/status/models throw for
// everything: an Error with .code "WARMTH_E..." and .errno the library's
// negative code.
//
// waitWarm() returns a Promise: the futex wait of warmth_wait_warm runs on a
// thread of libuv's pool (napi async work), so the event loop goes on.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <warmth.h>

namespace {

// Resolved models per table: a worker uses a few; a caller passing user
// input must not grow the process without bound (index.js caps its Map at
// the same number).
constexpr size_t kModelsMax = 256;

Napi::Error WarmthError(Napi::Env env, int rc, const std::string &context) {
  std::string msg = context.empty() ? "" : context + ": ";
  msg += warmth_strerror(rc);
  msg += std::string(" (") + warmth_err_name(rc) + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, warmth_err_name(rc)));
  e.Set("errno", Napi::Number::New(env, rc));
  return e;
}

// A model name from argument i: a JS string of at most WARMTH_NAME_MAX bytes
// and no NUL (the library checks the rest).  False after throwing.
bool NameArg(const Napi::CallbackInfo &info, size_t i, char (&buf)[256]) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsString()) {
    Napi::TypeError::New(env, "model name must be a string")
        .ThrowAsJavaScriptException();
    return false;
  }
  size_t len = 0;
  napi_status st =
      napi_get_value_string_utf8(env, info[i], buf, sizeof buf, &len);
  if (st != napi_ok) {
    Napi::Error::New(env, "cannot read the model name")
        .ThrowAsJavaScriptException();
    return false;
  }
  // A NUL would cut the name short in C ("a\0b" would read as "a"), and a
  // name that filled the buffer was cut by it: both are bad names.
  if (len >= sizeof buf - 1 || std::memchr(buf, '\0', len) != nullptr) {
    WarmthError(env, WARMTH_ENAMETOOLONG, "bad model name")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

Napi::Object InfoObject(Napi::Env env, const struct warmth_model_info &in,
                        int64_t now) {
  Napi::Object o = Napi::Object::New(env);
  auto num = [&](const char *k, double v) {
    o.Set(k, Napi::Number::New(env, v));
  };
  // CLOCK_MONOTONIC ns as BigInt: the clock of process.hrtime.bigint(),
  // past 2^53 after 104 days of uptime.
  auto ns = [&](const char *k, int64_t v) {
    o.Set(k, Napi::BigInt::New(env, v));
  };
  o.Set("name",
        Napi::String::New(env, in.name, strnlen(in.name, sizeof in.name)));
  o.Set("state", Napi::String::New(env, warmth_state_name(in.state)));
  num("stateCode", in.state);
  num("httpStatus", in.http_status);
  ns("warmUntil", in.warm_until);
  ns("lastProbe", in.last_probe);
  ns("lastOk", in.last_ok);
  ns("retryAfterUntil", in.retry_after_until);
  num("successes", double(in.successes));
  num("failures", double(in.failures));
  num("tokensIn", double(in.tokens_in));
  num("tokensOut", double(in.tokens_out));
  num("tokensCached", double(in.tokens_cached));
  num("costNusd", double(in.cost_nusd));
  num("lastLatencyUs", in.last_latency_us);
  num("ewmaLatencyUs", in.ewma_latency_us);
  num("dnsUs", in.dns_us);
  num("connectUs", in.connect_us);
  num("tlsUs", in.tls_us);
  num("ttfbUs", in.ttfb_us);
  num("failsInRow", in.fails_in_row);
  num("flags", in.flags);
  o.Set("errorClass",
        Napi::String::New(env, warmth_error_class_name(in.error_class)));
  num("errorClassCode", in.error_class);
  num("endpoint", in.endpoint);
  num("headroomRequests", in.headroom_requests);
  num("headroomTokens", in.headroom_tokens);
  num("slot", in.slot);
  num("generation", double(in.generation));
  num("intervalMs", in.interval_ms);
  num("warmTtlMs", in.warm_ttl_ms);
  num("warmForSeconds", in.state == WARMTH_WARM && in.warm_until > now
                            ? double(in.warm_until - now) / 1e9
                            : 0.0);
  return o;
}

class Table;
void WaitBegin(Table *t);
void WaitEnd(Table *t, int rc);
warmth_t *RawHandle(Table *t);

// waitWarm on a thread of libuv's pool: by handle or by name.  The Table
// counts its waits in flight: close() frees the handles only after the last
// one (a wait reads them on another thread).
class WaitWorker : public Napi::AsyncWorker {
public:
  WaitWorker(Napi::Env env, Napi::Object table, Table *t, warmth_model_t *m,
             const char *name, uint32_t ms)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)),
        t_(t), h_(RawHandle(t)), m_(m), name_(name ? name : ""), ms_(ms) {
    // The Table object, hence its handles, lives until the wait is over.
    table_ = Napi::Persistent(table);
    WaitBegin(t_);
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    rc_ = m_ ? warmth_model_wait_warm(m_, ms_)
             : warmth_wait_warm(h_, name_.c_str(), ms_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    WaitEnd(t_, rc_);
    if (rc_ == WARMTH_EINVAL || rc_ == WARMTH_ENAMETOOLONG)
      deferred_.Reject(WarmthError(env, rc_, "waitWarm").Value());
    else
      deferred_.Resolve(Napi::Boolean::New(env, rc_ == 1));
  }

private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference table_;
  Table *t_;
  warmth_t *h_;
  warmth_model_t *m_;
  std::string name_;
  uint32_t ms_;
  int rc_ = 0;
};

// Per JS environment (the main thread, each worker_thread): lookup()'s
// output arrays.  Layout: see FillInfo() and index.js infoFrom().
constexpr size_t kInfoF64 = 30, kInfoI64 = 4;
struct AddonData {
  Napi::Reference<Napi::Float64Array> f64;
  Napi::Reference<Napi::BigInt64Array> i64;
  double *f;
  int64_t *i;
};

void FillInfo(Napi::Env env, const struct warmth_model_info &in) {
  AddonData *d = env.GetInstanceData<AddonData>();
  double *f = d->f;
  int64_t *i = d->i;
  int64_t now = NowNs();
  f[0] = in.state;
  f[1] = in.http_status;
  f[2] = double(in.successes);
  f[3] = double(in.failures);
  f[4] = double(in.tokens_in);
  f[5] = double(in.tokens_out);
  f[6] = double(in.tokens_cached);
  f[7] = double(in.cost_nusd);
  f[8] = in.last_latency_us;
  f[9] = in.ewma_latency_us;
  f[10] = in.dns_us;
  f[11] = in.connect_us;
  f[12] = in.tls_us;
  f[13] = in.ttfb_us;
  f[14] = in.fails_in_row;
  f[15] = in.flags;
  f[16] = in.error_class;
  f[17] = in.endpoint;
  f[18] = in.headroom_requests;
  f[19] = in.headroom_tokens;
  f[20] = in.slot;
  f[21] = double(in.generation);
  f[22] = in.interval_ms;
  f[23] = in.warm_ttl_ms;
  f[24] = in.state == WARMTH_WARM && in.warm_until > now
              ? double(in.warm_until - now) / 1e9
              : 0.0;
  i[0] = in.warm_until;
  i[1] = in.last_probe;
  i[2] = in.last_ok;
  i[3] = in.retry_after_until;
}

// One resolved model of a Table: the data of its functions.
struct ModelEntry {
  warmth_model_t *m;
  Table *t;
  std::string name;
};

// Timeout argument i: milliseconds >= 0, clamped to uint32.
bool MsArg(const Napi::CallbackInfo &info, size_t i, uint32_t *ms) {
  double v = info.Length() > i && info[i].IsNumber()
                 ? info[i].As<Napi::Number>().DoubleValue()
                 : NAN;
  if (!(v >= 0)) {
    WarmthError(info.Env(), WARMTH_EINVAL,
                "waitWarm: timeout must be a number of ms >= 0")
        .ThrowAsJavaScriptException();
    return false;
  }
  *ms = v >= 4294967295.0 ? UINT32_MAX : uint32_t(std::ceil(v));
  return true;
}

bool ReportArgs(const Napi::CallbackInfo &info, size_t i, uint32_t *us,
                int *ok) {
  double v = info.Length() > i && info[i].IsNumber()
                 ? info[i].As<Napi::Number>().DoubleValue()
                 : NAN;
  if (!(v >= 0)) {
    WarmthError(info.Env(), WARMTH_EINVAL,
                "report: latency must be a number of us >= 0")
        .ThrowAsJavaScriptException();
    return false;
  }
  *us = v >= 4294967295.0 ? UINT32_MAX : uint32_t(std::llround(v));
  *ok = info.Length() > i + 1 && info[i + 1].ToBoolean().Value();
  return true;
}

class Table : public Napi::ObjectWrap<Table> {
public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Table",
                       {
                           InstanceMethod<&Table::IsWarm>("isWarm"),
                           InstanceMethod<&Table::Touch>("touch"),
                           InstanceMethod<&Table::Report>("report"),
                           InstanceMethod<&Table::Lookup>("lookup"),
                           InstanceMethod<&Table::WaitWarm>("waitWarm"),
                           InstanceMethod<&Table::Resolve>("resolve"),
                           InstanceMethod<&Table::Status>("status"),
                           InstanceMethod<&Table::Models>("models"),
                           InstanceMethod<&Table::Close>("close"),
                           InstanceMethod<&Table::IsOpen>("isOpen"),
                           InstanceMethod<&Table::LastError>("lastError"),
                           InstanceMethod<&Table::Resolved>("resolved"),
                       });
  }

  // new Table(shm | null, lazy): warmth_open.
  Table(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Table>(info) {
    Napi::Env env = info.Env();
    std::string shm;
    bool have_shm = info.Length() > 0 && info[0].IsString();
    if (have_shm) {
      shm = info[0].As<Napi::String>().Utf8Value();
      if (shm.empty() || shm.find('\0') != std::string::npos) {
        WarmthError(env, WARMTH_EINVAL, "open: bad segment name")
            .ThrowAsJavaScriptException();
        return;
      }
    }
    bool lazy = info.Length() < 2 || info[1].ToBoolean().Value();
    int rc = warmth_open(&h_, have_shm ? shm.c_str() : nullptr,
                         lazy ? WARMTH_OPEN_LAZY : 0);
    if (rc != 0) {
      const char *env_shm = getenv("WARMTH_SHM");
      WarmthError(env, rc,
                  "open " + (have_shm              ? shm
                             : env_shm && *env_shm ? std::string(env_shm)
                                                   : WARMTH_SHM_DEFAULT))
          .ThrowAsJavaScriptException();
      h_ = nullptr;
    }
  }
  ~Table() override {
    closed_ = true;
    FreeHandles();
  }

  // The handle while the table is open (closed: nullptr).
  warmth_t *h() const { return closed_ ? nullptr : h_; }
  warmth_t *raw() const { return h_; }
  void WaitBegin() { waits_++; }
  void WaitEnd(int rc) {
    last_error_ = rc < 0 ? rc : 0;
    if (--waits_ == 0 && closed_)
      FreeHandles();
  }

  int Soft(Napi::Env env, int rc, const char *what) {
    if (rc >= 0) {
      last_error_ = 0;
      return rc;
    }
    last_error_ = rc;
    if (rc == WARMTH_EINVAL || rc == WARMTH_ENAMETOOLONG)
      WarmthError(env, rc, what).ThrowAsJavaScriptException();
    return rc;
  }

  warmth_t *Live(Napi::Env env) {
    if (!closed_ && h_)
      return h_;
    WarmthError(env, WARMTH_EINVAL, "table is closed")
        .ThrowAsJavaScriptException();
    return nullptr;
  }

private:
  void FreeHandles() {
    if (waits_ > 0)
      return; // WaitEnd() of the last wait frees them
    std::lock_guard<std::mutex> g(mu_);
    // Model handles first: they belong to the warmth_t (warmth.h).
    for (auto &kv : models_) {
      warmth_model_free(kv.second->m);
      kv.second->m = nullptr;
    }
    warmth_close(h_);
    h_ = nullptr;
  }

  Napi::Value IsWarm(const Napi::CallbackInfo &info) {
    char name[256];
    warmth_t *h = Live(info.Env());
    if (!h || !NameArg(info, 0, name))
      return info.Env().Undefined();
    return Napi::Boolean::New(
        info.Env(), Soft(info.Env(), warmth_is_warm(h, name), "isWarm") == 1);
  }
  Napi::Value Touch(const Napi::CallbackInfo &info) {
    char name[256];
    warmth_t *h = Live(info.Env());
    if (!h || !NameArg(info, 0, name))
      return info.Env().Undefined();
    return Napi::Boolean::New(
        info.Env(), Soft(info.Env(), warmth_touch(h, name), "touch") == 0);
  }
  Napi::Value Report(const Napi::CallbackInfo &info) {
    char name[256];
    uint32_t us;
    int ok;
    warmth_t *h = Live(info.Env());
    if (!h || !NameArg(info, 0, name) || !ReportArgs(info, 1, &us, &ok))
      return info.Env().Undefined();
    return Napi::Boolean::New(
        info.Env(),
        Soft(info.Env(), warmth_report(h, name, us, ok), "report") == 0);
  }
  Napi::Value Lookup(const Napi::CallbackInfo &info) {
    char name[256];
    warmth_t *h = Live(info.Env());
    if (!h || !NameArg(info, 0, name))
      return info.Env().Undefined();
    struct warmth_model_info in;
    in.size = sizeof in;
    int rc = warmth_lookup(h, name, &in);
    if (rc != 0) {
      WarmthError(info.Env(), rc, std::string("lookup ") + name)
          .ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    FillInfo(info.Env(), in); // index.js builds the object
    return Napi::Number::New(info.Env(), 0);
  }
  Napi::Value WaitWarm(const Napi::CallbackInfo &info) {
    char name[256];
    uint32_t ms;
    warmth_t *h = Live(info.Env());
    if (!h || !NameArg(info, 0, name) || !MsArg(info, 1, &ms))
      return info.Env().Undefined();
    auto *w = new WaitWorker(info.Env(), Value(), this, nullptr, name, ms);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  // resolve(name) -> model (an object of functions, see the top), or null
  // when the name cannot be resolved (bad name: the call by name says why)
  // or kModelsMax models are held.
  Napi::Value Resolve(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    char name[256];
    warmth_t *h = Live(env);
    if (!h || !NameArg(info, 0, name))
      return env.Undefined();
    ModelEntry *e;
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = models_.find(name);
      if (it != models_.end()) {
        e = it->second.get();
      } else {
        warmth_model_t *m;
        if (models_.size() >= kModelsMax || warmth_resolve(h, name, &m) != 0)
          return env.Null();
        auto owned = std::make_unique<ModelEntry>(ModelEntry{m, this, name});
        e = owned.get();
        models_.emplace(name, std::move(owned));
      }
    }
    return ModelObject(env, e, Value());
  }

  int Soft(napi_env env, int rc, const char *what) {
    return Soft(Napi::Env(env), rc, what);
  }
  bool closed() const { return closed_; }

private:
  static Napi::Object ModelObject(Napi::Env env, ModelEntry *e,
                                  Napi::Object table) {
    Napi::Object o = Napi::Object::New(env);
    const struct {
      const char *name;
      napi_callback cb;
    } fns[] = {{"isWarm", MIsWarm},
               {"touch", MTouch},
               {"report", MReport},
               {"lookup", MLookup},
               {"waitWarm", MWaitWarm}};
    for (const auto &f : fns) {
      napi_value fn;
      NAPI_THROW_IF_FAILED(
          env,
          napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, e, &fn),
          Napi::Object());
      Napi::Function func(env, fn);
      func.Set("_table", table); // the Table outlives its functions
      o.Set(f.name, func);
    }
    o.Set("name", e->name);
    o.Set("_table", table);
    return o;
  }

  // The entry of a model function's call, or nullptr after throwing
  // "table is closed".
  static ModelEntry *Entry(napi_env env, napi_callback_info info) {
    void *data;
    napi_get_cb_info(env, info, nullptr, nullptr, nullptr, &data);
    ModelEntry *e = static_cast<ModelEntry *>(data);
    if (!e->t->closed())
      return e;
    WarmthError(Napi::Env(env), WARMTH_EINVAL, "table is closed")
        .ThrowAsJavaScriptException();
    return nullptr;
  }

  static napi_value Bool(napi_env env, bool v) {
    napi_value r;
    napi_get_boolean(env, v, &r);
    return r;
  }

  static napi_value MIsWarm(napi_env env, napi_callback_info info) {
    ModelEntry *e = Entry(env, info);
    if (!e)
      return nullptr;
    int rc = warmth_model_is_warm(e->m);
    if (rc >= 0) { // the common case, without a call
      e->t->last_error_ = 0;
      return Bool(env, rc == 1);
    }
    e->t->Soft(env, rc, "isWarm");
    return Bool(env, false);
  }

  static napi_value MTouch(napi_env env, napi_callback_info info) {
    ModelEntry *e = Entry(env, info);
    if (!e)
      return nullptr;
    return Bool(env, e->t->Soft(env, warmth_model_touch(e->m), "touch") == 0);
  }

  static napi_value MReport(napi_env env, napi_callback_info info) {
    Napi::CallbackInfo ci(env, info);
    ModelEntry *e = static_cast<ModelEntry *>(ci.Data());
    uint32_t us;
    int ok;
    if (!Entry(env, info) || !ReportArgs(ci, 0, &us, &ok))
      return nullptr;
    return Bool(
        env, e->t->Soft(env, warmth_model_report(e->m, us, ok), "report") == 0);
  }

  // lookup() -> 0 with the record in the shared arrays, or throws.
  static napi_value MLookup(napi_env env, napi_callback_info info) {
    ModelEntry *e = Entry(env, info);
    if (!e)
      return nullptr;
    struct warmth_model_info in;
    in.size = sizeof in;
    int rc = warmth_model_lookup(e->m, &in);
    if (rc != 0) {
      WarmthError(Napi::Env(env), rc, "lookup " + e->name)
          .ThrowAsJavaScriptException();
      return nullptr;
    }
    FillInfo(Napi::Env(env), in);
    napi_value r;
    napi_create_int32(env, 0, &r);
    return r;
  }

  static napi_value MWaitWarm(napi_env env, napi_callback_info info) {
    Napi::CallbackInfo ci(env, info);
    ModelEntry *e = static_cast<ModelEntry *>(ci.Data());
    uint32_t ms;
    if (!Entry(env, info) || !MsArg(ci, 0, &ms))
      return nullptr;
    // The Table's object is alive: this function holds it (_table).
    auto *w = new WaitWorker(ci.Env(), e->t->Value(), e->t, e->m, nullptr, ms);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

public:
  Napi::Value Status(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    warmth_t *h = Live(env);
    if (!h)
      return env.Undefined();
    struct warmth_status st;
    st.size = sizeof st;
    int rc = warmth_status(h, &st);
    if (rc != 0) {
      WarmthError(env, rc, "status").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("pid", st.pid);
    o.Set("heartbeatAgeNs", Napi::BigInt::New(env, st.heartbeat_age_ns));
    o.Set("staleAfterNs", Napi::BigInt::New(env, st.stale_after_ns));
    o.Set("createdNs", Napi::BigInt::New(env, st.created_ns));
    o.Set("retired", st.retired);
    o.Set("stale", st.stale != 0);
    o.Set("alive", st.stale == 0 && st.retired == 0);
    o.Set("models", st.models);
    o.Set("capacity", st.capacity);
    o.Set("indexGeneration", double(st.index_generation));
    return o;
  }

  struct Walk {
    Napi::Env env;
    Napi::Object out;
    int64_t now;
  };
  static int WalkFn(const struct warmth_model_info *in, void *arg) {
    Walk *w = static_cast<Walk *>(arg);
    w->out.Set(std::string(in->name, strnlen(in->name, sizeof in->name)),
               InfoObject(w->env, *in, w->now));
    return 0;
  }
  Napi::Value Models(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    warmth_t *h = Live(env);
    if (!h)
      return env.Undefined();
    Walk w{env, Napi::Object::New(env), NowNs()};
    int rc = warmth_foreach(h, WalkFn, &w);
    if (rc < 0) {
      WarmthError(env, rc, "foreach").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return w.out;
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    closed_ = true;
    FreeHandles();
    return info.Env().Undefined();
  }
  Napi::Value IsOpen(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), !closed_ && h_ != nullptr);
  }
  Napi::Value LastError(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), last_error_);
  }
  Napi::Value Resolved(const Napi::CallbackInfo &info) {
    std::lock_guard<std::mutex> g(mu_);
    return Napi::Number::New(info.Env(), double(models_.size()));
  }

  warmth_t *h_ = nullptr;
  bool closed_ = false;
  unsigned waits_ = 0; // waitWarm() in flight (JS thread only)
  int last_error_ = 0;
  std::mutex mu_; // models_: resolve() and close() (waits run elsewhere)
  // Entries live as long as the Table (their functions may outlive a
  // close(): they then throw); their handles are freed by close().
  std::unordered_map<std::string, std::unique_ptr<ModelEntry>> models_;
};

void WaitBegin(Table *t) { t->WaitBegin(); }
void WaitEnd(Table *t, int rc) { t->WaitEnd(rc); }
warmth_t *RawHandle(Table *t) { return t->raw(); }

Napi::Value ErrName(const Napi::CallbackInfo &info) {
  int rc = info.Length() > 0 && info[0].IsNumber()
               ? info[0].As<Napi::Number>().Int32Value()
               : 0;
  return Napi::String::New(info.Env(), warmth_err_name(rc));
}

Napi::Value StrError(const Napi::CallbackInfo &info) {
  int rc = info.Length() > 0 && info[0].IsNumber()
               ? info[0].As<Napi::Number>().Int32Value()
               : 0;
  return Napi::String::New(info.Env(), warmth_strerror(rc));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto *d = new AddonData;
  Napi::Float64Array f64 = Napi::Float64Array::New(env, kInfoF64);
  Napi::BigInt64Array i64 = Napi::BigInt64Array::New(env, kInfoI64);
  d->f = f64.Data();
  d->i = i64.Data();
  d->f64 = Napi::Persistent(f64);
  d->i64 = Napi::Persistent(i64);
  env.SetInstanceData(d);
  exports.Set("infoF64", f64);
  exports.Set("infoI64", i64);
  Napi::Array states = Napi::Array::New(env), classes = Napi::Array::New(env);
  for (int i = 0; i < WARMTH_STATE_COUNT; i++)
    states.Set(uint32_t(i), warmth_state_name(i));
  for (int i = 0; i < WARMTH_ERR_CLASS_COUNT; i++)
    classes.Set(uint32_t(i), warmth_error_class_name(i));
  exports.Set("stateNames", states);
  exports.Set("errorClassNames", classes);
  exports.Set("Table", Table::Init(env));
  exports.Set("version", Napi::String::New(env, warmth_version_string()));
  exports.Set("errName", Napi::Function::New(env, ErrName, "errName"));
  exports.Set("strerror", Napi::Function::New(env, StrError, "strerror"));
  Napi::Object errors = Napi::Object::New(env);
#define WARMTH_NODE_ERR(name, num, msg) errors.Set(#name, -(num));
  WARMTH_ERRNO_MAP(WARMTH_NODE_ERR)
#undef WARMTH_NODE_ERR
  exports.Set("errors", errors);
  exports.Set("NAME_MAX", WARMTH_NAME_MAX);
  return exports;
}

} // namespace

NODE_API_MODULE(warmth, Init)
