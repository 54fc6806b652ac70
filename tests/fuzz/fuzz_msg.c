/* libFuzzer target for every message decoder of the contract (common/msg.h).
 *
 * Input: one selector byte, then the payload. The selector's low four bits
 * pick the decoder by its place in FUZZ_MSG_KINDS (the list only grows at
 * its end, so a saved input keeps meaning the same decoder); a number past
 * the list runs every decoder on the payload. The high four bits shrink the
 * err buffer (0: MSG_ERR_MAX, else 4 x that many bytes).
 *
 * Properties checked beyond "no crash, no sanitizer report":
 *  - a refusal returns one of the codes msg.h lists and leaves a non-empty
 *    reason in err, terminated inside errlen, nothing written past it;
 *  - what decodes, encodes (an encoder refuses only what a decoder would);
 *    the encoding decodes again, into the same struct (reusing its
 *    storage), and encodes to the same bytes: decode and encode agree.
 * Adding a message with the usual msg_X_decode / msg_X_encode pair is one
 * line in FUZZ_MSG_KINDS. Run with `make fuzz` (tests/fuzz/run.sh). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Append only: a kind's place is its selector in saved inputs. */
#define FUZZ_MSG_KINDS(X)                                                                \
	X(raw)                                                                           \
	X(prediction)                                                                    \
	X(state)                                                                         \
	X(alert)                                                                         \
	X(ack)                                                                           \
	X(status)                                                                        \
	X(group)                                                                         \
	X(repair)

/* One struct of any kind; only a raw message owns memory (its samples). */
typedef union fuzz_msg {
#define FUZZ_MEMBER(k) msg_##k k;
	FUZZ_MSG_KINDS(FUZZ_MEMBER)
#undef FUZZ_MEMBER
} fuzz_msg;

static void fuzz_nothing(void *m) { (void)m; }
#define FUZZ_CLEANUP(p)                                                                  \
	_Generic((p), msg_raw * : msg_raw_cleanup, default : fuzz_nothing)(p)

/* Typed wrappers, so that every call goes through the real prototype. */
#define FUZZ_WRAP(k)                                                                     \
	static int fuzz_dec_##k(const char *j, size_t n, fuzz_msg *m, char *e,           \
				size_t el)                                               \
	{                                                                                \
		return msg_##k##_decode(j, n, &m->k, e, el);                             \
	}                                                                                \
	static int fuzz_enc_##k(const fuzz_msg *m, char *o, size_t cap, size_t *len,     \
				char *e, size_t el)                                      \
	{                                                                                \
		return msg_##k##_encode(&m->k, o, cap, len, e, el);                      \
	}                                                                                \
	static void fuzz_fin_##k(fuzz_msg *m) { FUZZ_CLEANUP(&m->k); }
FUZZ_MSG_KINDS(FUZZ_WRAP)
#undef FUZZ_WRAP

static const struct fuzz_kind {
	const char *name;
	int (*dec)(const char *json, size_t len, fuzz_msg *m, char *err, size_t errlen);
	int (*enc)(const fuzz_msg *m, char *out, size_t cap, size_t *len, char *err,
		   size_t errlen);
	void (*fin)(fuzz_msg *m);
} fuzz_kinds[] = {
#define FUZZ_ENTRY(k) {#k, fuzz_dec_##k, fuzz_enc_##k, fuzz_fin_##k},
    FUZZ_MSG_KINDS(FUZZ_ENTRY)
#undef FUZZ_ENTRY
};
#define FUZZ_NKINDS (sizeof fuzz_kinds / sizeof fuzz_kinds[0])

static void fuzz_fail(const struct fuzz_kind *k, const char *what, const char *err)
{
	fprintf(stderr, "fuzz_msg: %s: %s (%s)\n", k->name, what, err ? err : "");
	abort();
}

/* A refusal: a listed code, and a reason that stays inside errlen. */
static void fuzz_check_refusal(const struct fuzz_kind *k, int rc, const char *err,
			       size_t errlen, size_t errcap)
{
	switch (rc) {
	case AM_EJSON:
	case AM_ETOOBIG:
	case AM_EFIELD:
	case AM_EVALUE:
	case AM_EVERSION:
	case AM_ESHAPE:
	case AM_ENOMEM:
		break;
	default:
		fuzz_fail(k, "refused with a code msg.h does not list", am_strerror(rc));
	}
	if (strnlen(err, errlen) >= errlen)
		fuzz_fail(k, "err not terminated inside errlen", NULL);
	if (errlen > 1 && err[0] == '\0')
		fuzz_fail(k, "refused without a reason", NULL);
	for (size_t i = errlen; i < errcap; i++)
		if (err[i] != 'x')
			fuzz_fail(k, "err written past errlen", NULL);
}

static void fuzz_one(const struct fuzz_kind *k, const char *json, size_t len,
		     size_t errlen)
{
	static char a[MSG_MAX_PAYLOAD + 1], b[MSG_MAX_PAYLOAD + 1];
	char err[MSG_ERR_MAX];
	size_t na = 0, nb = 0;
	fuzz_msg m;
	int rc;

	memset(&m, 0, sizeof m);
	memset(err, 'x', sizeof err);
	rc = k->dec(json, len, &m, err, errlen);
	if (rc) {
		fuzz_check_refusal(k, rc, err, errlen, sizeof err);
		goto out;
	}
	if (k->enc(&m, a, sizeof a, &na, err, sizeof err) != 0)
		fuzz_fail(k, "decoded but does not encode", err);
	if (na == 0 || na != strlen(a))
		fuzz_fail(k, "encoded length is not the text's", NULL);
	if (k->dec(a, na, &m, err, sizeof err) != 0)
		fuzz_fail(k, "its own encoding does not decode", err);
	if (k->enc(&m, b, sizeof b, &nb, err, sizeof err) != 0)
		fuzz_fail(k, "re-decoded but does not encode", err);
	if (na != nb || memcmp(a, b, na) != 0)
		fuzz_fail(k, "decode(encode(m)) encodes differently", a);
out:
	k->fin(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t sel, errlen;
	if (size < 1)
		return 0;
	sel = data[0] & 0x0f;
	errlen = data[0] >> 4 ? (size_t)(data[0] >> 4) * 4 : MSG_ERR_MAX;
	for (size_t i = 0; i < FUZZ_NKINDS; i++)
		if (sel >= FUZZ_NKINDS || sel == i)
			fuzz_one(&fuzz_kinds[i], (const char *)data + 1, size - 1,
				 errlen);
	return 0;
}
