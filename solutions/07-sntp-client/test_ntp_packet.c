/* test_ntp_packet.c - cmocka tests of the lab 07 NTP codec (ntp_packet.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ntp_packet.h"

/* 2026-11-21 12:00:00 UTC, a "now" for the tests, as Unix and NTP seconds. */
#define NOW_UNIX INT64_C(1795262400)
#define NOW_NTP (UINT64_C(1795262400) + NTP_UNIX_OFFSET)
/* 2036-02-07 06:28:16 UTC: NTP era 0 ends, the 32-bit seconds wrap to 0. */
#define ERA1_UNIX INT64_C(2085978496)

/* An NTP timestamp `seconds` (may be fractional or negative) after base. */
static uint64_t
at(uint64_t base, double seconds)
{
	return base + (uint64_t)ntp_interval_from_seconds(seconds);
}

static struct timespec
timespec_of(int64_t sec, long nsec)
{
	struct timespec ts = { .tv_sec = (time_t)sec, .tv_nsec = nsec };

	return ts;
}

/* A valid server reply to a request that carried `sent`. */
static struct ntp_packet
good_reply(uint64_t sent)
{
	struct ntp_packet reply;

	memset(&reply, 0, sizeof reply);
	reply.version = 4;
	reply.mode = NTP_MODE_SERVER;
	reply.stratum = 2;
	reply.originate_ts = sent;
	reply.receive_ts = at(sent, 0.001);
	reply.transmit_ts = at(sent, 0.002);
	return reply;
}

static void
request_bytes_are_exact(void **state)
{
	static const unsigned char expected[NTP_PACKET_SIZE] = {
		0x23, /* LI 0, version 4, mode 3 */
		[40] = 0xec, 0xd1, 0x23, 0x45, 0x80, 0x00, 0x12, 0x34,
	};
	unsigned char out[NTP_PACKET_SIZE];

	(void)state;
	memset(out, 0xaa, sizeof out);
	ntp_encode_request(UINT64_C(0xecd1234580001234), out);
	assert_memory_equal(out, expected, NTP_PACKET_SIZE);
}

static void
decode_reads_every_field(void **state)
{
	static const unsigned char wire[NTP_PACKET_SIZE] = {
		/* LI 2, version 4, mode 4; stratum 2; poll -6; precision -23 */
		0xa4, 0x02, 0xfa, 0xe9,
		0x00, 0x01, 0x23, 0x45, 0x00, 0x00, 0x0a, 0xbc, /* root delay, root dispersion */
		'G', 'P', 'S', 0x00,                            /* reference id */
		0xec, 0xd1, 0x00, 0x00, 0x11, 0x11, 0x11, 0x11, /* reference */
		0xec, 0xd1, 0x00, 0x01, 0x22, 0x22, 0x22, 0x22, /* originate */
		0xec, 0xd1, 0x00, 0x02, 0x33, 0x33, 0x33, 0x33, /* receive */
		0xec, 0xd1, 0x00, 0x03, 0xff, 0xff, 0xff, 0xff, /* transmit */
	};
	struct ntp_packet p;

	(void)state;
	assert_int_equal(ntp_decode(wire, sizeof wire, &p), 0);
	assert_int_equal(p.leap, 2);
	assert_int_equal(p.version, 4);
	assert_int_equal(p.mode, 4);
	assert_int_equal(p.stratum, 2);
	assert_int_equal(p.poll, -6);
	assert_int_equal(p.precision, -23);
	assert_int_equal(p.root_delay, 0x00012345);
	assert_int_equal(p.root_dispersion, 0x00000abc);
	assert_memory_equal(p.reference_id, "GPS", 4);
	assert_true(p.reference_ts == UINT64_C(0xecd1000011111111));
	assert_true(p.originate_ts == UINT64_C(0xecd1000122222222));
	assert_true(p.receive_ts == UINT64_C(0xecd1000233333333));
	assert_true(p.transmit_ts == UINT64_C(0xecd10003ffffffff));
}

static void
decode_rejects_short_and_ignores_extensions(void **state)
{
	unsigned char wire[68] = { 0x24, 0x01 };
	struct ntp_packet p;

	(void)state;
	assert_int_equal(ntp_decode(wire, 47, &p), -1);
	assert_int_equal(ntp_decode(wire, 0, &p), -1);
	/* 48 bytes of header plus a 20-byte MAC: the header is what counts. */
	assert_int_equal(ntp_decode(wire, sizeof wire, &p), 0);
	assert_int_equal(p.mode, 4);
	assert_int_equal(p.stratum, 1);
}

