/* fnats — the fleet tier's one way to reach the NATS cluster (libnats):
 * a connection to a comma-separated server list that reconnects forever,
 * with its JetStream context, and libnats' errors turned into AM_EBROKER
 * with the reason in err. Used by fconsume (the central archiver) and
 * fview (the fleet view).
 *
 * Ownership: fnats_connect() makes *nc and *js; fnats_close() destroys
 * both (NULL-safe), flushing what is buffered first (the last acks).
 *
 * Codes it returns (tree-wide, error.h): AM_EINVAL (no servers),
 * AM_EBROKER (not reachable: err says why). */
#ifndef ANOMESH_FNATS_H
#define ANOMESH_FNATS_H

#include "error.h"

#include <nats/nats.h>

#include <stddef.h>

/* Connect as `name` to servers ("nats://h:p,nats://h:p,..."). */
int fnats_connect(natsConnection **nc, jsCtx **js, const char *servers, const char *name,
		  char *err, size_t errlen);
void fnats_close(natsConnection *nc, jsCtx *js);

/* AM_EBROKER with "<what>: <status> (<libnats' last error>, JetStream
 * error <jerr>)" in err. */
int fnats_fail(char *err, size_t errlen, const char *what, natsStatus s, jsErrCode jerr);

#endif
