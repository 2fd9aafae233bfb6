/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* JSON shapes shared by the front ends (netfil -j, netfild /status). */
#ifndef NETFIL_JSON_H
#define NETFIL_JSON_H

#include <jansson.h>
#include "../lib/netfil.h"

json_t *filter_json(const struct netfil_filter *f);

#endif
