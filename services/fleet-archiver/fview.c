/* fview — the fleet view's reading of the cluster: one ordered JetStream
 * consumer for the states (from the last one of every sensor) and two core
 * subscriptions, all synchronous, so that the program's loop pulls
 * messages when it is ready and libnats never calls into it. */
#include "fview.h"

#include "fnats.h"
#include "fsubject.h"
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SUB_STATE, SUB_ALERT, SUB_PRED, SUB_N };

struct fview {
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *sub[SUB_N];
	int next;
};

int fview_topic(const char *subject, char *out, size_t len)
{
	char tok[5][MSG_SENSOR_MAX + 2];
	const char *p = subject;
	int n;
	for (int i = 0; i < 5; i++) {
		const char *dot = strchr(p, '.');
		size_t k = dot ? (size_t)(dot - p) : strlen(p);
		if (k == 0 || k >= sizeof(tok[i]) || (i < 4) != (dot != NULL))
			return AM_EFORMAT;
		memcpy(tok[i], p, k);
		tok[i][k] = 0;
		p += k + (dot ? 1 : 0);
	}
	if (strcmp(tok[0], "fleet") || !fsubject_id_valid(tok[1]) ||
	    !fsubject_id_valid(tok[2]) || !text_sensor_valid(tok[3]) ||
	    (strcmp(tok[4], "state") && strcmp(tok[4], "alert") &&
	     strcmp(tok[4], "prediction")))
		return AM_EFORMAT;
	n = snprintf(out, len, "fleet/%s/%s/%s/%s", tok[1], tok[2], tok[3], tok[4]);
	return n < 0 || (size_t)n >= len ? AM_ETOOBIG : 0;
}

/* The states' stream: the last state of every sensor, kept. */
static int ensure_stream(fview *fv, int replicas, char *err, size_t errlen)
{
	const char *subjects[] = {"fleet.*.*.*.state"};
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s;
	jsStreamConfig_Init(&sc);
	sc.Name = FVIEW_STREAM;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	sc.Replicas = replicas;
	sc.MaxMsgsPerSubject = 1;
	s = js_AddStream(&si, fv->js, &sc, NULL, &jerr);
	if (s != NATS_OK && jerr == JSStreamNameExistErr)
		s = NATS_OK; /* made before, maybe with other settings: kept */
	jsStreamInfo_Destroy(si);
	return s == NATS_OK ? 0
			    : fnats_fail(err, errlen, "stream " FVIEW_STREAM, s, jerr);
}

int fview_open(fview **out, const char *servers, const fnats_tls *tls, int replicas,
	       char *err, size_t errlen)
{
	fview *fv = calloc(1, sizeof(*fv));
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus s = NATS_OK;
	int rc;
	*out = NULL;
	if (!fv)
		return am_fail(err, errlen, AM_ENOMEM, "fview: out of memory");
	rc = fnats_connect(&fv->nc, &fv->js, servers, "fleet-view", tls, err, errlen);
	if (!rc)
		rc = ensure_stream(fv, replicas, err, errlen);
	if (!rc) {
		jsSubOptions_Init(&so);
		so.Stream = FVIEW_STREAM;
		so.Ordered = true;
		so.Config.DeliverPolicy = js_DeliverLastPerSubject;
		s = js_SubscribeSync(&fv->sub[SUB_STATE], fv->js, "fleet.*.*.*.state",
				     NULL, &so, &jerr);
		if (s == NATS_OK)
			s = natsConnection_SubscribeSync(&fv->sub[SUB_ALERT], fv->nc,
							 "fleet.*.*.*.alert");
		if (s == NATS_OK)
			s = natsConnection_SubscribeSync(&fv->sub[SUB_PRED], fv->nc,
							 "fleet.*.*.*.prediction");
		if (s != NATS_OK)
			rc = fnats_fail(err, errlen, "subscribe", s, jerr);
	}
	if (rc) {
		fview_close(fv);
		return rc;
	}
	*out = fv;
	return 0;
}

void fview_close(fview *fv)
{
	if (!fv)
		return;
	for (int i = 0; i < SUB_N; i++)
		natsSubscription_Destroy(fv->sub[i]);
	fnats_close(fv->nc, fv->js);
	free(fv);
}

int fview_next(fview *fv, fview_msg *out, int timeout_ms, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	/* each subscription in turn, without waiting; then wait on states */
	for (int k = 0; k <= SUB_N; k++) {
		int i = k < SUB_N ? (fv->next + k) % SUB_N : SUB_STATE;
		natsMsg *m = NULL;
		natsStatus s =
		    natsSubscription_NextMsg(&m, fv->sub[i], k < SUB_N ? 0 : timeout_ms);
		if (s == NATS_TIMEOUT)
			continue;
		if (s != NATS_OK)
			return fnats_fail(err, errlen, "next message", s, 0);
		fv->next = (i + 1) % SUB_N;
		out->nm = m;
		if (fview_topic(natsMsg_GetSubject(m), out->topic, sizeof(out->topic))) {
			am_fail(err, errlen, AM_EFORMAT, "'%.80s' is not a fleet topic",
				natsMsg_GetSubject(m));
			fview_msg_done(out);
			return AM_EFORMAT;
		}
		out->data = natsMsg_GetData(m);
		out->len = (size_t)natsMsg_GetDataLength(m);
		out->qos = i == SUB_PRED ? 0 : 1;
		out->retained = i == SUB_STATE;
		return 0;
	}
	return AM_ETIMEOUT;
}

void fview_msg_done(fview_msg *m)
{
	natsMsg_Destroy(m->nm);
	m->nm = NULL;
}
