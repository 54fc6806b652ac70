/* fnats — connecting to the fleet's NATS cluster, once for both fleet
 * programs. libnats reconnects by itself after the first connection, to
 * any node it knows of (the list given and the ones the cluster gossips).
 * TLS is libnats' own (OpenSSL): the CA and the client certificate are
 * loaded into the options' context, the expected name is set so that
 * OpenSSL checks it during the handshake, and a failed handshake is
 * reported with OpenSSL's verdict, which libnats collects (e.g. "unable to
 * get local issuer certificate", "hostname mismatch"). */
#include "fnats.h"

#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int fnats_fail(char *err, size_t errlen, const char *what, natsStatus s, jsErrCode jerr)
{
	return am_fail(err, errlen, AM_EBROKER, "%s: %s (%s, JetStream error %d)", what,
		       natsStatus_GetText(s), nats_GetLastError(NULL), (int)jerr);
}

/* Split "a,b,c" into at most max pointers into buf (a copy). */
static int split_servers(const char *list, char *buf, size_t len, const char **urls,
			 int max)
{
	int n = 0;
	char *save = NULL;
	snprintf(buf, len, "%s", list);
	for (char *t = strtok_r(buf, ", ", &save); t && n < max;
	     t = strtok_r(NULL, ", ", &save))
		urls[n++] = t;
	return n;
}

int fnats_tls_wanted(const char *servers, const fnats_tls *t)
{
	if (t && ((t->cafile && *t->cafile) || (t->certfile && *t->certfile)))
		return 1;
	for (const char *p = servers; p && (p = strstr(p, "tls://")) != NULL; p += 6)
		if (p == servers || p[-1] == ',' || p[-1] == ' ')
			return 1;
	return 0;
}

/* A file named in t that cannot be read: AM_EINVAL with what and why. */
static int unreadable(const char *what, const char *path, char *err, size_t errlen)
{
	if (!path || !*path || access(path, R_OK) == 0)
		return 0;
	return am_fail(err, errlen, AM_EINVAL, "the cluster's %s %s: %s", what, path,
		       strerror(errno));
}

int fnats_tls_check(const fnats_tls *t, char *err, size_t errlen)
{
	int rc;
	if (!t)
		return 0;
	if ((t->certfile && *t->certfile) != (t->keyfile && *t->keyfile))
		return am_fail(err, errlen, AM_EINVAL,
			       "a client certificate for the cluster and its key go "
			       "together (certfile and keyfile)");
	if ((rc = unreadable("CA file", t->cafile, err, errlen)) ||
	    (rc = unreadable("client certificate", t->certfile, err, errlen)) ||
	    (rc = unreadable("client key", t->keyfile, err, errlen)))
		return rc;
	return 0;
}

int fnats_first_host(const char *servers, char *host, size_t len)
{
	const char *p, *end;
	size_t n;
	if (!servers || !host || !len)
		return AM_EINVAL;
	p = servers + strspn(servers, ", ");
	end = p + strcspn(p, ", ");
	{
		const char *sch = strstr(p, "://");
		if (sch && sch < end)
			p = sch + 3;
	}
	{
		const char *at = memchr(p, '@', (size_t)(end - p)); /* user:pass@ */
		if (at)
			p = at + 1;
	}
	if (*p == '[') { /* [IPv6]:port */
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (!rb)
			return AM_EINVAL;
		p++;
		n = (size_t)(rb - p);
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		n = (size_t)((colon ? colon : end) - p);
	}
	if (n == 0 || n >= len)
		return AM_EINVAL;
	memcpy(host, p, n);
	host[n] = '\0';
	return 0;
}

/* The TLS part of no, for servers and t (fnats_tls_wanted); the name the
 * certificates must carry into host. Returns 0 or AM_EINVAL. */
static int set_tls(natsOptions *no, const char *servers, const fnats_tls *t, char *host,
		   size_t hostlen, char *err, size_t errlen)
{
	const char *ca = t && t->cafile && *t->cafile ? t->cafile : FNATS_SYSTEM_CAFILE;
	natsStatus s;
	if (t && t->hostname && *t->hostname)
		snprintf(host, hostlen, "%s", t->hostname);
	else if (fnats_first_host(servers, host, hostlen))
		return am_fail(err, errlen, AM_EINVAL, "TLS: no host in '%s'", servers);
	s = natsOptions_SetSecure(no, true);
	if (s == NATS_OK)
		s = natsOptions_LoadCATrustedCertificates(no, ca);
	if (s == NATS_OK && t && t->certfile && *t->certfile)
		s = natsOptions_LoadCertificatesChain(no, t->certfile, t->keyfile);
	if (s == NATS_OK)
		s = natsOptions_SetExpectedHostname(no, host);
	if (s != NATS_OK)
		return am_fail(err, errlen, AM_EINVAL, "TLS options (%s%s%s): %s", ca,
			       t && t->certfile ? ", " : "",
			       t && t->certfile ? t->certfile : "",
			       nats_GetLastError(NULL));
	return 0;
}

