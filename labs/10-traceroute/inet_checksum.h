/* inet_checksum.h - the Internet checksum of lab 10 (RFC 1071), for ICMP, IP, UDP and TCP. */
#ifndef INET_CHECKSUM_H
#define INET_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * The Internet checksum of len bytes at data (RFC 1071): take the bytes as
 * big-endian 16-bit words (an odd last byte is the high half of a word whose
 * low half is zero), add them up in one's complement arithmetic (a carry out
 * of bit 15 is added back in at bit 0), and complement the sum.
 *
 * The result is a number in host order: store it big-endian into the
 * checksum field, e.g. with htons(). To fill in a header, compute it over the
 * message with the checksum field zeroed; to check a message as received,
 * compute it over the whole message as it is: 0 means the checksum verifies.
 * data needs no alignment; len 0 gives 0xffff.
 */
uint16_t inet_checksum(const void *data, size_t len);

#endif
