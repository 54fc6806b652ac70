/* harness_internal — what the harness's own files share and tests do not
 * see: the "harness: ..." failure line, strings kept until exit, the spawn
 * primitive that writes to a given log, and the polling intervals and
 * deadlines. */
#ifndef ANOMESH_HARNESS_INTERNAL_H
#define ANOMESH_HARNESS_INTERNAL_H

#include <sys/types.h>

#define HARNESS_POLL_MS 10
#define HARNESS_READY_MS 10000 /* a broker or a subscriber getting ready */

/* One line "harness: <text>" on stderr. */
void harness__fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A formatted string kept until the process exits (harness_bin and the
 * like return these), or NULL when out of memory. */
const char *harness__intern(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* fork/exec argv with env_extra added, stdout and stderr appended to
 * log_path (see harness_spawn). Returns the pid or -1. */
pid_t harness__spawn_to(const char *const argv[], const char *const env_extra[],
			const char *log_path);

/* *a = 127.0.0.1:port (0: any port). */
struct sockaddr_in;
void harness__loopback(struct sockaddr_in *a, int port);

/* Nonzero when something accepts TCP connections on 127.0.0.1:port. */
int harness__port_accepts(int port);

#endif
