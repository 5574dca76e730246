/* native.c - warmth._native: the CPython extension behind warmth.Table.
 *
 * The ctypes binding pays for the ctypes call (argument conversion, a
 * PyDLL call) and for a Python-level method around it: 680 ns per is_warm
 * on the project's machine, where the C call costs 20.  Here is_warm,
 * lookup, touch and report are C methods of the base type of warmth.Table:
 *   - each Table keeps a dict name -> Model (a resolved warmth_model_t *,
 *     warmth_resolve()), so a question costs one dict lookup with the str's
 *     cached hash and one warmth_model_is_warm(): no hashing of the name in
 *     C, no encoding, no allocation;
 *   - lookup builds the same ModelInfo NamedTuple as the ctypes path, in
 *     place (tp_alloc of the tuple subclass), reusing the Model's name str
 *     and the enum members and names the package hands over once.
 * Everything that is not on a request path (open's arguments, errors, the
 * wait loop, status conversion) stays in Python (warmth/_ntable.py).
 *
 * libwarmth is not linked: load() dlopen()s the library the package found
 * ($WARMTH_LIB, find_library, libwarmth.so.0; warmth/_lib.py) and resolves
 * the functions by name, so the extension and the ctypes path always use
 * the same library, and a library without warmth_resolve() (older than
 * this extension) refuses the native path with ImportError.
 *
 * Fork: a Table opened in a pre-fork master works in the workers (the
 * handles of libwarmth are fork-safe, the dict is copied with the process).
 * The GIL is held during the lock-free calls (releasing it would cost more
 * than the call) and released while warmth_open() and
 * warmth_model_wait_warm() may block.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "warmth.h"

/* ---- the library, resolved by name ------------------------------------- */

static struct {
  void *dl;
  int (*open)(warmth_t **, const char *, unsigned);
  void (*close)(warmth_t *);
  int (*resolve)(warmth_t *, const char *, warmth_model_t **);
  void (*model_free)(warmth_model_t *);
  int (*model_is_warm)(warmth_model_t *);
  int (*model_lookup)(warmth_model_t *, struct warmth_model_info *);
  int (*model_touch)(warmth_model_t *);
  int (*model_report)(warmth_model_t *, uint32_t, int);
  int (*model_wait_warm)(warmth_model_t *, uint32_t);
  int (*foreach)(warmth_t *, warmth_iter_fn, void *);
  int (*status)(warmth_t *, struct warmth_status *);
} W;

/* What the package hands over once (load()): the record type and the
 * tables that turn numbers into the enum members and names. */
static PyObject *ModelInfoType; /* warmth.records.ModelInfo */
static PyObject *States;        /* tuple: state value -> State member */
static PyObject *StateNames;    /* tuple: state value -> "warm" */
static PyObject *Classes;       /* tuple: class value -> ErrorClass member */
static PyObject *ClassNames;    /* tuple: class value -> "timeout" */
static PyObject *FlagsFn;       /* warmth.records.flags(int) -> Flags */
static PyObject *FlagsCache;    /* its dict int -> Flags */
static PyObject *StrInvalid;    /* "invalid" */
static PyObject *FloatZero;     /* 0.0 */
static PyObject *StrFail;       /* "_fail" */
static PyObject *WarmthError;   /* warmth.errors.WarmthError */

#define NAMES_MAX 4096 /* names cached per Table, as the ctypes path */
#define INFO_FIELDS 33 /* fields of ModelInfo */

/* ---- Model: one resolved name ------------------------------------------ */

typedef struct {
  PyObject_HEAD warmth_model_t *m;
  PyObject *name; /* the name as a str, for ModelInfo.name */
} ModelObject;

static void Model_dealloc(ModelObject *self) {
  if (self->m)
    W.model_free(self->m);
  Py_XDECREF(self->name);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "warmth._native.Model",
    .tp_basicsize = sizeof(ModelObject),
    .tp_dealloc = (destructor)Model_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "a model name resolved in a Table (internal)",
};

