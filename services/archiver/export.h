/* export — `archiver export`: a time range of one sensor's samples as CSV
 * "t,<channels...>" that bin/ae-train reads as it is. Gaps (missing
 * messages) inside the range are reported on stderr and, with --gaps FILE,
 * written as CSV "run,seq_from,seq_to,t_before,t_after" -- never into the
 * data file, whose every line after the header is a sample.
 *
 *   archiver export --sensor S [--from T1] [--to T2] [--channels a,b]
 *                   [--db FILE] [--out FILE] [--gaps FILE]
 *
 * T1/T2: UNIX seconds or UTC "YYYY-MM-DDTHH:MM:SS[Z]"; default: everything.
 * The database is opened while the archiver may be writing it (WAL). */
#ifndef ANOMESH_EXPORT_H
#define ANOMESH_EXPORT_H

/* Run the subcommand (argv[0] is "export"). Returns the process exit code:
 * 0 ok, 1 error or nothing to export, 2 usage. */
int export_main(int argc, char **argv);

/* Parse a time as above into UNIX seconds. Returns 0 or -1. */
int export_parse_time(const char *s, double *out);

#endif
