/* inet_checksum.c - the Internet checksum of lab 10; the contract is in inet_checksum.h. */
#include "inet_checksum.h"

/* slide: inet-checksum */
uint16_t
inet_checksum(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t sum = 0;

	/* Byte by byte, big-endian: right on any host and at any alignment. */
	for (; len >= 2; p += 2, len -= 2) {
		sum += (uint32_t)p[0] << 8 | p[1];
		sum = (sum & 0xffff) + (sum >> 16);	/* the end-around carry */
	}
	if (len == 1) {
		sum += (uint32_t)p[0] << 8;	/* the odd byte, padded with a zero */
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}
/* end slide */