/* ---- Table: the base type of warmth.Table -------------------------------- */

typedef struct {
  PyObject_HEAD warmth_t *h;
  PyObject *models; /* dict: name (str or bytes) -> Model */
  PyObject *weakrefs;
} TableObject;

/* Raises what the Python side says for rc (self._fail(rc, model)). */
static PyObject *fail(TableObject *self, int rc, PyObject *model) {
  PyObject *code = PyLong_FromLong(rc);
  if (!code)
    return NULL;
  PyObject *exc = PyObject_CallMethodObjArgs((PyObject *)self, StrFail, code,
                                             model ? model : Py_None, NULL);
  Py_DECREF(code);
  if (exc) {
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
  }
  return NULL;
}

/* The Model of `key`, resolved on first use (borrowed reference), or NULL
 * with an exception set.  A refused name raises the WarmthError the ctypes
 * path raises (InvalidName); a key of another type, its TypeError. */
static ModelObject *get_model(TableObject *self, PyObject *key) {
  PyObject *m = PyDict_GetItemWithError(self->models, key);
  if (m)
    return (ModelObject *)m;
  if (PyErr_Occurred())
    return NULL;
  if (!self->h) {
    fail(self, WARMTH_EINVAL, key);
    return NULL;
  }
  PyObject *name;
  const char *s;
  Py_ssize_t n;
  if (PyUnicode_Check(key)) {
    if (!PyUnicode_IS_ASCII(key)) {
      fail(self, WARMTH_ENAMETOOLONG, key);
      return NULL;
    }
    s = PyUnicode_AsUTF8AndSize(key, &n);
    if (!s)
      return NULL;
    name = key;
    Py_INCREF(name);
  } else if (PyBytes_Check(key)) {
    s = PyBytes_AS_STRING(key);
    n = PyBytes_GET_SIZE(key);
    name = PyUnicode_DecodeASCII(s, n, "replace");
    if (!name)
      return NULL;
  } else {
    PyErr_Format(PyExc_TypeError, "model name must be str or bytes, not %s",
                 Py_TYPE(key)->tp_name);
    return NULL;
  }
  warmth_model_t *wm = NULL;
  int rc = (Py_ssize_t)strlen(s) != n ? WARMTH_ENAMETOOLONG /* a NUL */
                                      : W.resolve(self->h, s, &wm);
  if (rc < 0) {
    Py_DECREF(name);
    fail(self, rc, key);
    return NULL;
  }
  ModelObject *mo = PyObject_New(ModelObject, &ModelType);
  if (!mo) {
    W.model_free(wm);
    Py_DECREF(name);
    return NULL;
  }
  mo->m = wm;
  mo->name = name;
  if (PyDict_GET_SIZE(self->models) >= NAMES_MAX)
    PyDict_Clear(self->models); /* a Model in use elsewhere holds a ref */
  rc = PyDict_SetItem(self->models, key, (PyObject *)mo);
  Py_DECREF(mo); /* the dict holds it now, or it is freed */
  return rc ? NULL : mo;
}

static int Table_init_fields(TableObject *self) {
  self->h = NULL;
  self->models = PyDict_New();
  return self->models ? 0 : -1;
}

static PyObject *Table_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  (void)args;
  (void)kw;
  TableObject *self = (TableObject *)type->tp_alloc(type, 0);
  if (self && Table_init_fields(self)) {
    Py_DECREF(self);
    return NULL;
  }
  return (PyObject *)self;
}

static void Table_close_handle(TableObject *self) {
  warmth_t *h = self->h;
  self->h = NULL;
  /* Handles first: a Model belongs to the warmth_t it came from. */
  if (self->models)
    PyDict_Clear(self->models);
  if (h)
    W.close(h);
}

static int Table_traverse(TableObject *self, visitproc visit, void *arg) {
  Py_VISIT(self->models);
  return 0;
}

static int Table_clear(TableObject *self) {
  Py_CLEAR(self->models);
  return 0;
}

