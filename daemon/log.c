// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* netfild's log: syslog (the journal under systemd); --stderr copies it
 * there (openlog's LOG_PERROR, set up in main). */
#include <stdarg.h>
#include <syslog.h>
#include "netfild.h"

void logmsg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(prio, fmt, ap);
	va_end(ap);
}
