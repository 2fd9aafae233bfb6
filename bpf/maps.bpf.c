// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The one definition of every map (maps.h) and the license of the linked
 * object: both must exist once only. */
#define NF_MAPS_DEFINE
#include "maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