/* A static type: for a Python subclass (warmth.Table), subtype_dealloc
 * untracks, calls this and drops the reference to the subclass. */
static void Table_dealloc(TableObject *self) {
  PyObject_GC_UnTrack(self);
  if (self->weakrefs)
    PyObject_ClearWeakRefs((PyObject *)self);
  Table_close_handle(self);
  Py_CLEAR(self->models);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

/* _open(name: bytes | None, flags: int) -> rc.  Blocks (NSS lookups): the
 * GIL is released. */
static PyObject *Table_open(TableObject *self, PyObject *args) {
  PyObject *name;
  unsigned flags;
  if (!PyArg_ParseTuple(args, "OI", &name, &flags))
    return NULL;
  if (!W.open) {
    PyErr_SetString(PyExc_RuntimeError, "warmth._native.load() not called");
    return NULL;
  }
  if (self->h) {
    PyErr_SetString(PyExc_RuntimeError, "table already open");
    return NULL;
  }
  const char *s = NULL;
  if (name != Py_None) {
    if (!PyBytes_Check(name)) {
      PyErr_SetString(PyExc_TypeError, "shm must be bytes or None");
      return NULL;
    }
    s = PyBytes_AS_STRING(name);
  }
  warmth_t *h = NULL;
  int rc;
  Py_BEGIN_ALLOW_THREADS rc = W.open(&h, s, flags);
  Py_END_ALLOW_THREADS if (rc == 0) self->h = h;
  return PyLong_FromLong(rc);
}

static PyObject *Table_close(TableObject *self, PyObject *unused) {
  (void)unused;
  Table_close_handle(self);
  Py_RETURN_NONE;
}

static PyObject *Table_closed(TableObject *self, void *unused) {
  (void)unused;
  return PyBool_FromLong(self->h == NULL);
}

/* is_warm(model, default=<raise>): see warmth/_ntable.py for the contract. */
static PyObject *Table_is_warm(TableObject *self, PyObject *const *args,
                               Py_ssize_t nargs, PyObject *kwnames) {
  PyObject *dflt = NULL;
  if (__builtin_expect(nargs != 1 || kwnames, 0)) {
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs == 2 && nkw == 0)
      dflt = args[1];
    else if (nargs == 1 && nkw == 1 &&
             PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0),
                                              "default") == 0)
      dflt = args[1];
    else if (!(nargs == 1 && nkw == 0)) {
      PyErr_SetString(PyExc_TypeError,
                      "is_warm(model, default=...) takes a model name and an "
                      "optional default");
      return NULL;
    }
  }
  PyObject *model = args[0];
  ModelObject *m = get_model(self, model);
  if (__builtin_expect(!m, 0)) {
    if (dflt && PyErr_ExceptionMatches(WarmthError)) {
      PyErr_Clear(); /* a name refused before the call: the default */
      Py_INCREF(dflt);
      return dflt;
    }
    return NULL;
  }
  int rc = W.model_is_warm(m->m);
  if (__builtin_expect(rc >= 0, 1))
    return PyBool_FromLong(rc);
  if (dflt) {
    Py_INCREF(dflt);
    return dflt;
  }
  return fail(self, rc, model);
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* tab[v] for a small enum value, else `dflt` (or the int itself). */
static PyObject *from_table(PyObject *tab, unsigned v, PyObject *dflt) {
  if (v < (unsigned)PyTuple_GET_SIZE(tab)) {
    PyObject *o = PyTuple_GET_ITEM(tab, v);
    Py_INCREF(o);
    return o;
  }
  if (dflt) {
    Py_INCREF(dflt);
    return dflt;
  }
  return PyLong_FromUnsignedLong(v);
}

static PyObject *flags_of(uint32_t v) {
  PyObject *k = PyLong_FromUnsignedLong(v);
  if (!k)
    return NULL;
  PyObject *f = PyDict_GetItemWithError(FlagsCache, k);
  if (f) {
    Py_INCREF(f);
  } else if (!PyErr_Occurred()) {
    f = PyObject_CallFunctionObjArgs(FlagsFn, k, NULL);
  }
  Py_DECREF(k);
  return f;
}

