/* online.h - warmd --check-config --online: ask each endpoint. */
#ifndef WARMD_ONLINE_H
#define WARMD_ONLINE_H

#include <stdio.h>

#include "warmd.h"

/* Checks every endpoint's key (a placeholder is caught before any request)
 * and that the provider lists every configured model, naming the closest
 * ids it does have.  Prints one line per problem; returns their number. */
int wd_check_online(const struct wd_config *c, FILE *out);

#endif
