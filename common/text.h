/* text — the one set of validators for text that crosses the mesh's edge:
 * well-formed UTF-8 (topic names, JSON text fields), the contract's sensor
 * id, and the topic levels anomesh builds itself. Every module that checks
 * such text calls these (mqtt before a publish, msg on every decoded
 * string, topic when it parses, ingest on a source's #name), so the rules
 * cannot drift apart. Pure functions, no state, no allocation. */
#ifndef ANOMESH_TEXT_H
#define ANOMESH_TEXT_H

#include <stddef.h>

#define TEXT_SENSOR_MAX 64 /* [A-Za-z0-9._-]{1,64} */

/* Length (1..4) of the well-formed UTF-8 sequence starting at p, 0 if it
 * is not one: overlong forms, surrogates and code points above U+10FFFF
 * are refused (RFC 3629). Reads p[1..3] only while they continue the
 * sequence, so a NUL-terminated string is never read past its end. */
size_t text_utf8_seq(const unsigned char *p);

/* 1 if the NUL-terminated s is well-formed UTF-8, else 0 (s NULL: 0). */
int text_utf8_valid(const char *s);

/* 1 if c may stand in a sensor id ([A-Za-z0-9._-]). */
int text_sensor_char(unsigned char c);

/* 1 if s is a contract sensor id: [A-Za-z0-9._-]{1,64}; reads at most
 * TEXT_SENSOR_MAX + 1 bytes of s, so an unterminated array is safe. */
int text_sensor_valid(const char *s);

/* 1 if s is a topic level anomesh may build a topic from (a root, service
 * or instance name): 1..max bytes, printable ASCII or UTF-8 above it, no
 * space, no MQTT wildcard ('+', '#'), and no '/' unless slash_ok. */
int text_level_valid(const char *s, size_t max, int slash_ok);

#endif
