/* fnats — connecting to the fleet's NATS cluster, once for both fleet
 * programs. libnats reconnects by itself after the first connection, to
 * any node it knows of (the list given and the ones the cluster gossips). */
#include "fnats.h"

#include <stdio.h>
#include <string.h>

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

int fnats_connect(natsConnection **nc, jsCtx **js, const char *servers, const char *name,
		  char *err, size_t errlen)
{
	natsOptions *no = NULL;
	natsStatus s;
	char buf[1024];
	const char *urls[16];
	int n;
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
		return fnats_fail(err, errlen, servers, s, 0);
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
