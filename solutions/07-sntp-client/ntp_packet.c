/* ntp_packet.c - the NTP packet codec of lab 07; contracts in ntp_packet.h. */
#include "ntp_packet.h"

#include <math.h>
#include <string.h>

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
	struct ntp_packet request;

	/* RFC 4330: a client may leave every field zero but these three. */
	memset(&request, 0, sizeof request);
	request.version = 4;
	request.mode = NTP_MODE_CLIENT;
	request.transmit_ts = transmit;
	ntp_encode(&request, out);
}

int
ntp_decode(const unsigned char *data, size_t len, struct ntp_packet *packet)
{
	if (len < NTP_PACKET_SIZE)
		return -1;
	packet->leap = data[0] >> 6;
	packet->version = (data[0] >> 3) & 7;
	packet->mode = data[0] & 7;
	packet->stratum = data[1];
	/* poll and precision are signed powers of two: 0xfa is -6, 1/64 s. */
	packet->poll = (int8_t)(data[2] >= 128 ? data[2] - 256 : data[2]);
	packet->precision = (int8_t)(data[3] >= 128 ? data[3] - 256 : data[3]);
	packet->root_delay = load32(data + 4);
	packet->root_dispersion = load32(data + 8);
	memcpy(packet->reference_id, data + 12, 4);
	packet->reference_ts = load64(data + 16);
	packet->originate_ts = load64(data + 24);
	packet->receive_ts = load64(data + 32);
	packet->transmit_ts = load64(data + 40);
	return 0;
}

/* slide: validate */
enum ntp_verdict
ntp_validate(const struct ntp_packet *reply, uint64_t sent)
{
	if (reply->mode != NTP_MODE_SERVER)
		return NTP_BAD_MODE;
	/* Only an echo of our own transmit timestamp proves this answers our
	 * request: a stale duplicate or a blind forgery does not have it. Check it
	 * before believing a kiss-o'-death, or anyone could silence us. */
	if (reply->originate_ts != sent)
		return NTP_BAD_ORIGINATE;
	if (reply->stratum == 0)
		return NTP_KISS_OF_DEATH;
	if (reply->leap == NTP_LEAP_UNSYNCHRONIZED)
		return NTP_UNSYNCHRONIZED;
	if (reply->stratum > 15)
		return NTP_BAD_STRATUM;
	if (reply->transmit_ts == 0)
		return NTP_ZERO_TRANSMIT;
	return NTP_OK;
}
/* end slide */

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
	/* Unsigned arithmetic wraps modulo 2^32 seconds: that drops the era. */
	uint32_t seconds = (uint32_t)((uint64_t)ts->tv_sec + NTP_UNIX_OFFSET);
	/* Round to the nearest 2^-32 s; below one second it stays below 2^32. */
	uint64_t fraction = (((uint64_t)ts->tv_nsec << 32) + NANOS / 2) / NANOS;

	return (uint64_t)seconds << 32 | fraction;
}

/* slide: to-timespec */
struct timespec
ntp_to_timespec(uint64_t ntp, const struct timespec *near)
{
	struct timespec ts;
	int64_t near_ntp = (int64_t)near->tv_sec + NTP_UNIX_OFFSET;
	/* How far the timestamp's seconds lie from near's, within one era: the
	 * difference modulo 2^32, taken as -2^31..2^31-1 (closest era wins). */
	int64_t ahead = (int64_t)(((uint32_t)(ntp >> 32) - (uint32_t)near_ntp) & 0xffffffffu);
	uint64_t nanos = ((ntp & 0xffffffffu) * NANOS + (1u << 31)) >> 32;

	if (ahead >= INT64_C(0x80000000))
		ahead -= INT64_C(0x100000000);
	ts.tv_sec = (time_t)(near_ntp + ahead - NTP_UNIX_OFFSET);
	ts.tv_nsec = (long)nanos;
	/* Rounding up the last 2^-32 s of a second gives a whole second. */
	if (ts.tv_nsec == (long)NANOS) {
		ts.tv_sec++;
		ts.tv_nsec = 0;
	}
	return ts;
}
/* end slide */

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

/* slide: offset-delay */
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
	int64_t there = ntp_diff(t1, t2), back = ntp_diff(t4, t3);

	/* Halve each before adding so two large intervals cannot overflow. */
	return there / 2 + back / 2 + (there % 2 + back % 2) / 2;
}

int64_t
ntp_delay(uint64_t t1, uint64_t t2, uint64_t t3, uint64_t t4)
{
	return as_signed((t4 - t1) - (t3 - t2));
}
/* end slide */
