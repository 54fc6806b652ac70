/* window — continuity checks and ring-buffer windowing of one sensor's
 * stream (see window.h). The hot path is win__push(): gather the model's
 * channels of one sample, standardise with ae_standardise() (the very
 * function the offline tools use, so live and offline windows agree to the
 * bit), write the row twice, and emit when the hop grid says so. */
#include "window.h"

#include <stdlib.h>
#include <string.h>

void win_stream_init(win_stream *s) { memset(s, 0, sizeof(*s)); }

void win_stream_cleanup(win_stream *s)
{
	if (!s)
		return;
	free(s->rows);
	free(s->times);
	memset(s, 0, sizeof(*s));
}

void win_stream_reset(win_stream *s)
{
	double gap = s->max_gap_s;
	size_t step = s->step;
	win_stream_cleanup(s);
	s->max_gap_s = gap;
	s->step = step;
}

int win_channel_map(const ae_model *m, const msg_raw *r, size_t *idx)
{
	for (size_t c = 0; c < m->n_channels; c++) {
		size_t j = 0;
		while (j < r->n_channels && strcmp(r->channels[j], m->channels[c]) != 0)
			j++;
		if (j == r->n_channels)
			return -1;
		idx[c] = j;
	}
	return 0;
}

/* Empty the ring: the next window ends `window` kept samples from now,
 * and the next sample is kept. */
static void win__restart(win_stream *s)
{
	s->head = 0;
	s->filled = 0;
	s->to_next = s->window;
	s->skip = 0;
	s->bound_step = s->step > 1 ? s->step : 1;
}

/* Lay the ring out for model m (generation gen). Returns 0 or -1 (no
 * memory; the stream is then empty and unbound). Reallocates only when
 * the shape changes. */
static int win__bind(win_stream *s, const ae_model *m, uint64_t gen)
{
	if (!s->rows || s->window != m->window || s->n_channels != m->n_channels) {
		free(s->rows);
		free(s->times);
		s->rows = malloc(2 * m->window * m->n_channels * sizeof(*s->rows));
		s->times = malloc(2 * m->window * sizeof(*s->times));
		if (!s->rows || !s->times) {
			free(s->rows);
			free(s->times);
			s->rows = NULL;
			s->times = NULL;
			return -1;
		}
	}
	s->window = m->window;
	s->n_channels = m->n_channels;
	s->hop = m->hop;
	s->model_gen = gen;
	win__restart(s);
	return 0;
}

/* Append one sample (raw row of the message, idx maps model channels) and
 * emit the window it completes, if any. */
static void win__push(win_stream *s, const ae_model *m, const float *raw_row,
		      const size_t *idx, double t, win_emit_fn emit, void *ud)
{
	float gathered[AE_MAX_CHANNELS];
	const size_t nc = s->n_channels, w = s->window;
	float *dst = s->rows + s->head * nc;

	for (size_t c = 0; c < nc; c++)
		gathered[c] = raw_row[idx[c]];
	ae_standardise(m, gathered, 1, dst);
	memcpy(dst + w * nc, dst, nc * sizeof(*dst));
	s->times[s->head] = t;
	s->times[s->head + w] = t;
	s->head = s->head + 1 == w ? 0 : s->head + 1;
	if (s->filled < w)
		s->filled++;
	if (--s->to_next == 0) {
		s->to_next = s->hop;
		/* filled == w always holds here: to_next starts at w */
		emit(ud, s->rows + s->head * nc, s->times[s->head],
		     s->times[s->head + w - 1]);
	}
}

/* The continuity events of r against the stream so far (0 if it simply
 * continues), or WIN_EV_DUP. */
static unsigned win__continuity(const win_stream *s, const msg_raw *r)
{
	if (!s->started)
		return 0;
	if (strcmp(s->run, r->run) != 0)
		return WIN_EV_RUN;
	if (r->seq < s->next_seq)
		return WIN_EV_DUP;
	if (r->seq > s->next_seq)
		return WIN_EV_SEQ_GAP;
	if (r->has_frame0 && s->has_frame && r->frame0 != s->next_frame)
		return WIN_EV_FRAME_GAP;
	if (!(r->t0 > s->last_t0))
		return WIN_EV_ORDER;
	if (r->rate_hz != s->rate_hz)
		return WIN_EV_RATE;
	if (s->max_gap_s > 0 && r->t0 - s->next_t0 > s->max_gap_s)
		return WIN_EV_TIME_GAP;
	return 0;
}

/* Remember r as the last message of the stream. */
static void win__advance(win_stream *s, const msg_raw *r)
{
	s->started = 1;
	memcpy(s->run, r->run, sizeof(s->run));
	s->next_seq = r->seq + 1;
	s->has_frame = r->has_frame0;
	s->next_frame = r->frame0 + (int64_t)r->n_samples;
	s->last_t0 = r->t0;
	s->next_t0 = r->t0 + (double)r->n_samples / r->rate_hz;
	s->rate_hz = r->rate_hz;
}

unsigned win_feed(win_stream *s, const ae_model *m, uint64_t model_gen, const msg_raw *r,
		  win_emit_fn emit, void *ud)
{
	size_t idx[AE_MAX_CHANNELS];
	unsigned ev = win__continuity(s, r);

	if (ev & WIN_EV_DUP)
		return ev;
	if (!s->rows || s->model_gen != model_gen || s->window != m->window ||
	    s->n_channels != m->n_channels) {
		if (s->rows)
			ev |= WIN_EV_MODEL;
		if (win__bind(s, m, model_gen)) {
			s->started = 0;
			return ev | WIN_EV_NOMEM;
		}
	} else if ((ev & WIN_EV_RESTART_MASK) ||
		   s->bound_step != (s->step > 1 ? s->step : 1)) {
		win__restart(s);
	}
	win__advance(s, r);
	if (win_channel_map(m, r, idx)) {
		/* counted; the continuity is kept so the next good message does
		 * not also count as a gap */
		win__restart(s);
		return ev | WIN_EV_CHANNELS;
	}
	for (size_t i = 0; i < r->n_samples; i++) {
		if (s->skip > 0) {
			s->skip--;
			continue;
		}
		s->skip = s->bound_step - 1;
		win__push(s, m, r->samples + i * r->n_channels, idx,
			  r->t0 + (double)i / r->rate_hz, emit, ud);
	}
	return ev;
}
