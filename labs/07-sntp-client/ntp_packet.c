/* ntp_packet.c - the NTP packet codec of lab 07; contracts in ntp_packet.h. */
#include "ntp_packet.h"

#include <math.h>
#include <string.h>

#include "socklab.h"

#define FRACTION_UNITS 4294967296.0 /* 2^32: one second in 32.32 */
#define NANOS 1000000000u

/* Big-endian (network order) loads and stores, byte by byte: the wire has no
 * alignment, and this is the same on every host. */
static inline uint32_t
load32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
load64(const unsigned char *p)
{
	return (uint64_t)load32(p) << 32 | load32(p + 4);
}

static inline void
store32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static inline void
store64(unsigned char *p, uint64_t v)
{
	store32(p, (uint32_t)(v >> 32));
	store32(p + 4, (uint32_t)v);
}

void
ntp_encode(const struct ntp_packet *packet, unsigned char out[NTP_PACKET_SIZE])
{
	/* First byte: LI (2 bits) | VN (3 bits) | Mode (3 bits). */
	out[0] = (unsigned char)((packet->leap & 3) << 6 | (packet->version & 7) << 3 |
	                         (packet->mode & 7));
	out[1] = packet->stratum;
	out[2] = (unsigned char)packet->poll;
	out[3] = (unsigned char)packet->precision;
	store32(out + 4, packet->root_delay);
	store32(out + 8, packet->root_dispersion);
	memcpy(out + 12, packet->reference_id, 4);
	store64(out + 16, packet->reference_ts);
	store64(out + 24, packet->originate_ts);
	store64(out + 32, packet->receive_ts);
	store64(out + 40, packet->transmit_ts);
}

void
ntp_encode_request(uint64_t transmit, unsigned char out[NTP_PACKET_SIZE])
{
	/* TODO(lab07): a request is all zero but three fields (RFC 4330 section 5):
	 * version 4, mode NTP_MODE_CLIENT and the transmit timestamp. Fill a
	 * struct ntp_packet and let ntp_encode() lay it out. */
	(void)transmit;
	(void)out;
	sl_todo("lab07", "ntp_encode_request");
}

int
ntp_decode(const unsigned char *data, size_t len, struct ntp_packet *packet)
{
	/* TODO(lab07): return -1 if len < NTP_PACKET_SIZE (never read past the
	 * datagram); then split byte 0 into leap (top 2 bits), version (next 3)
	 * and mode (low 3), and copy stratum (byte 1), poll and precision (bytes
	 * 2 and 3, signed: 0xfa is -6). Replace the sl_todo() call with that. */
	sl_todo("lab07", "ntp_decode (length check and the first four bytes)");
	packet->root_delay = load32(data + 4);
	packet->root_dispersion = load32(data + 8);
	memcpy(packet->reference_id, data + 12, 4);
	packet->reference_ts = load64(data + 16);
	packet->originate_ts = load64(data + 24);
	packet->receive_ts = load64(data + 32);
	packet->transmit_ts = load64(data + 40);
	(void)len;
	return 0;
}

enum ntp_verdict
ntp_validate(const struct ntp_packet *reply, uint64_t sent)
{
	/* TODO(lab07): return the first problem, in this order: mode not server
	 * (NTP_BAD_MODE); originate timestamp not equal to sent (NTP_BAD_ORIGINATE:
	 * check it before trusting a kiss, or anyone could silence us); stratum 0
	 * (NTP_KISS_OF_DEATH); leap indicator 3 (NTP_UNSYNCHRONIZED); stratum above
	 * 15 (NTP_BAD_STRATUM); zero transmit timestamp (NTP_ZERO_TRANSMIT). */
	(void)reply;
	(void)sent;
	sl_todo("lab07", "ntp_validate");
}

const char *
ntp_verdict_text(enum ntp_verdict verdict)
{
	switch (verdict) {
	case NTP_OK:
		return "valid";
	case NTP_BAD_MODE:
		return "mode is not 4 (server)";
	case NTP_BAD_ORIGINATE:
		return "originate timestamp does not match the request's transmit timestamp";
	case NTP_KISS_OF_DEATH:
		return "kiss-o'-death (stratum 0)";
	case NTP_UNSYNCHRONIZED:
		return "leap indicator 3: the server's clock is not synchronized";
	case NTP_BAD_STRATUM:
		return "stratum above 15: the server is not synchronized";
	case NTP_ZERO_TRANSMIT:
		return "transmit timestamp is zero";
	}
	return "unknown verdict";
}

uint64_t
ntp_from_timespec(const struct timespec *ts)
{
	/* TODO(lab07): seconds = tv_sec + NTP_UNIX_OFFSET, kept modulo 2^32 (the
	 * era is dropped); fraction = tv_nsec * 2^32 / 10^9, rounded to nearest. */
	(void)ts;
	sl_todo("lab07", "ntp_from_timespec");
}

struct timespec
ntp_to_timespec(uint64_t ntp, const struct timespec *near)
{
	/* TODO(lab07): of all the eras, pick the one that puts the timestamp's
	 * seconds closest to near's: take the difference of the low 32 bits of
	 * both NTP seconds as a signed 32-bit step (-2^31..2^31-1) from near.
	 * Then subtract NTP_UNIX_OFFSET; nanoseconds = fraction * 10^9 / 2^32,
	 * rounded, carrying into the seconds if that makes a whole second. */
	(void)ntp;
	(void)near;
	sl_todo("lab07", "ntp_to_timespec");
}

double
ntp_interval_seconds(int64_t interval)
{
	return (double)interval / FRACTION_UNITS;
}

int64_t
ntp_interval_from_seconds(double seconds)
{
	double units = round(seconds * FRACTION_UNITS);

	/* Intervals past +-68 years do not fit: saturate rather than overflow. */
	if (!(units > -9.2e18))
		return INT64_MIN;
	if (units > 9.2e18)
		return INT64_MAX;
	return (int64_t)units;
}

/* A difference computed modulo 2^64, read as signed (two's complement). */
static inline int64_t
as_signed(uint64_t d)
{
	return d <= INT64_MAX ? (int64_t)d : -(int64_t)~d - 1;
}

int64_t
ntp_diff(uint64_t a, uint64_t b)
{
	/* Modulo 2^64, a timestamp just after the 2036 wrap minus one just
	 * before it is a small positive step, as it should be. */
	return as_signed(b - a);
}

int64_t
ntp_offset(uint64_t t1, uint64_t t2, uint64_t t3, uint64_t t4)
{
	/* TODO(lab07): ((T2 - T1) + (T3 - T4)) / 2 with ntp_diff(); halve each
	 * difference before adding them so that the sum cannot overflow. */
	(void)t1;
	(void)t2;
	(void)t3;
	(void)t4;
	sl_todo("lab07", "ntp_offset");
}

int64_t
ntp_delay(uint64_t t1, uint64_t t2, uint64_t t3, uint64_t t4)
{
	/* TODO(lab07): (T4 - T1) - (T3 - T2). Compute it on the uint64_t values
	 * and convert once with as_signed(): a garbage reply must not overflow. */
	(void)t1;
	(void)t2;
	(void)t3;
	(void)t4;
	sl_todo("lab07", "ntp_delay");
}