static void
encode_then_decode_gives_the_packet_back(void **state)
{
	struct ntp_packet in, out;
	unsigned char wire[NTP_PACKET_SIZE], again[NTP_PACKET_SIZE];

	(void)state;
	/* Zero the padding too, so the structs compare as bytes. */
	memset(&in, 0, sizeof in);
	memset(&out, 0xaa, sizeof out);
	in.leap = 1, in.version = 3, in.mode = 5, in.stratum = 15, in.poll = 17;
	in.precision = -128, in.root_delay = 0xdeadbeef, in.root_dispersion = 0x01020304;
	memcpy(in.reference_id, "RATE", 4);
	in.reference_ts = 1, in.originate_ts = UINT64_MAX;
	in.receive_ts = UINT64_C(0x8000000000000000), in.transmit_ts = 42;
	ntp_encode(&in, wire);
	assert_int_equal(ntp_decode(wire, sizeof wire, &out), 0);
	ntp_encode(&out, again);
	assert_memory_equal(wire, again, sizeof wire);
	assert_int_equal(out.leap, 1);
	assert_int_equal(out.version, 3);
	assert_int_equal(out.mode, 5);
	assert_int_equal(out.stratum, 15);
	assert_int_equal(out.poll, 17);
	assert_int_equal(out.precision, -128);
	assert_int_equal(out.root_delay, 0xdeadbeef);
	assert_int_equal(out.root_dispersion, 0x01020304);
	assert_memory_equal(out.reference_id, "RATE", 4);
	assert_true(out.reference_ts == 1 && out.originate_ts == UINT64_MAX);
	assert_true(out.receive_ts == UINT64_C(0x8000000000000000) && out.transmit_ts == 42);
}

static void
validate_accepts_a_good_reply(void **state)
{
	uint64_t sent = NOW_NTP << 32;
	struct ntp_packet reply = good_reply(sent);

	(void)state;
	assert_int_equal(ntp_validate(&reply, sent), NTP_OK);
	reply.stratum = 1;
	assert_int_equal(ntp_validate(&reply, sent), NTP_OK);
	reply.stratum = 15;
	reply.leap = 2; /* a leap second announced is no reason to discard */
	assert_int_equal(ntp_validate(&reply, sent), NTP_OK);
}

static void
validate_names_each_reason(void **state)
{
	uint64_t sent = NOW_NTP << 32 | 0x1234;
	struct ntp_packet reply;

	(void)state;
	reply = good_reply(sent);
	reply.mode = NTP_MODE_CLIENT;
	assert_int_equal(ntp_validate(&reply, sent), NTP_BAD_MODE);
	reply.mode = 5; /* broadcast is not an answer to a unicast request */
	assert_int_equal(ntp_validate(&reply, sent), NTP_BAD_MODE);

	reply = good_reply(sent);
	reply.originate_ts = sent + 1;
	assert_int_equal(ntp_validate(&reply, sent), NTP_BAD_ORIGINATE);

	reply = good_reply(sent);
	reply.stratum = 0;
	memcpy(reply.reference_id, "RATE", 4);
	assert_int_equal(ntp_validate(&reply, sent), NTP_KISS_OF_DEATH);
	reply.leap = NTP_LEAP_UNSYNCHRONIZED; /* how kiss-o'-death packets come */
	reply.transmit_ts = 0;
	assert_int_equal(ntp_validate(&reply, sent), NTP_KISS_OF_DEATH);

	reply = good_reply(sent);
	reply.leap = NTP_LEAP_UNSYNCHRONIZED;
	assert_int_equal(ntp_validate(&reply, sent), NTP_UNSYNCHRONIZED);

	reply = good_reply(sent);
	reply.stratum = 16;
	assert_int_equal(ntp_validate(&reply, sent), NTP_BAD_STRATUM);
	reply.stratum = 255;
	assert_int_equal(ntp_validate(&reply, sent), NTP_BAD_STRATUM);

	reply = good_reply(sent);
	reply.transmit_ts = 0;
	assert_int_equal(ntp_validate(&reply, sent), NTP_ZERO_TRANSMIT);

	for (int v = NTP_OK; v <= NTP_ZERO_TRANSMIT; v++)
		assert_non_null(ntp_verdict_text((enum ntp_verdict)v));
}

