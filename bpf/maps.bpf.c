// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The one definition of every map (maps.h), of the global function
 * nf_sock_refs() (sock.h) and the license of the linked object: each
 * must exist once only. */
#define NF_MAPS_DEFINE
#define NF_SOCK_REFS_DEFINE
#include "sock.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
