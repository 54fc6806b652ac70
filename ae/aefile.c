/* aefile — encode, check and decode model files (format in aefile.h).
 * Encoding goes through a growable byte buffer; decoding through a bounded
 * cursor whose every read checks the bytes left, so no count in the file
 * can make the loader read or allocate past what the caps allow. */
#include "aefile.h"

#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const unsigned char aefile__magic[8] = {'A', 'N', 'O', 'M', 'A', 'E', 0x1a, '\n'};
#define AEFILE__HEAD 20 /* magic + version + body_len */

uint32_t aefile_crc32(const void *data, size_t len)
{
	/* Built per call (2048 steps): cheap beside any file, and no shared
	 * state between threads. */
	uint32_t table[256];
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
	const unsigned char *p = data;
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < len; i++)
		c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* ---- encoding ------------------------------------------------------------- */

typedef struct aefile__out {
	unsigned char *p;
	size_t len, alloc;
	int oom;
} aefile__out;

static void aefile__put(aefile__out *o, const void *mem, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n > o->alloc) {
		size_t na = o->alloc ? o->alloc : 4096;
		while (na < o->len + n)
			na *= 2;
		unsigned char *np = realloc(o->p, na);
		if (!np) {
			o->oom = 1;
			return;
		}
		o->p = np;
		o->alloc = na;
	}
	memcpy(o->p + o->len, mem, n);
	o->len += n;
}