static void
validate_trusts_no_kiss_that_answers_another_request(void **state)
{
	uint64_t sent = NOW_NTP << 32;
	struct ntp_packet reply = good_reply(sent);

	(void)state;
	/* A forged kiss-o'-death without our timestamp must not silence us. */
	reply.stratum = 0;
	reply.originate_ts = 0;
	assert_int_equal(ntp_validate(&reply, sent), NTP_BAD_ORIGINATE);
}

static void
timespec_converts_to_known_ntp_values(void **state)
{
	struct timespec unix_epoch = timespec_of(0, 0);
	struct timespec y2k_and_a_half = timespec_of(946684800, 500000000);
	struct timespec last_ns = timespec_of(0, 999999999);

	(void)state;
	assert_true(ntp_from_timespec(&unix_epoch) == UINT64_C(0x83aa7e8000000000));
	/* 2000-01-01 00:00:00.5 UTC is 3155673600.5 s after 1900. */
	assert_true(ntp_from_timespec(&y2k_and_a_half) == UINT64_C(0xbc17c20080000000));
	/* The last nanosecond of a second still belongs to that second. */
	assert_true(ntp_from_timespec(&last_ns) >> 32 == 0x83aa7e80);
}

static void
conversion_round_trips_under_a_microsecond(void **state)
{
	struct timespec near = timespec_of(NOW_UNIX, 0);
	static const long nanos[] = { 0, 1, 499, 500, 999, 1000, 123456789,
	                              500000000, 999999000, 999999999 };

	(void)state;
	for (size_t i = 0; i < sizeof nanos / sizeof nanos[0]; i++) {
		for (int64_t dsec = -86400; dsec <= 86400; dsec += 3600) {
			struct timespec in = timespec_of(NOW_UNIX + dsec, nanos[i]);
			struct timespec out = ntp_to_timespec(ntp_from_timespec(&in), &near);
			int64_t error = ((int64_t)out.tv_sec - in.tv_sec) * 1000000000 +
			                (out.tv_nsec - in.tv_nsec);

			assert_true(out.tv_nsec >= 0 && out.tv_nsec < 1000000000);
			/* 2^-32 s is 0.23 ns: a round trip loses at most a nanosecond. */
			assert_in_range(error < 0 ? -error : error, 0, 1);
		}
	}
}

static void
interval_converts_to_and_from_double(void **state)
{
	(void)state;
	assert_true(ntp_interval_seconds(INT64_C(0x180000000)) == 1.5);
	assert_true(ntp_interval_seconds(-INT64_C(0x40000000)) == -0.25);
	assert_true(ntp_interval_from_seconds(-0.25) == -INT64_C(0x40000000));
	assert_true(ntp_interval_from_seconds(3600.5) == INT64_C(0xe1080000000));
	/* A microsecond is 4294.97 units: it survives the trip. */
	assert_in_range(ntp_interval_from_seconds(0.000001), 4294, 4295);
	assert_true(ntp_interval_from_seconds(1e30) == INT64_MAX);
	assert_true(ntp_interval_from_seconds(-1e30) == INT64_MIN);
}

static void
era_rolls_over_on_7_feb_2036(void **state)
{
	struct timespec rollover = timespec_of(ERA1_UNIX, 0);
	struct timespec just_before = timespec_of(ERA1_UNIX - 1, 0);
	struct timespec now = timespec_of(NOW_UNIX, 0);
	struct timespec in_1950 = timespec_of(-631152000, 0);
	struct timespec out;

	(void)state;
	/* The NTP seconds wrap to zero at the rollover... */
	assert_true(ntp_from_timespec(&rollover) == 0);
	assert_true(ntp_from_timespec(&just_before) == UINT64_C(0xffffffff00000000));
	/* ...and read back near a clock in 2026 or 2036, 0 means 2036, not 1900. */
	out = ntp_to_timespec(UINT64_C(0x0000000180000000), &now);
	assert_true(out.tv_sec == ERA1_UNIX + 1 && out.tv_nsec == 500000000);
	out = ntp_to_timespec(UINT64_C(0xffffffff00000000), &rollover);
	assert_true(out.tv_sec == ERA1_UNIX - 1);
	/* Near a clock in 1950, the same bits are 1900 (era 0). */
	out = ntp_to_timespec(UINT64_C(0x0000000100000000), &in_1950);
	assert_true(out.tv_sec == 1 - (int64_t)NTP_UNIX_OFFSET);
	/* One second across the wrap is +1 s, not -136 years. */
	assert_true(ntp_diff(UINT64_C(0xffffffff80000000), UINT64_C(0x0000000080000000)) ==
	            INT64_C(0x100000000));
	assert_true(ntp_diff(UINT64_C(0x0000000080000000), UINT64_C(0xffffffff80000000)) ==
	            -INT64_C(0x100000000));
}

