// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The one definition of every map (maps.h), of the global functions
 * nf_sock_refs() (sock.h) and those of charge.h, and the license of
 * the linked object: each must exist once only. */
#define NF_MAPS_DEFINE
#define NF_SOCK_REFS_DEFINE
#define NF_CHARGE_DEFINE
#include "sock.h"
#include "charge.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
