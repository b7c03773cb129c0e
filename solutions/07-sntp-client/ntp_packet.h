/* ntp_packet.h - the NTP packet codec of lab 07: encode, decode, validate, time arithmetic. */
#ifndef NTP_PACKET_H
#define NTP_PACKET_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Every NTP packet starts with this 48-byte header (RFC 5905, figure 8). */
#define NTP_PACKET_SIZE 48

/* Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01). */
#define NTP_UNIX_OFFSET 2208988800u

/* Association modes (the low three bits of the first byte). */
#define NTP_MODE_CLIENT 3
#define NTP_MODE_SERVER 4

/* Leap indicator 3: "alarm", the server's clock is not synchronized. */
#define NTP_LEAP_UNSYNCHRONIZED 3

/*
 * Timestamps are 64-bit fixed point, 32 bits of seconds and 32 bits of
 * fraction ("32.32"), counted from the start of an NTP era. Era 0 began in
 * 1900 and ends on 7 Feb 2036 06:28:16 UTC, when the seconds wrap to zero.
 * Intervals (offset, delay) are the signed difference of two timestamps in
 * the same 32.32 format, which stays right across an era boundary as long as
 * the two are less than 68 years apart.
 */

/* One NTP header, decoded into host byte order. */
struct ntp_packet {
	uint8_t leap;            /* leap indicator, 0..3 */
	uint8_t version;         /* 0..7; we send 4 */
	uint8_t mode;            /* 0..7; client 3, server 4 */
	uint8_t stratum;         /* 0 kiss-o'-death, 1 primary, 2..15 secondary */
	int8_t poll;             /* log2 of the poll interval in seconds */
	int8_t precision;        /* log2 of the clock's precision in seconds */
	uint32_t root_delay;     /* 16.16 seconds */
	uint32_t root_dispersion;/* 16.16 seconds */
	uint8_t reference_id[4]; /* IPv4, clock name, or the kiss code if stratum 0 */
	uint64_t reference_ts;   /* when the server's clock was last set */
	uint64_t originate_ts;   /* T1: the client's transmit timestamp, echoed */
	uint64_t receive_ts;     /* T2: when the request reached the server */
	uint64_t transmit_ts;    /* T3: when the reply left the server */
};

/* Why a reply must be discarded (or NTP_OK if it may be used). */
enum ntp_verdict {
	NTP_OK,
	NTP_BAD_MODE,          /* not mode 4 (server) */
	NTP_BAD_ORIGINATE,     /* not an answer to the request we sent last */
	NTP_KISS_OF_DEATH,     /* stratum 0: the server tells us to go away */
	NTP_UNSYNCHRONIZED,    /* leap indicator 3 */
	NTP_BAD_STRATUM,       /* stratum 16 (unsynchronized) or reserved */
	NTP_ZERO_TRANSMIT,     /* no transmit timestamp: nothing to learn from */
};

/* Write a client request (version 4, mode 3, all else zero but the transmit
 * timestamp) into out. */
void ntp_encode_request(uint64_t transmit, unsigned char out[NTP_PACKET_SIZE]);

/* Write any packet into out (servers and tests use it; the client uses
 * ntp_encode_request). Fields out of range are masked to their width. */
void ntp_encode(const struct ntp_packet *packet, unsigned char out[NTP_PACKET_SIZE]);

/* Decode the header of a datagram of len bytes. Bytes after the first 48
 * (extension fields, a MAC) are ignored. -1 if len is shorter than a header. */
int ntp_decode(const unsigned char *data, size_t len, struct ntp_packet *packet);

/* Check a decoded reply to the request whose transmit timestamp was sent, in
 * the order RFC 4330 section 5 gives. Says why it must be discarded, or NTP_OK. */
enum ntp_verdict ntp_validate(const struct ntp_packet *reply, uint64_t sent);

/* A short English reason for a verdict, e.g. "mode is not 4 (server)". */
const char *ntp_verdict_text(enum ntp_verdict verdict);

/* Unix time (seconds since 1970, UTC) -> NTP timestamp. The era is dropped:
 * only seconds modulo 2^32 since 1900 fit. */
uint64_t ntp_from_timespec(const struct timespec *ts);

/* NTP timestamp -> Unix time, in the era that puts it closest to near (the
 * local clock, say): right for any time within 68 years of near. */
struct timespec ntp_to_timespec(uint64_t ntp, const struct timespec *near);

/* Seconds as a double <-> a signed 32.32 interval. */
double ntp_interval_seconds(int64_t interval);
int64_t ntp_interval_from_seconds(double seconds);

/* b - a as a signed 32.32 interval, right across an era boundary. */
int64_t ntp_diff(uint64_t a, uint64_t b);

/* The clock offset ((T2 - T1) + (T3 - T4)) / 2: how far the server's clock is
 * ahead of ours. T1 = request sent, T2 = request received, T3 = reply sent,
 * T4 = reply received; T1 and T4 by our clock, T2 and T3 by the server's. */
int64_t ntp_offset(uint64_t t1, uint64_t t2, uint64_t t3, uint64_t t4);

/* The round-trip delay (T4 - T1) - (T3 - T2): time on the network, without
 * the time the server held the request. */
int64_t ntp_delay(uint64_t t1, uint64_t t2, uint64_t t3, uint64_t t4);

#endif