/* An interval equals `expected` seconds to within 4 units (a nanosecond). */
static void
assert_seconds(int64_t got, double expected)
{
	int64_t want = ntp_interval_from_seconds(expected);

	assert_true(got - want <= 4 && want - got <= 4);
}

static void
offset_and_delay_on_known_vectors(void **state)
{
	uint64_t t1 = NOW_NTP << 32;

	(void)state;
	/* Server 1.4 s ahead; 0.2 s on the wire, 0.1 s inside the server. */
	assert_seconds(ntp_offset(t1, at(t1, 1.5), at(t1, 1.6), at(t1, 0.3)), 1.4);
	assert_seconds(ntp_delay(t1, at(t1, 1.5), at(t1, 1.6), at(t1, 0.3)), 0.2);
	/* Server exactly 0.25 s ahead, 40 ms each way, 20 ms inside. */
	assert_seconds(ntp_offset(t1, at(t1, 0.29), at(t1, 0.31), at(t1, 0.1)), 0.25);
	assert_seconds(ntp_delay(t1, at(t1, 0.29), at(t1, 0.31), at(t1, 0.1)), 0.08);
	/* Same clocks: the offset is the asymmetry of the path, here none. */
	assert_seconds(ntp_offset(t1, at(t1, 0.01), at(t1, 0.01), at(t1, 0.02)), 0.0);
}

static void
offset_and_delay_negative_and_large(void **state)
{
	uint64_t t1 = NOW_NTP << 32;
	uint64_t end_of_era = UINT64_C(0xffffffff00000000);
	uint64_t t2, t3;

	(void)state;
	/* Server 1.05 s behind: both halves negative. */
	assert_seconds(ntp_offset(t1, at(t1, -1.0), at(t1, -0.9), at(t1, 0.2)), -1.05);
	assert_seconds(ntp_delay(t1, at(t1, -1.0), at(t1, -0.9), at(t1, 0.2)), 0.1);
	/* A day behind, a small fraction over. */
	assert_seconds(ntp_offset(t1, at(t1, -86399.9995), at(t1, -86399.9994), at(t1, 0.001)),
	               -86399.99995);
	assert_seconds(ntp_delay(t1, at(t1, -86399.9995), at(t1, -86399.9994), at(t1, 0.001)),
	               0.0009);
	/* Client just before the 2036 wrap, server an hour ahead (era 1). */
	t2 = at(end_of_era, 3600.25);
	t3 = at(end_of_era, 3600.75);
	assert_seconds(ntp_offset(end_of_era, t2, t3, at(end_of_era, 1.0)), 3600.0);
	assert_seconds(ntp_delay(end_of_era, t2, t3, at(end_of_era, 1.0)), 0.5);
	/* Client in 2026, server in 2036 past the wrap: ten years ahead. */
	t2 = at(t1, 292713600.125);
	assert_seconds(ntp_offset(t1, t2, t2, at(t1, 0.25)), 292713600.0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_bytes_are_exact),
		cmocka_unit_test(decode_reads_every_field),
		cmocka_unit_test(decode_rejects_short_and_ignores_extensions),
		cmocka_unit_test(encode_then_decode_gives_the_packet_back),
		cmocka_unit_test(validate_accepts_a_good_reply),
		cmocka_unit_test(validate_names_each_reason),
		cmocka_unit_test(validate_trusts_no_kiss_that_answers_another_request),
		cmocka_unit_test(timespec_converts_to_known_ntp_values),
		cmocka_unit_test(conversion_round_trips_under_a_microsecond),
		cmocka_unit_test(interval_converts_to_and_from_double),
		cmocka_unit_test(era_rolls_over_on_7_feb_2036),
		cmocka_unit_test(offset_and_delay_on_known_vectors),
		cmocka_unit_test(offset_and_delay_negative_and_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