/* ModelInfo of a copied record, in ModelInfo's field order (records.py);
 * `name` is the str to use, or NULL to decode info->name. */
static PyObject *record(const struct warmth_model_info *i, PyObject *name,
                        int64_t now) {
  PyTypeObject *tp = (PyTypeObject *)ModelInfoType;
  PyObject *r = tp->tp_alloc(tp, INFO_FIELDS);
  if (!r)
    return NULL;
  if (name)
    Py_INCREF(name);
  else
    name = PyUnicode_DecodeASCII(
        i->name, (Py_ssize_t)strnlen(i->name, sizeof i->name), "replace");
  double warm_for = 0.0;
  int warm = i->state == WARMTH_WARM && i->warm_until > now;
  if (warm)
    warm_for = (double)(i->warm_until - now) / 1e9;
  PyObject *v[INFO_FIELDS] = {
      name,
      from_table(States, i->state, NULL),
      from_table(StateNames, i->state, StrInvalid),
      PyLong_FromUnsignedLong(i->http_status),
      PyLong_FromLongLong(i->warm_until),
      PyLong_FromLongLong(i->last_probe),
      PyLong_FromLongLong(i->last_ok),
      PyLong_FromLongLong(i->retry_after_until),
      PyLong_FromUnsignedLongLong(i->successes),
      PyLong_FromUnsignedLongLong(i->failures),
      PyLong_FromUnsignedLongLong(i->tokens_in),
      PyLong_FromUnsignedLongLong(i->tokens_out),
      PyLong_FromUnsignedLongLong(i->tokens_cached),
      PyLong_FromUnsignedLongLong(i->cost_nusd),
      PyLong_FromUnsignedLong(i->last_latency_us),
      PyLong_FromUnsignedLong(i->ewma_latency_us),
      PyLong_FromUnsignedLong(i->dns_us),
      PyLong_FromUnsignedLong(i->connect_us),
      PyLong_FromUnsignedLong(i->tls_us),
      PyLong_FromUnsignedLong(i->ttfb_us),
      PyLong_FromUnsignedLong(i->fails_in_row),
      flags_of(i->flags),
      from_table(Classes, i->error_class, NULL),
      from_table(ClassNames, i->error_class, StrInvalid),
      PyLong_FromUnsignedLong(i->endpoint),
      PyLong_FromUnsignedLong(i->headroom_requests),
      PyLong_FromUnsignedLong(i->headroom_tokens),
      PyLong_FromUnsignedLong(i->slot),
      PyLong_FromUnsignedLongLong(i->generation),
      PyLong_FromUnsignedLong(i->interval_ms),
      PyLong_FromUnsignedLong(i->warm_ttl_ms),
      PyLong_FromLongLong(now),
      warm ? PyFloat_FromDouble(warm_for) : (Py_INCREF(FloatZero), FloatZero),
  };
  int bad = 0;
  for (int k = 0; k < INFO_FIELDS; k++) {
    if (!v[k])
      bad = 1;
    PyTuple_SET_ITEM(r, k, v[k]); /* NULL items are fine in a dying tuple */
  }
  if (bad) {
    Py_DECREF(r);
    return NULL;
  }
  return r;
}

static PyObject *Table_lookup(TableObject *self, PyObject *model) {
  ModelObject *m = get_model(self, model);
  if (!m)
    return NULL;
  struct warmth_model_info info;
  info.size = sizeof info;
  int rc = W.model_lookup(m->m, &info);
  if (rc < 0)
    return fail(self, rc, model);
  /* Building the record can run Python code (a GC pass, Flags()), so
   * another thread could clear the dict: hold the Model, whose name we use. */
  Py_INCREF(m);
  PyObject *r = record(&info, m->name, mono_ns());
  Py_DECREF(m);
  return r;
}

