/* global_data: every kind of global data section.
 *
 * Program types: TC (SEC("tc"), two programs).
 * Maps: .data, .rodata, .bss and the custom .data.foo section (cilium/ebpf
 *       and the kernel see each as a one-element ARRAY).
 * Helpers: none beyond global data access (which uses map-value pointers).
 *
 * tc_globals, for any Ethernet frame of length L:
 *   counter (.data, starts at 100) += L; runs (.bss) += 1;
 *   last_scaled (.bss) = L * multiplier (.rodata, 3);
 *   foo_values[L & 3] (.data.foo, starts {1, 2, 3, 4}) += 1;
 *   returns TC_ACT_OK (0).
 * tc_greeting_sum returns the byte sum of the .rodata string "waggle"
 * (6 bytes: 631) plus rodata_bias (.rodata, 7) = 638, computed in a
 * subprogram, and stores it in .bss greeting_sum.
 */
#include "common.h"

__u64 counter = 100;
__u64 runs;
__u64 last_scaled;
__u64 greeting_sum;
const volatile __u32 multiplier = 3;
const volatile __u32 rodata_bias = 7;
const char greeting[8] = "waggle";
__u32 foo_values[4] SEC(".data.foo") = { 1, 2, 3, 4 };

NOINLINE __u64 sum_greeting(void)
{
	__u64 sum = 0;

	for (int i = 0; i < (int)sizeof(greeting); i++)
		sum += (__u8)greeting[i];
	return sum;
}

SEC("tc")
int tc_globals(struct __sk_buff *skb)
{
	__u32 len = skb->len;

	counter += len;
	runs += 1;
	last_scaled = (__u64)len * multiplier;
	foo_values[len & 3] += 1;
	return TC_ACT_OK;
}

SEC("tc")
int tc_greeting_sum(struct __sk_buff *skb)
{
	greeting_sum = sum_greeting() + rodata_bias;
	return greeting_sum;
}

char LICENSE[] SEC("license") = "GPL";
