/* test_inet_checksum.c - cmocka tests of the lab 10 Internet checksum (inet_checksum.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inet_checksum.h"

/* RFC 1071 section 3: these eight bytes add up to 0x2ddf0; folding the carries
 * gives 0xddf2, so the checksum (its complement) is 0x220d. */
static const unsigned char rfc1071_example[8] = {
	0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7,
};

static void
rfc1071_worked_example(void **state)
{
	(void)state;
	assert_int_equal(inet_checksum(rfc1071_example, sizeof rfc1071_example), 0x220d);
}

static void
odd_lengths_pad_the_last_byte_with_zero(void **state)
{
	static const unsigned char one[] = { 0x01 };

	(void)state;
	/* 0x0100 (not 0x0001): the odd byte is the high half of its word. */
	assert_int_equal(inet_checksum(one, 1), 0xfeff);
	/* 0x0001 + 0xf200 = 0xf201. */
	assert_int_equal(inet_checksum(rfc1071_example, 3), 0x0dfe);
	/* The RFC's bytes without the last: 0x2ddf0 - 0xf7 = 0x2dcf9 -> 0xdcfb. */
	assert_int_equal(inet_checksum(rfc1071_example, 7), 0x2304);
}

static void
empty_and_all_zero_data_give_all_ones(void **state)
{
	static const unsigned char zeros[65] = { 0 };

	(void)state;
	assert_int_equal(inet_checksum(zeros, 0), 0xffff);
	assert_int_equal(inet_checksum(zeros, 2), 0xffff);
	assert_int_equal(inet_checksum(zeros, sizeof zeros), 0xffff);
}

static void
all_ones_data_gives_zero(void **state)
{
	/* Every word is 0xffff, one's complement "minus zero": the sum stays
	 * 0xffff however many there are, as long as every carry is folded back. */
	size_t len = 100001;
	unsigned char *ones = malloc(len);

	(void)state;
	assert_non_null(ones);
	memset(ones, 0xff, len);
	assert_int_equal(inet_checksum(ones, 2), 0x0000);
	assert_int_equal(inet_checksum(ones, len - 1), 0x0000);
	/* An odd 0xff is the word 0xff00: 0xffff + 0xff00 = 0xff00 after the carry. */
	assert_int_equal(inet_checksum(ones, len), 0x00ff);
	free(ones);
}

static void
carries_fold_back_into_the_sum(void **state)
{
	/* 0xffff + 0x0001 = 0x10000 -> 0x0001 (not 0x0000): complement 0xfffe. */
	static const unsigned char pair[] = { 0xff, 0xff, 0x00, 0x01 };
	/* 0x8000 + 0x8000 = 0x10000 -> 0x0001 as well. */
	static const unsigned char halves[] = { 0x80, 0x00, 0x80, 0x00 };

	(void)state;
	assert_int_equal(inet_checksum(pair, sizeof pair), 0xfffe);
	assert_int_equal(inet_checksum(halves, sizeof halves), 0xfffe);
}

static void
alignment_does_not_matter(void **state)
{
	unsigned char buf[1 + sizeof rfc1071_example];

	(void)state;
	memcpy(buf + 1, rfc1071_example, sizeof rfc1071_example);
	assert_int_equal(inet_checksum(buf + 1, sizeof rfc1071_example), 0x220d);
}

static void
icmp_echo_request_verifies_to_zero(void **state)
{
	/* An echo request (type 8, code 0), identifier 0xabcd, sequence 7, and
	 * the 32 data bytes 0x40..0x5f that lab 10 sends. */
	unsigned char echo[8 + 32] = { 8, 0, 0, 0, 0xab, 0xcd, 0x00, 0x07 };
	static const unsigned char bare[8] = { 8, 0, 0, 0, 0x00, 0x01, 0x00, 0x01 };
	uint16_t sum;

	(void)state;
	for (size_t i = 8; i < sizeof echo; i++)
		echo[i] = (unsigned char)(0x40 + i - 8);
	sum = inet_checksum(echo, sizeof echo);
	assert_int_equal(sum, 0x5726);
	echo[2] = (unsigned char)(sum >> 8);	/* big-endian into the header */
	echo[3] = (unsigned char)sum;
	assert_int_equal(inet_checksum(echo, sizeof echo), 0);
	/* One flipped bit anywhere, and it no longer does. */
	echo[20] ^= 0x10;
	assert_int_not_equal(inet_checksum(echo, sizeof echo), 0);
	/* Identifier 1, sequence 1, no data: 0x0800 + 0x0001 + 0x0001 = 0x0802. */
	assert_int_equal(inet_checksum(bare, sizeof bare), 0xf7fd);
}

static void
ipv4_header_verifies_to_zero(void **state)
{
	/* A real IPv4 header (UDP, 192.168.0.1 -> 192.168.0.199) with its checksum
	 * 0xb861 in bytes 10-11: zeroed, the sum gives it; in place, 0. */
	unsigned char header[20] = {
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
	};

	(void)state;
	assert_int_equal(inet_checksum(header, sizeof header), 0);
	header[10] = header[11] = 0;
	assert_int_equal(inet_checksum(header, sizeof header), 0xb861);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc1071_worked_example),
		cmocka_unit_test(odd_lengths_pad_the_last_byte_with_zero),
		cmocka_unit_test(empty_and_all_zero_data_give_all_ones),
		cmocka_unit_test(all_ones_data_gives_zero),
		cmocka_unit_test(carries_fold_back_into_the_sum),
		cmocka_unit_test(alignment_does_not_matter),
		cmocka_unit_test(icmp_echo_request_verifies_to_zero),
		cmocka_unit_test(ipv4_header_verifies_to_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
