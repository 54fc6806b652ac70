/* tls — TLS settings checked, broker URIs split, and the probe that turns a
 * failed handshake into a cause a person can act on (tls.h says why Paho's
 * own report is not enough). The probe verifies with SSL_VERIFY_NONE and
 * then reads the verify result itself: the handshake completes whatever
 * the certificate, so the certificate can be described (its names, its
 * dates, its issuer) in the sentence that says what is wrong with it. */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int tls_uri_parse(const char *uri, char *host, size_t hostcap, int *port, int *secure)
{
	static const struct {
		const char *scheme;
		int secure, port;
	} schemes[] = {{"tcp://", 0, 1883}, {"mqtt://", 0, 1883},  {"ws://", 0, 80},
		       {"ssl://", 1, 8883}, {"mqtts://", 1, 8883}, {"wss://", 1, 443}};
	const char *p = NULL, *end, *colon;
	size_t i, n;

	if (!uri)
		return AM_EINVAL;
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		n = strlen(schemes[i].scheme);
		if (strncmp(uri, schemes[i].scheme, n) == 0) {
			p = uri + n;
			*secure = schemes[i].secure;
			*port = schemes[i].port;
			break;
		}
	}
	if (!p)
		return AM_EINVAL;
	end = p + strcspn(p, "/");
	if (*p == '[') { /* [IPv6]:port */
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (!rb)
			return AM_EINVAL;
		n = (size_t)(rb - p - 1);
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		p++;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		n = (size_t)((colon ? colon : end) - p);
	}
	if (n == 0 || n >= hostcap || n > TLS_HOST_MAX)
		return AM_EINVAL;
	memcpy(host, p, n);
	host[n] = '\0';
	if (colon) {
		char *e;
		long v = strtol(colon + 1, &e, 10);
		if (e != end || v < 1 || v > 65535)
			return AM_EINVAL;
		*port = (int)v;
	}
	return 0;
}

static int tls__readable(const char *what, const char *path, int dir, char *err,
			 size_t errlen)
{
	if (!path)
		return 0;
	if (access(path, dir ? (R_OK | X_OK) : R_OK) != 0)
		return am_fail(err, errlen, AM_EINVAL, "%s %s: %s", what, path,
			       strerror(errno));
	return 0;
}

int tls_options_check(const tls_options *o, char *err, size_t errlen)
{
	int rc;
	if (!o)
		return 0;
	if (o->keyfile && !o->certfile)
		return am_fail(err, errlen, AM_EINVAL,
			       "--keyfile %s given without --certfile", o->keyfile);
	if ((rc = tls__readable("--cafile", o->cafile, 0, err, errlen)) ||
	    (rc = tls__readable("--capath", o->capath, 1, err, errlen)) ||
	    (rc = tls__readable("--certfile", o->certfile, 0, err, errlen)) ||
	    (rc = tls__readable("--keyfile", o->keyfile, 0, err, errlen)))
		return rc;
	return 0;
}

/* ---- the probe ----------------------------------------------------------- */

/* A TCP connection to host:port within the deadline (ms, monotonic), left
 * blocking with send/receive timeouts of what remains. Returns fd or a code. */