static PyObject *Table_touch(TableObject *self, PyObject *model) {
  ModelObject *m = get_model(self, model);
  if (!m)
    return NULL;
  int rc = W.model_touch(m->m);
  if (rc < 0)
    return fail(self, rc, model);
  Py_RETURN_NONE;
}

/* report(model, latency_s, ok) */
static PyObject *Table_report(TableObject *self, PyObject *const *args,
                              Py_ssize_t nargs) {
  if (nargs != 3) {
    PyErr_SetString(PyExc_TypeError,
                    "report(model, latency_s, ok) takes 3 arguments");
    return NULL;
  }
  double lat = PyFloat_AsDouble(args[1]);
  if (lat == -1.0 && PyErr_Occurred())
    return NULL;
  if (!(lat >= 0)) { /* also refuses NaN */
    PyObject *rep = PyObject_Repr(args[1]);
    if (rep) {
      PyErr_Format(PyExc_ValueError, "latency_s must be >= 0, not %U", rep);
      Py_DECREF(rep);
    }
    return NULL;
  }
  int ok = PyObject_IsTrue(args[2]);
  if (ok < 0)
    return NULL;
  ModelObject *m = get_model(self, args[0]);
  if (!m)
    return NULL;
  /* round() of Python: half to even, as nearbyint() in the default mode. */
  double us = nearbyint(lat * 1e6);
  uint32_t u = us >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)us;
  int rc = W.model_report(m->m, u, ok);
  if (rc < 0)
    return fail(self, rc, args[0]);
  Py_RETURN_NONE;
}

/* _wait(model, ms) -> rc of warmth_model_wait_warm, the GIL released; the
 * Python side loops in slices so signal handlers run. */
static PyObject *Table_wait(TableObject *self, PyObject *const *args,
                            Py_ssize_t nargs) {
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "_wait(model, ms)");
    return NULL;
  }
  unsigned long ms = PyLong_AsUnsignedLong(args[1]);
  if (ms == (unsigned long)-1 && PyErr_Occurred())
    return NULL;
  ModelObject *m = get_model(self, args[0]);
  if (!m)
    return NULL;
  Py_INCREF(m); /* a dict cleared by another thread must not free it */
  int rc;
  Py_BEGIN_ALLOW_THREADS rc = W.model_wait_warm(m->m, (uint32_t)ms);
  Py_END_ALLOW_THREADS Py_DECREF(m);
  return PyLong_FromLong(rc);
}

/* foreach copies records into a growing array first: the records are
 * stamped with one time read after the walk, as the ctypes path does, and
 * no Python object is made inside the library's callback. */
struct collect {
  struct warmth_model_info *v;
  size_t n, cap;
  int nomem;
};

static int collect_one(const struct warmth_model_info *info, void *arg) {
  struct collect *c = arg;
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 64;
    struct warmth_model_info *v = PyMem_RawRealloc(c->v, cap * sizeof *v);
    if (!v) {
      c->nomem = 1;
      return 1;
    }
    c->v = v;
    c->cap = cap;
  }
  c->v[c->n++] = *info;
  return 0;
}

/* models() -> [ModelInfo], in slot order. */
static PyObject *Table_models(TableObject *self, PyObject *unused) {
  (void)unused;
  struct collect c = {NULL, 0, 0, 0};
  int rc = self->h ? W.foreach (self->h, collect_one, &c) : WARMTH_EINVAL;
  PyObject *list = NULL;
  if (c.nomem)
    PyErr_NoMemory();
  else if (rc < 0)
    fail(self, rc, NULL);
  else if ((list = PyList_New((Py_ssize_t)c.n)) != NULL) {
    int64_t now = mono_ns();
    for (size_t k = 0; k < c.n; k++) {
      PyObject *r = record(&c.v[k], NULL, now);
      if (!r) {
        Py_CLEAR(list);
        break;
      }
      PyList_SET_ITEM(list, (Py_ssize_t)k, r);
    }
  }
  PyMem_RawFree(c.v);
  return list;
}