static void aefile__u16(aefile__out *o, uint16_t v)
{
	unsigned char b[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
	aefile__put(o, b, 2);
}

static void aefile__u32(aefile__out *o, uint32_t v)
{
	unsigned char b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	aefile__put(o, b, 4);
}

static void aefile__u64(aefile__out *o, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	aefile__put(o, b, 8);
}

static void aefile__f64(aefile__out *o, double f)
{
	uint64_t v;
	memcpy(&v, &f, 8);
	aefile__u64(o, v);
}

static void aefile__f32(aefile__out *o, float f)
{
	uint32_t v;
	memcpy(&v, &f, 4);
	aefile__u32(o, v);
}

static void aefile__str(aefile__out *o, const char *s, size_t max)
{
	size_t n = strnlen(s, max - 1);
	aefile__u16(o, (uint16_t)n);
	aefile__put(o, s, n);
}

int aefile_encode(const ae_model *m, unsigned char **out, size_t *len, char *err,
		  size_t errlen)
{
	*out = NULL;
	*len = 0;
	if (!m->params || !isfinite(m->threshold) || m->n_layers == 0) {
		snprintf(err, errlen,
			 "model has no weights or no threshold: train it first");
		return AM_EINVAL;
	}
	if (!(m->rate_hz >= 0 && m->rate_hz <= AEFILE_MAX_RATE)) {
		snprintf(err, errlen, "rate %g Hz: want 0 (not known) .. %g", m->rate_hz,
			 AEFILE_MAX_RATE);
		return AM_EINVAL;
	}
	for (size_t c = 0; c < m->n_channels; c++)
		if (!(m->weight[c] > 0.0f) || !isfinite(m->weight[c])) {
			snprintf(err, errlen, "channel %s: weight %g, want > 0",
				 m->channels[c], (double)m->weight[c]);
			return AM_EINVAL;
		}
	aefile__out o = {0};
	aefile__put(&o, aefile__magic, sizeof aefile__magic);
	aefile__u32(&o, AEFILE_VERSION);
	aefile__u64(&o, 0); /* body_len, patched below */
	const ae_meta *mt = &m->meta;
	aefile__str(&o, mt->name, AE_META_MAX);
	aefile__str(&o, mt->source, AE_META_MAX);
	aefile__str(&o, mt->date, AE_META_MAX);
	aefile__str(&o, mt->thr_method, AE_META_MAX);
	aefile__u64(&o, mt->seed);
	aefile__u32(&o, mt->epochs);
	aefile__u32(&o, mt->best_epoch);
	aefile__u32(&o, mt->n_train);
	aefile__u32(&o, mt->n_val);
	aefile__f32(&o, mt->train_loss);
	aefile__f32(&o, mt->val_loss);
	aefile__u32(&o, (uint32_t)m->n_channels);
	for (size_t c = 0; c < m->n_channels; c++)
		aefile__str(&o, m->channels[c], AE_NAME_MAX);
	for (size_t c = 0; c < m->n_channels; c++)
		aefile__f32(&o, m->mean[c]);
	for (size_t c = 0; c < m->n_channels; c++)
		aefile__f32(&o, m->std[c]);
	aefile__u32(&o, (uint32_t)m->window);
	aefile__u32(&o, (uint32_t)m->hop);
	aefile__f64(&o, m->rate_hz);
	for (size_t c = 0; c < m->n_channels; c++)
		aefile__str(&o, m->units[c], AE_UNIT_MAX);
	aefile__str(&o, m->scaler, AE_NAME_MAX);
	for (size_t c = 0; c < m->n_channels; c++)
		aefile__f32(&o, m->weight[c]);
	aefile__u32(&o, (uint32_t)m->n_layers);
	for (size_t l = 0; l <= m->n_layers; l++)
		aefile__u32(&o, (uint32_t)m->sizes[l]);
	for (size_t l = 0; l < m->n_layers; l++)
		aefile__u32(&o, (uint32_t)m->act[l]);
	aefile__f32(&o, m->threshold);
	aefile__u64(&o, m->n_params);
	for (size_t p = 0; p < m->n_params; p++)
		aefile__f32(&o, m->params[p]);
	if (o.oom) {
		free(o.p);
		snprintf(err, errlen, "out of memory encoding the model");
		return AM_ENOMEM;
	}
	uint64_t body = o.len - AEFILE__HEAD;
	for (int i = 0; i < 8; i++)
		o.p[12 + i] = (unsigned char)(body >> (8 * i));
	aefile__u32(&o, aefile_crc32(o.p, o.len));
	if (o.oom) {
		free(o.p);
		snprintf(err, errlen, "out of memory encoding the model");
		return AM_ENOMEM;
	}
	*out = o.p;
	*len = o.len;
	return 0;
}

/* ---- decoding ------------------------------------------------------------- */

typedef struct aefile__in {
	const unsigned char *p;
	size_t left;
	int bad;
} aefile__in;

static const unsigned char *aefile__take(aefile__in *in, size_t n)
{
	if (in->bad || in->left < n) {
		in->bad = 1;
		return NULL;
	}
	const unsigned char *p = in->p;
	in->p += n;
	in->left -= n;
	return p;
}

static uint32_t aefile__get_u32(aefile__in *in)
{
	const unsigned char *b = aefile__take(in, 4);
	if (!b)
		return 0;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static uint64_t aefile__get_u64(aefile__in *in)
{
	uint64_t lo = aefile__get_u32(in);
	uint64_t hi = aefile__get_u32(in);
	return lo | hi << 32;
}

static double aefile__get_f64(aefile__in *in)
{
	uint64_t v = aefile__get_u64(in);
	double f;
	memcpy(&f, &v, 8);
	return f;
}

static float aefile__get_f32(aefile__in *in)
{
	uint32_t v = aefile__get_u32(in);
	float f;
	memcpy(&f, &v, 4);
	return f;
}

/* A string of at most max-1 printable bytes into out (NUL-terminated). */
static int aefile__get_str(aefile__in *in, char *out, size_t max)
{
	const unsigned char *b = aefile__take(in, 2);
	if (!b)
		return -1;
	size_t n = (size_t)b[0] | (size_t)b[1] << 8;
	if (n >= max) {
		in->bad = 1;
		return -1;
	}
	const unsigned char *s = aefile__take(in, n);
	if (!s)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f) {
			in->bad = 1;
			return -1;
		}
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int aefile_decode(const unsigned char *data, size_t len, ae_model *m, char *err,
		  size_t errlen)
{
	memset(m, 0, sizeof *m);
	if (len < 8 || memcmp(data, aefile__magic, 8) != 0) {
		snprintf(err, errlen, "not an anomesh model file (bad magic)");
		return AM_EVERSION;
	}
	if (len < AEFILE__HEAD + 4) {
		snprintf(err, errlen, "truncated: %zu bytes, shorter than the header",
			 len);
		return AM_EFORMAT;
	}
	aefile__in in = {data + 8, len - 8, 0};
	uint32_t version = aefile__get_u32(&in);
	if (version < AEFILE_VERSION_MIN || version > AEFILE_VERSION) {
		snprintf(err, errlen, "model format version %u, this build reads %d..%d",
			 version, AEFILE_VERSION_MIN, AEFILE_VERSION);
		return AM_EVERSION;
	}
	uint64_t body = aefile__get_u64(&in);
	if (body > AEFILE_MAX_BYTES || body + AEFILE__HEAD + 4 != len) {
		snprintf(err, errlen, "truncated or padded: %zu bytes, header says %llu",
			 len, (unsigned long long)body + AEFILE__HEAD + 4);
		return AM_EFORMAT;
	}
	const unsigned char *c = data + len - 4;
	uint32_t crc = (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 |
		       (uint32_t)c[3] << 24;
	if (crc != aefile_crc32(data, len - 4)) {
		snprintf(err, errlen, "checksum mismatch: the file is corrupt");
		return AM_EFORMAT;
	}
	in.left = (size_t)body;

	const char *what = "metadata";
	ae_meta *mt = &m->meta;
	aefile__get_str(&in, mt->name, AE_META_MAX);
	aefile__get_str(&in, mt->source, AE_META_MAX);
	aefile__get_str(&in, mt->date, AE_META_MAX);
	aefile__get_str(&in, mt->thr_method, AE_META_MAX);
	mt->seed = aefile__get_u64(&in);
	mt->epochs = aefile__get_u32(&in);
	mt->best_epoch = aefile__get_u32(&in);
	mt->n_train = aefile__get_u32(&in);
	mt->n_val = aefile__get_u32(&in);
	mt->train_loss = aefile__get_f32(&in);
	mt->val_loss = aefile__get_f32(&in);
	if (in.bad)
		goto bad;

	what = "channels";
	uint32_t nc = aefile__get_u32(&in);
	if (in.bad || nc == 0 || nc > AE_MAX_CHANNELS)
		goto bad;
	m->n_channels = nc;
	for (size_t i = 0; i < nc; i++)
		if (aefile__get_str(&in, m->channels[i], AE_NAME_MAX) ||
		    !m->channels[i][0])
			goto bad;
	what = "standardisation";
	for (size_t i = 0; i < nc; i++) {
		m->mean[i] = aefile__get_f32(&in);
		if (!isfinite(m->mean[i]))
			goto bad;
	}
	for (size_t i = 0; i < nc; i++) {
		m->std[i] = aefile__get_f32(&in);
		if (!isfinite(m->std[i]) || !(m->std[i] > 0.0f))
			goto bad;
	}
	what = "window";
	uint32_t window = aefile__get_u32(&in), hop = aefile__get_u32(&in);
	if (in.bad || window == 0 || window > AE_MAX_WINDOW || hop == 0 ||
	    hop > AE_MAX_WINDOW || (size_t)window * nc > AE_MAX_WIDTH)
		goto bad;
	m->window = window;
	m->hop = hop;
	m->file_version = version;
	for (size_t i = 0; i < nc; i++)
		m->weight[i] = 1.0f;
	if (version >= 2) {
		what = "data description";
		m->rate_hz = aefile__get_f64(&in);
		if (in.bad || !(m->rate_hz >= 0 && m->rate_hz <= AEFILE_MAX_RATE))
			goto bad;
		for (size_t i = 0; i < nc; i++)
			if (aefile__get_str(&in, m->units[i], AE_UNIT_MAX))
				goto bad;
		if (aefile__get_str(&in, m->scaler, AE_NAME_MAX))
			goto bad;
		for (size_t i = 0; i < nc; i++) {
			m->weight[i] = aefile__get_f32(&in);
			if (!isfinite(m->weight[i]) || !(m->weight[i] > 0.0f))
				goto bad;
		}
	}

	what = "layers";
	uint32_t nl = aefile__get_u32(&in);
	if (in.bad || nl == 0 || nl > AE_MAX_LAYERS)
		goto bad;
	m->n_layers = nl;
	for (size_t l = 0; l <= nl; l++) {
		uint32_t s = aefile__get_u32(&in);
		if (s == 0 || s > AE_MAX_WIDTH)
			goto bad;
		m->sizes[l] = s;
	}
	if (in.bad || m->sizes[0] != ae_input_size(m) || m->sizes[nl] != m->sizes[0])
		goto bad;
	for (size_t l = 0; l < nl; l++) {
		uint32_t a = aefile__get_u32(&in);
		if (a > AE_ACT_SIGMOID)
			goto bad;
		m->act[l] = (enum ae_act)a;
	}
	what = "threshold";
	m->threshold = aefile__get_f32(&in);
	if (in.bad || !isfinite(m->threshold) || m->threshold < 0.0f)
		goto bad;

	what = "weights";
	uint64_t np = aefile__get_u64(&in);
	if (in.bad || np > AE_MAX_PARAMS || np * 4 != in.left)
		goto bad;
	int arc = ae_model_alloc(m, err, errlen);
	if (arc == AM_ENOMEM) {
		ae_model_cleanup(m);
		return AM_ENOMEM;
	}
	if (arc)
		goto bad;
	if (m->n_params != np)
		goto bad;
	for (size_t p = 0; p < np; p++) {
		m->params[p] = aefile__get_f32(&in);
		if (!isfinite(m->params[p]))
			goto bad;
	}
	if (in.bad || in.left != 0)
		goto bad;
	return 0;
bad:
	ae_model_cleanup(m);
	snprintf(err, errlen, "invalid model file: bad %s", what);
	return AM_EFORMAT;
}

/* ---- files ---------------------------------------------------------------- */

int aefile_save(const ae_model *m, const char *path, char *err, size_t errlen)
{
	unsigned char *buf;
	size_t len;
	int rc = aefile_encode(m, &buf, &len, err, errlen);
	if (rc)
		return rc;
	rc = file_write_atomic(path, buf, len, 1, err, errlen);
	free(buf);
	return rc;
}

int aefile_load(const char *path, ae_model *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return AM_EIO;
	}
	size_t cap = AEFILE_MAX_BYTES + AEFILE__HEAD + 4;
	char *buf = NULL;
	size_t len = 0;
	int rc = file_read_capped(fd, cap, &buf, &len);
	int e = errno;
	close(fd);
	if (rc == AM_ENOMEM) {
		snprintf(err, errlen, "%s: out of memory", path);
	} else if (rc) {
		snprintf(err, errlen, "%s: read: %s", path, strerror(e));
	} else if (len > cap) {
		snprintf(err, errlen, "%s: over %zu bytes, not a model file", path, cap);
		rc = AM_EFORMAT;
	} else {
		char e2[256];
		rc = aefile_decode((const unsigned char *)buf, len, m, e2, sizeof e2);
		if (rc)
			snprintf(err, errlen, "%s: %s", path, e2);
	}
	free(buf);
	return rc;
}

void aefile_describe(const ae_model *m, FILE *f)
{
	fprintf(f, "model      %s\n", m->meta.name[0] ? m->meta.name : "(unnamed)");
	if (m->file_version)
		fprintf(f, "format     v%u%s\n", m->file_version,
			m->file_version < 2
			    ? " (records no sample rate, units or channel "
			      "weights: rates are not checked)"
			    : "");
	fprintf(f, "channels  ");
	for (size_t c = 0; c < m->n_channels; c++) {
		fprintf(f, " %s", m->channels[c]);
		if (m->units[c][0])
			fprintf(f, " [%s]", m->units[c]);
		fprintf(f, "(mean %.6g std %.6g", m->mean[c], m->std[c]);
		if (m->weight[c] != 1.0f)
			fprintf(f, " weight %.4g", m->weight[c]);
		fprintf(f, ")");
	}
	if (m->scaler[0])
		fprintf(f, "\nscaler     %s", m->scaler);
	if (m->rate_hz > 0)
		fprintf(f,
			"\nrate       %g Hz\nwindow     %zu samples (%.3g s), hop %zu\n",
			m->rate_hz, m->window, (double)m->window / m->rate_hz, m->hop);
	else
		fprintf(f, "\nrate       not recorded\nwindow     %zu samples, hop %zu\n",
			m->window, m->hop);
	fprintf(f, "layers     %zu", m->sizes[0]);
	for (size_t l = 0; l < m->n_layers; l++)
		fprintf(f, " -> %zu %s", m->sizes[l + 1], ae_act_name(m->act[l]));
	fprintf(f, " (%zu parameters)\n", m->n_params);
	fprintf(f, "threshold  %.6g (%s)\n", m->threshold, m->meta.thr_method);
	fprintf(f,
		"trained    %s on %s, seed %llu, %u epochs (best %u), %u train / %u val "
		"windows, loss %.6g / %.6g\n",
		m->meta.date, m->meta.source, (unsigned long long)m->meta.seed,
		m->meta.epochs, m->meta.best_epoch, m->meta.n_train, m->meta.n_val,
		m->meta.train_loss, m->meta.val_loss);
}