static int tls__connect(const char *host, int port, int timeout_ms, char *err,
			size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char ports[8];
	int fd = -1, rc, gai;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(ports, sizeof(ports), "%d", port);
	gai = getaddrinfo(host, ports, &hints, &res);
	if (gai != 0)
		return am_fail(err, errlen, AM_EIO, "cannot resolve '%s': %s", host,
			       gai_strerror(gai));
	rc = AM_EIO;
	am_errf(err, errlen, "no address for '%s'", host);
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd p;
		struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
		    errno != EINPROGRESS) {
			soerr = errno;
		} else {
			p.fd = fd;
			p.events = POLLOUT;
			if (poll(&p, 1, timeout_ms) <= 0) {
				rc = am_fail(err, errlen, AM_ETIMEOUT,
					     "no answer from %s port %d within %d ms",
					     host, port, timeout_ms);
				close(fd);
				fd = -1;
				continue;
			}
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		}
		if (soerr == 0 && fcntl(fd, F_SETFL, 0) == 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0)
			break;
		rc = am_fail(err, errlen, AM_EIO, "cannot connect to %s port %d: %s",
			     host, port, strerror(soerr ? soerr : errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : rc;
}

/* "CN=..." of name (subject or issuer) into out. */
static void tls__name(X509_NAME *name, char *out, size_t cap)
{
	out[0] = '\0';
	if (name)
		X509_NAME_oneline(name, out, (int)cap);
}

/* The certificate's subjectAltNames, "DNS:a, IP:b", into out. */
static void tls__sans(X509 *cert, char *out, size_t cap)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	size_t used = 0;
	int i;

	snprintf(out, cap, "no subjectAltName");
	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char one[INET6_ADDRSTRLEN + 8] = "";
		if (g->type == GEN_DNS) {
			snprintf(one, sizeof(one), "DNS:%.*s",
				 (int)(sizeof(one) - 8 > (size_t)g->d.dNSName->length
					   ? g->d.dNSName->length
					   : (int)sizeof(one) - 8),
				 (const char *)g->d.dNSName->data);
		} else if (g->type == GEN_IPADD) {
			char a[INET6_ADDRSTRLEN];
			int af = g->d.iPAddress->length == 4 ? AF_INET : AF_INET6;
			if ((g->d.iPAddress->length == 4 ||
			     g->d.iPAddress->length == 16) &&
			    inet_ntop(af, g->d.iPAddress->data, a, sizeof(a)))
				snprintf(one, sizeof(one), "IP:%s", a);
		}
		if (one[0] && used < cap)
			used += (size_t)snprintf(out + used, cap - used, "%s%s",
						 used ? ", " : "", one);
	}
	GENERAL_NAMES_free(gens);
}

static void tls__time(const ASN1_TIME *t, char *out, size_t cap)
{
	struct tm tm;
	out[0] = '\0';
	if (t && ASN1_TIME_to_tm(t, &tm) == 1)
		strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* Why the verified chain or the name is not acceptable: AM_ETLS and err,
 * or 0. */
static int tls__judge(const tls_options *o, SSL *ssl, const char *host, int port,
		      char *err, size_t errlen)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	long v = SSL_get_verify_result(ssl);
	char subj[256], iss[256], when[64], sans[512];
	const char *trust = o->cafile   ? o->cafile
			    : o->capath ? o->capath
					: "the system's store";
	int rc = AM_ETLS;

	if (!cert)
		return am_fail(err, errlen, AM_ETLS, "%s port %d sent no certificate",
			       host, port);
	tls__name(X509_get_subject_name(cert), subj, sizeof(subj));
	tls__name(X509_get_issuer_name(cert), iss, sizeof(iss));
	tls__sans(cert, sans, sizeof(sans));
	switch (v) {
	case X509_V_OK:
		if (X509_check_host(cert, host, strlen(host), 0, NULL) == 1 ||
		    X509_check_ip_asc(cert, host, 0) == 1)
			rc = 0;
		else
			am_errf(
			    err, errlen,
			    "name mismatch: the broker's certificate names %s, not '%s' "
			    "(connect by one of those names, or re-issue the certificate "
			    "with this one)",
			    sans, host);
		break;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		tls__time(X509_get0_notAfter(cert), when, sizeof(when));
		am_errf(err, errlen,
			"expired: the broker's certificate %s expired on %s (renew it)",
			subj, when);
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		tls__time(X509_get0_notBefore(cert), when, sizeof(when));
		am_errf(
		    err, errlen,
		    "not yet valid: the broker's certificate %s is valid from %s (check "
		    "this machine's clock)",
		    subj, when);
		break;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		am_errf(err, errlen,
			"unknown CA: the broker's certificate %s, issued by %s, is not "
			"signed "
			"by a CA in %s (%s)",
			subj, iss, trust, X509_verify_cert_error_string(v));
		break;
	default:
		am_errf(err, errlen, "the broker's certificate %s is refused: %s", subj,
			X509_verify_cert_error_string(v));
	}
	X509_free(cert);
	return rc;
}

