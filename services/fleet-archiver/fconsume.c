/* fconsume — libnats kept behind four calls. Everything JetStream-specific
 * (consumer config, binding, fetch, ack) is here; the archiver's loop sees
 * batches of (subject, payload) and acknowledges them after its commit. */
#include "fconsume.h"

#include "fnats.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fconsume {
	fconsume_options o;
	natsConnection *nc;
	jsCtx *js;
	natsSubscription *subs[FSUBJECT_PARTITIONS_MAX];
	int parts[FSUBJECT_PARTITIONS_MAX];
	size_t n;
	size_t next; /* partition to fetch from first */
};

/* Make partition p's durable consumer unless it exists, and bind a pull
 * subscription to it. */
static int bind_partition(fconsume *fc, size_t i, char *err, size_t errlen)
{
	char durable[64], filter[64];
	jsConsumerInfo *ci = NULL;
	jsConsumerConfig cc;
	jsSubOptions so;
	jsErrCode jerr = 0;
	natsStatus s;
	int p = fc->parts[i];
	if (fsubject_durable(fc->o.durable_prefix, p, durable, sizeof(durable)) ||
	    fsubject_filter(p, filter, sizeof(filter)))
		return am_fail(err, errlen, AM_EINVAL,
			       "bad consumer prefix or partition %d", p);
	s = js_GetConsumerInfo(&ci, fc->js, FSUBJECT_STREAM, durable, NULL, &jerr);
	if (s == NATS_NOT_FOUND) {
		jsConsumerConfig_Init(&cc);
		cc.Durable = durable;
		cc.DeliverPolicy = js_DeliverAll;
		cc.AckPolicy = js_AckExplicit;
		cc.AckWait = (int64_t)fc->o.ack_wait_ms * 1000000;
		cc.MaxAckPending = fc->o.max_ack_pending;
		cc.FilterSubject = filter;
		jerr = 0;
		s = js_AddConsumer(&ci, fc->js, FSUBJECT_STREAM, &cc, NULL, &jerr);
	}
	jsConsumerInfo_Destroy(ci);
	if (s != NATS_OK)
		return fnats_fail(err, errlen, durable, s, jerr);
	jsSubOptions_Init(&so);
	so.Stream = FSUBJECT_STREAM;
	so.Consumer = durable;
	so.ManualAck = true;
	jerr = 0;
	s = js_PullSubscribe(&fc->subs[i], fc->js, filter, durable, NULL, &so, &jerr);
	if (s != NATS_OK)
		return fnats_fail(err, errlen, "pull subscription", s, jerr);
	return 0;
}

int fconsume_open(fconsume **out, const fconsume_options *o, char *err, size_t errlen)
{
	fconsume *fc;
	int rc;
	*out = NULL;
	if (!o || !o->servers || !o->n_partitions ||
	    o->n_partitions > FSUBJECT_PARTITIONS_MAX)
		return am_fail(err, errlen, AM_EINVAL,
			       "fconsume: no servers or partitions");
	fc = calloc(1, sizeof(*fc));
	if (!fc)
		return am_fail(err, errlen, AM_ENOMEM, "fconsume: out of memory");
	fc->o = *o;
	fc->n = o->n_partitions;
	memcpy(fc->parts, o->partitions, fc->n * sizeof(int));
	rc = fnats_connect(&fc->nc, &fc->js, o->servers, "fleet-archiver", o->tls, err,
			   errlen);
	for (size_t i = 0; i < fc->n && !rc; i++)
		rc = bind_partition(fc, i, err, errlen);
	if (rc) {
		fconsume_close(fc);
		return rc;
	}
	*out = fc;
	return 0;
}

void fconsume_close(fconsume *fc)
{
	if (!fc)
		return;
	for (size_t i = 0; i < fc->n; i++)
		natsSubscription_Destroy(fc->subs[i]); /* the durables stay */
	fnats_close(fc->nc, fc->js);                   /* flushes the last acks */
	free(fc);
}

int fconsume_connected(const fconsume *fc)
{
	return fc && fc->nc &&
	       natsConnection_Status(fc->nc) == NATS_CONN_STATUS_CONNECTED;
}

/* Add list's messages to b. */
static void take_list(fconsume_batch *b, natsMsgList *list)
{
	natsMsgList *keep = malloc(sizeof(*keep));
	if (!keep) { /* not acknowledged: they come again */
		natsMsgList_Destroy(list);
		return;
	}
	*keep = *list;
	b->lists[b->n_lists++] = keep;
	for (int i = 0; i < list->Count && b->n < FCONSUME_BATCH_MAX; i++) {
		natsMsg *m = list->Msgs[i];
		b->msgs[b->n].subject = natsMsg_GetSubject(m);
		b->msgs[b->n].data = natsMsg_GetData(m);
		b->msgs[b->n].len = (size_t)natsMsg_GetDataLength(m);
		b->n++;
	}
}

int fconsume_fetch(fconsume *fc, fconsume_batch *b, size_t max, int timeout_ms, char *err,
		   size_t errlen)
{
	int each = timeout_ms / (int)fc->n;
	natsStatus last = NATS_OK;
	memset(b, 0, offsetof(fconsume_batch, msgs));
	b->n = 0;
	if (max > FCONSUME_BATCH_MAX)
		max = FCONSUME_BATCH_MAX;
	if (each < 20)
		each = 20;
	for (size_t k = 0; k < fc->n && b->n < max; k++) {
		size_t i = (fc->next + k) % fc->n;
		natsMsgList list = {0};
		jsErrCode jerr = 0;
		/* once something is in hand, only a quick look at the others */
		natsStatus s = natsSubscription_Fetch(
		    &list, fc->subs[i], (int)(max - b->n), b->n ? 1 : each, &jerr);
		if (s == NATS_OK && list.Count > 0)
			take_list(b, &list);
		else if (s != NATS_TIMEOUT && s != NATS_OK)
			last = s;
		if (s != NATS_OK)
			natsMsgList_Destroy(&list);
	}
	fc->next = (fc->next + 1) % fc->n;
	if (b->n)
		return 0;
	if (last != NATS_OK)
		return fnats_fail(err, errlen, "fetch", last, 0);
	return AM_ETIMEOUT;
}

void fconsume_batch_ack(fconsume *fc, fconsume_batch *b)
{
	(void)fc;
	for (size_t l = 0; l < b->n_lists; l++) {
		natsMsgList *list = b->lists[l];
		for (int i = 0; i < list->Count; i++)
			natsMsg_Ack(list->Msgs[i], NULL);
	}
	fconsume_batch_drop(b);
}

void fconsume_batch_drop(fconsume_batch *b)
{
	for (size_t l = 0; l < b->n_lists; l++) {
		natsMsgList_Destroy(b->lists[l]);
		free(b->lists[l]);
	}
	b->n_lists = 0;
	b->n = 0;
}