/* libnats' last error without its "(file.c:line): " prefix. */
static const char *last_error(void)
{
	const char *e = nats_GetLastError(NULL), *p;
	if (e && e[0] == '(' && (p = strstr(e, "): ")) != NULL)
		return p + 3;
	return e ? e : "";
}

/* The reason a connection failed, in words a person can act on: OpenSSL's
 * verdict on the servers' certificate (libnats collects it), a server that
 * wants TLS from a client that did not ask for it, or one that closes the
 * connection right after the handshake (NATS 2.9 then refused the client's
 * certificate, or got none: `verify: true`). t is NULL when TLS was not
 * asked for. Returns AM_ETLS or AM_EBROKER. */
static int connect_fail(char *err, size_t errlen, const char *servers, natsStatus s,
			const fnats_tls *t, const char *host)
{
	if (s == NATS_SSL_ERROR && !t)
		return am_fail(err, errlen, AM_ETLS,
			       "%s: the server requires TLS and no CA file was given for "
			       "it (the system's CAs do not trust it): %s",
			       servers, last_error());
	if (s == NATS_SSL_ERROR)
		return am_fail(
		    err, errlen, AM_ETLS,
		    "%s: TLS refused: the server's certificate, checked for the "
		    "name '%s' against %s: %s",
		    servers, host,
		    t->cafile && *t->cafile ? t->cafile : FNATS_SYSTEM_CAFILE,
		    last_error());
	if (s == NATS_SECURE_CONNECTION_WANTED)
		return am_fail(err, errlen, AM_ETLS,
			       "%s: TLS asked for, but the server does not offer it",
			       servers);
	if (t && (s == NATS_PROTOCOL_ERROR || s == NATS_CONNECTION_CLOSED))
		return am_fail(err, errlen, AM_ETLS,
			       "%s: the server closed the connection after the TLS "
			       "handshake: it probably wants a client certificate "
			       "that it trusts (%s) (%s)",
			       servers,
			       t->certfile && *t->certfile ? "this one is not"
							   : "none was given",
			       last_error());
	return fnats_fail(err, errlen, servers, s, 0);
}

int fnats_connect(natsConnection **nc, jsCtx **js, const char *servers, const char *name,
		  const fnats_tls *tls, char *err, size_t errlen)
{
	static const fnats_tls no_files = {0};
	natsOptions *no = NULL;
	natsStatus s;
	char buf[1024], host[TLS_HOST_MAX + 1] = "";
	const char *urls[16];
	int n, secure = fnats_tls_wanted(servers, tls);
	*nc = NULL;
	*js = NULL;
	if (!servers || !*servers)
		return am_fail(err, errlen, AM_EINVAL, "no NATS servers");
	/* natsOptions_SetURL's own list parsing found no server in a list of
	 * three (libnats 3.4.1); an explicit array works */
	n = split_servers(servers, buf, sizeof(buf), urls, 16);
	s = natsOptions_Create(&no);
	if (s == NATS_OK)
		s = natsOptions_SetServers(no, urls, n);
	if (s == NATS_OK && secure) {
		int rc = set_tls(no, servers, tls, host, sizeof(host), err, errlen);
		if (rc) {
			natsOptions_Destroy(no);
			return rc;
		}
	}
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(no, -1); /* forever */
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(no, 500);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(no, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetName(no, name);
	if (s == NATS_OK)
		s = natsConnection_Connect(nc, no);
	if (s == NATS_OK)
		s = natsConnection_JetStream(js, *nc, NULL);
	natsOptions_Destroy(no);
	if (s != NATS_OK) {
		fnats_close(*nc, *js);
		*nc = NULL;
		*js = NULL;
		return connect_fail(err, errlen, servers, s,
				    secure ? (tls ? tls : &no_files) : NULL, host);
	}
	return 0;
}

void fnats_close(natsConnection *nc, jsCtx *js)
{
	if (nc)
		natsConnection_FlushTimeout(nc, 1000);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
}