/* Why SSL_connect failed, from OpenSSL's error queue. */
static int tls__handshake_error(const char *host, int port, char *err, size_t errlen)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256];

	if (!e)
		return am_fail(
		    err, errlen, AM_ETLS,
		    "%s port %d closed the connection during the TLS handshake (a plain "
		    "MQTT port? the broker's TLS port is 8883 by default)",
		    host, port);
	ERR_error_string_n(e, buf, sizeof(buf));
	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    (ERR_GET_REASON(e) == SSL_R_WRONG_VERSION_NUMBER ||
	     ERR_GET_REASON(e) == SSL_R_PACKET_LENGTH_TOO_LONG ||
	     ERR_GET_REASON(e) == SSL_R_RECORD_LENGTH_MISMATCH))
		return am_fail(
		    err, errlen, AM_ETLS,
		    "%s port %d does not speak TLS (a plain MQTT listener? the "
		    "broker's TLS port is 8883 by default): %s",
		    host, port, buf);
	return am_fail(err, errlen, AM_ETLS, "TLS handshake with %s port %d failed: %s",
		       host, port, buf);
}

static int tls__ctx(const tls_options *o, SSL_CTX **out, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char buf[256] = "";
	int ok;

	*out = NULL;
	if (!ctx)
		return am_fail(err, errlen, AM_ENOMEM, "cannot make a TLS context");
	ok = (o->cafile || o->capath)
		 ? SSL_CTX_load_verify_locations(ctx, o->cafile, o->capath)
		 : SSL_CTX_set_default_verify_paths(ctx);
	if (!ok) {
		ERR_error_string_n(ERR_peek_last_error(), buf, sizeof(buf));
		SSL_CTX_free(ctx);
		return am_fail(err, errlen, AM_ETLS, "cannot load the CAs of %s: %s",
			       o->cafile   ? o->cafile
			       : o->capath ? o->capath
					   : "the system",
			       buf);
	}
	if (o->certfile &&
	    (SSL_CTX_use_certificate_chain_file(ctx, o->certfile) != 1 ||
	     SSL_CTX_use_PrivateKey_file(ctx, o->keyfile ? o->keyfile : o->certfile,
					 SSL_FILETYPE_PEM) != 1)) {
		ERR_error_string_n(ERR_peek_last_error(), buf, sizeof(buf));
		SSL_CTX_free(ctx);
		return am_fail(err, errlen, AM_ETLS,
			       "cannot load the client certificate %s / key %s: %s",
			       o->certfile, o->keyfile ? o->keyfile : o->certfile, buf);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	*out = ctx;
	return 0;
}

int tls_probe(const tls_options *o, const char *host, int port, int timeout_ms, char *err,
	      size_t errlen)
{
	static const tls_options none = {0};
	unsigned char ip[16];
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	int fd = -1, rc;

	if (!host || port < 1 || port > 65535 || timeout_ms < 1)
		return am_fail(err, errlen, AM_EINVAL, "tls_probe: bad arguments");
	if (!o)
		o = &none;
	ERR_clear_error();
	rc = tls__ctx(o, &ctx, err, errlen);
	if (rc)
		goto out;
	fd = tls__connect(host, port, timeout_ms, err, errlen);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd)) {
		rc = am_fail(err, errlen, AM_ENOMEM, "cannot make a TLS session");
		goto out;
	}
	/* SNI for names only, as Paho does */
	if (inet_pton(AF_INET, host, ip) != 1 && inet_pton(AF_INET6, host, ip) != 1)
		SSL_set_tlsext_host_name(ssl, host);
	if (SSL_connect(ssl) != 1) {
		rc = (errno == EAGAIN || errno == EWOULDBLOCK) && !ERR_peek_last_error()
			 ? am_fail(err, errlen, AM_ETIMEOUT,
				   "%s port %d: no TLS answer within %d ms", host, port,
				   timeout_ms)
			 : tls__handshake_error(host, port, err, errlen);
		goto out;
	}
	rc = tls__judge(o, ssl, host, port, err, errlen);
	SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}
