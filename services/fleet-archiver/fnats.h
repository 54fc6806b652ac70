/* fnats — the fleet tier's one way to reach the NATS cluster (libnats):
 * a connection to a comma-separated server list that reconnects forever,
 * with its JetStream context, over TLS when asked, and libnats' errors
 * turned into AM_EBROKER with the reason in err. Used by fconsume (the
 * central archiver) and fview (the fleet view).
 *
 * TLS: on when fnats_tls names a CA file or a client certificate, or when
 * a server URL is tls://. The servers' certificate is always verified
 * (the CA file, or the system's bundle) and so is its name: every node's
 * certificate must name the host of the first URL (or fnats_tls.hostname)
 * — libnats 3.4.1 checks one expected name per connection, not one per
 * URL, so a cluster's certificates all carry that name (broker-certs.sh
 * with every node's name issues one such certificate).
 *
 * Ownership: fnats_connect() makes *nc and *js; fnats_close() destroys
 * both (NULL-safe), flushing what is buffered first (the last acks).
 * fnats_tls only points at strings the caller keeps.
 *
 * Codes it returns (tree-wide, error.h): AM_EINVAL (no servers, a TLS
 * file that cannot be read), AM_EBROKER (not reachable: err says why),
 * AM_ETLS (the TLS handshake failed: err says why, in the words of
 * OpenSSL's certificate check). */
#ifndef ANOMESH_FNATS_H
#define ANOMESH_FNATS_H

#include "error.h"

#include <nats/nats.h>

#include <stddef.h>

typedef struct fnats_tls {
	const char *cafile;   /* PEM CAs trusted for the servers (NULL: none) */
	const char *certfile; /* client certificate chain, PEM (NULL: none) */
	const char *keyfile;  /* its private key, PEM (with certfile) */
	const char *hostname; /* name the certificates must carry (NULL: the
				 first URL's host) */
} fnats_tls;

/* The CA bundle used for tls:// URLs without a CA file (Debian's). */
#define FNATS_SYSTEM_CAFILE "/etc/ssl/certs/ca-certificates.crt"

/* Nonzero when connecting to servers with t means TLS. */
int fnats_tls_wanted(const char *servers, const fnats_tls *t);

/* Check t before any connection: the files can be read, a key goes with
 * a certificate. Returns 0 or AM_EINVAL (err names the file). */
int fnats_tls_check(const fnats_tls *t, char *err, size_t errlen);

/* The host of the first URL of servers ("nats://h:p,...", "tls://[v6]:p",
 * "h:p"), into host. Returns 0 or AM_EINVAL. */
int fnats_first_host(const char *servers, char *host, size_t len);

/* Connect as `name` to servers ("nats://h:p,nats://h:p,..."); tls may be
 * NULL (plain, unless a URL is tls://). */
int fnats_connect(natsConnection **nc, jsCtx **js, const char *servers, const char *name,
		  const fnats_tls *tls, char *err, size_t errlen);
void fnats_close(natsConnection *nc, jsCtx *js);

/* AM_EBROKER with "<what>: <status> (<libnats' last error>, JetStream
 * error <jerr>)" in err. */
int fnats_fail(char *err, size_t errlen, const char *what, natsStatus s, jsErrCode jerr);

#endif
