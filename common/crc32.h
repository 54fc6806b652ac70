/* crc32 — the one CRC-32 of the tree (IEEE 802.3, reflected, polynomial
 * 0xEDB88320: zlib's and PNG's), for the records of crash-safe logs that
 * must tell a whole record from a torn or damaged one (the archiver's
 * spool, ingest-bt's journal). Slicing by 8 (eight 1 KiB tables, made
 * once on first use): about 8 bytes per step, several times the classic
 * byte-at-a-time loop, which matters for a journal scanned whole at start.
 *
 * Pure function of its input; the tables are built once, thread-safely
 * (pthread_once). No allocation, nothing to free. */
#ifndef ANOMESH_CRC32_H
#define ANOMESH_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32 of len bytes at data, continuing from crc (start with 0):
 * crc32_update(crc32_update(0, a, n), b, m) is the CRC of a followed by b.
 * crc32_update(0, "123456789", 9) == 0xCBF43926. */
uint32_t crc32_update(uint32_t crc, const void *data, size_t len);

#endif
