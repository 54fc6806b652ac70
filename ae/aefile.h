/* aefile — the model file: an ae_model on disk, versioned, self-describing
 * and checked, so a scorer never runs a truncated, corrupt or foreign file.
 *
 * Format v2, all integers and floats little-endian (floats as IEEE-754
 * binary32 bit patterns, f64 as binary64), strings as u16 length + bytes
 * (no NUL):
 *
 *   magic     8 bytes  "ANOMAE\x1a\n"
 *   version   u32      2
 *   body_len  u64      bytes of body
 *   body:
 *     meta    str name, str source, str date, str thr_method,
 *             u64 seed, u32 epochs, u32 best_epoch, u32 n_train, u32 n_val,
 *             f32 train_loss, f32 val_loss
 *     input   u32 n_channels, n_channels x str channel name,
 *             f32 mean[n_channels], f32 std[n_channels], u32 window, u32 hop
 *     data    f64 rate_hz (0: not recorded), n_channels x str unit (may be
 *             empty), str scaler, f32 weight[n_channels] (> 0)
 *     net     u32 n_layers, u32 sizes[n_layers + 1], u32 act[n_layers]
 *             (0 linear, 1 tanh, 2 relu, 3 sigmoid), f32 threshold,
 *             u64 n_params, f32 params[n_params] (ae.h's layout: per layer
 *             weights sizes[l] x sizes[l+1] row-major, then biases)
 *   crc32     u32      CRC-32 (IEEE, as zlib) of every byte before it
 *
 * Format v1 is the same without the data section. It still loads: rate 0
 * (not recorded), no units, weights 1, file_version 1, and
 * aefile_describe() says what it lacks. Files are always written as v2.
 *
 * Loading treats the file as untrusted: the magic and version are checked
 * first (AM_EVERSION: not ours or another version), then the length and
 * the CRC (AM_EFORMAT: truncated or corrupt), then every count against
 * ae.h's caps, every float for finiteness, std > 0, the layer sizes against
 * window x channels and n_params against the sizes, and the body must be
 * consumed exactly. The error text names the problem and the file.
 *
 * Ownership: aefile_load/aefile_decode fill a caller-embedded ae_model that
 * the caller releases with ae_model_cleanup(); on error nothing is left
 * allocated. aefile_encode returns a malloc'd buffer the caller frees. */
#ifndef ANOMESH_AEFILE_H
#define ANOMESH_AEFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ae.h"

#define AEFILE_VERSION 2     /* written */
#define AEFILE_VERSION_MIN 1 /* oldest read */
#define AEFILE_MAX_RATE 1e6  /* Hz */
#define AEFILE_MAX_BYTES ((size_t)AE_MAX_PARAMS * 4 + (1u << 20))

/* Codes it returns (tree-wide, error.h):
 *   AM_EIO       cannot open/read/write: errno kept
 *   AM_EFORMAT   truncated, corrupt or invalid content
 *   AM_EVERSION  not a model file, or another format version
 *   AM_ENOMEM
 *   AM_EINVAL    model not fit to save (e.g. no threshold)
 */
#include "error.h"

/* CRC-32 (IEEE 802.3, reflected, init and final xor 0xffffffff). */
uint32_t aefile_crc32(const void *data, size_t len);

int aefile_encode(const ae_model *m, unsigned char **out, size_t *len, char *err,
		  size_t errlen);
int aefile_decode(const unsigned char *data, size_t len, ae_model *m, char *err,
		  size_t errlen);

/* Save through a temporary file and rename, so a reader (a scorer reloading
 * on SIGHUP) sees the old file or the new one, never half of one. */
int aefile_save(const ae_model *m, const char *path, char *err, size_t errlen);
int aefile_load(const char *path, ae_model *m, char *err, size_t errlen);

/* Print a human description of the model (channels, units, rate, window,
 * layers, threshold, training metadata; what a v1 file lacks) to f. */
void aefile_describe(const ae_model *m, FILE *f);

#endif
