/* daemon.c - requests from the service threads to the main loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

int wd_daemon_request(struct wd_daemon *d, enum wd_req_kind kind,
                      const char *model) {
  if (kind != WD_REQ_RELOAD) {
    rcu_read_lock();
    int known = model && wd_table_find(d->t, model) != NULL;
    rcu_read_unlock();
    if (!known)
      return -1;
  }
  struct wd_req *r = calloc(1, sizeof *r);
  if (!r)
    return -1;
  r->kind = kind;
  if (model)
    snprintf(r->model, sizeof r->model, "%s", model);
  pthread_mutex_lock(&d->req_mu);
  if (d->req_tail)
    d->req_tail->next = r;
  else
    d->req_head = r;
  d->req_tail = r;
  pthread_mutex_unlock(&d->req_mu);
  wd_prober_wakeup(d->prober);
  return 0;
}

struct wd_req *wd_daemon_take(struct wd_daemon *d) {
  pthread_mutex_lock(&d->req_mu);
  struct wd_req *r = d->req_head;
  d->req_head = d->req_tail = NULL;
  pthread_mutex_unlock(&d->req_mu);
  return r;
}

void wd_daemon_reloaded(struct wd_daemon *d, const char *err) {
  if (err) {
    pthread_mutex_lock(&d->req_mu);
    snprintf(d->reload_error, sizeof d->reload_error, "%s", err);
    pthread_mutex_unlock(&d->req_mu);
    atomic_fetch_add(&d->reload_failures, 1);
  }
  atomic_fetch_add(&d->reloads, 1); /* seq_cst: after the failure count */
}
