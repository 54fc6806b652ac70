/* ae_data — data preparation for training and offline evaluation: from a
 * CSV table to the standardised windows a model trains on.
 *
 *   table --ae_rows_from_table--> raw rows of the model's channels
 *         --ae_fit_scaler-------> the model's per-channel mean and std
 *         --ae_windows_from_rows> standardised, flattened windows
 *         --ae_split_windows----> training head / held-out validation tail
 *
 * Channels are picked by name (csv.h normalises the header), so a file with
 * more columns, or in another order, feeds the same model. The validation
 * split is by time, not at random: the tail of the windows is held out and
 * the windows that overlap both parts are dropped, so validation data is
 * never seen in training (not even partly, through an overlapping window).
 *
 * The scorer needs none of this: it standardises and windows live samples
 * with ae.h's ae_standardise / ae_make_windows, which these call too.
 *
 * Ownership: arrays returned through float ** are malloc'd; the caller
 * frees them. Nothing here logs.
 *
 * Codes it returns (tree-wide, error.h):
 *   AM_ENODATA  a channel is missing or not numeric, a value is out of float
 *               range, or too few rows; err says which
 *   AM_ENOMEM
 */
#ifndef ANOMESH_AE_DATA_H
#define ANOMESH_AE_DATA_H

#include <stddef.h>

#include "ae.h"
#include "csv.h"
#include "error.h"

/* Rows of the model's channels out of a CSV table: *rows (malloc'd, the
 * caller frees) gets n_rows x n_channels floats, row-major, the first
 * max_rows rows at most (0: all). Returns 0, AM_ENODATA if a channel is
 * missing, is text or holds a value out of float range, or AM_ENOMEM. */
int ae_rows_from_table(const ae_model *m, const csv_table *t, size_t max_rows,
		       float **rows, size_t *n_rows, char *err, size_t errlen);

/* Fit mean/std per channel on raw rows (n_rows x n_channels). A channel
 * with std below 1e-6 of max(1,|mean|) gets std 1 (constant channels then
 * pass through as 0 instead of blowing up). Returns 0 or AM_ENODATA (fewer
 * than 2 rows). */
int ae_fit_scaler(ae_model *m, const float *rows, size_t n_rows, char *err,
		  size_t errlen);

/* The same with median and interquartile range / 1.349 (a std for normal
 * data) per channel; a channel whose IQR is below the floor falls back to
 * its std (then to 1). Same returns. */
int ae_fit_scaler_robust(ae_model *m, const float *rows, size_t n_rows, char *err,
			 size_t errlen);

/* Every window of n_rows raw rows, standardised with m's scaler, into a
 * malloc'd *windows of *n_windows x ae_input_size(m) floats (window i
 * starts at row i * hop). Returns 0 or AM_ENOMEM (*windows then NULL). */
int ae_windows_from_rows(const ae_model *m, const float *rows, size_t n_rows,
			 float **windows, size_t *n_windows, char *err, size_t errlen);

/* The sample rate of rows stamped t[0..n) (seconds): 1 / the median step
 * between consecutive rows, so lost samples and jitter do not move it,
 * rounded to 1/1000 Hz. 0 when there are fewer than 2 rows or no step is
 * positive. */
double ae_rate_from_times(const double *t, size_t n);

/* The contract's unit of an LPMS-family channel ("g" for linacc_x, "deg/s"
 * for gyr_y, ...: docs/contract.md), "" for any other name. */
const char *ae_contract_unit(const char *channel);

/* The time split of n_windows windows of m: the first *n_train train, the
 * last *n_val (val_frac of them) validate, and the ceil(window/hop) - 1
 * windows in between, which overlap both, are used by neither. If the
 * tail would be empty or leave no training window, *n_val = 0 and every
 * window trains. */
void ae_split_windows(const ae_model *m, size_t n_windows, double val_frac,
		      size_t *n_train, size_t *n_val);

#endif