/* _status() -> the fields of struct warmth_status after `size`, as a tuple
 * (the Python side builds the Status). */
static PyObject *Table_status(TableObject *self, PyObject *unused) {
  (void)unused;
  struct warmth_status st;
  memset(&st, 0, sizeof st);
  st.size = sizeof st;
  int rc = self->h ? W.status(self->h, &st) : WARMTH_EINVAL;
  if (rc < 0)
    return fail(self, rc, NULL);
  return Py_BuildValue(
      "(iLLLIIIIK)", (int)st.pid, (long long)st.heartbeat_age_ns,
      (long long)st.stale_after_ns, (long long)st.created_ns,
      (unsigned)st.retired, (unsigned)st.stale, (unsigned)st.models,
      (unsigned)st.capacity, (unsigned long long)st.index_generation);
}

static PyObject *Table_cached(TableObject *self, PyObject *unused) {
  (void)unused;
  return PyLong_FromSsize_t(self->models ? PyDict_GET_SIZE(self->models) : 0);
}

static PyMethodDef Table_methods[] = {
    {"is_warm", (PyCFunction)(void (*)(void))Table_is_warm,
     METH_FASTCALL | METH_KEYWORDS,
     "is_warm(model, default=<raise>) -> bool\n\n"
     "True if `model` is warm now: state warm, before warm_until, and the\n"
     "coordinator alive (a stale or retired coordinator reads as not warm).\n"
     "On an error (no table, model not in it, ...) raises WarmthError, or\n"
     "returns `default` when one is given."},
    {"lookup", (PyCFunction)Table_lookup, METH_O,
     "lookup(model) -> ModelInfo\n\n"
     "One consistent copy of `model`'s record.  Raises NotFound (a KeyError)\n"
     "when the model is not in the table."},
    {"touch", (PyCFunction)Table_touch, METH_O,
     "touch(model)\n\n"
     "Tells the coordinator this worker uses `model` (an idle model is then\n"
     "warmed within one tick).  Cheap enough for every request."},
    {"report", (PyCFunction)(void (*)(void))Table_report, METH_FASTCALL,
     "report(model, latency_s, ok)\n\n"
     "Reports a real request to `model`: its latency in seconds and whether\n"
     "it succeeded.  A real success counts as warmth.  Also touches."},
    {"models", (PyCFunction)Table_models, METH_NOARGS,
     "models() -> [ModelInfo]\n\n"
     "Consistent copies of every model's record, in slot order."},
    {"_open", (PyCFunction)Table_open, METH_VARARGS, NULL},
    {"_close", (PyCFunction)Table_close, METH_NOARGS, NULL},
    {"_wait", (PyCFunction)(void (*)(void))Table_wait, METH_FASTCALL, NULL},
    {"_status", (PyCFunction)Table_status, METH_NOARGS, NULL},
    {"_cached", (PyCFunction)Table_cached, METH_NOARGS,
     "number of resolved names held (tests)"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Table_getset[] = {{"closed", (getter)Table_closed, NULL,
                                      "True once close() was called", NULL},
                                     {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "warmth._native.Table",
    .tp_basicsize = sizeof(TableObject),
    .tp_dealloc = (destructor)Table_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "base type of warmth.Table (native backend)",
    .tp_traverse = (traverseproc)Table_traverse,
    .tp_clear = (inquiry)Table_clear,
    .tp_weaklistoffset = offsetof(TableObject, weakrefs),
    .tp_methods = Table_methods,
    .tp_getset = Table_getset,
    .tp_new = Table_new,
};

/* ---- load() -------------------------------------------------------------- */

#define SYM(field, name)                                                       \
  do {                                                                         \
    *(void **)(&W.field) = dlsym(dl, name);                                    \
    if (!W.field) {                                                            \
      PyErr_Format(PyExc_ImportError,                                          \
                   "%s does not export %s: libwarmth older than this "         \
                   "extension",                                                \
                   path, name);                                                \
      memset(&W, 0, sizeof W);                                                 \
      dlclose(dl);                                                             \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

static int take(PyObject **slot, PyObject *dict, const char *key, int tuple) {
  PyObject *o = PyDict_GetItemString(dict, key);
  if (!o || (tuple && !PyTuple_Check(o))) {
    PyErr_Format(PyExc_ImportError, "load(): missing or bad '%s'", key);
    return -1;
  }
  Py_INCREF(o);
  Py_XSETREF(*slot, o);
  return 0;
}

/* load(path, hooks): dlopen()s libwarmth at `path` (the one warmth/_lib.py
 * loaded and checked) and takes the record tables from `hooks`. */
static PyObject *native_load(PyObject *mod, PyObject *args) {
  (void)mod;
  const char *path;
  PyObject *hooks;
  if (!PyArg_ParseTuple(args, "sO!", &path, &PyDict_Type, &hooks))
    return NULL;
  if (take(&ModelInfoType, hooks, "ModelInfo", 0) ||
      take(&States, hooks, "STATES", 1) ||
      take(&StateNames, hooks, "state_names", 1) ||
      take(&Classes, hooks, "CLASSES", 1) ||
      take(&ClassNames, hooks, "class_names", 1) ||
      take(&FlagsFn, hooks, "flags", 0) ||
      take(&FlagsCache, hooks, "flags_cache", 0) ||
      take(&WarmthError, hooks, "WarmthError", 0))
    return NULL;
  if (!PyType_Check(ModelInfoType) ||
      !PyType_IsSubtype((PyTypeObject *)ModelInfoType, &PyTuple_Type) ||
      !PyDict_Check(FlagsCache)) {
    PyErr_SetString(PyExc_ImportError, "load(): bad ModelInfo or flags_cache");
    return NULL;
  }
  if (W.dl)
    Py_RETURN_NONE; /* once per process: the same library stays loaded */
  void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!dl) {
    PyErr_Format(PyExc_ImportError, "dlopen %s: %s", path, dlerror());
    return NULL;
  }
  SYM(open, "warmth_open");
  SYM(close, "warmth_close");
  SYM(resolve, "warmth_resolve");
  SYM(model_free, "warmth_model_free");
  SYM(model_is_warm, "warmth_model_is_warm");
  SYM(model_lookup, "warmth_model_lookup");
  SYM(model_touch, "warmth_model_touch");
  SYM(model_report, "warmth_model_report");
  SYM(model_wait_warm, "warmth_model_wait_warm");
  SYM(foreach, "warmth_foreach");
  SYM(status, "warmth_status");
  W.dl = dl;
  Py_RETURN_NONE;
}

static PyMethodDef native_methods[] = {
    {"load", native_load, METH_VARARGS,
     "load(path, hooks): bind libwarmth at path (internal)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    "warmth._native",
    "CPython extension behind warmth.Table (see warmth/_ntable.py)",
    -1,
    native_methods,
    NULL,
    NULL,
    NULL,
    NULL};

PyMODINIT_FUNC PyInit__native(void) {
  if (PyType_Ready(&ModelType) < 0 || PyType_Ready(&TableType) < 0)
    return NULL;
  StrInvalid = PyUnicode_InternFromString("invalid");
  StrFail = PyUnicode_InternFromString("_fail");
  FloatZero = PyFloat_FromDouble(0.0);
  if (!StrInvalid || !StrFail || !FloatZero)
    return NULL;
  PyObject *m = PyModule_Create(&native_module);
  if (!m)
    return NULL;
  Py_INCREF(&TableType);
  if (PyModule_AddObject(m, "Table", (PyObject *)&TableType) < 0) {
    Py_DECREF(&TableType);
    Py_DECREF(m);
    return NULL;
  }
  PyModule_AddIntConstant(m, "INFO_SIZE",
                          (long)sizeof(struct warmth_model_info));
  return m;
}
