/* tls — a client's TLS settings (which CAs it trusts for the broker, its
 * own certificate) and the probe that says in words why a TLS connection
 * to the broker fails.
 *
 * Why a probe: Paho (1.3.11, the MQTT library) reports every failed TLS
 * connect as "TCP/TLS connect failure"; OpenSSL's error queue, which it
 * hands on, says "certificate verify failed" for an unknown CA and for an
 * expired certificate alike, and nothing at all for a host name that the
 * certificate does not name (Paho checks that after the handshake); its
 * automatic retries report nothing. tls_probe() makes the same handshake
 * with the same trust, reads OpenSSL's verdict (X509 verify result, host
 * and address checks as Paho makes them) and names the cause: unknown CA,
 * name mismatch, expired, not yet valid, no TLS on that port.
 *
 * Ownership: tls_options only points at strings the caller keeps.
 *
 * Codes it returns (tree-wide, error.h): AM_EINVAL (bad URI or options),
 * AM_EIO (no TCP connection: err says why), AM_ETIMEOUT, AM_ETLS (the
 * handshake or the certificate: err says which), AM_ENOMEM. */
#ifndef ANOMESH_TLS_H
#define ANOMESH_TLS_H

#include "error.h"

#include <stddef.h>

typedef struct tls_options {
	const char *cafile;   /* PEM file of CAs trusted for the broker; NULL with
				 capath NULL: the system's store */
	const char *capath;   /* directory of CA certificates (c_rehash form) */
	const char *certfile; /* client certificate chain, PEM (NULL: none) */
	const char *keyfile;  /* its private key, PEM (NULL: in certfile) */
} tls_options;

#define TLS_HOST_MAX 255

/* Split a broker URI "scheme://host[:port]" (IPv6 as [addr]) into host and
 * port; *secure 1 for ssl://, mqtts://, wss://, 0 for tcp://, mqtt://,
 * ws://. A missing port is the scheme's default (1883, 8883, 80, 443).
 * Returns 0 or AM_EINVAL. */
int tls_uri_parse(const char *uri, char *host, size_t hostcap, int *port, int *secure);

/* Check that the files o names can be read (before any connection, so that
 * a typo is a start-up error, not a retry loop). Returns 0 or AM_EINVAL
 * (err names the file and the reason). */
int tls_options_check(const tls_options *o, char *err, size_t errlen);

/* Connect to host:port, make a TLS handshake trusting o's CAs and offering
 * o's certificate, and check the broker's certificate and that it names
 * host (a DNS name, or an IP address in an IP SAN), as the MQTT client
 * does. Blocks at most timeout_ms. Returns 0 when all is well, else a code
 * with one sentence in err. */
int tls_probe(const tls_options *o, const char *host, int port, int timeout_ms, char *err,
	      size_t errlen);

#endif
