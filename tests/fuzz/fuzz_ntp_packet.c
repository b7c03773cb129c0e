/* fuzz_ntp_packet.c - libFuzzer target: the lab 07 decoder, validator and time arithmetic
 * must survive any datagram a server (or an attacker) can send. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "ntp_packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ntp_packet reply;
	unsigned char again[NTP_PACKET_SIZE];
	uint64_t sent = 0, t4;
	struct timespec near = { .tv_sec = 1795262400 }, when;
	int64_t offset, delay;

	if (ntp_decode(data, size, &reply) == -1) {
		/* Only a datagram shorter than a header may be refused. */
		if (size >= NTP_PACKET_SIZE)
			__builtin_trap();
		return 0;
	}
	/* Decoding is lossless: encoding the header gives the same 48 bytes. */
	ntp_encode(&reply, again);
	if (memcmp(again, data, NTP_PACKET_SIZE) != 0)
		__builtin_trap();

	/* Validate against the echoed originate (the accepted path) and against
	 * some other request, which must never be accepted. */
	if (ntp_verdict_text(ntp_validate(&reply, reply.originate_ts)) == NULL)
		__builtin_trap();
	memcpy(&sent, data + 16, sizeof sent); /* any other value: the reference field */
	if (sent != reply.originate_ts && ntp_validate(&reply, sent) == NTP_OK)
		__builtin_trap();

	/* The client's arithmetic on whatever timestamps came: no overflow, no trap. */
	t4 = reply.reference_ts;
	offset = ntp_offset(reply.originate_ts, reply.receive_ts, reply.transmit_ts, t4);
	delay = ntp_delay(reply.originate_ts, reply.receive_ts, reply.transmit_ts, t4);
	when = ntp_to_timespec(t4 + (uint64_t)offset, &near);
	if (when.tv_nsec < 0 || when.tv_nsec >= 1000000000)
		__builtin_trap();
	(void)ntp_interval_seconds(delay);
	return 0;
}
